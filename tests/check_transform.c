/* Placeholder until the transform tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_transform(void)
{
	return (suite_create("transform"));
}
