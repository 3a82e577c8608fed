/* One mapped object's ELF file as the stack walker needs it: mmapped read-only once per
 * (dev, ino) for the whole job, with its unwind table (.eh_frame_hdr's, or one built from
 * .eh_frame for static binaries, which have no .eh_frame_hdr) and its function symbols
 * (.symtab, else .dynsym) sorted for look-up. Not thread-safe: backtrace.c holds its lock. */
#pragma once
#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bt_sym {
	uint64_t start, size;   /* link-time address, bytes (0: unknown, runs to the next) */
	const char *name;       /* points into the image */
};

struct bt_elf {
	const uint8_t *img;     /* the whole file (or a copy of the vdso) */
	size_t len;
	bool mapped;            /* img is an mmap (else malloc'ed) */
	const Elf64_Phdr *ph;
	int phnum;
	uint64_t lo, hi;        /* span of the PT_LOADs, link-time addresses */
	/* Unwind table: entries of two int32 (pc, fde) relative to table_base. From
	 * .eh_frame_hdr: table_vaddr is where it lies in the object. Built from .eh_frame:
	 * synth holds it and table_vaddr is 0. nfde 0: no unwind information at all. */
	uint64_t table_base, table_vaddr;
	int32_t *synth;
	size_t nfde;
	struct bt_sym *syms;
	size_t nsyms;
	bool from_symtab;       /* syms came from .symtab (else .dynsym) */
	dev_t dev;
	ino_t ino;
	struct bt_elf *next;    /* the cache's list */
};

/* The cached object for the file at path whose inode number is ino (as /proc/PID/maps
 * shows it; the file opened must have it, or it is not what the process mapped). alt (may
 * be NULL) is tried when path cannot be opened or is another inode: the same path through
 * the process's /proc/PID/root. dev is only the cache key: on overlayfs maps shows the
 * lower layer's device, stat the overlay's. 0 and *out, or -ENOENT/-EACCES (open),
 * -ESTALE (another inode), -ENOEXEC (not a 64-bit ELF), -ENOMEM. A failure is remembered
 * too, so a bad object costs one open per job (*out is then set, with img NULL). */
int bt_elf_get(const char *path, const char *alt, dev_t dev, ino_t ino, struct bt_elf **out);
/* An object parsed from bytes copied out of a process (the vdso). Owns buf (malloc'ed).
 * Not cached: the caller frees it with bt_elf_free. 0 or -ENOEXEC/-ENOMEM. */
int bt_elf_from_memory(uint8_t *buf, size_t len, struct bt_elf **out);
void bt_elf_free(struct bt_elf *e);
/* Drop every cached object. */
void bt_elf_clear(void);

/* Load bias of a mapping of e that starts at start with file offset off. */
uint64_t bt_elf_bias(const struct bt_elf *e, uint64_t start, uint64_t off);
/* Copy len bytes at link-time address vaddr when they lie in a read-only PT_LOAD's file
 * bytes: what the process has there is the file (relocations only touch writable
 * segments). false when they do not: the caller reads the process. */
bool bt_elf_read(const struct bt_elf *e, uint64_t vaddr, void *buf, size_t len);
/* The function containing link-time address vaddr, or NULL. */
const struct bt_sym *bt_elf_symbol(const struct bt_elf *e, uint64_t vaddr);
