/* engine: not written yet. */
#include "log.h"
