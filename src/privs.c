/* privs: not written yet. */
#include "privs.h"
