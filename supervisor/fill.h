/* The kernel side of a fill: the few system calls a worker makes, without the node lock,
 * to learn one fact — one name in one directory, a directory's listing, a file's identity.
 * Each counts the operations that reach a file system in *fsops. */
#pragma once
#include "cache/dcache.h"
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct found {
	struct ident id;
	mode_t mode;
	struct timespec ctime;
	struct stat st;        /* the attributes the look-up brought in (what stat gives now) */
	bool basic;            /* st is complete */
	bool fresh;            /* st came with a look-up this moment (not an old descriptor) */
	char *target;          /* symlinks: malloc'd body */
	size_t tlen;
};

/* Identity and attributes of an open descriptor, from what the kernel already holds
 * (AT_STATX_DONT_SYNC: no request to a server; right after a look-up these are the
 * attributes the look-up itself returned). 0 or -errno. */
int fill_ident(int fd, struct found *f);
/* name (len bytes, any length) in directory dfd, not following a final symlink: an O_PATH
 * descriptor (ours) with *f filled (and the link body read), or -errno of the look-up. */
int fill_lookup(int dfd, const char *name, size_t len, struct found *f, uint64_t *fsops);
/* The same look-up without a descriptor, one statx of the name (local file systems: a
 * later fill that needs the file's descriptor looks the name up again, which costs no
 * server a request). FILL_NOFD with *f filled for a file on mount mnt (the directory's)
 * that is neither a directory nor a link; anything else is looked up with fill_lookup
 * after the statx, and its result returned (an O_PATH descriptor, or -errno). */
#define FILL_NOFD INT_MAX
int fill_lookup_nofd(int dfd, const char *name, size_t len, uint64_t mnt, struct found *f, uint64_t *fsops);
/* Reopen a directory by its path inside a root (rootfd < 0: ours), and check it is still
 * the same one. O_PATH descriptor, or -errno (-ESTALE: something else is there now). */
int fill_reopen(int rootfd, const char *phys, const struct ident *want, uint64_t *fsops);
/* Names in directory dfd (without "." and ".."): malloc'd array of malloc'd strings; with
 * raw, also the entries as getdents64 gave them (NULL when their positions cannot be
 * served: a d_off of 0 or one that repeats). -EOPNOTSUPP where a listing cannot tell what
 * is missing (case-folding directory), -E2BIG for huge directories. */
int fill_listing(int dfd, long fstype, char ***names, size_t *n, struct dents **raw, uint64_t *fsops);
/* The same from getdents64 records another process read (a session's root): names and, if
 * every position is usable, the raw entries. 0, or -EBADMSG for a malformed record. */
int dents_from_records(const void *records, size_t len, char ***names, size_t *n, struct dents **raw);
void free_names(char **names, size_t n);

/* File systems: may answers from them be cached at all; does a listing tell every
 * missing name; are they local (their page cache is the node's copy: data stays there). */
bool fs_cacheable(long type);
bool fs_listable(long type);
bool fs_is_local(long type);
