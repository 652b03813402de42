/* Dropping root for a configured user and group. */
#ifndef IOD_PRIVS_H
#define IOD_PRIVS_H

#include <stddef.h>

/* Dropping; never logs, returns -1 and a cause. */
int	privs_drop(const char *, const char *, char *, size_t);

#endif
