/* engine */
#ifndef IOD_ENGINE_H
#define IOD_ENGINE_H
#endif
