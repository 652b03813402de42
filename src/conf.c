/* conf: not written yet. */
#include "conf.h"
