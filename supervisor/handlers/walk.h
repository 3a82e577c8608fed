/* The one path walk every fill makes. The supervisor walks the path in its own process,
 * so a walk whose answer depends on who walks it (through /proc/self, a magic link such
 * as /proc/self/exe or /dev/fd/N, or into a pseudo file system) must never be cached. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "cache/cache.h"

/* Marks a path whose answer depends on the caller: pass it to the kernel. */
#define WALK_NOT_PLAIN (-4096)

/* O_PATH descriptor of path (the final symlink itself if nofollow), or WALK_NOT_PLAIN,
 * or the walk's -errno (ENOENT, ENOTDIR, ELOOP, EACCES...) when everything up to where
 * it failed is plain. On success *st is the descriptor's fstat (what stat(path) gives)
 * and *fstype its file system's statfs type. *fsops counts file-system operations. */
int walk_path(const char *path, bool nofollow, struct stat *st, long *fstype, uint64_t *fsops);
/* After a failed walk (fd < 0), what the slot answers: PASS for a walk that depends on
 * the walker, the walk's errno if it may be kept (or if the answer is not kept anyway);
 * otherwise the slot stays EMPTY and the next call asks again. */
static inline void walk_failure(int fd, uint8_t *state, int *err, bool keep)
{
	if (fd == WALK_NOT_PLAIN)
		*state = SLOT_PASS;
	else if (cacheable_errno(-fd) || !keep)
		*state = SLOT_ERR, *err = -fd;
}

/* Forget what is known of mounted file systems (the job mounted or unmounted). */
void walk_forget(void);
