/* TEMPORARY stub (replaced by the real module from branch h11). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
struct elf_paths { bool is_elf, dynamic; char *interp; char **search; size_t nsearch; bool from_rpath; char **needed; size_t nneeded; };
int elf_read_paths(int fd, const char *real_path, const char *lib, const char *platform, struct elf_paths *out);
void elf_paths_free(struct elf_paths *p);
int elf_loader_tokens(char *lib, size_t libsize, char *platform, size_t platsize);
