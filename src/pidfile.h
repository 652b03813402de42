/* The pidfile: opened before privileges are dropped, written after -d. */
#ifndef IOD_PIDFILE_H
#define IOD_PIDFILE_H

#include <stddef.h>

/* Pidfile; never log, return -1 and a cause. */
int	pidfile_open(const char *, char *, size_t);
int	pidfile_write(int, char *, size_t);
void	pidfile_remove(const char *, int);

#endif
