/* Zero-copy echo: a connection's bytes moved socket -> pipe -> socket. */
#ifndef IOD_ZCOPY_H
#define IOD_ZCOPY_H

#include <stddef.h>
#include <sys/types.h>

struct conn;
struct iod_conf;

/* Setup, once per process, and the pipes the open-file limit allows. */
void	zcopy_init(void);
void	zcopy_set_budget(long);
long	zcopy_pipes(void);

/* A connection's pipe. */
int	zcopy_wanted(const struct conn *, const struct iod_conf *, size_t);
int	zcopy_open(const struct conn *, int);
int	zcopy_active(int);
size_t	zcopy_held(int);
void	zcopy_close(int);

/* Moving bytes. */
ssize_t	zcopy_in(int, size_t);
ssize_t	zcopy_out(int);
ssize_t	zcopy_take(int, void *, size_t);

#endif
