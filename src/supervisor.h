/* supervisor */
#ifndef IOD_SUPERVISOR_H
#define IOD_SUPERVISOR_H
#endif
