/* worker */
#ifndef IOD_WORKER_H
#define IOD_WORKER_H
#endif
