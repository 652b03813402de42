/* daemon: not written yet. */
#include "daemon.h"
