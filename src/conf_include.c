/*
 * A configuration file and the files its @include directives name, read
 * and checked before libconfig parses them.  libconfig reads with a flex
 * scanner that calls exit() when a read fails, and opens an included file
 * with fopen: a configuration file or an @include that names a directory,
 * or a file whose read fails (/proc/self/mem), would end iod (at a SIGHUP
 * reload too), and an @include of a FIFO would block it forever.  So the
 * main file is read here, its read errors reported, and libconfig given
 * the text; and every @include is found the way libconfig's scanner finds
 * it (at the start of a line, outside comments and strings, in every
 * included file in turn), then refused unless it is a regular file that
 * reads whole.  A name that cannot be opened, or nesting deeper than
 * libconfig allows, is left for libconfig to report.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_include.h"

#define INCLUDE_DEPTH	10	/* libconfig's MAX_INCLUDE_DEPTH */

#define READ_CHUNK	4096

/* Where the scan of one file's text is. */
struct scan {
	const char	*s_text;
	size_t		 s_len;
	size_t		 s_pos;
	const char	*s_file;
	unsigned int	 s_line;
	int		 s_depth;
	char		*s_cause;
	size_t		 s_causelen;
};

static int	scan_file(struct scan *);
static int	scan_bol(struct scan *, int *);
static int	scan_name(struct scan *, char *, size_t);
static int	scan_include(struct scan *, const char *, unsigned int);
static void	skip_comment(struct scan *);
static void	skip_string(struct scan *);
static void	skip_line(struct scan *);
static int	next(struct scan *);
static void	unget(struct scan *, int);

/*
 * Read what is left of fp into a NUL-terminated malloc'd string, its
 * length in *len.  Return NULL and a cause when a read fails or memory
 * runs out.
 */
char *
conf_include_read(FILE *fp, size_t *len, char *cause, size_t causelen)
{
	char	*text = NULL, *p;
	size_t	 size = 0, n;

	*len = 0;
	for (;;) {
		if (size - *len < READ_CHUNK + 1) {
			if ((p = realloc(text, size + READ_CHUNK * 4)) == NULL) {
				snprintf(cause, causelen, "out of memory");
				free(text);
				return (NULL);
			}
			text = p;
			size += READ_CHUNK * 4;
		}
		if ((n = fread(text + *len, 1, READ_CHUNK, fp)) == 0)
			break;
		*len += n;
	}
	if (ferror(fp)) {
		snprintf(cause, causelen, "%s", strerror(errno));
		free(text);
		return (NULL);
	}
	text[*len] = '\0';
	return (text);
}

/*
 * Check every file that text (len bytes of the file called file) includes,
 * and theirs.  Return -1 and a cause ("FILE:LINE: ...") when one is not a
 * regular file or cannot be read whole.
 */
int
conf_include_check(const char *text, size_t len, const char *file,
    char *cause, size_t causelen)
{
	struct scan	s = { text, len, 0, file, 1, 0, cause, causelen };

	return (scan_file(&s) == -1 ? -1 : 0);
}

/*
 * Scan one file as libconfig's scanner does in its initial state.  Return
 * -1 after a refusal, 1 to stop (deeper than libconfig goes), 0 at its end.
 */
static int
scan_file(struct scan *s)
{
	int	c, rc, bol = 1;

	for (;;) {
		if (bol && (rc = scan_bol(s, &c)) != 0)
			return (rc);
		if (!bol)
			c = next(s);
		bol = 0;
		switch (c) {
		case EOF:
			return (0);
		case '\n':
			bol = 1;
			break;
		case '"':
			skip_string(s);
			break;
		case '#':
			skip_line(s);
			break;
		case '/':
			if ((c = next(s)) == '*')
				skip_comment(s);
			else if (c == '/')
				skip_line(s);
			else
				unget(s, c);
			break;
		}
	}
}

/*
 * At the start of a line, match libconfig's ^[ \t]*@include[ \t]+\" and
 * check the file it names.  Otherwise leave in *c the first byte that did
 * not match (none of those before it can begin a comment or a string).
 */
static int
scan_bol(struct scan *s, int *c)
{
	static const char	*word = "include";
	char			 name[PATH_MAX];
	unsigned int		 line = s->s_line;
	size_t			 i;

	while ((*c = next(s)) == ' ' || *c == '\t')
		continue;
	if (*c != '@')
		return (0);
	for (i = 0; word[i] != '\0'; i++)
		if ((*c = next(s)) != word[i])
			return (0);
	if ((*c = next(s)) != ' ' && *c != '\t')
		return (0);
	while ((*c = next(s)) == ' ' || *c == '\t')
		continue;
	if (*c != '"')
		return (0);
	*c = 0;
	switch (scan_name(s, name, sizeof(name))) {
	case -1:
		return (1);
	case 1:
		return (0);
	}
	return (scan_include(s, name, line));
}

/*
 * Read an @include's name up to its closing quote, with libconfig's two
 * escapes (\\ and \"); a lone backslash is dropped, as libconfig drops it.
 * Return -1 at the end of the file, 1 for a name too long to open (which
 * libconfig will fail to open), 0 otherwise.
 */
static int
scan_name(struct scan *s, char *name, size_t size)
{
	size_t	n = 0;
	int	c;

	while ((c = next(s)) != '"') {
		if (c == EOF)
			return (-1);
		if (c == '\\' && (c = next(s)) != '\\' && c != '"') {
			unget(s, c);
			continue;
		}
		if (n + 1 < size)
			name[n] = (char)c;
		n++;
	}
	if (n >= size)
		return (1);
	name[n] = '\0';
	return (0);
}

/*
 * Refuse an included file that is not a regular file or does not read
 * whole, then scan it.  It is opened without blocking, so that a FIFO
 * cannot stall the check itself.
 */
static int
scan_include(struct scan *s, const char *name, unsigned int line)
{
	struct scan	 sub;
	struct stat	 sb;
	FILE		*fp;
	char		*text, why[128];
	size_t		 len;
	int		 fd, rc;

	if (s->s_depth + 1 > INCLUDE_DEPTH)
		return (1);
	if ((fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1)
		return (1);
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return (1);
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(s->s_cause, s->s_causelen,
		    "%s:%u: @include \"%s\": %s",
		    s->s_file, line, name, S_ISDIR(sb.st_mode) ?
		    strerror(EISDIR) : "not a regular file");
		close(fd);
		return (-1);
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return (1);
	}
	text = conf_include_read(fp, &len, why, sizeof(why));
	fclose(fp);
	if (text == NULL) {
		snprintf(s->s_cause, s->s_causelen,
		    "%s:%u: @include \"%s\": %s", s->s_file, line, name, why);
		return (-1);
	}
	sub = *s;
	sub.s_text = text;
	sub.s_len = len;
	sub.s_pos = 0;
	sub.s_file = name;
	sub.s_line = 1;
	sub.s_depth = s->s_depth + 1;
	rc = scan_file(&sub);
	free(text);
	return (rc);
}

/* Skip a block comment, after its opening slash and star. */
static void
skip_comment(struct scan *s)
{
	int	c, star = 0;

	while ((c = next(s)) != EOF) {
		if (star && c == '/')
			return;
		star = c == '*';
	}
}

/* Skip a quoted string, after its opening quote. */
static void
skip_string(struct scan *s)
{
	int	c;

	while ((c = next(s)) != EOF && c != '"')
		if (c == '\\' && (c = next(s)) != '\\' && c != '"')
			unget(s, c);
}

/* Skip to the end of the line, leaving its newline to be read. */
static void
skip_line(struct scan *s)
{
	int	c;

	while ((c = next(s)) != EOF && c != '\n')
		continue;
	unget(s, c);
}

/* Read a byte, counting lines. */
static int
next(struct scan *s)
{
	int	c;

	if (s->s_pos >= s->s_len)
		return (EOF);
	if ((c = (unsigned char)s->s_text[s->s_pos++]) == '\n')
		s->s_line++;
	return (c);
}

/* Put back the byte just read, uncounting it; EOF stays EOF. */
static void
unget(struct scan *s, int c)
{
	if (c == EOF)
		return;
	if (c == '\n')
		s->s_line--;
	s->s_pos--;
}
