/* log: not written yet. */
#include "log.h"
