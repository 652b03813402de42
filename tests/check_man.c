/*
 * The manual pages against the code: iod.conf(5) describes every setting
 * of the table in src/conf.c, with the table's default.
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

/* Read a file under the source tree into a malloc'd string. */
static char *
m_read(const char *rel)
{
	struct t_buf	 b = { NULL, 0, 0 };
	char		 path[1024], chunk[4096];
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", t_srcdir(), rel);
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

/* The man suite: the pages say what the code does. */
Suite *
suite_man(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("man");
	tc = tcase_create("pages");
	tcase_add_test(tc, test_conf_page);
	tcase_add_test(tc, test_iod_page);
	suite_add_tcase(s, tc);
	return (s);
}
