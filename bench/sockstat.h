/* Sample the kernel's TCP socket counts and memory, machine-wide. */
#ifndef IOD_BENCH_SOCKSTAT_H
#define IOD_BENCH_SOCKSTAT_H

struct sockstat {
	long	ss_inuse;	/* TCP sockets in use, listeners included */
	long	ss_orphan;	/* closed, still held by the kernel */
	long	ss_tw;		/* in TIME_WAIT */
	long	ss_alloc;	/* allocated, TIME_WAIT excluded */
	long	ss_mem_b;	/* buffer memory charged to TCP, in bytes */
	long	ss_slab_kb;	/* Slab: from /proc/meminfo */
};

/* Sockstat. */
int	sockstat_read(struct sockstat *);

#endif
