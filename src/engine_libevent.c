/* engine_libevent: not written yet. */
#include "log.h"
