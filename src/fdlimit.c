/* fdlimit: not written yet. */
#include "log.h"
