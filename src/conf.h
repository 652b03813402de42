/* iod's settings: defaults, the libconfig file, validation. */
#ifndef IOD_CONF_H
#define IOD_CONF_H

#include <stddef.h>

#include "cidr.h"

/* A list of address blocks: allow, deny, proxy_trusted. */
struct conf_cidrs {
	struct cidr	*cc_list;
	size_t		 cc_n;
};

/* What a group in listen says besides its address. */
struct conf_listener {
	int			 cl_proxy;	/* proxy_protocol */
	int			 cl_has_allow;	/* replaces the global allow */
	int			 cl_has_deny;	/* replaces the global deny */
	struct conf_cidrs	 cl_allow;
	struct conf_cidrs	 cl_deny;
};

/*
 * Plain data, produced whole by conf_load() and never changed afterwards:
 * a reload builds a new one.  The runtime never sees libconfig types.
 */
struct iod_conf {
	char		 *path;		/* the file this was loaded from */
	char		**listen;	/* address specs, as written */
	struct conf_listener *listen_opts; /* one per spec */
	size_t		  nlisten;
	int		  mode;		/* enum transform_mode */
	char		 *engine;	/* an engine name known to engine.c */
	int		  workers;
	int		  max_connections;
	int		  max_pending_bytes;
	int		  splice_min_read; /* bytes; 0: never splice */
	int		  idle_timeout;	/* seconds; 0 disables */
	int		  shutdown_timeout; /* seconds */
	int		  backlog;
	int		  reuseport;	/* a listener per worker: lset.c */
	int		  log_level;	/* LOG_ERR ... LOG_DEBUG */
	int		  syslog_facility; /* LOG_DAEMON, LOG_LOCAL0 ... */
	int		  tcp_keepalive; /* seconds; 0 disables */
	int		  unix_mode;	/* permission bits of unix sockets */
	char		 *user;		/* NULL: keep the starting user */
	char		 *group;	/* NULL: the user's primary group */
	char		 *pidfile;	/* NULL: no pidfile */
	int		  max_per_source; /* per source address; 0: none */
	struct conf_cidrs allow;	/* empty: every source */
	struct conf_cidrs deny;
	struct conf_cidrs proxy_trusted; /* who may send a PROXY header */
	int		  proxy_timeout; /* seconds for a whole header */
	char		 *metrics_listen; /* NULL: no metrics endpoint */
	int		  access_log;	/* a line per closed connection */
};

/* Loading. */
void	conf_defaults(struct iod_conf *);
int	conf_load(const char *, struct iod_conf *, char *, size_t);
void	conf_free(struct iod_conf *);

/* Checks shared with the command line. */
int	conf_check_engine(const char *, char *, size_t);

/* The settings table, for the sample config and documentation checks. */
const char *conf_setting_name(size_t);
const char *conf_setting_default(size_t);

#endif
