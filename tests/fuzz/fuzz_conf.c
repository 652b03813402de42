/*
 * conf_load, the code behind iod -t and every reload, on any bytes.  The
 * input up to its first NUL is written to main.conf and what follows to
 * inc.conf, in a private directory under $TMPDIR that is the current one
 * (and is removed at exit), so that
 * '@include "inc.conf"' reaches the second file.  A load either fails
 * with one printable line and leaves the configuration empty, or gives a
 * configuration whose values pass the checks they came through; nothing
 * leaks either way, and nothing exits.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"
#include "listen.h"

static char	fuzz_dir[4096];

const char	*__lsan_default_suppressions(void);
static void	 cleanup(void);

static void	write_file(const char *, const uint8_t *, size_t);
static void	check_loaded(const struct iod_conf *);
static void	check_refused(const struct iod_conf *, const char *);

/* Replace name's contents with n bytes. */
static void
write_file(const char *name, const uint8_t *p, size_t n)
{
	int	fd;

	fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd != -1, "open %s: %s", name, strerror(errno));
	FUZZ_CHECK(write(fd, p, n) == (ssize_t)n, "write %s", name);
	close(fd);
}

/* A loaded configuration holds what its checks let through. */
static void
check_loaded(const struct iod_conf *conf)
{
	struct listen_addr	la;
	char			cause[512];
	size_t			i;

	FUZZ_CHECK(conf->path != NULL && strcmp(conf->path, "main.conf") == 0,
	    "path");
	FUZZ_CHECK(conf->nlisten >= 1 && conf->listen != NULL, "no listener");
	for (i = 0; i < conf->nlisten; i++)
		FUZZ_CHECK(listen_parse(conf->listen[i], &la, cause,
		    sizeof(cause)) == 0, "listen \"%s\": %s", conf->listen[i],
		    cause);
	FUZZ_CHECK(conf->engine != NULL && conf_check_engine(conf->engine,
	    cause, sizeof(cause)) == 0, "engine: %s", cause);
	FUZZ_CHECK(conf->workers >= 1 && conf->workers <= 256, "workers %d",
	    conf->workers);
	FUZZ_CHECK(conf->max_connections >= 1, "max_connections %d",
	    conf->max_connections);
	FUZZ_CHECK(conf->max_pending_bytes >= 1024, "max_pending_bytes %d",
	    conf->max_pending_bytes);
	FUZZ_CHECK(conf->unix_mode >= 0 && conf->unix_mode <= 0777,
	    "unix_mode %o", conf->unix_mode);
	FUZZ_CHECK(conf->group == NULL || conf->user != NULL, "group, no user");
	FUZZ_CHECK(conf->pidfile == NULL || conf->pidfile[0] == '/',
	    "pidfile \"%s\"", conf->pidfile);
}

/* A refusal is one printable line, and the configuration is left empty. */
static void
check_refused(const struct iod_conf *conf, const char *err)
{
	static const struct iod_conf	empty;
	size_t				i;

	FUZZ_CHECK(err[0] != '\0', "refused without a reason");
	for (i = 0; err[i] != '\0'; i++)
		FUZZ_CHECK((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
		    "control character 0x%02x in \"%s\"", err[i], err);
	FUZZ_CHECK(memcmp(conf, &empty, sizeof(*conf)) == 0,
	    "refused, yet not empty: %s", err);
}

/*
 * libconfig 1.5 (Debian 12's) leaks a string token that a syntax error
 * makes its parser discard: its grammar has no %destructor for them
 * (libconfig issue 142, fixed in 1.7.3).  It is theirs, a few bytes per
 * refused file, and would stop every run within seconds.  Its scanner
 * allocates nothing but such tokens, grown by strbuf_append or, when
 * empty, made in libconfig_yylex; anything iod allocates is still
 * reported.
 */
const char *
__lsan_default_suppressions(void)
{
	return ("leak:strbuf_append\nleak:libconfig_yylex\n");
}

/* Remove the files and the directory the harness worked in. */
static void
cleanup(void)
{
	unlink("main.conf");
	unlink("inc.conf");
	rmdir(fuzz_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp;

	if ((tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/iod-fuzz-conf.XXXXXX", tmp);
	FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL, "mkdtemp %s: %s", fuzz_dir,
	    strerror(errno));
	FUZZ_CHECK(chdir(fuzz_dir) == 0, "chdir: %s", strerror(errno));
	atexit(cleanup);
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct iod_conf	 conf;
	const uint8_t	*nul;
	char		 err[512];
	size_t		 n;

	nul = memchr(data, '\0', len);
	n = nul != NULL ? (size_t)(nul - data) : len;
	write_file("main.conf", data, n);
	write_file("inc.conf", nul != NULL ? nul + 1 : data,
	    nul != NULL ? len - n - 1 : 0);
	memset(&conf, 0x5a, sizeof(conf));
	err[0] = '\0';
	if (conf_load("main.conf", &conf, err, sizeof(err)) == 0) {
		check_loaded(&conf);
		conf_free(&conf);
	} else
		check_refused(&conf, err);
	return (0);
}
