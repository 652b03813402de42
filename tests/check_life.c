/* Placeholder until the life tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_life(void)
{
	return (suite_create("life"));
}
