/* The protocol's byte transform: upper-case ASCII letters, or echo. */
#ifndef IOD_TRANSFORM_H
#define IOD_TRANSFORM_H

#include <stddef.h>

enum transform_mode {
	TRANSFORM_UPPER,	/* a-z to A-Z, every other byte unchanged */
	TRANSFORM_ECHO		/* every byte unchanged */
};

/* Transform. */
void	transform_apply(enum transform_mode, unsigned char *, size_t);
void	transform_upper(unsigned char *, size_t);

#endif
