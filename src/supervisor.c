/* supervisor: not written yet. */
#include "log.h"
