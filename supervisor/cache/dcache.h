/* The look-up cache, shaped like the kernel's own dentry cache so that one answer serves
 * every path that reaches it:
 *  - an obj is one file as seen through one mount: (mount id, dev, ino). It holds what the
 *    kernel said about the file itself (stat, statx, access, link target, contents) and, for
 *    a directory, a kept O_PATH descriptor (bounded, LRU) and optionally its listing;
 *  - an edge is one name looked up in one directory obj: the child obj, or the errno the
 *    kernel gave (ENOENT, EACCES...). ".." is an edge like any other.
 * Paths are walked over edges (walk.c), so "/usr/lib/../lib/x", a symlink to it and a
 * caller's cwd-relative name all meet at the same obj, a missing directory answers every
 * name beneath it, and a mutation is forgotten by (directory, name) wherever it is reached.
 * Nothing is ever freed while the job runs (workers hold pointers without references);
 * "volatile" marks are sticky, so a fill racing a mutation can never undo them.
 * Everything here is node state, guarded by the node lock (node.h). */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <linux/stat.h>

struct call;
struct data_obj;

enum slot_state { SLOT_EMPTY = 0, SLOT_BUSY, SLOT_OK, SLOT_ERR, SLOT_PASS };

/* One kernel answer being or having been filled. BUSY slots collect the calls that wait
 * for them (single flight: N callers of one answer cause one fill). */
struct slot {
	uint8_t state;
	int err;
	struct call *waiters;
};

/* The identity of a file as reached: the same inode through two mounts is two objs (the
 * mounts beneath it may differ), invalidation finds them all by (dev, ino). */
struct ident {
	uint64_t mnt, dev, ino;
};

struct statx_item { struct statx_item *next; unsigned flags, mask; struct slot s; struct statx sx; };
struct access_item { struct access_item *next; int mode, flags; struct slot s; };

enum obj_flags {
	OBJ_NOCACHE   = 1u << 0,  /* never answer from here: pseudo fs, job's own mount, changed
				     during the job... walks through it go to the kernel */
	OBJ_VOLATILE  = 1u << 1,  /* the job changed (or may change) its attributes or contents */
	OBJ_STAT_EXACT = 1u << 2, /* st came from a synced fstat (else: a DONT_SYNC statx) */
	OBJ_POLICY_SET = 1u << 3, /* pol is computed */
	OBJ_LEARNED   = 1u << 4,  /* its search paths were read (learn.h) */
};

struct listing {
	size_t n;
	char **names;      /* sorted */
};

/* A directory's entries exactly as getdents64 gave them: the file system's order, its
 * d_ino, d_type and d_off (the position after each record), records back to back with
 * zeroed padding; at[i] is where record i starts. Served to getdents64 (handlers/dirents.c). */
struct dents {
	size_t n, bytes;
	size_t *at;
	char *buf;
};
void dents_free(struct dents *d);

struct obj {
	struct obj *hnext;
	struct ident id;
	uint32_t flags;
	mode_t mode;             /* file type and permission bits */
	long fstype;
	int pol;                 /* enum pol_action of phys, once OBJ_POLICY_SET */
	char *phys;              /* absolute path in its view where first reached */
	struct slot st_slot;
	struct stat st;
	char *target;            /* symlink body (OK once the obj is made: read with the walk) */
	size_t tlen;
	struct slot open_slot;   /* OK: data (memfd) or data == NULL: the kernel opens it */
	struct data_obj *data;
	struct statx_item *statx;
	struct access_item *access;
	struct slot list_slot;   /* directory listing (OK: list) */
	uint32_t misses;         /* names found missing here (big directories are listed late) */
	struct listing list;
	struct dents *ents;      /* with list (same slot): the raw entries, or NULL */
	uint64_t replica_ino;    /* its replica directory (replica.h), or 0 */
	uint32_t replica_no;     /* the replica's name (a number) */
	struct obj *rnext;       /* replica table chain */
	int fd;                  /* directories: kept O_PATH descriptor, or -1 */
	uint16_t fd_pins;        /* fills using fd without the node lock (dc_pin_fd) */
	bool fd_drop;            /* dropped while pinned: closed by the last unpin */
	struct obj *lru_prev, *lru_next;
};

enum edge_flags {
	EDGE_VOLATILE = 1u << 0,  /* the job changed (or may change) what this name is */
};

struct edge {
	struct edge *hnext;
	struct obj *dir;
	uint64_t hash;
	uint32_t flags;
	struct slot s;           /* OK: child; ERR: err */
	struct obj *child;
	uint16_t len;
	char name[];
};

struct dcache {
	struct obj **ob;
	size_t onb, nobjs;
	struct edge **eb;
	size_t enb, nedges;
	size_t max_entries;      /* objs + edges; beyond it nothing new is kept */
	struct obj *lru_head, *lru_tail;   /* kept descriptors, most recent first */
	size_t nfds, max_fds;
	uint64_t marks;          /* targeted invalidations made (for --stats) */
};

int dc_init(struct dcache *dc, size_t max_entries, size_t max_fds);
void dc_free(struct dcache *dc);
/* NULL if absent (or, for add, if full or out of memory). */
struct obj *dc_obj_find(const struct dcache *dc, const struct ident *id);
struct obj *dc_obj_add(struct dcache *dc, const struct ident *id, mode_t mode, const char *phys);
struct edge *dc_edge_find(const struct dcache *dc, const struct obj *dir, const char *name, size_t len);
struct edge *dc_edge_add(struct dcache *dc, struct obj *dir, const char *name, size_t len);
/* Every obj of this (dev, ino), whatever the mount. */
#define dc_for_each_alias(dc, o, dev_, ino_)                                               \
	for (struct obj *o = (dc)->ob[dc_ihash((dev_), (ino_)) & ((dc)->onb - 1)]; o; o = o->hnext) \
		if (o->id.dev == (dev_) && o->id.ino == (ino_))
static inline uint64_t dc_ihash(uint64_t dev, uint64_t ino)
{
	return (ino * 0x9E3779B97F4A7C15ull) ^ (dev * 0xC2B2AE3D27D4EB4Full);
}
uint64_t dc_name_hash(const struct obj *dir, const char *name, size_t len);

/* Kept directory descriptors: keep takes ownership of fd (closing the least recently used
 * one beyond max_fds); get returns the obj's descriptor (touching it) or -1. */
void dc_keep_fd(struct dcache *dc, struct obj *o, int fd);
int dc_get_fd(struct dcache *dc, struct obj *o);
/* A kept descriptor lent to a fill that drops the node lock, instead of a dup of it: no
 * eviction or drop closes it until dc_unpin_fd (which closes it if it was dropped
 * meanwhile). -1 if there is none. Both with the node lock held. */
int dc_pin_fd(struct dcache *dc, struct obj *o);
void dc_unpin_fd(struct dcache *dc, struct obj *o);
/* Close every kept descriptor (the job unmounts: nothing of ours may pin a mount); one
 * that a fill is using goes when the fill is done. */
void dc_drop_fds(struct dcache *dc);
/* In a forked copy (one thread): the parent's fills are not running here; unpin all. */
void dc_unpin_all(struct dcache *dc);

/* Sorted listing; names are taken over (free()d with the listing). */
void listing_set(struct listing *l, char **names, size_t n);
bool listing_has(const struct listing *l, const char *name, size_t len);

/* Free an obj that is in no table (a walk's temporary). */
void obj_free(struct obj *o);

/* Item of obj for these parameters, created empty (NULL: out of memory). */
struct statx_item *obj_statx(struct obj *o, unsigned flags, unsigned mask);
struct access_item *obj_access(struct obj *o, int mode, int flags);

/* Errors a walk may keep: they depend only on the name space and the caller's rights. */
static inline bool cacheable_errno(int err)
{
	switch (err) {
	case ENOENT: case ENOTDIR: case ELOOP: case EACCES: case ENAMETOOLONG:
		return true;
	}
	return false;
}
