/* -d: detach from the terminal the classic way. */
#ifndef IOD_DAEMON_H
#define IOD_DAEMON_H

#include <stddef.h>

/* Detaching; never log, return -1 and a cause. */
int	daemon_detach(char *, size_t);
void	daemon_ready(void);

#endif
