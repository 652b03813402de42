/*
 * systemd integration, the only file that includes sd-daemon.h: tell the
 * service manager when iod is ready, reloading or stopping, what it is
 * doing, that its loop is alive, and take the listening sockets that
 * socket activation passes.  Built without libsystemd, every call does
 * nothing, except that sockets passed anyway are refused with a reason.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"
#include "sdnotify.h"

#ifdef HAVE_LIBSYSTEMD

static void	sdnotify_send(const char *, ...)
		    __attribute__((__format__(printf, 1, 2)));

/*
 * Take the sockets systemd passed (LISTEN_FDS, for this process), which
 * it leaves blocking: make each nonblocking, as the engines expect.
 * Return how many, 0 if none, or -1 and a cause if one is not a
 * listening stream socket or there are more than max.
 */
int
sdnotify_listen_fds(int *fds, size_t max, char *cause, size_t len)
{
	int	n, i, fd, flags;

	/* Unset LISTEN_*: nothing iod starts may take them for its own. */
	if ((n = sd_listen_fds(1)) < 0) {
		snprintf(cause, len, "sockets from systemd: %s", strerror(-n));
		return (-1);
	}
	if ((size_t)n > max) {
		snprintf(cause, len, "systemd passed %d sockets, at most %zu "
		    "can be used", n, max);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		fd = SD_LISTEN_FDS_START + i;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			snprintf(cause, len, "descriptor %d from systemd is "
			    "not a listening stream socket", fd);
			return (-1);
		}
		if ((flags = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
			snprintf(cause, len, "descriptor %d from systemd: "
			    "fcntl: %s", fd, strerror(errno));
			return (-1);
		}
		fds[i] = fd;
	}
	return (n);
}

/* Whether a service manager listens (NOTIFY_SOCKET is set). */
int
sdnotify_enabled(void)
{
	return (getenv("NOTIFY_SOCKET") != NULL);
}

/* Send one notification; say once if the manager cannot be told. */
static void
sdnotify_send(const char *fmt, ...)
{
	static int	 warned;
	va_list		 ap;
	char		 msg[512];
	int		 r, saved = errno;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((r = sd_notify(0, msg)) < 0 && !warned) {
		log_warnx("cannot notify systemd: %s", strerror(-r));
		warned = 1;
	}
	errno = saved;
}

/* Startup finished, or a reload did: serving. */
void
sdnotify_ready(const char *status)
{
	sdnotify_send("READY=1\nSTATUS=%s", status);
}

/*
 * A reload begins.  MONOTONIC_USEC lets a manager that sent SIGHUP tell
 * this reload from an earlier one.
 */
void
sdnotify_reloading(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
}

/* A graceful shutdown begins. */
void
sdnotify_stopping(const char *status)
{
	sdnotify_send("STOPPING=1\nSTATUS=%s", status);
}

/* One line for systemctl status. */
void
sdnotify_status(const char *status)
{
	sdnotify_send("STATUS=%s", status);
}

/* WatchdogSec= as microseconds, or 0 when the watchdog is off. */
uint64_t
sdnotify_watchdog_usec(void)
{
	uint64_t	usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return (0);
	return (usec);
}

/* The supervisor's loop is alive. */
void
sdnotify_watchdog(void)
{
	sdnotify_send("WATCHDOG=1");
}

#else /* !HAVE_LIBSYSTEMD */

/*
 * Without libsystemd no socket is taken; but sockets passed to this very
 * process would go unserved, so refuse them rather than ignore them.
 */
int
sdnotify_listen_fds(int *fds, size_t max, char *cause, size_t len)
{
	const char	*pid = getenv("LISTEN_PID");

	if (pid == NULL || getenv("LISTEN_FDS") == NULL ||
	    strtol(pid, NULL, 10) != (long)getpid())
		return (0);
	snprintf(cause, len, "systemd passed sockets, but iod was built "
	    "without libsystemd (Debian: libsystemd-dev)");
	return (-1);
}

int
sdnotify_enabled(void)
{
	return (0);
}

void
sdnotify_ready(const char *status)
{
}

void
sdnotify_reloading(void)
{
}

void
sdnotify_stopping(const char *status)
{
}

void
sdnotify_status(const char *status)
{
}

uint64_t
sdnotify_watchdog_usec(void)
{
	return (0);
}

void
sdnotify_watchdog(void)
{
}

#endif /* HAVE_LIBSYSTEMD */
