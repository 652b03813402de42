/*
 * opts: the command line of iod-bench.  Anything wrong with it ends the
 * run here, with exit status 2, before a connection exists.
 */
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "opts.h"

#define OPTS_EX_USAGE	2
#define OPTS_MAX_SIZE	(16 * 1024 * 1024)
#define OPTS_MAX_DEPTH	1024
#define OPTS_MAX_SECS	600
#define OPTS_MAX_THREADS 64

static _Noreturn void	opts_usage(int);
static _Noreturn void	opts_bad(const char *, ...)
			    __attribute__((format(printf, 1, 2)));
static long		opts_num(const char *, const char *, long, long);
static void		opts_one(struct opts *, int, const char *);

/* Print the usage and exit with status. */
static _Noreturn void
opts_usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: iod-bench [--json] [--mode upper|echo] [--conns N] "
	    "[--size BYTES]\n"
	    "                 [--depth N] [--duration SECS] [--threads N] "
	    "[--procs P]\n"
	    "                 [--src-ips K] [--host 127.0.0.1] "
	    "[--server-pid PID]\n"
	    "                 --port PORT pingpong|stream|idle\n");
	exit(status);
}

/* Say what is wrong with the command line and exit. */
static _Noreturn void
opts_bad(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "iod-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(OPTS_EX_USAGE);
}

/* Return the integer in s if it lies in [min, max], else exit. */
static long
opts_num(const char *name, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		opts_bad("--%s must be between %ld and %ld (got %s)", name,
		    min, max, s);
	return (v);
}

/* Apply option ch with argument arg. */
static void
opts_one(struct opts *o, int ch, const char *arg)
{
	long	ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	switch (ch) {
	case 'c':
		o->o_conns = (int)opts_num("conns", arg, 1, OPTS_MAX_CONNS);
		break;
	case 's':
		o->o_size = (size_t)opts_num("size", arg, 1, OPTS_MAX_SIZE);
		break;
	case 'D':
		o->o_depth = (int)opts_num("depth", arg, 1, OPTS_MAX_DEPTH);
		break;
	case 'd':
		o->o_duration = (int)opts_num("duration", arg, 1,
		    OPTS_MAX_SECS);
		break;
	case 't':
		o->o_threads = (int)opts_num("threads", arg, 1,
		    ncpu < OPTS_MAX_THREADS ? ncpu : OPTS_MAX_THREADS);
		break;
	case 'r':
		o->o_procs = (int)opts_num("procs", arg, 1, LIMITS_MAX_PROCS);
		break;
	case 'H':
		if (inet_pton(AF_INET, arg, &o->o_host) != 1)
			opts_bad("--host takes a numeric IPv4 address "
			    "(got %s)", arg);
		break;
	case 'p':
		o->o_port = (int)opts_num("port", arg, 1, 65535);
		break;
	case 'm':
		if (strcmp(arg, "upper") == 0)
			o->o_xf = TRANSFORM_UPPER;
		else if (strcmp(arg, "echo") == 0)
			o->o_xf = TRANSFORM_ECHO;
		else
			opts_bad("--mode is upper or echo (got %s)", arg);
		break;
	case 'S':
		o->o_src_ips = (int)opts_num("src-ips", arg, 1, 254);
		break;
	case 'P':
		o->o_server = (pid_t)opts_num("server-pid", arg, 1, 4194304);
		break;
	}
}

/* Fill o from the command line, or exit with the usage. */
void
opts_parse(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'D' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'r' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "src-ips", required_argument, NULL, 'S' },
		{ "server-pid", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(o, 0, sizeof(*o));
	o->o_xf = TRANSFORM_UPPER;
	o->o_conns = 1;
	o->o_size = 64;
	o->o_depth = 1;
	o->o_duration = 10;
	o->o_threads = 1;
	o->o_port = -1;
	inet_pton(AF_INET, "127.0.0.1", &o->o_host);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (ch == 'h')
			opts_usage(0);
		if (ch == 'j')
			o->o_json = 1;
		else if (ch == '?' || ch == ':')
			opts_usage(OPTS_EX_USAGE);
		else
			opts_one(o, ch, optarg);
	}
	if (optind != argc - 1 || o->o_port == -1)
		opts_usage(OPTS_EX_USAGE);
	if (strcmp(argv[optind], "pingpong") == 0)
		o->o_mode = MODE_PINGPONG;
	else if (strcmp(argv[optind], "stream") == 0)
		o->o_mode = MODE_STREAM;
	else if (strcmp(argv[optind], "idle") == 0)
		o->o_mode = MODE_IDLE;
	else
		opts_usage(OPTS_EX_USAGE);
	if (o->o_threads > o->o_conns)
		o->o_threads = o->o_conns;
	if (o->o_procs > o->o_conns)
		opts_bad("--procs %d is more than --conns %d", o->o_procs,
		    o->o_conns);
}

/* Return the name of the mode for the outputs. */
const char *
opts_mode_name(const struct opts *o)
{
	switch (o->o_mode) {
	case MODE_PINGPONG:
		return ("pingpong");
	case MODE_STREAM:
		return ("stream");
	case MODE_IDLE:
		return ("idle");
	}
	return ("?");
}
