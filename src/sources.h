/* Connections open per source address, for max_per_source. */
#ifndef IOD_SOURCES_H
#define IOD_SOURCES_H

#include <stdint.h>

/* Setup. */
int	sources_init(void);

/* Counting. */
int	sources_claim(const uint8_t [16], int);
void	sources_release(const uint8_t [16]);
int	sources_none(const uint8_t [16]);
uint32_t sources_count(const uint8_t [16]);

#endif
