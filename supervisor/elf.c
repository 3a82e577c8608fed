/* TEMPORARY stub (replaced by the real module from branch h11). */
#include "elf.h"
#include <string.h>
int elf_read_paths(int fd, const char *real_path, const char *lib, const char *platform, struct elf_paths *out)
{ (void)fd; (void)real_path; (void)lib; (void)platform; memset(out, 0, sizeof *out); return 0; }
void elf_paths_free(struct elf_paths *p) { (void)p; }
int elf_loader_tokens(char *lib, size_t libsize, char *platform, size_t platsize)
{ (void)libsize; (void)platsize; lib[0] = platform[0] = 0; return 0; }
