/* A configuration file's text, and the files its @include directives name. */
#ifndef IOD_CONF_INCLUDE_H
#define IOD_CONF_INCLUDE_H

#include <stddef.h>
#include <stdio.h>

/* Reading and checking; never log, return NULL or -1 and a cause. */
char	*conf_include_read(FILE *, size_t *, char *, size_t);
int	 conf_include_check(const char *, size_t, const char *, char *,
	    size_t);

#endif
