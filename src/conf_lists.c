/*
 * The settings that are lists: listen, whose items are addresses or
 * groups (an address with proxy_protocol and its own allow and deny),
 * and the lists of address blocks (allow, deny, proxy_trusted).  Part of
 * the conf module with conf.c, whose settings table calls these, and so
 * the other file that may include <libconfig.h>; and where every failed
 * check of the module writes its line (conf_fail).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "cidr.h"
#include "conf.h"
#include "conf_lists.h"
#include "listen.h"

static int	group_item(struct loadctx *, const config_setting_t *,
		    const config_setting_t *, const char **,
		    struct conf_listener *);
static int	group_member(struct loadctx *, const config_setting_t *,
		    const char **, struct conf_listener *);
static int	addr_distinct(struct loadctx *, const config_setting_t *,
		    const char *const *, struct listen_addr *, size_t);

/*
 * Check that s is a non-empty list of addresses and groups, then store
 * them.
 */
int
conf_set_listen(struct loadctx *lc, const config_setting_t *s,
    struct iod_conf *conf)
{
	const char		**specs;
	struct conf_listener	 *opts;
	int			  i, n, rc = 0;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return (conf_fail(lc, s, "listen must be a list of addresses "
		    "or groups"));
	if ((n = config_setting_length(s)) <= 0)
		return (conf_fail(lc, s, "listen must name at least one "
		    "address"));
	specs = calloc((size_t)n, sizeof(*specs));
	opts = calloc((size_t)n, sizeof(*opts));
	if (specs == NULL || opts == NULL) {
		free(specs);
		free(opts);
		return (conf_fail(lc, s, "out of memory"));
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = group_item(lc, s, config_setting_get_elem(s, i),
		    &specs[i], &opts[i]);
	if (rc == 0)
		rc = conf_store_listen(lc, s, conf, specs, opts, (size_t)n);
	else if (opts != NULL)
		conf_free_opts(opts, (size_t)n);
	free(specs);
	return (rc);
}

/*
 * One element of listen: an address string, or a group with an address
 * and what applies to its clients.  Errors about a member name its line.
 */
static int
group_item(struct loadctx *lc, const config_setting_t *list,
    const config_setting_t *e, const char **spec, struct conf_listener *cl)
{
	int	i;

	/*
	 * conf_fail() always returns -1, but clang's analyzer does not
	 * follow a variadic function, so this one says -1 itself: a NULL
	 * address must never reach strdup() in conf_store_listen().
	 */
	if (config_setting_type(e) == CONFIG_TYPE_STRING)
		*spec = config_setting_get_string(e);
	else if (!config_setting_is_group(e)) {
		(void)conf_fail(lc, list, "listen must be a list of "
		    "addresses or groups");
		return (-1);
	} else
		for (i = 0; i < config_setting_length(e); i++)
			if (group_member(lc, config_setting_get_elem(e, i),
			    spec, cl) == -1)
				return (-1);
	if (*spec == NULL) {
		(void)conf_fail(lc, e, "listen: a group needs an address");
		return (-1);
	}
	return (0);
}

/* One member of a group in listen. */
static int
group_member(struct loadctx *lc, const config_setting_t *m,
    const char **spec, struct conf_listener *cl)
{
	const char	*name = config_setting_name(m);
	int		 type = config_setting_type(m);

	if (strcmp(name, "address") == 0) {
		if (type != CONFIG_TYPE_STRING)
			return (conf_fail(lc, m, "listen: address must be a "
			    "string"));
		*spec = config_setting_get_string(m);
		return (0);
	}
	if (strcmp(name, "proxy_protocol") == 0) {
		if (type != CONFIG_TYPE_BOOL)
			return (conf_fail(lc, m, "listen: proxy_protocol must "
			    "be true or false"));
		cl->cl_proxy = config_setting_get_bool(m);
		return (0);
	}
	if (strcmp(name, "allow") == 0) {
		cl->cl_has_allow = 1;
		return (conf_set_cidrs(lc, m, "listen: allow", &cl->cl_allow));
	}
	if (strcmp(name, "deny") == 0) {
		cl->cl_has_deny = 1;
		return (conf_set_cidrs(lc, m, "listen: deny", &cl->cl_deny));
	}
	return (conf_fail(lc, m, "listen: unknown setting \"%s\" in a group "
	    "(address, proxy_protocol, allow, deny)", name));
}

/*
 * Replace conf's listeners with n checked, distinct address specs and
 * their options, which conf takes over, or frees on failure (NULL: none).
 */
int
conf_store_listen(struct loadctx *lc, const config_setting_t *s,
    struct iod_conf *conf, const char *const *specs,
    struct conf_listener *opts, size_t n)
{
	struct listen_addr	 *addrs;
	char			**list;
	size_t			  i;

	addrs = calloc(n, sizeof(*addrs));
	list = calloc(n, sizeof(*list));
	if (opts == NULL)
		opts = calloc(n, sizeof(*opts));
	if (addrs == NULL || list == NULL || opts == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (addr_distinct(lc, s, specs, addrs, i) == -1)
			goto bad;
		if ((list[i] = strdup(specs[i])) == NULL)
			goto nomem;
	}
	free(addrs);
	conf_free_list(conf->listen, conf->nlisten);
	conf_free_opts(conf->listen_opts, conf->nlisten);
	conf->listen = list;
	conf->listen_opts = opts;
	conf->nlisten = n;
	return (0);
nomem:
	(void)conf_fail(lc, s, "out of memory");
bad:
	conf_free_list(list, n);
	conf_free_opts(opts, n);
	free(addrs);
	return (-1);
}

/*
 * Parse specs[i] into addrs[i]; it must differ from every earlier one.
 * Errors name the list's line: libconfig dates an element by the token
 * after it, which may be on the next line.
 */
static int
addr_distinct(struct loadctx *lc, const config_setting_t *s,
    const char *const *specs, struct listen_addr *addrs, size_t i)
{
	char	cause[128];
	size_t	j;

	memset(&addrs[i], 0, sizeof(addrs[i]));
	if (listen_parse(specs[i], &addrs[i], cause, sizeof(cause)) == -1)
		return (conf_fail(lc, s, "listen: \"%s\": %s", specs[i],
		    cause));
	for (j = 0; j < i; j++) {
		if (addrs[j].la_family == addrs[i].la_family &&
		    addrs[j].la_len == addrs[i].la_len &&
		    memcmp(&addrs[j].la_ss, &addrs[i].la_ss,
		    addrs[i].la_len) == 0)
			return (conf_fail(lc, s, "listen: \"%s\" is listed "
			    "twice", specs[i]));
	}
	return (0);
}

/* Check that s is a list of address blocks, maybe empty; store them. */
int
conf_set_cidrs(struct loadctx *lc, const config_setting_t *s,
    const char *name, struct conf_cidrs *cc)
{
	const char	**specs;
	int		  i, n, rc = 0;

	if (!config_setting_is_list(s) && !config_setting_is_array(s))
		return (conf_fail(lc, s, "%s must be a list of address blocks",
		    name));
	if ((n = config_setting_length(s)) <= 0)
		return (conf_store_cidrs(lc, s, name, NULL, 0, cc));
	if ((specs = calloc((size_t)n, sizeof(*specs))) == NULL)
		return (conf_fail(lc, s, "out of memory"));
	for (i = 0; i < n && rc == 0; i++)
		if ((specs[i] = config_setting_get_string_elem(s, i)) == NULL)
			rc = conf_fail(lc, s, "%s must be a list of address "
			    "blocks", name);
	if (rc == 0)
		rc = conf_store_cidrs(lc, s, name, specs, (size_t)n, cc);
	free(specs);
	return (rc);
}

/* Replace cc with the n blocks of specs, each checked. */
int
conf_store_cidrs(struct loadctx *lc, const config_setting_t *s,
    const char *name, const char *const *specs, size_t n,
    struct conf_cidrs *cc)
{
	struct cidr	*list = NULL;
	char		 cause[128];
	size_t		 i;

	if (n > 0 && (list = calloc(n, sizeof(*list))) == NULL)
		return (conf_fail(lc, s, "out of memory"));
	for (i = 0; i < n; i++) {
		if (cidr_parse(specs[i], &list[i], cause,
		    sizeof(cause)) == -1) {
			free(list);
			return (conf_fail(lc, s, "%s: \"%s\": %s", name,
			    specs[i], cause));
		}
	}
	conf_free_cidrs(cc);
	cc->cc_list = list;
	cc->cc_n = n;
	return (0);
}

/* Free the first n strings of list, then list itself. */
void
conf_free_list(char **list, size_t n)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Free the lists of n listeners' options, then the options. */
void
conf_free_opts(struct conf_listener *opts, size_t n)
{
	size_t	i;

	if (opts == NULL)
		return;
	for (i = 0; i < n; i++) {
		conf_free_cidrs(&opts[i].cl_allow);
		conf_free_cidrs(&opts[i].cl_deny);
	}
	free(opts);
}

/* Free a list of blocks and leave it empty. */
void
conf_free_cidrs(struct conf_cidrs *cc)
{
	free(cc->cc_list);
	cc->cc_list = NULL;
	cc->cc_n = 0;
}

/*
 * Write one line to lc's buffer, after "FILE:LINE: " when a setting is
 * given, and return -1.  Control characters, which a quoted value may hold,
 * become '?' so the message stays on one line.
 */
int
conf_fail(struct loadctx *lc, const config_setting_t *s, const char *fmt,
    ...)
{
	va_list		 ap;
	const char	*file;
	size_t		 off = 0;
	int		 n;
	unsigned char	*p;

	if (lc->len == 0)
		return (-1);
	if (s != NULL) {
		if ((file = config_setting_source_file(s)) == NULL)
			file = lc->path;
		n = snprintf(lc->buf, lc->len, "%s:%u: ", file,
		    config_setting_source_line(s));
		off = n < 0 ? 0 : (size_t)n;
	}
	if (off < lc->len) {
		va_start(ap, fmt);
		vsnprintf(lc->buf + off, lc->len - off, fmt, ap);
		va_end(ap);
	}
	for (p = (unsigned char *)lc->buf; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return (-1);
}
