/* Logging to stderr or syslog(3), OpenBSD style. */
#ifndef IOD_LOG_H
#define IOD_LOG_H

#include <stdarg.h>

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif

/* Setup. */
void	log_init(int to_stderr, int facility, int level);
void	log_setlevel(int level);
int	log_getlevel(void);

/* Messages; every one keeps errno as it was. */
void	log_warn(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_notice(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((__format__(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((__format__(printf, 1, 2)));

/* Startup failures: log and exit with the given sysexits code. */
__dead void fatal(int, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));
__dead void fatalx(int, const char *, ...)
	    __attribute__((__format__(printf, 2, 3)));

#endif
