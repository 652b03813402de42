/* pidfile: not written yet. */
#include "pidfile.h"
