/* Placeholder until the privs tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_privs(void)
{
	return (suite_create("privs"));
}
