/* The Prometheus text exposition format (0.0.4) of iod's counters. */
#ifndef IOD_METRICS_TEXT_H
#define IOD_METRICS_TEXT_H

struct evbuffer;

void	metrics_text(struct evbuffer *, const char *);

#endif
