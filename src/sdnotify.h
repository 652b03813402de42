/* systemd: readiness and status notifications, and socket activation. */
#ifndef IOD_SDNOTIFY_H
#define IOD_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

/* Sockets passed by systemd; never logs, returns -1 and a cause. */
int	sdnotify_listen_fds(int *, size_t, char *, size_t);

/* State changes, told to the service manager; no-ops without one. */
int	sdnotify_enabled(void);
void	sdnotify_ready(const char *);
void	sdnotify_reloading(void);
void	sdnotify_stopping(const char *);
void	sdnotify_status(const char *);

/* The watchdog: its interval in microseconds (0: off), and a ping. */
uint64_t sdnotify_watchdog_usec(void);
void	sdnotify_watchdog(void);

#endif
