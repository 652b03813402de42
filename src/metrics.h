/* The metrics endpoint: HTTP for Prometheus, on a thread of its own. */
#ifndef IOD_METRICS_H
#define IOD_METRICS_H

#include <stddef.h>

struct iod_conf;

int	metrics_open(const struct iod_conf *, char *, size_t);
int	metrics_start(const char *, char *, size_t);
void	metrics_stop(void);

#endif
