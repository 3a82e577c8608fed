/* The absolute form of a caller's path, for the policy and for -v: its start directory's
 * path joined to the name. Never normalised ("a/../b" stays as written: ".." after a
 * symlink does not mean what it looks like) and never walked. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Pure: base (absolute) + "/" + rel into out. -ENAMETOOLONG if it does not fit. */
int path_join(const char *base, const char *rel, char *out, size_t size);
