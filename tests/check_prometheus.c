/*
 * iod's metrics read by the real tools (Debian's prometheus package,
 * which ./dev installs): promtool's linter passes on what /metrics
 * serves, and a real Prometheus server on loopback scrapes iod and
 * reports, through its HTTP API, the target up and a counter at the
 * value iod served.  The sample Grafana dashboard queries only metrics
 * iod has.
 *
 * Prometheus binds 127.0.0.1:0; its port is found from its listening
 * socket in /proc (t_proc_listen_port), never guessed.  It is started
 * and killed by PID, with its own TMPDIR for storage; every wait is
 * bounded.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lib.h"

#define P_PROMETHEUS	"/usr/bin/prometheus"
#define P_PROMTOOL	"/usr/bin/promtool"

static void	p_need(const char *);
static int	p_run(const char *const [], const char *, struct t_buf *);
static pid_t	p_start(int, int *);
static double	p_query(int, const char *, struct t_buf *);
static void	p_traffic(struct t_iod *, size_t);

/* Fail, never skip, when a tool is missing. */
static void
p_need(const char *path)
{
	ck_assert_msg(access(path, X_OK) == 0, "%s: %s: install Debian's "
	    "prometheus (./dev does)", path, strerror(errno));
}

/*
 * Run argv with input on its stdin (NULL: none); its stdout and stderr
 * together into out.  Return its exit code, or -1 if it did not exit
 * within 20 s (then it is killed).
 */
static int
p_run(const char *const argv[], const char *input, struct t_buf *out)
{
	char	 path[512], chunk[4096];
	pid_t	 pid;
	int	 in = -1, fd, status, i;
	ssize_t	 n;

	snprintf(path, sizeof(path), "%s/p-out", getenv("TMPDIR"));
	if (input != NULL) {
		char *file = t_write_tmp(input);

		in = open(file, O_RDONLY | O_CLOEXEC);
		free(file);
		ck_assert(in != -1);
	}
	pid = fork();
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    dup2(fd, 1) == -1 || dup2(fd, 2) == -1 ||
		    (in != -1 && dup2(in, 0) == -1))
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	t_track_pid(pid);
	for (i = 0; i < 400 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 400) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		status = -1;
	}
	t_untrack_pid(pid);
	if (in != -1)
		close(in);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		while ((n = read(fd, chunk, sizeof(chunk))) > 0)
			t_buf_add(out, chunk, (size_t)n);
		close(fd);
	}
	if (status == -1 || !WIFEXITED(status))
		return (-1);
	return (WEXITSTATUS(status));
}

/* One client sends len bytes and reads them back. */
static void
p_traffic(struct t_iod *iod, size_t len)
{
	struct t_xfer	 x;
	unsigned char	*out = malloc(len), *in = malloc(len);
	uint64_t	 rnd = 42;
	int		 fd;

	ck_assert(out != NULL && in != NULL);
	t_fill_random(out, len, &rnd);
	ck_assert((fd = t_connect(iod->port[0])) != -1);
	t_xfer(fd, out, len, in, len, 0, t_ms(10000), &x);
	ck_assert_msg(x.got == len, "sent %zu, got %zu back", len, x.got);
	close(fd);
	free(out);
	free(in);
}

/* promtool check metrics passes on iod's /metrics: exit 0, no lint. */
START_TEST(test_promtool)
{
	static const struct t_variant v = { "epoll", 2, 0 };
	static const char *const argv[] = { P_PROMTOOL, "check", "metrics",
	    NULL };
	struct t_iod	*iod;
	struct t_buf	 b = { 0 }, out = { 0 };
	const char	*body;
	int		 code;

	p_need(P_PROMTOOL);
	iod = t_spawn_variant(&v, "metrics_listen = \"127.0.0.1:0\";\n");
	p_traffic(iod, 5000);
	t_scrape(t_metrics_port(iod), &b);
	body = strstr(b.b_data, "\r\n\r\n");
	ck_assert(body != NULL);
	code = p_run(argv, body + 4, &out);
	ck_assert_msg(code == 0 && out.b_len == 0, "promtool check metrics: "
	    "exit %d, said:\n%s", code, out.b_data != NULL ? out.b_data : "");
	t_expect_stop(iod);
	t_buf_free(&b);
	t_buf_free(&out);
}
END_TEST

/*
 * Start Prometheus scraping 127.0.0.1:target every second; return its
 * pid, its port in *port once it listens (bounded: 20 s).
 */
static pid_t
p_start(int target, int *port)
{
	const char	*dir = getenv("TMPDIR");
	char		 conf[512], *text, data[512], flag[600], cflag[600];
	char		 log[512];
	pid_t		 pid;
	int		 fd, i;

	snprintf(conf, sizeof(conf), "%s/prometheus.yml", dir);
	snprintf(data, sizeof(data), "%s/tsdb", dir);
	snprintf(log, sizeof(log), "%s/prometheus.log", dir);
	ck_assert(asprintf(&text, "global:\n  scrape_interval: 1s\n"
	    "scrape_configs:\n  - job_name: iod\n    static_configs:\n"
	    "      - targets: [\"127.0.0.1:%d\"]\n", target) != -1);
	ck_assert((fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0644)) !=
	    -1);
	ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	free(text);
	snprintf(cflag, sizeof(cflag), "--config.file=%s", conf);
	snprintf(flag, sizeof(flag), "--storage.tsdb.path=%s", data);
	pid = fork();
	ck_assert_msg(pid != -1, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
		    dup2(fd, 1) == -1 || dup2(fd, 2) == -1)
			_exit(127);
		execl(P_PROMETHEUS, "prometheus", cflag, flag,
		    "--web.listen-address=127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	t_track_pid(pid);
	for (i = 0; i < 200 && (*port = t_proc_listen_port(pid)) == 0; i++)
		usleep(100000);
	ck_assert_msg(*port != 0, "prometheus (pid %d) does not listen "
	    "after 20 s; see %s", (int)pid, log);
	return (pid);
}

/*
 * The value of the one sample Prometheus's instant query expr returns
 * now; -1 when it returns none.  The reply goes in b.
 */
static double
p_query(int port, const char *expr, struct t_buf *b)
{
	char		 path[512];
	const char	*p;
	int		 code;

	snprintf(path, sizeof(path), "/api/v1/query?query=%s", expr);
	b->b_len = 0;
	if (b->b_data != NULL)
		b->b_data[0] = '\0';
	code = t_http(port, "GET", path, b, t_ms(5000));
	if (code != 200 || (p = strstr(b->b_data, "\"value\":[")) == NULL ||
	    (p = strchr(p, ',')) == NULL || p[1] != '"')
		return (-1);
	return (strtod(p + 2, NULL));
}

/*
 * A real Prometheus scrapes iod: its API says the target is up and
 * that iod_bytes_received_total is what iod received and served.
 */
START_TEST(test_prometheus)
{
	static const struct t_variant v = { "libevent", 2, 0 };
	struct t_iod	*iod;
	struct t_buf	 b = { 0 }, q = { 0 };
	pid_t		 pid;
	int		 port, i, status;
	double		 up = -1, bytes = -1, served;

	p_need(P_PROMETHEUS);
	iod = t_spawn_variant(&v, "metrics_listen = \"127.0.0.1:0\";\n");
	p_traffic(iod, 12345);
	t_scrape(t_metrics_port(iod), &b);
	served = t_metric(b.b_data, "iod_bytes_received_total");
	ck_assert_msg(served == 12345, "iod says %g received", served);
	pid = p_start(t_metrics_port(iod), &port);
	for (i = 0; i < 150; i++) {
		up = p_query(port, "up", &q);
		bytes = p_query(port, "iod_bytes_received_total", &q);
		if (up == 1 && bytes == served)
			break;
		usleep(200000);
	}
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(100000);
	if (i == 100) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	t_untrack_pid(pid);
	ck_assert_msg(up == 1 && bytes == served, "after 30 s, Prometheus "
	    "says up %g, iod_bytes_received_total %g (iod served %g); last "
	    "reply:\n%s", up, bytes, served, q.b_data != NULL ? q.b_data : "");
	t_expect_stop(iod);
	t_buf_free(&b);
	t_buf_free(&q);
}
END_TEST

/*
 * contrib/grafana-iod.json is valid JSON, and every iod_ or process_
 * metric its queries name is in what /metrics serves (a _bucket, _sum
 * or _count of a histogram counts as its histogram).
 */
START_TEST(test_grafana)
{
	static const struct t_variant v = { "libevent", 1, 0 };
	static const char script[] =
	    "use JSON::PP; local $/; open(my $f, '<', $ARGV[0]) or die; "
	    "my $d = decode_json(<$f>); my %n; "
	    "for my $p (@{$d->{panels}}) { for my $t (@{$p->{targets}}) { "
	    "$n{$1} = 1 while $t->{expr} =~ /\\b((?:iod|process)_[a-z_]+)/g;"
	    " } } print \"$_\\n\" for sort keys %n;";
	char		 path[1024], *name, *save = NULL, want[300];
	const char	*argv[] = { "/usr/bin/perl", "-e", script, path, NULL };
	struct t_iod	*iod;
	struct t_buf	 b = { 0 }, out = { 0 };
	int		 code, n = 0;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/contrib/grafana-iod.json",
	    t_srcdir());
	code = p_run(argv, NULL, &out);
	ck_assert_msg(code == 0 && out.b_len > 0, "%s: exit %d:\n%s", path,
	    code, out.b_data != NULL ? out.b_data : "");
	iod = t_spawn_variant(&v, "metrics_listen = \"127.0.0.1:0\";\n");
	t_scrape(t_metrics_port(iod), &b);
	for (name = strtok_r(out.b_data, "\n", &save); name != NULL;
	    name = strtok_r(NULL, "\n", &save), n++) {
		len = strlen(name);
		if (len > 7 && strcmp(name + len - 7, "_bucket") == 0)
			name[len - 7] = '\0';
		else if (len > 6 && strcmp(name + len - 6, "_count") == 0)
			name[len - 6] = '\0';
		else if (len > 4 && strcmp(name + len - 4, "_sum") == 0)
			name[len - 4] = '\0';
		snprintf(want, sizeof(want), "# TYPE %s ", name);
		ck_assert_msg(strstr(b.b_data, want) != NULL, "the dashboard "
		    "queries %s, which iod does not serve", name);
	}
	ck_assert_msg(n >= 5, "the dashboard queries only %d metrics", n);
	t_expect_stop(iod);
	t_buf_free(&b);
	t_buf_free(&out);
}
END_TEST

Suite *
suite_prometheus(void)
{
	Suite	*s = suite_create("prometheus");
	TCase	*tc = tcase_create("tools");

	t_tcase_fixtures(tc);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_promtool);
	tcase_add_test(tc, test_prometheus);
	tcase_add_test(tc, test_grafana);
	suite_add_tcase(s, tc);
	return (s);
}
