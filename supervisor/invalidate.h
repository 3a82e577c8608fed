/* Targeted invalidation: what a mutation makes unanswerable, found by directory and name
 * (for names and negatives) and by (dev, ino) across every mount (for a file's attributes
 * and contents). Marks are sticky: a fill that raced the mutation can never undo them.
 * All under the node lock. */
#pragma once
#include "call.h"
#include <stdbool.h>
#include <sys/types.h>

enum mut_kind {
	MUT_NAME,      /* what the name is changes: create, remove, rename, link */
	MUT_ATTR,      /* the file's attributes change (follow or not, see mark_path) */
	MUT_MOUNT,     /* something is mounted on, or unmounted from, the path */
};

/* Every obj of (dev, ino): its answers go to the kernel from now on; copies dropped. */
void mark_ident(struct node *n, dev_t dev, ino_t ino, uint32_t extra_flags);
/* Mark what path (walked from s) names, using the cache only. True if done (or nothing
 * cached can be affected); false if the cache does not know the file and a worker should
 * identify it (identify_path). */
bool mark_path(struct call *c, const struct start *s, const char *path, enum mut_kind kind, bool follow);
/* Worker, no lock: find the file the kernel will act on (one look-up) and mark it. */
void identify_path(struct call *c, const struct start *s, const char *path, enum mut_kind kind, bool follow);
/* The file open at the caller's descriptor fd (procfs only, no file-system request). */
void mark_caller_fd(struct call *c, int fd);
/* The kernel is about to perform a mutation we pass on: record it as in flight (fills are
 * not kept until it has finished) and bump the epoch. */
void mutation_passed(struct call *c);
/* We performed a mutation ourselves and it is done: fills that began before are not kept. */
void mutation_done(struct node *n);
