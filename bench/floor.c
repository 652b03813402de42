/*
 * floor: the smallest server that does iod's job well, as the reference
 * iod's engines are measured against.  One thread, one level-triggered
 * epoll loop, reads of up to 256 KiB into one shared buffer, the transform
 * in place, and a write straight from that buffer.  Only when the socket
 * will not take everything is the rest copied aside for the connection,
 * which then stops reading until it has drained (backpressure).
 *
 * usage: floor PORT [upper|echo]   (port 0 picks one and prints it)
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transform.h"

#define FL_BUF		(256 * 1024)
#define FL_EVENTS	512

struct fconn {
	int		 f_fd;
	unsigned char	*f_out;		/* bytes the socket did not take */
	size_t		 f_off, f_len;
};

static enum transform_mode	 mode = TRANSFORM_UPPER;
static unsigned char		 buf[FL_BUF];
static int			 ep, lfd;
static int			 spare = -1;	/* see fl_shed() */

static int	fl_listen(int);
static void	fl_accept(void);
static void	fl_watch(struct fconn *, int);
static void	fl_close(struct fconn *);
static int	fl_send(struct fconn *, const unsigned char *, size_t);
static void	fl_read(struct fconn *);
static void	fl_drain(struct fconn *);
static void	fl_nofile(void);
static void	fl_shed(void);

/* Open the listener on 127.0.0.1:port; return the port it got. */
static int
fl_listen(int port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lfd == -1)
		return (-1);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		return (-1);
	return (ntohs(sin.sin_port));
}

/* Accept every waiting client; out of descriptors, leave the rest queued. */
static void
fl_accept(void)
{
	struct epoll_event	 ev;
	struct fconn		*f;
	int			 fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((f = calloc(1, sizeof(*f))) == NULL) {
			close(fd);
			continue;
		}
		f->f_fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = f;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			close(fd);
			free(f);
		}
	}
	if (errno == EMFILE || errno == ENFILE)
		fl_shed();
}

/*
 * Out of descriptors: the connection stays queued and the listener stays
 * readable, so accept it on the descriptor kept spare for this and close
 * it, which the client sees at once.  Say so the first time only.
 */
static void
fl_shed(void)
{
	static int	said;
	int		fd;

	if (!said++)
		fprintf(stderr, "floor: accept: %s: closing new connections\n",
		    strerror(errno));
	if (spare == -1)
		return;
	close(spare);
	if ((fd = accept(lfd, NULL, NULL)) != -1)
		close(fd);
	spare = open("/dev/null", O_RDONLY);
}

/* Watch f for input, or for room to write while output is pending. */
static void
fl_watch(struct fconn *f, int out)
{
	struct epoll_event	ev;

	ev.events = out ? EPOLLOUT : EPOLLIN;
	ev.data.ptr = f;
	epoll_ctl(ep, EPOLL_CTL_MOD, f->f_fd, &ev);
}

/* Close the connection and free what it holds. */
static void
fl_close(struct fconn *f)
{
	close(f->f_fd);
	free(f->f_out);
	free(f);
}

/*
 * Send len bytes at p; keep what the socket does not take and watch for
 * room.  Return -1 if the connection failed and was closed.
 */
static int
fl_send(struct fconn *f, const unsigned char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(f->f_fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		if (n == -1) {
			fl_close(f);
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	if (len == 0)
		return (0);
	if ((f->f_out = malloc(len)) == NULL) {
		fl_close(f);
		return (-1);
	}
	memcpy(f->f_out, p, len);
	f->f_off = 0;
	f->f_len = len;
	fl_watch(f, 1);
	return (0);
}

/* Read one buffer, transform it in place and send it back. */
static void
fl_read(struct fconn *f)
{
	ssize_t	n;

	n = recv(f->f_fd, buf, sizeof(buf), 0);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		fl_close(f);	/* EOF with nothing owed, or an error */
		return;
	}
	transform_apply(mode, buf, (size_t)n);
	fl_send(f, buf, (size_t)n);
}

/* Send more of what is pending; once it is all out, read again. */
static void
fl_drain(struct fconn *f)
{
	ssize_t	n;

	n = send(f->f_fd, f->f_out + f->f_off, f->f_len - f->f_off,
	    MSG_NOSIGNAL);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == -1) {
		fl_close(f);
		return;
	}
	f->f_off += (size_t)n;
	if (f->f_off < f->f_len)
		return;
	free(f->f_out);
	f->f_out = NULL;
	fl_watch(f, 0);
}

/* Raise the soft open file limit to the hard one. */
static void
fl_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Listen, say where, and serve until killed. */
int
main(int argc, char **argv)
{
	struct epoll_event	 evs[FL_EVENTS], ev;
	struct fconn		*f;
	int			 port, n, i;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "upper") &&
	    strcmp(argv[2], "echo"))) {
		fprintf(stderr, "usage: floor PORT [upper|echo]\n");
		return (64);
	}
	if (argc == 3 && strcmp(argv[2], "echo") == 0)
		mode = TRANSFORM_ECHO;
	signal(SIGPIPE, SIG_IGN);
	fl_nofile();
	spare = open("/dev/null", O_RDONLY);
	if ((port = fl_listen(atoi(argv[1]))) == -1 ||
	    (ep = epoll_create1(0)) == -1) {
		fprintf(stderr, "floor: %s\n", strerror(errno));
		return (71);
	}
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	fprintf(stderr, "floor: listening on 127.0.0.1:%d\n", port);
	for (;;) {
		n = epoll_wait(ep, evs, FL_EVENTS, -1);
		for (i = 0; i < n; i++) {
			if ((f = evs[i].data.ptr) == NULL)
				fl_accept();
			else if (f->f_out != NULL)
				fl_drain(f);
			else
				fl_read(f);
		}
	}
}
