/* fdlimit */
#ifndef IOD_FDLIMIT_H
#define IOD_FDLIMIT_H
#endif
