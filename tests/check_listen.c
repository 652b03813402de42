/* Placeholder until the listen tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_listen(void)
{
	return (suite_create("listen"));
}
