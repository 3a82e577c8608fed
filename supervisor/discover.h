/* The trees discovered while the job runs (collrun-policy(5), `discovered`): directories its
 * code lives in, learned without configuration — every program's own search paths
 * (LD_LIBRARY_PATH, PYTHONPATH... read at each exec), the RUNPATH of every ELF object it
 * loads, the directory of every library the loader opens, a Python interpreter's
 * environment. Each is a CACHE rule decided where the policy's `discovered` marker stands
 * (after explicit rules and the volatile prefixes). Read by every thread, grown by any:
 * a read-write lock; rules are never freed while the job runs (decisions point at them). */
#pragma once
#include "policy.h"
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct discovered {
	pthread_rwlock_t lock;
	struct pol_rule **v;
	size_t n, cap;
	uint32_t *slots;      /* open addressing: index + 1 into v, by hash of the prefix */
	size_t nslots;
	char *home;           /* never discovered: $HOME, its ancestors and its dot-folders */
};

int discovered_init(struct discovered *d, const char *home);
/* Add dir (absolute; "//", "/./" and trailing "/" are cleaned, ".." kept) with the reason
 * shown by --print-policy and -v. 1 added, 0 already known or refused (relative, "/", a
 * top-level directory such as /opt, $HOME or above it, a dot-folder of $HOME), -errno. */
int discovered_add(struct discovered *d, const char *dir, const char *why);
/* The policy's hook (struct policy.discovered): does a discovered tree cover path? */
bool discovered_match(void *ctx, const char *path, const struct pol_rule **rule);
size_t discovered_count(struct discovered *d);
/* Rule i (0 <= i < count), for printing. */
const struct pol_rule *discovered_rule(struct discovered *d, size_t i);
