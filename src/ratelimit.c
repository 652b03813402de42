/* ratelimit: not written yet. */
#include "log.h"
