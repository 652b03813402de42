/* worker: not written yet. */
#include "log.h"
