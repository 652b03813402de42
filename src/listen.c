/* listen: not written yet. */
#include "listen.h"
