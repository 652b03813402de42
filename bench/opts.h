/* The command line of iod-bench. */
#ifndef IOD_BENCH_OPTS_H
#define IOD_BENCH_OPTS_H

#include <sys/types.h>

#include <netinet/in.h>

#include <stddef.h>

#include "transform.h"

#define OPTS_MAX_CONNS	1000000

enum bench_mode { MODE_PINGPONG, MODE_STREAM, MODE_IDLE };

struct opts {
	enum bench_mode		 o_mode;
	enum transform_mode	 o_xf;
	int			 o_conns;
	size_t			 o_size;
	int			 o_depth;
	int			 o_duration;
	int			 o_threads;	/* per process */
	int			 o_procs;	/* 0: as many as needed */
	int			 o_src_ips;	/* 0: as many as needed */
	int			 o_json;
	pid_t			 o_server;
	struct in_addr		 o_host;
	int			 o_port;
};

/* Opts. */
void		 opts_parse(int, char **, struct opts *);
const char	*opts_mode_name(const struct opts *);

#endif
