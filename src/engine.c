/* The engine registry: every engine built into iod, in a fixed order. */
#include <stdio.h>
#include <string.h>

#include "engine.h"

extern const struct engine engine_libevent;

static const struct engine *engines[] = {
	&engine_libevent,
};

#define NENGINES	(sizeof(engines) / sizeof(engines[0]))

/* Return the engine called name, or NULL. */
const struct engine *
engine_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NENGINES; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return (engines[i]);
	return (NULL);
}

/* Return the valid names for messages: "libevent, select, ...". */
const char *
engine_names(void)
{
	static char	names[128];
	size_t		i, off = 0;

	for (i = 0; i < NENGINES && off < sizeof(names); i++)
		off += snprintf(names + off, sizeof(names) - off, "%s%s",
		    i > 0 ? ", " : "", engines[i]->name);
	return (names);
}
