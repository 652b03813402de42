/* The one Check runner: every module's suite, each case in a forked child. */
#include <stdlib.h>

#include <check.h>

#include "lib.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(suite_transform());
	srunner_add_suite(sr, suite_cidr());
	srunner_add_suite(sr, suite_conf());
	srunner_add_suite(sr, suite_conf_include());
	srunner_add_suite(sr, suite_conn());
	srunner_add_suite(sr, suite_listen());
	srunner_add_suite(sr, suite_proxy());
	srunner_add_suite(sr, suite_outbuf());
	srunner_add_suite(sr, suite_ratelimit());
	srunner_add_suite(sr, suite_poller());
	srunner_add_suite(sr, suite_busypoll());
	srunner_add_suite(sr, suite_coro());
	srunner_add_suite(sr, suite_pidfile());
	srunner_add_suite(sr, suite_privs());
	srunner_add_suite(sr, suite_proto());
	srunner_add_suite(sr, suite_limits());
	srunner_add_suite(sr, suite_access());
	srunner_add_suite(sr, suite_proxied());
	srunner_add_suite(sr, suite_haproxy());
	srunner_add_suite(sr, suite_life());
	srunner_add_suite(sr, suite_reload());
	srunner_add_suite(sr, suite_reuseport());
	srunner_add_suite(sr, suite_metrics());
	srunner_add_suite(sr, suite_prometheus());
	srunner_add_suite(sr, suite_sigio());
	srunner_add_suite(sr, suite_splice());
	srunner_add_suite(sr, suite_drain());
	srunner_add_suite(sr, suite_fault());
	srunner_add_suite(sr, suite_iterative());
	srunner_add_suite(sr, suite_systemd());
	srunner_add_suite(sr, suite_man());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
