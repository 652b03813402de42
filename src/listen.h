/* Listening addresses: parse "HOST:PORT", "[V6]:PORT", "*:PORT", "unix:/PATH". */
#ifndef IOD_LISTEN_H
#define IOD_LISTEN_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct listen_addr {
	struct sockaddr_storage	la_ss;	/* where to bind */
	socklen_t		la_len;
	int			la_family; /* AF_INET, AF_INET6 or AF_UNIX */
};

/* Parsing; never logs, returns -1 and a cause. */
int	listen_parse(const char *, struct listen_addr *, char *, size_t);

/* Sockets; never log, return -1 and a cause. */
int	listen_open(const struct listen_addr *, int, int, char *, size_t);
int	listen_open_reuseport(const struct listen_addr *, int, char *,
	    size_t);
int	listen_backlog(int);
int	listen_name(int, char *, size_t);
int	listen_set_mode(int, int, char *, size_t);
void	listen_close(int);

#endif
