/* iod's settings: one table drives defaults, type and range checks. */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libconfig.h>

#include "conf.h"
#include "conf_include.h"
#include "conf_lists.h"
#include "engine.h"
#include "listen.h"
#include "transform.h"

enum setting_type {
	SET_INT,	/* an integer from min to max */
	SET_BOOL,	/* true or false, stored as 1 or 0 */
	SET_CHOICE,	/* a string from choices, stored as its value */
	SET_OCTAL,	/* a string of 3 or 4 octal digits, from min to max */
	SET_STRING,	/* a string, stored as a copy */
	SET_LIST,	/* listen: a list of addresses and groups */
	SET_CIDRS	/* a list of address blocks, maybe empty */
};

struct choice {
	const char	*name;
	int		 value;
};

typedef int	 check_fn(struct loadctx *, const config_setting_t *,
		    const char *);

/*
 * One row per setting.  A string setting whose default is "" is unset by
 * default and an empty value unsets it, so the sample can show every
 * setting at its default.
 */
struct setting {
	const char		*name;
	enum setting_type	 type;
	int			 min;
	int			 max;
	const struct choice	*choices;	/* SET_CHOICE */
	check_fn		*check;		/* SET_STRING; may be NULL */
	const char		*def;		/* as in etc/iod.conf */
	int			 defint;	/* SET_INT */
	const char		*defstr;	/* the string types */
	size_t			 offset;	/* into struct iod_conf */
	const char		*help;
};

static int	 init_defaults(struct iod_conf *);
static int	 store_default(struct loadctx *, const struct setting *,
		    struct iod_conf *);
static FILE	*open_file(struct loadctx *);
static int	 read_file(struct loadctx *, config_t *);
static int	 read_text(config_t *, char *, size_t);
static int	 apply_file(struct loadctx *, config_t *, struct iod_conf *);
static const struct setting *find_setting(const char *);
static int	 set_setting(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *);
static int	 store_int(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *, long long);
static int	 store_str(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *, const char *);
static int	 store_choice(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *, const char *);
static int	 store_octal(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *, const char *);
static int	 store_string(struct loadctx *, const config_setting_t *,
		    const struct setting *, struct iod_conf *, const char *);
static check_fn	 check_engine, check_user, check_group, check_pidfile;
static check_fn	 check_metrics_listen;
static int	*int_at(struct iod_conf *, const struct setting *);
static struct conf_cidrs *cidrs_at(struct iod_conf *, const struct setting *);
static char	**str_at(struct iod_conf *, const struct setting *);

#define OFF(m)		offsetof(struct iod_conf, m)
#define INTDEF(n)	.def = #n, .defint = (n)
#define STRDEF(s)	.def = "\"" s "\"", .defstr = s

static const char *const listen_default[] = {
	"127.0.0.1:7777",
	"[::1]:7777"
};
#define LISTEN_DEFAULT	"[\"127.0.0.1:7777\", \"[::1]:7777\"]"
#define NLISTEN_DEFAULT	(sizeof(listen_default) / sizeof(listen_default[0]))

static const char *const trusted_default[] = {
	"127.0.0.0/8",
	"::1/128"
};
#define TRUSTED_DEFAULT	"[\"127.0.0.0/8\", \"::1/128\"]"
#define NTRUSTED_DEFAULT \
	(sizeof(trusted_default) / sizeof(trusted_default[0]))

static const struct choice modes[] = {
	{ "upper",	TRANSFORM_UPPER },
	{ "echo",	TRANSFORM_ECHO },
	{ NULL,		0 }
};

static const struct choice levels[] = {
	{ "debug",	LOG_DEBUG },
	{ "info",	LOG_INFO },
	{ "notice",	LOG_NOTICE },
	{ "warning",	LOG_WARNING },
	{ "error",	LOG_ERR },
	{ NULL,		0 }
};

static const struct choice facilities[] = {
	{ "daemon",	LOG_DAEMON },
	{ "local0",	LOG_LOCAL0 },
	{ "local1",	LOG_LOCAL1 },
	{ "local2",	LOG_LOCAL2 },
	{ "local3",	LOG_LOCAL3 },
	{ "local4",	LOG_LOCAL4 },
	{ "local5",	LOG_LOCAL5 },
	{ "local6",	LOG_LOCAL6 },
	{ "local7",	LOG_LOCAL7 },
	{ NULL,		0 }
};

static const struct setting settings[] = {
	{ .name = "listen", .type = SET_LIST, .def = LISTEN_DEFAULT,
	  .offset = OFF(listen),
	  .help = "addresses to listen on" },
	{ .name = "mode", .type = SET_CHOICE, .choices = modes,
	  STRDEF("upper"), .offset = OFF(mode),
	  .help = "upper-case what is sent back, or echo it unchanged" },
	{ .name = "engine", .type = SET_STRING, .check = check_engine,
	  STRDEF("libevent"), .offset = OFF(engine),
	  .help = "the I/O engine" },
	{ .name = "workers", .type = SET_INT, .min = 1, .max = 256,
	  INTDEF(1), .offset = OFF(workers),
	  .help = "worker threads, each with its own event loop" },
	{ .name = "max_connections", .type = SET_INT, .min = 1,
	  .max = 1000000, INTDEF(10000), .offset = OFF(max_connections),
	  .help = "open client connections, over all workers" },
	{ .name = "max_pending_bytes", .type = SET_INT, .min = 1024,
	  .max = 1073741824, INTDEF(262144),
	  .offset = OFF(max_pending_bytes),
	  .help = "unsent bytes per connection before iod stops reading" },
	{ .name = "splice_min_read", .type = SET_INT, .min = 0,
	  .max = ENGINE_IO_MAX, INTDEF(65536),
	  .offset = OFF(splice_min_read),
	  .help = "echo mode: a read this large moves a connection to "
	  "splice(2); 0: never" },
	{ .name = "idle_timeout", .type = SET_INT, .min = 0, .max = 604800,
	  INTDEF(300), .offset = OFF(idle_timeout),
	  .help = "seconds without traffic before a client is closed" },
	{ .name = "shutdown_timeout", .type = SET_INT, .min = 0, .max = 3600,
	  INTDEF(10), .offset = OFF(shutdown_timeout),
	  .help = "seconds to drain connections on shutdown" },
	{ .name = "backlog", .type = SET_INT, .min = 1, .max = 65535,
	  INTDEF(511), .offset = OFF(backlog),
	  .help = "listen(2) backlog of each listener" },
	{ .name = "reuseport", .type = SET_BOOL, .def = "false",
	  .offset = OFF(reuseport),
	  .help = "a SO_REUSEPORT listener per worker for every address" },
	{ .name = "log_level", .type = SET_CHOICE, .choices = levels,
	  STRDEF("info"), .offset = OFF(log_level),
	  .help = "the least important messages that are logged" },
	{ .name = "syslog_facility", .type = SET_CHOICE,
	  .choices = facilities, STRDEF("daemon"),
	  .offset = OFF(syslog_facility),
	  .help = "the syslog facility" },
	{ .name = "tcp_keepalive", .type = SET_INT, .min = 0, .max = 32767,
	  INTDEF(0), .offset = OFF(tcp_keepalive),
	  .help = "seconds of silence before TCP keepalive probes" },
	{ .name = "unix_mode", .type = SET_OCTAL, .min = 0, .max = 0777,
	  STRDEF("0660"), .offset = OFF(unix_mode),
	  .help = "permissions of unix: listening sockets" },
	{ .name = "user", .type = SET_STRING, .check = check_user,
	  STRDEF(""), .offset = OFF(user),
	  .help = "the user to run as after opening listeners" },
	{ .name = "group", .type = SET_STRING, .check = check_group,
	  STRDEF(""), .offset = OFF(group),
	  .help = "the group to run as; needs user" },
	{ .name = "pidfile", .type = SET_STRING, .check = check_pidfile,
	  STRDEF(""), .offset = OFF(pidfile),
	  .help = "a file to write the daemon's pid to" },
	{ .name = "max_per_source", .type = SET_INT, .min = 0,
	  .max = 1000000, INTDEF(0), .offset = OFF(max_per_source),
	  .help = "open connections from one source address; 0: no limit" },
	{ .name = "allow", .type = SET_CIDRS, .def = "[]",
	  .offset = OFF(allow),
	  .help = "when not empty, the only sources served" },
	{ .name = "deny", .type = SET_CIDRS, .def = "[]",
	  .offset = OFF(deny),
	  .help = "sources refused, even when allowed" },
	{ .name = "proxy_trusted", .type = SET_CIDRS, .def = TRUSTED_DEFAULT,
	  .offset = OFF(proxy_trusted),
	  .help = "sources whose PROXY header is believed" },
	{ .name = "proxy_timeout", .type = SET_INT, .min = 1, .max = 3600,
	  INTDEF(5), .offset = OFF(proxy_timeout),
	  .help = "seconds to wait for a whole PROXY header" },
	{ .name = "metrics_listen", .type = SET_STRING,
	  .check = check_metrics_listen, STRDEF(""),
	  .offset = OFF(metrics_listen),
	  .help = "the address of the Prometheus metrics endpoint" },
	{ .name = "access_log", .type = SET_BOOL, .def = "false",
	  .offset = OFF(access_log),
	  .help = "log one line per closed connection" }
};
#define NSETTINGS	(sizeof(settings) / sizeof(settings[0]))

/*
 * Fill conf with the defaults of every setting in the table.  If memory
 * runs out, listen or engine may be left empty; conf_load reports that.
 */
void
conf_defaults(struct iod_conf *conf)
{
	(void)init_defaults(conf);
}

/*
 * Load path over the defaults into conf, which is overwritten, not freed.
 * On error, write one line to errbuf and leave conf empty.
 */
int
conf_load(const char *path, struct iod_conf *conf, char *errbuf,
    size_t errlen)
{
	struct loadctx	 lc = { path, errbuf, errlen };
	config_t	 cfg;
	int		 rc = -1;

	if (init_defaults(conf) == -1 || (conf->path = strdup(path)) == NULL) {
		conf_free(conf);
		snprintf(errbuf, errlen, "out of memory");
		return (-1);
	}
	config_init(&cfg);
	if (read_file(&lc, &cfg) == 0 && apply_file(&lc, &cfg, conf) == 0)
		rc = 0;
	config_destroy(&cfg);
	if (rc == -1)
		conf_free(conf);
	return (rc);
}

/* Free what conf holds and leave it empty; safe to call twice. */
void
conf_free(struct iod_conf *conf)
{
	free(conf->path);
	conf_free_list(conf->listen, conf->nlisten);
	conf_free_opts(conf->listen_opts, conf->nlisten);
	conf_free_cidrs(&conf->allow);
	conf_free_cidrs(&conf->deny);
	conf_free_cidrs(&conf->proxy_trusted);
	free(conf->engine);
	free(conf->user);
	free(conf->group);
	free(conf->pidfile);
	free(conf->metrics_listen);
	memset(conf, 0, sizeof(*conf));
}

/* Return the name of setting i, or NULL past the last one. */
const char *
conf_setting_name(size_t i)
{
	return (i < NSETTINGS ? settings[i].name : NULL);
}

/* Return the default of setting i as written in the sample, or NULL. */
const char *
conf_setting_default(size_t i)
{
	return (i < NSETTINGS ? settings[i].def : NULL);
}

/*
 * Is name an engine built into iod that can run here?  Return -1 and a
 * cause if not.  The engine setting and -e both ask this, so that the
 * file and the command line refuse the same names in the same words.
 */
int
conf_check_engine(const char *name, char *cause, size_t len)
{
	const struct engine	*e;
	char			 why[256];

	if ((e = engine_find(name)) == NULL) {
		snprintf(cause, len, "engine must be one of %s (got \"%s\")",
		    engine_names(), name);
		return (-1);
	}
	if (e->probe != NULL && e->probe(why, sizeof(why)) == -1) {
		snprintf(cause, len, "engine \"%s\" cannot run here: %s",
		    name, why);
		return (-1);
	}
	return (0);
}

/* Reset conf to the table's defaults; -1 only when memory runs out. */
static int
init_defaults(struct iod_conf *conf)
{
	struct loadctx	 lc;
	char		 buf[256];
	size_t		 i;

	lc.path = NULL;
	lc.buf = buf;
	lc.len = sizeof(buf);
	memset(conf, 0, sizeof(*conf));
	for (i = 0; i < NSETTINGS; i++)
		if (store_default(&lc, &settings[i], conf) == -1)
			return (-1);
	return (0);
}

/* Store the default of one setting, through the same checks as a file. */
static int
store_default(struct loadctx *lc, const struct setting *st,
    struct iod_conf *conf)
{
	switch (st->type) {
	case SET_INT:
		return (store_int(lc, NULL, st, conf, st->defint));
	case SET_BOOL:
		*int_at(conf, st) = strcmp(st->def, "true") == 0;
		return (0);
	case SET_LIST:
		return (conf_store_listen(lc, NULL, conf, listen_default, NULL,
		    NLISTEN_DEFAULT));
	case SET_CIDRS:
		if (strcmp(st->name, "proxy_trusted") == 0)
			return (conf_store_cidrs(lc, NULL, st->name,
			    trusted_default, NTRUSTED_DEFAULT,
			    cidrs_at(conf, st)));
		return (conf_store_cidrs(lc, NULL, st->name, NULL, 0,
		    cidrs_at(conf, st)));
	default:
		return (store_str(lc, NULL, st, conf, st->defstr));
	}
}

/* Open the file, refusing a directory: libconfig's scanner exits on one. */
static FILE *
open_file(struct loadctx *lc)
{
	FILE		*fp;
	struct stat	 sb;
	int		 error;

	if ((fp = fopen(lc->path, "r")) == NULL) {
		(void)conf_fail(lc, NULL, "%s: %s", lc->path, strerror(errno));
		return (NULL);
	}
	if (fstat(fileno(fp), &sb) == -1)
		error = errno;
	else if (S_ISDIR(sb.st_mode))
		error = EISDIR;
	else
		return (fp);
	fclose(fp);
	(void)conf_fail(lc, NULL, "%s: %s", lc->path, strerror(error));
	return (NULL);
}

/* Parse the file into cfg; -1 if it cannot be opened or parsed. */
static int
read_file(struct loadctx *lc, config_t *cfg)
{
	FILE		*fp;
	const char	*file, *text;
	char		*data, cause[PATH_MAX + 128];
	size_t		 len;
	int		 rc;

	if ((fp = open_file(lc)) == NULL)
		return (-1);
	data = conf_include_read(fp, &len, cause, sizeof(cause));
	fclose(fp);
	if (data == NULL)
		return (conf_fail(lc, NULL, "%s: %s", lc->path, cause));
	if (conf_include_check(data, len, lc->path, cause,
	    sizeof(cause)) == -1) {
		free(data);
		return (conf_fail(lc, NULL, "%s", cause));
	}
	rc = read_text(cfg, data, len);
	free(data);
	if (rc == -1)
		return (conf_fail(lc, NULL, "out of memory"));
	if (rc == CONFIG_TRUE)
		return (0);
	if ((file = config_error_file(cfg)) == NULL)
		file = lc->path;
	text = config_error_text(cfg);
	/* libconfig's usual text is "syntax error": say it once. */
	if (strcmp(text, "syntax error") == 0)
		return (conf_fail(lc, NULL, "%s:%d: syntax error", file,
		    config_error_line(cfg)));
	return (conf_fail(lc, NULL, "%s:%d: syntax error: %s", file,
	    config_error_line(cfg), text));
}

/*
 * Have libconfig parse len bytes of text, through a stream so that it
 * counts lines and dates settings as for a file.  Return CONFIG_TRUE or
 * CONFIG_FALSE as libconfig does, -1 when the stream cannot be made.
 */
static int
read_text(config_t *cfg, char *text, size_t len)
{
	FILE	*fp;
	int	 rc;

	/* An empty file is an empty configuration (fmemopen wants bytes). */
	if (len == 0)
		return (CONFIG_TRUE);
	if ((fp = fmemopen(text, len, "r")) == NULL)
		return (-1);
	rc = config_read(cfg, fp);
	fclose(fp);
	return (rc);
}

/* Check and store every setting in file order, then what spans several. */
static int
apply_file(struct loadctx *lc, config_t *cfg, struct iod_conf *conf)
{
	config_setting_t	*root, *s;
	const struct setting	*st;
	int			 i;

	root = config_root_setting(cfg);
	for (i = 0; i < config_setting_length(root); i++) {
		s = config_setting_get_elem(root, i);
		if ((st = find_setting(config_setting_name(s))) == NULL)
			return (conf_fail(lc, s, "unknown setting \"%s\"",
			    config_setting_name(s)));
		if (set_setting(lc, s, st, conf) == -1)
			return (-1);
	}
	if (conf->group != NULL && conf->user == NULL)
		return (conf_fail(lc, config_lookup(cfg, "group"),
		    "group requires user"));
	return (0);
}

/* Return the table row called name, or NULL. */
static const struct setting *
find_setting(const char *name)
{
	size_t	i;

	for (i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return (&settings[i]);
	return (NULL);
}

/* Check the type of setting s against its row, then store its value. */
static int
set_setting(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf)
{
	int	type = config_setting_type(s);

	switch (st->type) {
	case SET_INT:
		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return (conf_fail(lc, s, "%s must be an integer",
			    st->name));
		return (store_int(lc, s, st, conf,
		    config_setting_get_int64(s)));
	case SET_BOOL:
		if (type != CONFIG_TYPE_BOOL)
			return (conf_fail(lc, s, "%s must be true or false",
			    st->name));
		*int_at(conf, st) = config_setting_get_bool(s);
		return (0);
	case SET_LIST:
		return (conf_set_listen(lc, s, conf));
	case SET_CIDRS:
		return (conf_set_cidrs(lc, s, st->name, cidrs_at(conf, st)));
	default:
		if (type != CONFIG_TYPE_STRING)
			return (conf_fail(lc, s, "%s must be a string",
			    st->name));
		return (store_str(lc, s, st, conf,
		    config_setting_get_string(s)));
	}
}

/* Store an integer setting if it is in range. */
static int
store_int(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf, long long v)
{
	if (v < st->min || v > st->max)
		return (conf_fail(lc, s, "%s must be between %d and %d "
		    "(got %lld)", st->name, st->min, st->max, v));
	*int_at(conf, st) = (int)v;
	return (0);
}

/* Store a string-valued setting according to its type. */
static int
store_str(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf, const char *v)
{
	switch (st->type) {
	case SET_CHOICE:
		return (store_choice(lc, s, st, conf, v));
	case SET_OCTAL:
		return (store_octal(lc, s, st, conf, v));
	default:
		return (store_string(lc, s, st, conf, v));
	}
}

/* Store the value of the choice named v. */
static int
store_choice(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf, const char *v)
{
	const struct choice	*c;
	char			 names[128];
	size_t			 off = 0;

	for (c = st->choices; c->name != NULL; c++) {
		if (strcmp(c->name, v) == 0) {
			*int_at(conf, st) = c->value;
			return (0);
		}
	}
	names[0] = '\0';
	for (c = st->choices; c->name != NULL && off < sizeof(names); c++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s",
		    c == st->choices ? "" : ", ", c->name);
	return (conf_fail(lc, s, "%s must be one of %s (got \"%s\")", st->name,
	    names, v));
}

/* Store a permission mode written as 3 or 4 octal digits. */
static int
store_octal(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf, const char *v)
{
	size_t	len = strlen(v);
	long	mode;

	if ((len == 3 || len == 4) && strspn(v, "01234567") == len) {
		mode = strtol(v, NULL, 8);
		if (mode >= st->min && mode <= st->max) {
			*int_at(conf, st) = (int)mode;
			return (0);
		}
	}
	return (conf_fail(lc, s, "%s must be an octal mode from %04o to %04o "
	    "(got \"%s\")", st->name, st->min, st->max, v));
}

/* Store a copy of a checked string; "" unsets a setting unset by default. */
static int
store_string(struct loadctx *lc, const config_setting_t *s,
    const struct setting *st, struct iod_conf *conf, const char *v)
{
	char	**p = str_at(conf, st), *copy = NULL;

	if (*v != '\0' || *st->defstr != '\0') {
		if (st->check != NULL && st->check(lc, s, v) == -1)
			return (-1);
		if ((copy = strdup(v)) == NULL)
			return (conf_fail(lc, s, "out of memory"));
	}
	free(*p);
	*p = copy;
	return (0);
}

/* The engine must be one built into iod that can run here. */
static int
check_engine(struct loadctx *lc, const config_setting_t *s, const char *v)
{
	char	why[512];

	if (conf_check_engine(v, why, sizeof(why)) == -1)
		return (conf_fail(lc, s, "%s", why));
	return (0);
}

/* The user must exist. */
static int
check_user(struct loadctx *lc, const config_setting_t *s, const char *v)
{
	if (getpwnam(v) == NULL)
		return (conf_fail(lc, s, "user: no such user \"%s\"", v));
	return (0);
}

/* The group must exist. */
static int
check_group(struct loadctx *lc, const config_setting_t *s, const char *v)
{
	if (getgrnam(v) == NULL)
		return (conf_fail(lc, s, "group: no such group \"%s\"", v));
	return (0);
}

/* The pidfile must not depend on the directory iod was started in. */
static int
check_pidfile(struct loadctx *lc, const config_setting_t *s, const char *v)
{
	if (*v != '/')
		return (conf_fail(lc, s, "pidfile must be an absolute path "
		    "(got \"%s\")", v));
	return (0);
}

/* The metrics endpoint's address is one a listener could have. */
static int
check_metrics_listen(struct loadctx *lc, const config_setting_t *s,
    const char *v)
{
	struct listen_addr	la;
	char			why[256];

	if (listen_parse(v, &la, why, sizeof(why)) == -1)
		return (conf_fail(lc, s, "metrics_listen: %s", why));
	return (0);
}

/* Return the int member of conf that row st sets. */
static int *
int_at(struct iod_conf *conf, const struct setting *st)
{
	return ((int *)(void *)((char *)conf + st->offset));
}

/* Return the list of blocks that row st sets. */
static struct conf_cidrs *
cidrs_at(struct iod_conf *conf, const struct setting *st)
{
	return ((struct conf_cidrs *)(void *)((char *)conf + st->offset));
}

/* Return the string member of conf that row st sets. */
static char **
str_at(struct iod_conf *conf, const struct setting *st)
{
	return ((char **)(void *)((char *)conf + st->offset));
}

