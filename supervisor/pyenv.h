/* TEMPORARY stub (replaced by the real module from branch h11). */
#pragma once
#include <stddef.h>
struct found_dir { char *dir; char *why; };
struct found_dirs { struct found_dir *v; size_t n, cap; };
int pyenv_discover(const char *exe_named, const char *exe_real, const char *user_base, const char *home, struct found_dirs *out);
void found_dirs_free(struct found_dirs *d);
int found_dirs_add(struct found_dirs *d, const char *dir, const char *why);
