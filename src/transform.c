/* transform: not written yet. */
#include "transform.h"
