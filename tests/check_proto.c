/* Placeholder until the proto tests land. */
#include <check.h>

#include "lib.h"

Suite *
suite_proto(void)
{
	return (suite_create("proto"));
}
