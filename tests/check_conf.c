/* conf: defaults, the sample config, and every error path in tests/conf. */
#include <glob.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "engine.h"
#include "transform.h"
#include "lib.h"

#define NSETTINGS	25

static char	*srcfile(const char *, const char *);
static const char *say(char *, size_t, const char *, ...)
		    __attribute__((__format__(printf, 3, 4)));
static char	*read_text(const char *);
static void	 load_ok(const char *, struct iod_conf *);
static void	 load_bad(const char *, struct iod_conf *, char *, size_t);
static void	 read_expect(const char *, char *, size_t, int *);
static int	 str_same(const char *, const char *);
static const char *diff_conf(const struct iod_conf *,
		    const struct iod_conf *, char *, size_t);
static void	 assert_defaults(const struct iod_conf *);
static void	 assert_empty(const struct iod_conf *);
static int	 cidrs_same(const struct conf_cidrs *,
		    const struct conf_cidrs *);
static int	 opts_same(const struct conf_listener *,
		    const struct conf_listener *);
static void	 assert_block(const struct conf_cidrs *, size_t, const char *);

/* The bad-*.conf fixtures, found when the suite is built. */
static glob_t	 bad;

/* The int members of struct iod_conf, for comparing two of them. */
static const struct {
	const char	*name;
	size_t		 off;
} ints[] = {
	{ "mode",		offsetof(struct iod_conf, mode) },
	{ "workers",		offsetof(struct iod_conf, workers) },
	{ "max_connections",	offsetof(struct iod_conf, max_connections) },
	{ "max_pending_bytes",	offsetof(struct iod_conf, max_pending_bytes) },
	{ "splice_min_read",	offsetof(struct iod_conf, splice_min_read) },
	{ "idle_timeout",	offsetof(struct iod_conf, idle_timeout) },
	{ "shutdown_timeout",	offsetof(struct iod_conf, shutdown_timeout) },
	{ "backlog",		offsetof(struct iod_conf, backlog) },
	{ "log_level",		offsetof(struct iod_conf, log_level) },
	{ "syslog_facility",	offsetof(struct iod_conf, syslog_facility) },
	{ "tcp_keepalive",	offsetof(struct iod_conf, tcp_keepalive) },
	{ "unix_mode",		offsetof(struct iod_conf, unix_mode) },
	{ "max_per_source",	offsetof(struct iod_conf, max_per_source) },
	{ "proxy_timeout",	offsetof(struct iod_conf, proxy_timeout) }
};

/* The lists of address blocks in struct iod_conf. */
static const struct {
	const char	*name;
	size_t		 off;
} cidrs[] = {
	{ "allow",		offsetof(struct iod_conf, allow) },
	{ "deny",		offsetof(struct iod_conf, deny) },
	{ "proxy_trusted",	offsetof(struct iod_conf, proxy_trusted) }
};

/* The string members of struct iod_conf, for comparing two of them. */
static const struct {
	const char	*name;
	size_t		 off;
} strs[] = {
	{ "engine",	offsetof(struct iod_conf, engine) },
	{ "user",	offsetof(struct iod_conf, user) },
	{ "group",	offsetof(struct iod_conf, group) },
	{ "pidfile",	offsetof(struct iod_conf, pidfile) }
};

/* Return the malloc'd path of dir/name in the source tree. */
static char *
srcfile(const char *dir, const char *name)
{
	char	*path;

	if (asprintf(&path, "%s/%s/%s", t_srcdir(), dir, name) == -1)
		ck_abort_msg("asprintf failed");
	return (path);
}

/* Format into buf and return it. */
static const char *
say(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (buf);
}

/* Return the whole of a text file, malloc'd. */
static char *
read_text(const char *path)
{
	FILE	*fp;
	char	*text;
	long	 len;

	if ((fp = fopen(path, "r")) == NULL)
		ck_abort_msg("open %s failed", path);
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	if (len < 0 || (text = calloc(1, (size_t)len + 1)) == NULL)
		ck_abort_msg("%s: cannot size or allocate", path);
	if (fread(text, 1, (size_t)len, fp) != (size_t)len)
		ck_abort_msg("%s: short read", path);
	fclose(fp);
	return (text);
}

/* Load a file that must be good. */
static void
load_ok(const char *path, struct iod_conf *conf)
{
	char	err[512] = "";
	int	rc;

	rc = conf_load(path, conf, err, sizeof(err));
	ck_assert_msg(rc == 0, "conf_load %s returned %d: %s", path, rc, err);
	ck_assert_msg(conf->path != NULL && strcmp(conf->path, path) == 0,
	    "path is %s, not %s", conf->path, path);
}

/* Load a file that must be refused, leaving its message in err. */
static void
load_bad(const char *path, struct iod_conf *conf, char *err, size_t len)
{
	int	rc;

	err[0] = '\0';
	rc = conf_load(path, conf, err, len);
	ck_assert_msg(rc == -1, "conf_load %s returned %d", path, rc);
	assert_empty(conf);
	ck_assert_msg(strchr(err, '\n') == NULL, "message has a newline: %s",
	    err);
}

/*
 * Read a fixture's "# expect: TEXT" or "# expect-prefix: TEXT" first line
 * into want as "PATH:TEXT".
 */
static void
read_expect(const char *path, char *want, size_t len, int *prefix)
{
	char		*text, *nl;
	const char	*exact = "# expect: ", *start = "# expect-prefix: ";

	text = read_text(path);
	if ((nl = strchr(text, '\n')) != NULL)
		*nl = '\0';
	*prefix = strncmp(text, start, strlen(start)) == 0;
	if (*prefix)
		snprintf(want, len, "%s:%s", path, text + strlen(start));
	else if (strncmp(text, exact, strlen(exact)) == 0)
		snprintf(want, len, "%s:%s", path, text + strlen(exact));
	else
		ck_abort_msg("%s: first line is \"%s\", not # expect", path,
		    text);
	free(text);
}

/* Return whether two strings, either of which may be NULL, are equal. */
static int
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

/* Describe the first setting where a and b differ, or return NULL. */
static const char *
diff_conf(const struct iod_conf *a, const struct iod_conf *b, char *buf,
    size_t len)
{
	const char	*sa, *sb;
	size_t		 i;
	int		 ia, ib;

	if (a->nlisten != b->nlisten)
		return (say(buf, len, "nlisten %zu, not %zu", a->nlisten,
		    b->nlisten));
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return (say(buf, len, "listen[%zu] %s, not %s", i,
			    a->listen[i], b->listen[i]));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		memcpy(&ia, (const char *)a + ints[i].off, sizeof(ia));
		memcpy(&ib, (const char *)b + ints[i].off, sizeof(ib));
		if (ia != ib)
			return (say(buf, len, "%s %d, not %d", ints[i].name,
			    ia, ib));
	}
	for (i = 0; i < a->nlisten; i++)
		if (!opts_same(&a->listen_opts[i], &b->listen_opts[i]))
			return (say(buf, len, "listen[%zu]'s group differs",
			    i));
	for (i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++)
		if (!cidrs_same((const struct conf_cidrs *)(const void *)
		    ((const char *)a + cidrs[i].off),
		    (const struct conf_cidrs *)(const void *)
		    ((const char *)b + cidrs[i].off)))
			return (say(buf, len, "%s differs", cidrs[i].name));
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		memcpy(&sa, (const char *)a + strs[i].off, sizeof(sa));
		memcpy(&sb, (const char *)b + strs[i].off, sizeof(sb));
		if (!str_same(sa, sb))
			return (say(buf, len, "%s %s, not %s", strs[i].name,
			    sa ? sa : "unset", sb ? sb : "unset"));
	}
	return (NULL);
}

/* Are two lists of blocks the same blocks in the same order? */
static int
cidrs_same(const struct conf_cidrs *a, const struct conf_cidrs *b)
{
	return (a->cc_n == b->cc_n && (a->cc_n == 0 ||
	    memcmp(a->cc_list, b->cc_list, a->cc_n * sizeof(*a->cc_list))
	    == 0));
}

/* Do two listeners say the same besides their address? */
static int
opts_same(const struct conf_listener *a, const struct conf_listener *b)
{
	return (a->cl_proxy == b->cl_proxy &&
	    a->cl_has_allow == b->cl_has_allow &&
	    a->cl_has_deny == b->cl_has_deny &&
	    cidrs_same(&a->cl_allow, &b->cl_allow) &&
	    cidrs_same(&a->cl_deny, &b->cl_deny));
}

/* Assert that block i of cc is spec. */
static void
assert_block(const struct conf_cidrs *cc, size_t i, const char *spec)
{
	struct cidr	want;
	char		cause[128];

	ck_assert_msg(cidr_parse(spec, &want, cause, sizeof(cause)) == 0,
	    "%s: %s", spec, cause);
	ck_assert_msg(i < cc->cc_n, "no block %zu (of %zu) for %s", i,
	    cc->cc_n, spec);
	ck_assert_msg(memcmp(&cc->cc_list[i], &want, sizeof(want)) == 0,
	    "block %zu is not %s", i, spec);
}

/* Assert that conf holds the defaults. */
static void
assert_defaults(const struct iod_conf *conf)
{
	struct iod_conf	 def;
	const char	*d;
	char		 buf[256];

	conf_defaults(&def);
	d = diff_conf(conf, &def, buf, sizeof(buf));
	ck_assert_msg(d == NULL, "not the defaults: %s", d);
	conf_free(&def);
}

/* Assert that conf holds nothing to free. */
static void
assert_empty(const struct iod_conf *conf)
{
	ck_assert_msg(conf->path == NULL, "path %s", conf->path);
	ck_assert_msg(conf->listen == NULL && conf->nlisten == 0,
	    "%zu listeners", conf->nlisten);
	ck_assert_msg(conf->engine == NULL, "engine %s", conf->engine);
	ck_assert_msg(conf->user == NULL, "user %s", conf->user);
	ck_assert_msg(conf->group == NULL, "group %s", conf->group);
	ck_assert_msg(conf->pidfile == NULL, "pidfile %s", conf->pidfile);
}

/* conf_defaults gives the defaults the settings table documents. */
START_TEST(test_defaults)
{
	struct iod_conf	conf;

	conf_defaults(&conf);
	ck_assert_msg(conf.path == NULL, "path %s", conf.path);
	ck_assert_msg(conf.nlisten == 2, "%zu listeners", conf.nlisten);
	ck_assert_str_eq(conf.listen[0], "127.0.0.1:7777");
	ck_assert_str_eq(conf.listen[1], "[::1]:7777");
	ck_assert_int_eq(conf.mode, TRANSFORM_UPPER);
	ck_assert_str_eq(conf.engine, "libevent");
	ck_assert_int_eq(conf.workers, 1);
	ck_assert_int_eq(conf.max_connections, 10000);
	ck_assert_int_eq(conf.max_pending_bytes, 262144);
	ck_assert_int_eq(conf.splice_min_read, 65536);
	ck_assert_int_eq(conf.idle_timeout, 300);
	ck_assert_int_eq(conf.shutdown_timeout, 10);
	ck_assert_int_eq(conf.backlog, 511);
	ck_assert_int_eq(conf.reuseport, 0);
	ck_assert_int_eq(conf.log_level, LOG_INFO);
	ck_assert_int_eq(conf.syslog_facility, LOG_DAEMON);
	ck_assert_int_eq(conf.tcp_keepalive, 0);
	ck_assert_int_eq(conf.unix_mode, 0660);
	ck_assert_ptr_null(conf.user);
	ck_assert_ptr_null(conf.group);
	ck_assert_ptr_null(conf.pidfile);
	ck_assert_ptr_null(conf.metrics_listen);
	ck_assert_int_eq(conf.access_log, 0);
	ck_assert_int_eq(conf.max_per_source, 0);
	ck_assert_int_eq(conf.proxy_timeout, 5);
	ck_assert_msg(conf.allow.cc_n == 0 && conf.deny.cc_n == 0,
	    "allow %zu, deny %zu blocks", conf.allow.cc_n, conf.deny.cc_n);
	ck_assert_msg(conf.proxy_trusted.cc_n == 2, "proxy_trusted %zu blocks",
	    conf.proxy_trusted.cc_n);
	assert_block(&conf.proxy_trusted, 0, "127.0.0.0/8");
	assert_block(&conf.proxy_trusted, 1, "::1/128");
	ck_assert_msg(!conf.listen_opts[0].cl_proxy &&
	    !conf.listen_opts[1].cl_proxy, "a default listener takes PROXY");
	conf_free(&conf);
}
END_TEST

/* The table lists every setting once and ends with NULL. */
START_TEST(test_table)
{
	const char	*a, *b;
	size_t		 i, j;

	for (i = 0; i < NSETTINGS; i++) {
		a = conf_setting_name(i);
		ck_assert_msg(a != NULL, "setting %zu has no name", i);
		ck_assert_msg(conf_setting_default(i) != NULL,
		    "%s has no default", a);
		for (j = 0; j < i; j++) {
			b = conf_setting_name(j);
			ck_assert_msg(strcmp(a, b) != 0, "%s listed twice", a);
		}
	}
	ck_assert_msg(conf_setting_name(i) == NULL, "extra setting %s",
	    conf_setting_name(i));
	ck_assert_msg(conf_setting_default(i) == NULL, "extra default %s",
	    conf_setting_default(i));
}
END_TEST

/* Each setting written as "NAME = DEFAULT;" loads as the defaults. */
START_TEST(test_default_text)
{
	char		*text, *path;
	struct iod_conf	 conf;

	if (asprintf(&text, "%s = %s;\n", conf_setting_name(_i),
	    conf_setting_default(_i)) == -1)
		ck_abort_msg("asprintf failed");
	path = t_write_tmp(text);
	load_ok(path, &conf);
	assert_defaults(&conf);
	conf_free(&conf);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

/* The sample shows every setting, commented out, at its default. */
START_TEST(test_sample_lines)
{
	char		*path, *text, *line;
	const char	*name;
	size_t		 i;

	path = srcfile("etc", "iod.conf");
	text = read_text(path);
	for (i = 0; (name = conf_setting_name(i)) != NULL; i++) {
		if (asprintf(&line, "\n# %s = %s;\n", name,
		    conf_setting_default(i)) == -1)
			ck_abort_msg("asprintf failed");
		ck_assert_msg(strstr(text, line) != NULL,
		    "%s lacks the line \"%.*s\"", path,
		    (int)strlen(line) - 2, line + 1);
		free(line);
	}
	free(text);
	free(path);
}
END_TEST

/* The sample loads and gives exactly the defaults. */
START_TEST(test_sample_loads)
{
	char		*path;
	struct iod_conf	 conf;

	path = srcfile("etc", "iod.conf");
	load_ok(path, &conf);
	assert_defaults(&conf);
	conf_free(&conf);
	free(path);
}
END_TEST

/* Each bad fixture is refused with the message on its first line. */
START_TEST(test_bad_fixture)
{
	const char	*path = bad.gl_pathv[_i];
	char		 want[512], got[512];
	int		 prefix;
	struct iod_conf	 conf;

	read_expect(path, want, sizeof(want), &prefix);
	load_bad(path, &conf, got, sizeof(got));
	if (prefix)
		ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
		    "got \"%s\", want it to start \"%s\"", got, want);
	else
		ck_assert_msg(strcmp(got, want) == 0,
		    "got \"%s\", want \"%s\"", got, want);
	conf_free(&conf);
}
END_TEST

/* The bad fixtures were found, so the loop above ran. */
START_TEST(test_bad_found)
{
	ck_assert_msg(bad.gl_pathc >= 40, "found %zu bad-*.conf in "
	    "%s/tests/conf", bad.gl_pathc, t_srcdir());
}
END_TEST

/* A missing file is reported as PATH: strerror. */
START_TEST(test_missing)
{
	char		*path, want[512], got[512];
	struct iod_conf	 conf;

	path = srcfile("tests/conf", "no-such-file.conf");
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	load_bad(path, &conf, got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "got \"%s\"", got);
	free(path);
}
END_TEST

/* A directory is refused before libconfig's scanner can exit on it. */
START_TEST(test_directory)
{
	char		*path, want[512], got[512];
	struct iod_conf	 conf;

	path = srcfile("tests/conf", "");
	snprintf(want, sizeof(want), "%s: Is a directory", path);
	load_bad(path, &conf, got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "got \"%s\"", got);
	free(path);
}
END_TEST

/* An unknown engine or an empty one gets the full list of engines. */
START_TEST(test_engine_names)
{
	static const char *const values[] = { "kqueue", "" };
	char			*text, *path, want[512], got[512];
	struct iod_conf		 conf;

	if (asprintf(&text, "\nengine = \"%s\";\n", values[_i]) == -1)
		ck_abort_msg("asprintf failed");
	path = t_write_tmp(text);
	snprintf(want, sizeof(want), "%s:2: engine must be one of %s "
	    "(got \"%s\")", path, engine_names(), values[_i]);
	load_bad(path, &conf, got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "got \"%s\", want \"%s\"", got,
	    want);
	unlink(path);
	free(path);
	free(text);
}
END_TEST

/* A short error buffer gets a truncated, terminated message. */
START_TEST(test_short_errbuf)
{
	char		*path, *err;
	struct iod_conf	 conf;
	int		 rc;

	path = srcfile("tests/conf", "bad-unknown.conf");
	err = malloc(8);
	ck_assert_ptr_nonnull(err);
	rc = conf_load(path, &conf, err, 8);
	ck_assert_msg(rc == -1, "conf_load returned %d", rc);
	ck_assert_msg(strlen(err) == 7 && strncmp(err, path, 7) == 0,
	    "got \"%s\"", err);
	rc = conf_load(path, &conf, err, 0);
	ck_assert_msg(rc == -1, "conf_load returned %d", rc);
	assert_empty(&conf);
	free(err);
	free(path);
}
END_TEST

/* conf_free leaves conf empty, so a second call is harmless. */
START_TEST(test_free_twice)
{
	struct iod_conf	conf;

	conf_defaults(&conf);
	conf_free(&conf);
	assert_empty(&conf);
	conf_free(&conf);
}
END_TEST

/* good-all.conf sets every setting away from its default. */
START_TEST(test_good_all)
{
	char		*path = srcfile("tests/conf", "good-all.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	ck_assert_msg(conf.nlisten == 4, "%zu listeners", conf.nlisten);
	ck_assert_str_eq(conf.listen[0], "127.0.0.1:0");
	ck_assert_str_eq(conf.listen[1], "[::1]:8000");
	ck_assert_str_eq(conf.listen[2], "*:9000");
	ck_assert_str_eq(conf.listen[3], "unix:/run/iod/iod.sock");
	ck_assert_int_eq(conf.mode, TRANSFORM_ECHO);
	ck_assert_str_eq(conf.engine, "libevent");
	ck_assert_int_eq(conf.workers, 8);
	ck_assert_int_eq(conf.max_connections, 500);
	ck_assert_int_eq(conf.max_pending_bytes, 65536);
	ck_assert_int_eq(conf.splice_min_read, 4096);
	ck_assert_int_eq(conf.idle_timeout, 0);
	ck_assert_int_eq(conf.shutdown_timeout, 30);
	ck_assert_int_eq(conf.backlog, 128);
	ck_assert_int_eq(conf.log_level, LOG_DEBUG);
	ck_assert_int_eq(conf.syslog_facility, LOG_LOCAL3);
	ck_assert_int_eq(conf.tcp_keepalive, 60);
	ck_assert_int_eq(conf.unix_mode, 0600);
	ck_assert_pstr_eq(conf.user, "root");
	ck_assert_pstr_eq(conf.group, "root");
	ck_assert_pstr_eq(conf.pidfile, "/run/iod.pid");
	ck_assert_int_eq(conf.max_per_source, 3);
	ck_assert_int_eq(conf.proxy_timeout, 9);
	assert_block(&conf.allow, 0, "10.0.0.0/8");
	assert_block(&conf.allow, 1, "2001:db8::/32");
	assert_block(&conf.deny, 0, "10.9.9.9");
	ck_assert_msg(conf.proxy_trusted.cc_n == 1, "proxy_trusted %zu blocks",
	    conf.proxy_trusted.cc_n);
	assert_block(&conf.proxy_trusted, 0, "192.0.2.0/24");
	conf_free(&conf);
	free(path);
}
END_TEST

/*
 * A listen group: its address, proxy_protocol and its own lists, each
 * given or not; a plain string beside it has none of them.
 */
START_TEST(test_good_groups)
{
	char			*path = srcfile("tests/conf", "good-groups.conf");
	struct iod_conf		 conf;
	struct conf_listener	*o;

	load_ok(path, &conf);
	ck_assert_msg(conf.nlisten == 3, "%zu listeners", conf.nlisten);
	o = conf.listen_opts;
	ck_assert_str_eq(conf.listen[0], "127.0.0.1:7777");
	ck_assert_msg(!o[0].cl_proxy && !o[0].cl_has_allow &&
	    !o[0].cl_has_deny, "a string listener has a group's options");
	ck_assert_str_eq(conf.listen[1], "127.0.0.1:7778");
	ck_assert_msg(o[1].cl_proxy && o[1].cl_has_allow &&
	    !o[1].cl_has_deny, "group 1: proxy %d allow %d deny %d",
	    o[1].cl_proxy, o[1].cl_has_allow, o[1].cl_has_deny);
	assert_block(&o[1].cl_allow, 0, "10.0.0.0/8");
	ck_assert_str_eq(conf.listen[2], "unix:/run/iod/p.sock");
	ck_assert_msg(!o[2].cl_proxy && !o[2].cl_has_allow &&
	    o[2].cl_has_deny && o[2].cl_deny.cc_n == 0,
	    "group 2: proxy %d allow %d deny %d (%zu blocks)", o[2].cl_proxy,
	    o[2].cl_has_allow, o[2].cl_has_deny, o[2].cl_deny.cc_n);
	conf_free(&conf);
	free(path);
}
END_TEST

/* A file of comments only gives the defaults. */
START_TEST(test_good_empty)
{
	char		*path = srcfile("tests/conf", "good-empty.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	assert_defaults(&conf);
	conf_free(&conf);
	free(path);
}
END_TEST

/* Every lower bound is accepted. */
START_TEST(test_good_min)
{
	char		*path = srcfile("tests/conf", "good-min.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	ck_assert_int_eq(conf.workers, 1);
	ck_assert_int_eq(conf.max_connections, 1);
	ck_assert_int_eq(conf.max_pending_bytes, 1024);
	ck_assert_int_eq(conf.splice_min_read, 0);
	ck_assert_int_eq(conf.idle_timeout, 0);
	ck_assert_int_eq(conf.shutdown_timeout, 0);
	ck_assert_int_eq(conf.backlog, 1);
	ck_assert_int_eq(conf.tcp_keepalive, 0);
	ck_assert_int_eq(conf.unix_mode, 0);
	ck_assert_int_eq(conf.log_level, LOG_DEBUG);
	ck_assert_int_eq(conf.max_per_source, 0);
	ck_assert_int_eq(conf.proxy_timeout, 1);
	conf_free(&conf);
	free(path);
}
END_TEST

/* Every upper bound is accepted, also as a 64-bit literal. */
START_TEST(test_good_max)
{
	char		*path = srcfile("tests/conf", "good-max.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	ck_assert_int_eq(conf.workers, 256);
	ck_assert_int_eq(conf.max_connections, 1000000);
	ck_assert_int_eq(conf.max_pending_bytes, 1073741824);
	ck_assert_int_eq(conf.splice_min_read, 262144);
	ck_assert_int_eq(conf.idle_timeout, 604800);
	ck_assert_int_eq(conf.shutdown_timeout, 3600);
	ck_assert_int_eq(conf.backlog, 65535);
	ck_assert_int_eq(conf.tcp_keepalive, 32767);
	ck_assert_int_eq(conf.unix_mode, 0777);
	ck_assert_int_eq(conf.log_level, LOG_ERR);
	ck_assert_int_eq(conf.syslog_facility, LOG_LOCAL7);
	ck_assert_int_eq(conf.max_per_source, 1000000);
	ck_assert_int_eq(conf.proxy_timeout, 3600);
	conf_free(&conf);
	free(path);
}
END_TEST

/* An empty user, group or pidfile leaves it unset, as by default. */
START_TEST(test_good_unset)
{
	char		*path = srcfile("tests/conf", "good-unset.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	assert_defaults(&conf);
	conf_free(&conf);
	free(path);
}
END_TEST

/* A user alone is enough; the group stays unset. */
START_TEST(test_good_user)
{
	char		*path = srcfile("tests/conf", "good-user.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	ck_assert_pstr_eq(conf.user, "root");
	ck_assert_pstr_eq(conf.group, NULL);
	conf_free(&conf);
	free(path);
}
END_TEST

/* libconfig's other spellings load too. */
START_TEST(test_good_syntax)
{
	char		*path = srcfile("tests/conf", "good-syntax.conf");
	struct iod_conf	 conf;

	load_ok(path, &conf);
	ck_assert_int_eq(conf.workers, 3);
	ck_assert_int_eq(conf.mode, TRANSFORM_ECHO);
	ck_assert_msg(conf.nlisten == 2, "%zu listeners", conf.nlisten);
	ck_assert_str_eq(conf.listen[0], "127.0.0.1:7777");
	ck_assert_str_eq(conf.listen[1], "127.0.0.1:7778");
	ck_assert_int_eq(conf.backlog, 256);
	conf_free(&conf);
	free(path);
}
END_TEST

/* The conf suite; the bad fixtures are listed here, before any fork. */
Suite *
suite_conf(void)
{
	Suite	*s;
	TCase	*tc;
	char	*pattern;

	if (asprintf(&pattern, "%s/tests/conf/bad-*.conf", t_srcdir()) == -1)
		abort();
	if (glob(pattern, 0, NULL, &bad) != 0)
		bad.gl_pathc = 0;
	free(pattern);
	s = suite_create("conf");
	tc = tcase_create("conf");
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_table);
	tcase_add_loop_test(tc, test_default_text, 0, NSETTINGS);
	tcase_add_test(tc, test_sample_lines);
	tcase_add_test(tc, test_sample_loads);
	tcase_add_loop_test(tc, test_bad_fixture, 0, (int)bad.gl_pathc);
	tcase_add_test(tc, test_bad_found);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_directory);
	tcase_add_loop_test(tc, test_engine_names, 0, 2);
	tcase_add_test(tc, test_short_errbuf);
	tcase_add_test(tc, test_free_twice);
	tcase_add_test(tc, test_good_all);
	tcase_add_test(tc, test_good_groups);
	tcase_add_test(tc, test_good_empty);
	tcase_add_test(tc, test_good_min);
	tcase_add_test(tc, test_good_max);
	tcase_add_test(tc, test_good_unset);
	tcase_add_test(tc, test_good_user);
	tcase_add_test(tc, test_good_syntax);
	suite_add_tcase(s, tc);
	return (s);
}
