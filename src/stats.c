/* stats: not written yet. */
#include "log.h"
