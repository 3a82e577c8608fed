/* Walking a caller's path over the cache, the way the kernel's path walk does: component
 * by component from the caller's own start directory (its root, cwd or dirfd), following
 * symlinks (40 at most, absolute ones from the caller's root), ".." at the root staying
 * there, and failing with the errno the kernel gave for the first name that failed.
 * The loop thread walks the cache only; a worker fills each missing name with one
 * openat(O_PATH|O_NOFOLLOW) from the kept descriptor of its directory, so a fill costs the
 * kernel's own walk at most and every later path through the same directories nothing.
 * A name missing from a directory whose listing was read needs no file-system call. */
#pragma once
#include "call.h"
#include "cache/dcache.h"
#include <stdbool.h>

enum walk_res {
	WALK_DONE,     /* w->err == 0: w->obj is the answer's file; else the walk failed with err */
	WALK_PASS,     /* let the kernel answer (something on the way may not be cached) */
	WALK_MISS,     /* loop thread: a worker must fill */
	WALK_PARKED,   /* worker: c waits on a slot another worker fills */
};

struct walk {
	/* in */
	struct call *c;
	const char *path;
	bool follow;           /* follow a final symlink */
	bool keep;             /* results may be kept (CACHE route); else a LIVE walk */
	bool cache_only;       /* never fill, never park (marking what a mutation changes) */
	bool through_links;    /* follow links outside the cached trees too (finding where a
				  discovered tree physically is: handlers/common.c) */
	void (*on_link)(struct walk *w, void *ctx);   /* each link followed, w->phys naming it */
	void *link_ctx;
	/* out */
	int err;
	struct obj *obj;       /* the final file (WALK_DONE, err == 0) */
	struct obj *dir;       /* directory holding the final name, or NULL if the walk ended on
				  a directory by ".", "..", "/" or the start itself */
	const char *name;      /* the final name in dir (not NUL-terminated: nlen) */
	size_t nlen;
	char phys[PATH_MAX * 2];  /* where the answer physically is: for policy */
	bool phys_ok;
	bool filled;           /* a worker filled something for this walk */
	bool left_trees;       /* WALK_PASS: a link to follow lies outside the cached trees */
	int fd;                /* worker: O_PATH descriptor of fd_obj from this walk, or -1 */
	struct obj *fd_obj;
	struct obj *temps;     /* objs this walk could not keep (freed by walk_done) */
	bool at_last;          /* the name being looked up is the path's last (no "/" after) */
};

/* With the node lock held (a worker drops it around kernel calls and retakes it). */
enum walk_res walk(struct walk *w);
/* Release what the walk holds (descriptor, unkept objs). Lock held. */
void walk_done(struct walk *w);

/* Worker, lock held: an O_PATH descriptor of w->obj for a slot fill (w->fd if the walk
 * just made one, else reopened from its directory). Returns it (ours to close), or -errno.
 * The lock is dropped and retaken. */
int walk_obj_fd(struct walk *w);

/* A slot of the final obj: if EMPTY and in a worker, mark it BUSY and return true (the
 * caller fills, then calls slot_done). If BUSY, park the call (returns false, *res =
 * WALK_PARKED) or, in the loop thread, *res = WALK_MISS. If filled, false with *res =
 * WALK_DONE. */
bool slot_claim(struct walk *w, struct slot *s, enum walk_res *res);
/* Finish a claimed slot: keep the result (state/err) if nothing changed since the walk
 * began, else leave it EMPTY; requeue waiters. Returns whether it was kept. */
bool slot_done(struct walk *w, struct slot *s, uint8_t state, int err);

/* Worker, lock held, slot claimed: run op on an O_PATH descriptor of w->obj without the
 * lock. Returns op's result (0 or -errno), or the -errno of getting the descriptor
 * (-ESTALE: the name now names another file). */
int slot_fill(struct walk *w, int (*op)(int fd, void *ctx), void *ctx);

/* Directory dir's listing (names and raw entries, one slot): WALK_DONE once dir->ents is
 * there; WALK_MISS (loop thread: a worker lists) or WALK_PARKED; WALK_PASS where it cannot
 * be served (volatile, not a network/FUSE file system, not listable, a fill that raced a
 * mutation, positions that cannot be served). Lock held; a worker drops it to list. */
enum walk_res walk_listing(struct walk *w, struct obj *dir);
