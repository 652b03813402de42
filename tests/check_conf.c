/* Placeholder until the conf tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_conf(void)
{
	return (suite_create("conf"));
}
