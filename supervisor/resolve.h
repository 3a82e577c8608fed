/* Turning a caller's (dirfd, path) into the absolute path the kernel would walk. The
 * result is never normalised: "a/../b" stays as written, because ".." after a symlink
 * does not mean what it looks like. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Pure: base (absolute) + "/" + rel into out. -ENAMETOOLONG if it does not fit. */
int path_join(const char *base, const char *rel, char *out, size_t size);
/* Absolute path of the caller's cwd (dirfd == AT_FDCWD) or of its directory descriptor.
 * -ENOTDIR/-EBADF style errors mean "cannot tell": the caller passes the call through. */
int tracee_dir_path(pid_t pid, int dirfd, char *out, size_t size);
