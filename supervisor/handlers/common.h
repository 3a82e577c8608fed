/* What every look-up handler does before it can answer: read the path once, find where the
 * caller's walk starts (its root, cwd or dirfd, as descriptors), and decide with the
 * policy how the call is answered. Anything collrun cannot be sure of goes to the kernel. */
#pragma once
#include "call.h"
#include "node.h"
#include "supervisor.h"
#include "walk.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Route the call (once; later runs reuse the decision). True if the handler answers it
 * from c->how == ROUTE_CACHE (walk c->lookup from c->start) or ROUTE_LIVE (c->target);
 * false with *v already the answer (the kernel's, a denial, or V_DEFER: a worker must
 * route it because the start directory is not known yet). */
bool route_lookup(struct call *c, int dirfd, uint64_t path_addr, struct verdict *v);
/* The routing itself: 1 routed (c->how set; c->raw, c->path, c->start valid when the path
 * could be read), 0 a worker must route it, -1 the path or start cannot be read (the
 * kernel answers; c->raw may be empty). */
int route_call(struct call *c, int dirfd, uint64_t path_addr);
static inline bool redirected(const struct call *c) { return c->lookup == c->target; }
static inline int dirfd_arg(uint64_t a) { return (int)(int32_t)a; }

/* Read the path argument into buf (PATH_MAX). Its length, or -errno (then the kernel's
 * own answer is the right one). */
int read_path(struct call *c, uint64_t addr, char *buf);
/* The caller's start directory for (dirfd, path) into *s: descriptors of our own, opened
 * through /proc/PID/{cwd,fd/N,root}. -errno: cannot tell (pass the call to the kernel). */
int open_start(struct call *c, int dirfd, const char *path, struct start *s);
void close_start(struct start *s);
/* A descriptor to walk an absolute or relative path from, for calls performed on the
 * caller's behalf: the start directory, or AT_FDCWD for an absolute path in our root. */
int start_dirfd(const struct start *s, const char *path);

/* Copy a result into the caller's buffer, after checking the call is still pending.
 * 0, or -errno (the caller then gets the kernel's own answer via CONTINUE). */
int write_answer(struct call *c, uint64_t addr, const void *buf, size_t len);

/* A walk of c->lookup for a handler (lock taken by the caller). */
static inline void walk_init(struct walk *w, struct call *c, bool follow)
{
	w->c = c;
	w->path = c->lookup;
	w->follow = follow;
	w->keep = true;
	w->cache_only = false;
	w->fd = -1;
	w->fd_obj = NULL;
	w->temps = NULL;
	w->filled = false;
	w->through_links = false;
	w->at_last = false;
	w->on_link = NULL;
	w->link_ctx = NULL;
	w->left_trees = false;
}
/* walk() for a handler (lock held): when the walk leaves the cached trees (a link outside
 * them, or an end outside them) on a path a discovered tree decided, find once where that
 * tree physically is — each link on the way to it, and its physical folder, become
 * discovered trees too — and walk again. A discovered tree is named as a program or a
 * RUNPATH wrote it ("$ORIGIN/../lib", a "current" link to a version), and the walk serves
 * a path only where every link it follows, and its end, are in cached trees. */
enum walk_res walk_call(struct walk *w);
/* After walk(): is the answer one collrun may give from the cache? (The final place must
 * be in a cached tree by policy, and the file must not be one that changes.) */
bool walk_answerable(struct walk *w);
/* The walk a look-up handler makes, start to end: walk c->lookup (following a final
 * symlink or not) under the node lock, check the answer may come from the cache, and if
 * the walk found a file, run final(w, ctx) on it (reading or filling the slot the call
 * needs, copying the answer out). Sets c->outcome; *err is the walk's errno (0 when it
 * found the file). WALK_DONE: answer with *err or what final copied; else walk_verdict(). */
typedef enum walk_res (*final_fn)(struct walk *w, void *ctx);
enum walk_res cached_lookup(struct call *c, bool follow, final_fn final, void *ctx, int *err);
/* Turn a walk result other than DONE into the handler's verdict. */
struct verdict walk_verdict(struct call *c, enum walk_res r);
