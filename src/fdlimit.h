/* Fitting RLIMIT_NOFILE to max_connections. */
#ifndef IOD_FDLIMIT_H
#define IOD_FDLIMIT_H

/* Descriptors kept for listeners, workers' notify fds, logging and more. */
#define FDLIMIT_RESERVE	64

/* Fitting; never logs. */
int	fdlimit_fit(int, long, int *, long *);
long	fdlimit_spare(int, long);

#endif
