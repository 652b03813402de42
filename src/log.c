/*
 * Logging, after OpenBSD's log.c: standard error until the configuration
 * says otherwise, then syslog(3) with ident "iod".  Every function keeps
 * errno as it found it, so callers can log between a failing call and
 * their own use of errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static int	log_to_stderr = 1;
static int	log_level = LOG_INFO;

static void	log_vwrite(int, const char *, va_list)
		    __attribute__((__format__(printf, 2, 0)));

/* Choose the destination and the most verbose level that is written. */
void
log_init(int to_stderr, int facility, int level)
{
	log_to_stderr = to_stderr;
	log_level = level;
	if (!to_stderr) {
		/*
		 * LOG_NDELAY connects to /dev/log now, so logging still
		 * works later when every descriptor is taken.
		 */
		closelog();
		openlog("iod", LOG_PID | LOG_NDELAY, facility);
	}
}

/* Change the level at run time (a reload). */
void
log_setlevel(int level)
{
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
}

/* Return the current level, so callers can skip building debug text. */
int
log_getlevel(void)
{
	return (__atomic_load_n(&log_level, __ATOMIC_RELAXED));
}

/* Write one line at a syslog priority, if the level lets it through. */
static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char	line[1024];
	int	saved_errno = errno;

	if (pri > log_getlevel()) {
		errno = saved_errno;
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "iod: %s\n", line);
	else
		syslog(pri, "%s", line);
	errno = saved_errno;
}

/* Log a warning with the text of errno appended. */
void
log_warn(const char *fmt, ...)
{
	char	 text[1024];
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_warnx("%s: %s", text, strerror(saved_errno));
	errno = saved_errno;
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* Log a normal but significant event. */
void
log_notice(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* Log a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* Log an error with the text of errno appended, and exit. */
void
fatal(int status, const char *fmt, ...)
{
	char	 text[1024];
	va_list	 ap;
	int	 saved_errno = errno;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fatalx(status, "%s: %s", text, strerror(saved_errno));
}

/* Log an error and exit. */
void
fatalx(int status, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(status);
}
