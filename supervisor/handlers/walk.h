/* The one path walk every fill makes. The supervisor walks the path in its own process,
 * so a walk whose answer depends on who walks it (through /proc/self, a magic link such
 * as /proc/self/exe or /dev/fd/N, or into a pseudo file system) must never be cached. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Marks a path whose answer depends on the caller: pass it to the kernel. */
#define WALK_NOT_PLAIN (-4096)

/* O_PATH descriptor of path (the final symlink itself if nofollow), or WALK_NOT_PLAIN,
 * or the walk's -errno (ENOENT, ENOTDIR, ELOOP, EACCES...) when everything up to where
 * it failed is plain. *fsops counts file-system operations. */
int walk_path(const char *path, bool nofollow, uint64_t *fsops);
/* The same, also giving the file system type (statfs f_type) of what was opened. */
int walk_path_fs(const char *path, bool nofollow, uint64_t *fsops, long *fstype);
