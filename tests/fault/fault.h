/*
 * The fault shim's counters (tests/fault/README.md): a file the shim maps
 * shared, so that every thread and every forked child of iod counts into
 * it and a test can read it while iod runs.
 */
#ifndef IOD_TESTS_FAULT_H
#define IOD_TESTS_FAULT_H

#include <stdint.h>

/* The calls the shim can fail, in the order of fault_call_names. */
enum fault_call {
	FAULT_MALLOC,
	FAULT_CALLOC,
	FAULT_REALLOC,
	FAULT_ACCEPT4,
	FAULT_RECV,
	FAULT_SEND,
	FAULT_WRITEV,
	FAULT_EPOLL_CTL,
	FAULT_PIPE2,
	FAULT_SPLICE,
	FAULT_FCNTL,
	FAULT_URING_SUBMIT,
	FAULT_NCALLS
};

#define FAULT_CALL_NAMES { "malloc", "calloc", "realloc", "accept4", \
	"recv", "send", "writev", "epoll_ctl", "pipe2", "splice", "fcntl", \
	"io_uring_submit" }

/* An error list holds at most this many; "short" is one of them. */
#define FAULT_MAXERR	8

/*
 * calls: calls made while faults were armed; faults[i][k]: the k-th error
 * of call i's list injected.  Only atomic adds touch them.
 */
struct fault_counts {
	uint64_t	fc_calls[FAULT_NCALLS];
	uint64_t	fc_faults[FAULT_NCALLS][FAULT_MAXERR];
};

#endif
