/* Shared test helpers (t_*) and every suite of the runner. */
#ifndef IOD_TESTS_LIB_H
#define IOD_TESTS_LIB_H

#include <sys/types.h>

#include <stddef.h>

#include <check.h>

/* Suites, one per module. */
Suite	*suite_conf(void);
Suite	*suite_life(void);
Suite	*suite_listen(void);
Suite	*suite_pidfile(void);
Suite	*suite_privs(void);
Suite	*suite_proto(void);
Suite	*suite_transform(void);

/* Files. */
char	*t_write_tmp(const char *);
const char *t_srcdir(void);

#endif
