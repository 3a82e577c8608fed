/* Counters for --stats: per syscall (indexed like syscall_table) and for the whole job. */
#pragma once
#include <stdint.h>
#include <stdio.h>

#define STATS_MAX_ROWS 96

struct sys_counts { uint64_t trapped, hits, fills, passed, negative; };

struct stats {
	struct sys_counts rows[STATS_MAX_ROWS];
	uint64_t fsops;        /* file-system operations the supervisor made to fill */
	uint64_t foreign;      /* calls from another ABI (i386, x32), always passed */
	uint64_t kernel;       /* opens walked from the cache and performed by the kernel */
	uint64_t discovered;   /* trees the policy's `discovered` marker covers, set at the end */
};

struct data_store;
/* The table (like strace -c) and, last, one machine-readable "collrun-stats:" line. */
void stats_print(FILE *out, const struct stats *s, const struct data_store *d);
/* The same from counts a node supervisor sent (share.h): files and bytes copied, file-system
 * operations, invalidations. */
void stats_print_counts(FILE *out, const struct stats *s, uint64_t files, uint64_t bytes, uint64_t fsops,
			uint64_t marks);
