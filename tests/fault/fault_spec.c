/*
 * The fault shim's parser: IOD_FAULT_SPEC into a rule per call.  It runs
 * in the shim's constructor and allocates nothing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "fault_spec.h"

static int	fault_parse_rule(const char *, size_t, struct fault_rule *);
static int	fault_errno(const char *, size_t);

/* Errors a rule may name. */
static const struct {
	const char	*name;
	int		 value;
} fault_errnos[] = {
	{ "short", FAULT_SHORT },
	{ "EAGAIN", EAGAIN },	{ "EBUSY", EBUSY },
	{ "ECONNABORTED", ECONNABORTED }, { "ECONNRESET", ECONNRESET },
	{ "EINTR", EINTR },	{ "EMFILE", EMFILE },	{ "ENFILE", ENFILE },
	{ "ENOBUFS", ENOBUFS },	{ "ENOMEM", ENOMEM },	{ "ENOSPC", ENOSPC },
	{ "EPERM", EPERM },	{ "EPIPE", EPIPE },
};

/*
 * IOD_FAULT_SPEC is rules separated by commas, each CALL:ERRORS:WHEN:
 * ERRORS are names separated by '/', one picked at random for each
 * fault; WHEN is pP (probability P, 0 to 1) or nN (every Nth call).  A
 * spec that does not parse arms nothing and says so on stderr.
 */
void
fault_spec_read(const char *spec, struct fault_rule *rules)
{
	const char	*p = spec, *end;
	size_t		 len;

	while (*p != '\0') {
		end = strchr(p, ',');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > 0 && fault_parse_rule(p, len, rules) == -1) {
			memset(rules, 0, FAULT_NCALLS * sizeof(*rules));
			(void)write(STDERR_FILENO,
			    "fault: bad IOD_FAULT_SPEC\n", 26);
			return;
		}
		p += len;
		if (*p == ',')
			p++;
	}
}

/* Parse one CALL:ERRORS:WHEN of len bytes at s into its rule. */
static int
fault_parse_rule(const char *s, size_t len, struct fault_rule *rules)
{
	static const char	*names[] = FAULT_CALL_NAMES;
	struct fault_rule	 r;
	const char		*c1, *c2, *e, *end = s + len;
	char			 when[32];
	double			 prob;
	size_t			 i, n;

	memset(&r, 0, sizeof(r));
	if ((c1 = memchr(s, ':', len)) == NULL ||
	    (c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1))) == NULL)
		return (-1);
	for (i = 0; i < FAULT_NCALLS; i++)
		if (strlen(names[i]) == (size_t)(c1 - s) &&
		    memcmp(names[i], s, (size_t)(c1 - s)) == 0)
			break;
	if (i == FAULT_NCALLS)
		return (-1);
	for (e = c1 + 1; e < c2 && r.fr_nerr < FAULT_MAXERR; e += n + 1) {
		n = strcspn(e, "/:");
		if ((r.fr_err[r.fr_nerr++] = fault_errno(e, n)) == 0)
			return (-1);
	}
	n = (size_t)(end - c2 - 1);
	if (r.fr_nerr == 0 || n < 2 || n >= sizeof(when))
		return (-1);
	memcpy(when, c2 + 1, n);
	when[n] = '\0';
	if (when[0] == 'n')
		r.fr_every = strtoull(when + 1, NULL, 10);
	else if (when[0] == 'p' && (prob = strtod(when + 1, NULL)) > 0 &&
	    prob <= 1)
		r.fr_below = prob >= 1 ? UINT32_MAX :
		    (uint32_t)(prob * 4294967296.0);
	if (r.fr_every == 0 && r.fr_below == 0)
		return (-1);
	rules[i] = r;
	return (0);
}

/* The value of the error named by len bytes at s, or 0. */
static int
fault_errno(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++)
		if (strlen(fault_errnos[i].name) == len &&
		    memcmp(fault_errnos[i].name, s, len) == 0)
			return (fault_errnos[i].value);
	return (0);
}
