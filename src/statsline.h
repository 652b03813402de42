/* The counters in words: the SIGUSR1 line and systemd's STATUS=. */
#ifndef IOD_STATSLINE_H
#define IOD_STATSLINE_H

#include <stddef.h>

const char *statsline_full(char *, size_t);
const char *statsline_status(int, char *, size_t);

#endif
