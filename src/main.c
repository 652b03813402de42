/*
 * iod: a TCP service that sends back every byte a client sends, upper-cased
 * or unchanged.  main() is the startup sequence, one numbered step at a
 * time; it alone maps failures to exit codes (sysexits.h).
 */
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <unistd.h>
#include <pwd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf.h"
#include "daemon.h"
#include "engine.h"
#include "log.h"
#include "pidfile.h"
#include "poller.h"
#include "privs.h"
#include "sdnotify.h"
#include "sources.h"
#include "stats.h"
#include "supervisor.h"

#define IOD_DEFAULT_CONF	IOD_SYSCONFDIR "/iod.conf"

struct options {
	const char	*conf_path;
	const char	*engine;	/* -e, overrides the config */
	int		 test;		/* -t */
	int		 detach;	/* -d */
	int		 to_stderr;	/* --stderr */
};

static void	prepare_process(void);
static int	serve(const struct options *, const struct iod_conf *, int);
static void	parse_args(int, char **, struct options *);
static __dead void usage(int);
static struct iod_conf *load_conf(const struct options *);
static void	drop_privileges(const struct iod_conf *);
static void	ignore_sigpipe(void);
static void	libevent_log_cb(int, const char *);

int
main(int argc, char *argv[])
{
	struct options	 opt;
	struct iod_conf	*conf;
	char		 cause[512];
	int		 pidfd = -1;

	/* 1. Parse argv. */
	parse_args(argc, argv, &opt);

	/* 2. Log to stderr until the configuration says otherwise. */
	log_init(1, LOG_DAEMON, LOG_INFO);
	prepare_process();

	/* 3. Load the configuration; -t stops here. */
	conf = load_conf(&opt);
	if (opt.test) {
		conf_free(conf);
		free(conf);
		printf("ok\n");
		return (EX_OK);
	}
	log_setlevel(conf->log_level);

	/*
	 * 4. Open the listeners, or adopt the sockets systemd passed, and
	 * the pidfile while still privileged.
	 */
	if (supervisor_listen(conf, cause, sizeof(cause)) == -1)
		fatalx(EX_OSERR, "%s", cause);
	if (conf->pidfile != NULL &&
	    (pidfd = pidfile_open(conf->pidfile, cause, sizeof(cause))) == -1)
		fatalx(EX_CANTCREAT, "pidfile %s: %s", conf->pidfile, cause);

	/* 5. Drop privileges; failing that is fatal. */
	drop_privileges(conf);

	/* 6. Log to syslog from here on, unless --stderr (and not -d). */
	log_init(opt.to_stderr && !opt.detach, conf->syslog_facility,
	    conf->log_level);

	/* 7. Detach only for -d; the pidfile names the final process. */
	if (opt.detach && daemon_detach(cause, sizeof(cause)) == -1)
		fatalx(EX_OSERR, "cannot detach: %s", cause);
	if (pidfd != -1 && pidfile_write(pidfd, cause, sizeof(cause)) == -1)
		fatalx(EX_CANTCREAT, "pidfile %s: %s", conf->pidfile, cause);

	/* 8. Start the workers, then tell whoever waits that iod is up. */
	if (supervisor_start(cause, sizeof(cause)) == -1)
		fatalx(EX_OSERR, "%s", cause);
	daemon_ready();
	sdnotify_ready(supervisor_status());

	/* 9. Serve until told to stop, or until every worker has stopped. */
	return (serve(&opt, conf, pidfd));
}

/*
 * What the process needs before anything else: SIGPIPE ignored, the
 * sigio engine's signals blocked before any thread exists (so that
 * every thread inherits the mask and none dies of one), counters that
 * forked children share, the count of connections per source,
 * libevent's locking and its log lines.
 */
static void
prepare_process(void)
{
	ignore_sigpipe();
	poller_sigio_block();
	if (stats_share() == -1)
		fatal(EX_OSERR, "cannot map shared counters");
	if (sources_init() == -1)
		fatal(EX_OSERR, "cannot map the table of sources");
	if (evthread_use_pthreads() == -1)
		fatalx(EX_OSERR, "libevent has no thread support");
	event_set_log_callback(libevent_log_cb);
}

/*
 * Run the supervisor until iod stops; remove the pidfile and return the
 * exit code: 0, or EX_SOFTWARE when every worker stopped unbidden.
 */
static int
serve(const struct options *opt, const struct iod_conf *conf, int pidfd)
{
	char	cause[512];
	int	status = EX_OK;

	if (supervisor_run(opt->to_stderr && !opt->detach, opt->engine, cause,
	    sizeof(cause)) == -1) {
		log_warnx("%s", cause);
		status = EX_SOFTWARE;
	}
	if (pidfd != -1)
		pidfile_remove(conf->pidfile, pidfd);
	log_info("exiting");
	return (status);
}

/* Fill opt from the command line; exit on -h, -V and mistakes. */
static void
parse_args(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "daemon",	no_argument,		NULL, 'd' },
		{ "engine",	required_argument,	NULL, 'e' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "stderr",	no_argument,		NULL, 's' },
		{ "test",	no_argument,		NULL, 't' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	char	why[512];
	int	ch;

	memset(opt, 0, sizeof(*opt));
	opt->conf_path = IOD_DEFAULT_CONF;
	while ((ch = getopt_long(argc, argv, "c:de:htV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			opt->conf_path = optarg;
			break;
		case 'd':
			opt->detach = 1;
			break;
		case 'e':
			opt->engine = optarg;
			break;
		case 'h':
			usage(EX_OK);
		case 's':
			opt->to_stderr = 1;
			break;
		case 't':
			opt->test = 1;
			break;
		case 'V':
			printf("iod %s\n", PACKAGE_VERSION);
			exit(EX_OK);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "iod: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(EX_USAGE);
	}
	/* -e is checked as the engine setting is, and is a usage error. */
	if (opt->engine != NULL &&
	    conf_check_engine(opt->engine, why, sizeof(why)) == -1) {
		fprintf(stderr, "iod: -e: %s\n", why);
		exit(EX_USAGE);
	}
}

/* Print the synopsis: to stdout for -h, to stderr for a mistake. */
static __dead void
usage(int status)
{
	FILE			*f = status == EX_OK ? stdout : stderr;
	const struct engine	*e;
	size_t			 i;

	fprintf(f, "usage: iod [-dhtV] [-c file] [-e engine] [--stderr]\n"
	    "  -c, --config FILE   configuration file (default %s)\n"
	    "  -t, --test          check the configuration and exit\n"
	    "  -d, --daemon        detach and run in the background\n"
	    "  -e, --engine NAME   I/O engine, one of:\n",
	    IOD_DEFAULT_CONF);
	for (i = 0; (e = engine_at(i)) != NULL; i++)
		fprintf(f, "                      %-10s %s\n", e->name,
		    e->model);
	fprintf(f, "      --stderr        log to standard error, not syslog\n"
	    "  -h, --help          show this help\n"
	    "  -V, --version       show the version\n");
	exit(status);
}

/* Load and validate the configuration, or exit 78 with the reason. */
static struct iod_conf *
load_conf(const struct options *opt)
{
	struct iod_conf	*conf;
	char		 err[512];

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		fatal(EX_OSERR, "calloc");
	if (conf_load(opt->conf_path, conf, err, sizeof(err)) == -1)
		fatalx(EX_CONFIG, "%s", err);
	if (opt->engine != NULL) {
		free(conf->engine);
		if ((conf->engine = strdup(opt->engine)) == NULL)
			fatal(EX_OSERR, "strdup");
	}
	return (conf);
}

/*
 * Become the configured user.  Only root can switch users; anyone else
 * may only already be that user.
 */
static void
drop_privileges(const struct iod_conf *conf)
{
	struct passwd	*pw;
	char		 cause[256];

	if (conf->user == NULL)
		return;
	if (geteuid() != 0) {
		pw = getpwnam(conf->user);
		if (pw != NULL && pw->pw_uid == geteuid() && conf->group == NULL)
			return;
		fatalx(EX_NOPERM, "cannot switch to user %s: not started as "
		    "root", conf->user);
	}
	if (privs_drop(conf->user, conf->group, cause, sizeof(cause)) == -1)
		fatalx(EX_NOPERM, "cannot switch to user %s: %s", conf->user,
		    cause);
	log_info("running as user %s", conf->user);
}

/* A peer that goes away mid-write must cost an EPIPE, not the process. */
static void
ignore_sigpipe(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal(EX_OSERR, "sigaction");
}

/* libevent's own messages, at the matching level. */
static void
libevent_log_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}
