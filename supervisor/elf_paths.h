/* What an ELF object tells glibc's dynamic loader to search: its interpreter, the libraries
 * it needs, and its RUNPATH/RPATH with $ORIGIN, $LIB and $PLATFORM expanded the way the
 * loader expands them — read from the file with bounded preads, so the supervisor can learn,
 * with no configuration, which directories a job's code is found in.
 *
 * Named elf_paths.h, not elf.h: every file is compiled with -Isupervisor, and a
 * supervisor/elf.h would shadow the system <elf.h> that <link.h> and <sys/auxv.h> include. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct elf_paths {
	bool is_elf;            /* an ELF file at all (set even when the rest is garbled) */
	bool dynamic;           /* has PT_DYNAMIC */
	char *interp;           /* PT_INTERP (the loader), or NULL */
	char **search;          /* DT_RUNPATH entries, or DT_RPATH's if there is no DT_RUNPATH:
	                           split on ':', tokens expanded, trailing '/' removed, only
	                           absolute results, duplicates removed, order kept */
	size_t nsearch;
	bool from_rpath;        /* search came from DT_RPATH: unlike DT_RUNPATH (used only for
	                           this object's own DT_NEEDED), the loader also searches it
	                           for everything loaded below this object */
	char *search_raw;       /* that entry as written (tokens unexpanded), or NULL: another
	                           $ORIGIN is expanded from it (elf_search_for_origin) */
	char **needed;          /* DT_NEEDED names, in order, tokens expanded as the loader
	                           does (a name with a '/' is opened as a path, not searched) */
	size_t nneeded;
};

/* The most bytes elf_read_paths reads from one file, whatever it contains: the ELF header,
 * at most ELF_MAX_PHNUM program headers, ELF_MAX_DYNAMIC bytes of dynamic section,
 * ELF_MAX_INTERP bytes of PT_INTERP and ELF_MAX_STRINGS bytes of strings in all (one string
 * is at most ELF_MAX_STRING long). A real object needs a few kilobytes. */
#define ELF_MAX_PHNUM    512
#define ELF_MAX_DYNAMIC  (64 << 10)
#define ELF_MAX_INTERP   4096
#define ELF_MAX_STRING   (64 << 10)
#define ELF_MAX_STRINGS  (1 << 20)
#define ELF_READ_BOUND   (64 + ELF_MAX_PHNUM * 56 + ELF_MAX_DYNAMIC + ELF_MAX_INTERP + ELF_MAX_STRINGS)

/* Read the ELF object open at fd (readable; pread only, never the file offset: the
 * descriptor may be shared). origin_path is the path whose directory $ORIGIN stands for:
 * for the executable the kernel's path (/proc/PID/exe: symlinks resolved); for a library
 * the path the loader opened it by — glibc does NOT resolve symlinks there (a libfoo.so in
 * /a/lib that links to /b/lib has $ORIGIN /a/lib). Absolute, or NULL if unknown: entries
 * using $ORIGIN are then dropped, as the loader drops an entry whose token has no value.
 * lib and platform: what $LIB and $PLATFORM expand to (elf_loader_tokens); NULL or "" drops
 * the entries that use them.
 * 0 (also for a file that is not ELF: is_elf false, nothing else set); -EIO for a truncated
 * or garbled file; -EFBIG when it is beyond the bounds above; -EINVAL for a relative
 * origin_path; -ENOMEM; -errno of pread. On error only is_elf is set; nothing to free. */
int elf_read_paths(int fd, const char *origin_path, const char *lib, const char *platform,
		   struct elf_paths *out);
/* The same without DT_NEEDED (its strings are not read; needed stays empty): for a caller
 * that wants only where the object makes the loader search. */
int elf_read_search(int fd, const char *origin_path, const char *lib, const char *platform,
		    struct elf_paths *out);
/* e's search entry (search_raw, as either read above found it) expanded the way the loader
 * expands it for the same object opened as origin_path (absolute) instead: into out's
 * search, nsearch and from_rpath, to free with elf_paths_free. 0, or -ENOMEM. */
int elf_search_for_origin(const struct elf_paths *e, const char *origin_path, const char *lib,
			  const char *platform, struct elf_paths *out);
void elf_paths_free(struct elf_paths *p);

/* Split list on any of seps (":" for RUNPATH/RPATH; ":;" for LD_LIBRARY_PATH, which glibc
 * expands the same way with the executable's $ORIGIN), expand tokens (origin_dir: the
 * directory $ORIGIN stands for, or NULL), and append to *v (*n entries, realloc'ed) every
 * absolute result not already in it. 0 or -ENOMEM (what was appended stays). */
int elf_expand_path_list(const char *list, const char *seps, const char *origin_dir,
			 const char *lib, const char *platform, char ***v, size_t *n);

/* What glibc's loader on this machine expands $LIB and $PLATFORM to. $LIB: the loader's
 * library directory as built, found from where this process's libc.so.6 lives, relative to
 * its root ("/usr/lib/x86_64-linux-gnu/libc.so.6" -> "lib/x86_64-linux-gnu"; "/lib64/libc.so.6"
 * -> "lib64"). $PLATFORM: AT_PLATFORM, except that on x86-64 Intel CPUs glibc >= 2.26
 * replaces it with "haswell" (AVX2, FMA, BMI1, BMI2, LZCNT, MOVBE, POPCNT usable) or
 * "xeon_phi" (AVX512CD, ER, PF), as its loader does. Both are for objects of this process's
 * ELF class: an i386 program on x86-64 gets "lib/i386-linux-gnu" (Debian) and "i686".
 * 0; -ENOENT if one is unknown (a static collrun has no libc.so.6; no AT_PLATFORM): that
 * buffer is then ""; -ERANGE if a buffer is too small. */
int elf_loader_tokens(char *lib, size_t libsize, char *platform, size_t platsize);
