/*
 * The fault shim's rules (tests/fault/README.md): which errors a call
 * fails with, and when, read from IOD_FAULT_SPEC.
 */
#ifndef IOD_TESTS_FAULT_SPEC_H
#define IOD_TESTS_FAULT_SPEC_H

#include <stdint.h>

#include "fault.h"

#define FAULT_SHORT	(-1)		/* an "error" that shortens a count */

/* How one call fails: its errors, and when. */
struct fault_rule {
	int		fr_err[FAULT_MAXERR];
	int		fr_nerr;
	uint32_t	fr_below;	/* fail if a random u32 is below */
	uint64_t	fr_every;	/* or fail every Nth armed call */
};

/* Fill rules[FAULT_NCALLS] from a spec; all empty if it does not parse. */
void	fault_spec_read(const char *, struct fault_rule *);

#endif
