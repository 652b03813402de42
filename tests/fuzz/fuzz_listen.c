/*
 * listen_parse on any string (the input up to its first NUL).  A refusal
 * says why (conf.c makes the cause printable); an address it accepts has a
 * family and length that agree, a unix path that is NUL-terminated and
 * is the spec's own, and, written back as a spec, parses to the same
 * address.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "fuzz.h"
#include "listen.h"

static void	check_unix(const struct listen_addr *, const char *);
static void	check_inet(const struct listen_addr *);

/* A unix address holds the spec's path after "unix:", terminated. */
static void
check_unix(const struct listen_addr *la, const char *spec)
{
	const struct sockaddr_un	*sun;

	sun = (const struct sockaddr_un *)&la->la_ss;
	FUZZ_CHECK(strncmp(spec, "unix:", 5) == 0, "unix from \"%s\"", spec);
	FUZZ_CHECK(memchr(sun->sun_path, '\0', sizeof(sun->sun_path)) !=
	    NULL, "unterminated path");
	FUZZ_CHECK(strcmp(sun->sun_path, spec + 5) == 0, "path \"%s\" from "
	    "\"%s\"", sun->sun_path, spec);
	FUZZ_CHECK(la->la_len == offsetof(struct sockaddr_un, sun_path) +
	    strlen(sun->sun_path) + 1, "length %u", la->la_len);
}

/* An IP address, written back as a spec, parses to itself. */
static void
check_inet(const struct listen_addr *la)
{
	struct listen_addr	 again;
	const void		*addr;
	char			 host[INET6_ADDRSTRLEN], spec[80], cause[256];
	in_port_t		 port;

	if (la->la_family == AF_INET) {
		FUZZ_CHECK(la->la_len == sizeof(struct sockaddr_in),
		    "inet length %u", la->la_len);
		addr = &((const struct sockaddr_in *)&la->la_ss)->sin_addr;
		port = ((const struct sockaddr_in *)&la->la_ss)->sin_port;
	} else {
		FUZZ_CHECK(la->la_len == sizeof(struct sockaddr_in6),
		    "inet6 length %u", la->la_len);
		addr = &((const struct sockaddr_in6 *)&la->la_ss)->sin6_addr;
		port = ((const struct sockaddr_in6 *)&la->la_ss)->sin6_port;
	}
	FUZZ_CHECK(inet_ntop(la->la_family, addr, host, sizeof(host)) != NULL,
	    "inet_ntop");
	snprintf(spec, sizeof(spec), la->la_family == AF_INET ? "%s:%u" :
	    "[%s]:%u", host, ntohs(port));
	memset(&again, 0, sizeof(again));
	FUZZ_CHECK(listen_parse(spec, &again, cause, sizeof(cause)) == 0,
	    "\"%s\" refused: %s", spec, cause);
	FUZZ_CHECK(again.la_family == la->la_family &&
	    again.la_len == la->la_len && memcmp(&again.la_ss, &la->la_ss,
	    la->la_len) == 0, "\"%s\" parses to another address", spec);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct listen_addr	 la;
	char			*spec, cause[256];

	if ((spec = malloc(len + 1)) == NULL)
		abort();
	memcpy(spec, data, len);
	spec[len] = '\0';
	memset(&la, 0, sizeof(la));
	memset(cause, 'x', sizeof(cause));
	if (listen_parse(spec, &la, cause, sizeof(cause)) == -1) {
		FUZZ_CHECK(memchr(cause, '\0', sizeof(cause)) != NULL,
		    "cause unterminated");
		FUZZ_CHECK(cause[0] != '\0', "refused without a cause");
		free(spec);
		return (0);
	}
	switch (la.la_family) {
	case AF_UNIX:
		check_unix(&la, spec);
		break;
	case AF_INET:
	case AF_INET6:
		FUZZ_CHECK(la.la_ss.ss_family == la.la_family, "families");
		check_inet(&la);
		break;
	default:
		FUZZ_CHECK(0, "family %d", la.la_family);
	}
	free(spec);
	return (0);
}
