/* Placeholder until the pidfile tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_pidfile(void)
{
	return (suite_create("pidfile"));
}
