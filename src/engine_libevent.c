/* The libevent engine: not written yet. */
#include "engine.h"

const struct engine engine_libevent = { "libevent", NULL, NULL, NULL, NULL,
    NULL };
