/* The files a configuration's @include directives name. */
#ifndef IOD_CONF_INCLUDE_H
#define IOD_CONF_INCLUDE_H

#include <stddef.h>
#include <stdio.h>

/* Checking; never logs, returns -1 and a cause. */
int	conf_include_check(FILE *, const char *, char *, size_t);

#endif
