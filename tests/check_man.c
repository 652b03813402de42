/*
 * The manual pages against the code: iod.conf(5) describes every setting
 * of the table in src/conf.c, with the table's default, iod(8) every
 * option, and both name the configuration file iod reads by default.
 * The pages checked are the ones the build made from the templates, with
 * its paths, as they are installed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "conf.h"
#include "lib.h"

static char	*m_read(const char *);
static char	*m_roff(const char *);
static char	*m_item(const char *, const char *);
static char	*m_default_conf(void);
static void	 m_names_only(const char *, const char *, const char *);

/*
 * Read a file under the build tree ($IOD_BUILDDIR, as set by make check)
 * into a malloc'd string.
 */
static char *
m_read(const char *rel)
{
	struct t_buf	 b = { NULL, 0, 0 };
	const char	*dir;
	char		 path[1024], chunk[4096];
	FILE		*f;
	size_t		 n;

	if ((dir = getenv("IOD_BUILDDIR")) == NULL)
		dir = ".";
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if ((f = fopen(path, "r")) == NULL)
		ck_abort_msg("%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		t_buf_add(&b, chunk, n);
	fclose(f);
	ck_assert_msg(b.b_data != NULL, "%s is empty", path);
	return (b.b_data);
}

/* A default as the sample writes it, in roff: each " becomes \(dq. */
static char *
m_roff(const char *s)
{
	struct t_buf	b = { NULL, 0, 0 };

	for (; *s != '\0'; s++) {
		if (*s == '"')
			t_buf_add(&b, "\\(dq", 4);
		else
			t_buf_add(&b, s, 1);
	}
	return (b.b_data);
}

/*
 * The item of setting name in the page: from its ".It Ic NAME " line to
 * the next setting's, or to the next section.  NULL if there is none.
 */
static char *
m_item(const char *page, const char *name)
{
	char		 head[128];
	const char	*p, *end, *next;

	snprintf(head, sizeof(head), "\n.It Ic %s ", name);
	if ((p = strstr(page, head)) == NULL)
		return (NULL);
	p++;
	end = p + strlen(p);
	if ((next = strstr(p + 1, "\n.It Ic ")) != NULL && next < end)
		end = next;
	if ((next = strstr(p, "\n.Sh ")) != NULL && next < end)
		end = next;
	return (strndup(p, (size_t)(end - p)));
}

/* The default configuration file, as iod -h prints it; malloc'd. */
static char *
m_default_conf(void)
{
	struct t_opts	 o = { .args = { "-h" },
			    .flags = T_NOSTDERR | T_NOCONF };
	struct t_iod	*iod;
	const char	*p, *end;
	char		*path;
	int		 code;

	code = t_run_iod(NULL, &o, t_ms(5000), &iod);
	ck_assert_msg(code == 0, "iod -h exited %d", code);
	p = iod->out.b_data != NULL ? strstr(iod->out.b_data, "(default ") :
	    NULL;
	ck_assert_msg(p != NULL && (end = strchr(p, ')')) != NULL,
	    "iod -h names no default file:\n%s", iod->out.b_data);
	p += strlen("(default ");
	path = strndup(p, (size_t)(end - p));
	t_stop_iod(iod);
	return (path);
}

/*
 * Require that every absolute path to iod.conf in page (named name) is
 * path; a relative one, as in an example, is the reader's own file.
 */
static void
m_names_only(const char *name, const char *page, const char *path)
{
	const char	*p, *start;
	size_t		 dirlen = strlen(path) - strlen("/iod.conf");

	for (p = page; (p = strstr(p, "/iod.conf")) != NULL; p++) {
		for (start = p; start > page && start[-1] != ' ' &&
		    start[-1] != '\n'; start--)
			;
		if (*start != '/')
			continue;
		ck_assert_msg((size_t)(p - start) == dirlen &&
		    strncmp(start, path, dirlen) == 0, "%s names "
		    "%.*s/iod.conf, but iod reads %s", name, (int)(p - start),
		    start, path);
	}
}

/*
 * Proves iod.conf(5) has an item for every setting in the table, and
 * that the item gives the table's default, as written in the sample.
 */
START_TEST(test_conf_page)
{
	const char	*name;
	char		*page, *item, *def;
	size_t		 i;

	page = m_read("man/iod.conf.5");
	for (i = 0; (name = conf_setting_name(i)) != NULL; i++) {
		item = m_item(page, name);
		ck_assert_msg(item != NULL, "man/iod.conf.5 has no "
		    "\".It Ic %s\" item", name);
		def = m_roff(conf_setting_default(i));
		ck_assert_msg(strstr(item, "Default") != NULL &&
		    strstr(item, def) != NULL, "man/iod.conf.5: %s: no default "
		    "%s in:\n%s", name, def, item);
		free(def);
		free(item);
	}
	ck_assert_msg(i > 0, "the settings table is empty");
	free(page);
}
END_TEST

/*
 * Proves iod(8) has an item for every option of iod -h, each with its
 * long name.
 */
START_TEST(test_iod_page)
{
	static const struct {
		const char	*flag;
		const char	*name;
	} opts[] = {
		{ "c", "config" }, { "d", "daemon" }, { "e", "engine" },
		{ "h", "help" }, { "t", "test" }, { "V", "version" },
		{ NULL, "stderr" }
	};
	char	*page, want[64];
	size_t	 i;

	page = m_read("man/iod.8");
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (opts[i].flag != NULL) {
			snprintf(want, sizeof(want), "\n.It Fl %s ",
			    opts[i].flag);
			ck_assert_msg(strstr(page, want) != NULL, "man/iod.8 "
			    "has no \".It Fl %s\" item", opts[i].flag);
		}
		snprintf(want, sizeof(want), "Fl \\-%s", opts[i].name);
		ck_assert_msg(strstr(page, want) != NULL, "man/iod.8 lacks "
		    "\"%s\"", want);
	}
	free(page);
}
END_TEST

/*
 * Proves both pages name the configuration file iod reads when not given
 * -c, the one iod -h prints: in FILES, in iod(8)'s -c item, and wherever
 * else they name a path to iod.conf.  The build writes the path in from
 * the templates, so a plain ./configure gets /usr/local/etc/iod.conf and
 * Debian's package /etc/iod.conf.
 */
START_TEST(test_default_conf)
{
	static const char *const pages[] = { "man/iod.8", "man/iod.conf.5" };
	char		*path, *page, want[1024];
	size_t		 i;

	path = m_default_conf();
	ck_assert_msg(strlen(path) > strlen("/iod.conf") &&
	    strcmp(path + strlen(path) - strlen("/iod.conf"), "/iod.conf") == 0,
	    "iod -h: default \"%s\" is not a path to iod.conf", path);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		page = m_read(pages[i]);
		snprintf(want, sizeof(want), "\n.It Pa %s\nThe default "
		    "configuration file.", path);
		ck_assert_msg(strstr(page, want) != NULL, "%s: FILES lacks "
		    "\".It Pa %s\" as the default file", pages[i], path);
		m_names_only(pages[i], page, path);
		if (i == 0) {
			snprintf(want, sizeof(want), "instead of\n.Pa %s .",
			    path);
			ck_assert_msg(strstr(page, want) != NULL, "%s: -c does "
			    "not say \"instead of %s\"", pages[i], path);
		}
		free(page);
	}
	free(path);
}
END_TEST

/* The man suite: the pages say what the code does. */
Suite *
suite_man(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("man");
	tc = tcase_create("pages");
	t_tcase_fixtures(tc);
	tcase_add_test(tc, test_conf_page);
	tcase_add_test(tc, test_iod_page);
	tcase_add_test(tc, test_default_conf);
	suite_add_tcase(s, tc);
	return (s);
}
