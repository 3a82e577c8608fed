/* The walk over the cache (see walk.h). Lock discipline: called and returns with the node
 * lock held; a worker drops it only around fill_* calls, after marking the slot it fills
 * BUSY, so no two workers fill the same thing and everyone else parks on the slot.
 * Whether a fill is kept: only if no mutation of the job happened, or may still be under
 * way in the kernel, since the fill began (node.h mut_epoch, supervisor.h inflight).
 * Otherwise its result answers this one call and is dropped. */
#include "walk.h"
#include "fill.h"
#include "node.h"
#include "sesslink.h"
#include "supervisor.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINKS 40   /* the kernel's MAXSYMLINKS */
#define AUTOFS_SUPER_MAGIC 0x0187

static bool keepable(struct walk *w, uint64_t epoch0)
{
	struct call *c = w->c;
	return w->keep && c->node->mut_epoch == epoch0 && inflight_settled(c->job);
}

void notify_parked_locked(struct call *c);   /* notify.c */

/* Park c on a BUSY slot (worker) or ask for a worker (loop thread). Parking takes the call
 * off the running list at once, under the lock: the filler may requeue it to another
 * worker before this one has returned. */
static enum walk_res wait_for(struct walk *w, struct slot *s)
{
	if (!w->c->in_worker || w->cache_only)
		return WALK_MISS;
	notify_parked_locked(w->c);
	w->c->next = s->waiters;
	s->waiters = w->c;
	return WALK_PARKED;
}

static void finish_slot(struct walk *w, struct slot *s, uint8_t state, int err, bool keep)
{
	struct call *waiters = s->waiters;
	s->waiters = NULL;
	if (keep) {
		s->state = state;
		s->err = err;
	} else {
		s->state = SLOT_EMPTY;
	}
	pool_requeue_locked(w->c->node, &waiters);
}

bool slot_claim(struct walk *w, struct slot *s, enum walk_res *res)
{
	switch (s->state) {
	case SLOT_EMPTY:
		if (w->cache_only || (!w->c->in_worker && !node_fill_here(w->c->node, w->obj))) {
			*res = WALK_MISS;
			return false;
		}
		s->state = SLOT_BUSY;
		w->c->epoch = w->c->node->mut_epoch;
		w->filled = true;
		return true;
	case SLOT_BUSY:
		*res = wait_for(w, s);
		return false;
	default:
		*res = WALK_DONE;
		return false;
	}
}

bool slot_done(struct walk *w, struct slot *s, uint8_t state, int err)
{
	bool keep = keepable(w, w->c->epoch) && !(w->obj && (w->obj->flags & OBJ_VOLATILE));
	finish_slot(w, s, state, err, keep);
	return keep;
}

static void phys_push(struct walk *w, const char *name, size_t len)
{
	size_t pl = strlen(w->phys);
	if (!w->phys_ok || pl + 1 + len + 1 > sizeof w->phys) {
		w->phys_ok = false;
		return;
	}
	if (pl > 1)
		w->phys[pl++] = '/';
	else if (pl == 0)
		w->phys[pl++] = '/';
	memcpy(w->phys + pl, name, len);
	w->phys[pl + len] = '\0';
}

static void phys_pop(struct walk *w)
{
	char *s = strrchr(w->phys, '/');
	if (s == w->phys)
		w->phys[1] = '\0';
	else if (s)
		*s = '\0';
}

static void phys_set(struct walk *w, const char *p)
{
	w->phys_ok = strlen(p) < sizeof w->phys;
	if (w->phys_ok)
		strcpy(w->phys, p);
}

/* A new obj (kept, or a temporary of this walk) from what a look-up found. Takes f->target. */
static struct obj *make_obj(struct walk *w, struct found *f, bool keep)
{
	struct node *n = w->c->node;
	struct job *j = w->c->job;
	struct obj *o = keep ? dc_obj_add(&n->dc, &f->id, f->mode, w->phys_ok ? w->phys : "") : NULL;
	if (!o) {
		o = calloc(1, sizeof *o);
		if (!o)
			return NULL;
		o->id = f->id;
		o->mode = f->mode;
		o->fd = -1;
		o->phys = strdup(w->phys_ok ? w->phys : "");
		o->hnext = w->temps;
		w->temps = o;
	}
	o->target = f->target;
	o->tlen = f->tlen;
	f->target = NULL;
	if (f->fresh && f->basic) {
		/* One walk answers every slot: the look-up just brought these attributes in, as
		 * fresh as a stat now would get them. (Kept only with the obj, under its rules.) */
		o->st = f->st;
		o->flags |= OBJ_STAT_EXACT;
		if (keep)
			o->st_slot.state = SLOT_OK;
	}
	struct fsinfo *fs = node_fs(n, f->id.mnt);
	o->fstype = fs ? fs->type : 0;
	if (!fs || !fs->cacheable || fs->type == AUTOFS_SUPER_MAGIC || node_mounted_by_job(n, f->id.mnt))
		o->flags |= OBJ_NOCACHE;
	if (changed_during_job(j, &f->ctime) ||
	    (S_ISREG(f->mode) && inode_set_has(&j->written, f->id.dev, f->id.ino)))
		o->flags |= OBJ_VOLATILE;
	return o;
}

static bool is_temp(const struct walk *w, const struct obj *o)
{
	for (const struct obj *t = w->temps; t; t = t->hnext)
		if (t == o)
			return true;
	return false;
}

/* A directory's descriptor for one fill made without the node lock (lock held on entry
 * and return): the kept one, lent (pinned: no eviction closes it meanwhile; a dup would
 * cost two more system calls per fill), a temporary's own (this walk's alone), or one
 * reopened by its path, ours. Give it back with dir_fd_put, lock held. */
struct dir_ref {
	int fd;
	struct obj *pinned;   /* lent by the cache */
	bool owned;           /* ours to close */
};

static int dir_fd_get(struct walk *w, struct obj *d, struct dir_ref *r)
{
	struct node *n = w->c->node;
	*r = (struct dir_ref){ .fd = -1 };
	if (is_temp(w, d) && d->fd >= 0)
		return r->fd = d->fd;
	if (!is_temp(w, d) && (r->fd = dc_pin_fd(&n->dc, d)) >= 0) {
		r->pinned = d;
		return r->fd;
	}
	if (!d->phys || !d->phys[0])
		return r->fd = -ESTALE;
	char *phys = strdup(d->phys);
	struct ident id = d->id;
	int rootfd = w->c->start.foreign_root ? w->c->start.root_fd : -1;
	if (!phys)
		return r->fd = -ENOMEM;
	uint64_t ops = 0;
	node_unlock(n);
	int fd = fill_reopen(rootfd, phys, &id, &ops);
	node_lock(n);
	STAT_ADD(n->fsops, ops);
	free(phys);
	r->owned = fd >= 0;
	return r->fd = fd;
}

static void dir_fd_put(struct walk *w, struct dir_ref *r)
{
	if (r->pinned)
		dc_unpin_fd(&w->c->node->dc, r->pinned);
	else if (r->owned)
		close(r->fd);
	*r = (struct dir_ref){ .fd = -1 };
}

/* Lock held: an O_PATH descriptor of directory d, the caller's own to close, or -errno. */
static int dir_fd(struct walk *w, struct obj *d)
{
	struct dir_ref r;
	int fd = dir_fd_get(w, d, &r);
	if (fd < 0 || r.owned)
		return fd;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		fd = -errno;
	dir_fd_put(w, &r);
	return fd;
}

/* Result of looking up one name: the child obj, or an errno. */
struct step {
	struct obj *child;
	int err;
};

/* Listings: a small directory is read whole the first time a name in it is needed (a
 * few operations, and every later miss there costs nothing: the loader probes each
 * search-path entry for a dozen names); a big one only after a few misses in it. */
#define SMALL_DIR (64 * 1024)
#define BIG_DIR_MISSES 3

enum listing_plan { LIST_NO, LIST_FIRST, LIST_ON_MISS };

static enum listing_plan want_listing(struct walk *w, struct obj *dir)
{
	if (dir->list_slot.state != SLOT_EMPTY || (dir->flags & (OBJ_VOLATILE | OBJ_NOCACHE)) || !w->phys_ok)
		return LIST_NO;
	struct fsinfo *fs = node_fs(w->c->node, dir->id.mnt);
	/* On a local file system a missing name costs the kernel a hash look-up: reading a
	 * whole directory would cost more than it saves. Listings are for servers. */
	if (!fs || !fs->listable || fs_is_local(fs->type))
		return LIST_NO;
	struct pol_decision d;
	char buf[8];
	if (policy_decide(&w->c->job->policy, w->phys, &d, buf, sizeof buf) != POL_CACHE)
		return LIST_NO;
	if ((dir->flags & OBJ_STAT_EXACT) && dir->st.st_size <= SMALL_DIR)
		return LIST_FIRST;
	return dir->misses + 1 >= BIG_DIR_MISSES ? LIST_ON_MISS : LIST_NO;
}

static bool names_have(char **names, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], name, len) == 0 && names[i][len] == '\0')
			return true;
	return false;
}

/* A worker's fill through the session (sesslink.h), no node lock: as the kernel calls
 * below would do it (listing first where planned, then the name), but answered by the
 * session root. FILL_NOFD (found, *f filled), -errno, or SL_FALLBACK with nothing kept. */
static int session_fill(uint64_t mnt, const char *phys, const char *name, size_t len, enum listing_plan plan,
			long namelen, struct found *f, char ***names, size_t *nn, struct dents **ents, int *lerr)
{
	int fd = -EAGAIN;
	if (plan == LIST_FIRST) {
		int r = sesslink_list(mnt, phys, names, nn, ents);
		if (r == SL_FALLBACK)
			return SL_FALLBACK;
		*lerr = r;
		if (!r && (long)len <= namelen && !(len == 1 && name[0] == '.') && !names_have(*names, *nn, name, len))
			fd = -ENOENT;   /* the listing says so: no look-up */
	}
	if (fd == -EAGAIN) {
		int r = sesslink_lookup(mnt, phys, name, len, f);
		if (r == SL_FALLBACK) {
			free_names(*names, *nn);
			dents_free(*ents);
			*names = NULL, *nn = 0, *ents = NULL, *lerr = -1;
			return SL_FALLBACK;
		}
		fd = r < 0 ? r : FILL_NOFD;
	}
	if (fd == -ENOENT && plan == LIST_ON_MISS) {
		int r = sesslink_list(mnt, phys, names, nn, ents);
		*lerr = r == SL_FALLBACK ? -1 : r;
	}
	return fd;
}

static enum walk_res lookup(struct walk *w, struct obj *dir, const char *name, size_t len, struct step *out)
{
	struct call *c = w->c;
	struct node *n = c->node;
	bool dotdot = len == 2 && name[0] == '.' && name[1] == '.';
	struct edge *e = is_temp(w, dir) ? NULL : dc_edge_find(&n->dc, dir, name, len);
	if (e) {
		if (e->flags & EDGE_VOLATILE)
			return WALK_PASS;
		switch (e->s.state) {
		case SLOT_OK:
			out->child = e->child, out->err = 0;
			return WALK_DONE;
		case SLOT_ERR:
			out->child = NULL, out->err = e->s.err;
			return WALK_DONE;
		case SLOT_BUSY:
			return wait_for(w, &e->s);
		case SLOT_PASS:
			return WALK_PASS;
		}
	}
	/* A name the directory's listing does not have is missing (within the file system's
	 * name length: longer names fail ENAMETOOLONG). */
	if (!dotdot && dir->list_slot.state == SLOT_OK && !(dir->flags & OBJ_VOLATILE)) {
		struct fsinfo *fs = node_fs(n, dir->id.mnt);
		if (fs && (long)len <= fs->namelen && !(len == 1 && name[0] == '.') &&
		    !listing_has(&dir->list, name, len)) {
			if (!e && !is_temp(w, dir))
				e = dc_edge_add(&n->dc, dir, name, len);
			if (e)
				e->s.state = SLOT_ERR, e->s.err = ENOENT;
			out->child = NULL, out->err = ENOENT;
			return WALK_DONE;
		}
	}
	if (w->cache_only || (!c->in_worker && !node_fill_here(n, dir)))
		return WALK_MISS;   /* a worker fills: the file system may be slow or hung */
	if (!e && !is_temp(w, dir))
		e = dc_edge_add(&n->dc, dir, name, len);   /* NULL when full: fill without keeping */
	if (e)
		e->s.state = SLOT_BUSY;
	enum listing_plan plan = dotdot || is_temp(w, dir) ? LIST_NO : want_listing(w, dir);
	bool list = plan != LIST_NO;
	if (list)
		dir->list_slot.state = SLOT_BUSY;
	struct fsinfo *dfs = node_fs(n, dir->id.mnt);
	long namelen = dfs ? dfs->namelen : 0;
	uint64_t epoch0 = n->mut_epoch;
	w->filled = true;
	struct found f = { 0 };
	char **names = NULL;
	size_t nnames = 0;
	struct dents *ents = NULL;   /* the raw entries, when this fill lists the directory */
	int fd = SL_FALLBACK, lerr = -1;
	uint64_t ops = 0;
	long dirtype = dir->fstype;
	if (sesslink_id && !dotdot && c->in_worker && !c->start.foreign_root && w->phys_ok) {
		char *phys = strdup(w->phys);
		uint64_t mnt = dir->id.mnt;
		node_unlock(n);
		if (phys)
			fd = session_fill(mnt, phys, name, len, plan, namelen, &f, &names, &nnames, &ents, &lerr);
		free(phys);
		node_lock(n);
	}
	struct dir_ref dref = { .fd = -1 };
	int dfd = fd == SL_FALLBACK ? dir_fd_get(w, dir, &dref) : -1;
	if (fd == SL_FALLBACK)
		fd = dfd;
	/* Local, and the last name (most often a plain file, whose descriptor would go
	 * unused): statx alone. A name the walk goes through is a directory or a link, which
	 * needs the descriptor the plain look-up gives in two calls. */
	bool nofd = w->at_last && !dotdot && node_fill_here(n, dir);
	uint64_t dmnt = dir->id.mnt;
	if (dfd >= 0) {
		node_unlock(n);
		fd = -EAGAIN;
		if (plan == LIST_FIRST) {
			lerr = fill_listing(dfd, dirtype, &names, &nnames, &ents, &ops);
			if (!lerr && (long)len <= namelen && !(len == 1 && name[0] == '.') &&
			    !names_have(names, nnames, name, len))
				fd = -ENOENT;   /* the listing says so: no look-up */
		}
		if (fd == -EAGAIN)
			fd = nofd ? fill_lookup_nofd(dfd, name, len, dmnt, &f, &ops) : fill_lookup(dfd, name, len, &f, &ops);
		struct fsinfo *cfs = fd >= 0 ? node_fs(n, f.id.mnt) : NULL;   /* racy read: fine */
		if (fd >= 0 && fd != FILL_NOFD && (!cfs || (cfs->guessed && c->in_worker))) {
			if (c->in_worker)
				node_fs_learn(n, fd, f.id.mnt);
			else
				node_fs_guess(n, c->pid, f.id.mnt);   /* no statfs in the loop thread */
		}
		if (fd == -ENOENT && plan == LIST_ON_MISS)
			lerr = fill_listing(dfd, dirtype, &names, &nnames, &ents, &ops);
		node_lock(n);
		dir_fd_put(w, &dref);
		STAT_ADD(n->fsops, ops);
	}
	if (fd == -ENOENT)
		dir->misses++;
	bool keep = keepable(w, epoch0) && !(e && (e->flags & EDGE_VOLATILE)) && !is_temp(w, dir);
	if (list) {
		bool lkeep = keep && lerr == 0 && !(dir->flags & OBJ_VOLATILE);
		if (lkeep) {
			listing_set(&dir->list, names, nnames);
			dir->ents = ents;
		} else {
			free_names(names, nnames);
			dents_free(ents);
		}
		finish_slot(w, &dir->list_slot, SLOT_OK, 0, lkeep);
	}
	enum walk_res res = WALK_DONE;
	if (fd >= 0) {
		struct obj *child = dc_obj_find(&n->dc, &f.id);
		if (!child) {
			char saved[sizeof w->phys];
			bool ok = w->phys_ok;
			strcpy(saved, w->phys);
			if (dotdot)
				phys_pop(w);
			else
				phys_push(w, name, len);
			child = make_obj(w, &f, keep);
			strcpy(w->phys, saved);
			w->phys_ok = ok;
		}
		free(f.target);
		if (!child) {
			if (fd != FILL_NOFD)
				close(fd);
			res = WALK_PASS;
		} else {
			if (fd == FILL_NOFD) {
				/* No descriptor here (the session's answer, or a local plain file): a
				 * later fill that needs one reopens a directory by its path and
				 * identity, and looks a file up again (walk_obj_fd). */
			} else if (S_ISDIR(child->mode) && child->fd < 0) {
				if (is_temp(w, child))
					child->fd = fd;
				else
					dc_keep_fd(&n->dc, child, fd);
			} else if (!S_ISDIR(child->mode)) {
				if (w->fd >= 0)
					close(w->fd);
				w->fd = fd;   /* the final file's descriptor, for its slots */
				w->fd_obj = child;
			} else {
				close(fd);
			}
			out->child = child, out->err = 0;
		}
		if (e) {
			e->child = child;
			finish_slot(w, &e->s, SLOT_OK, 0, keep && child && !is_temp(w, child));
		}
	} else {
		int err = -fd;
		bool ok = cacheable_errno(err);
		if (e)
			finish_slot(w, &e->s, SLOT_ERR, err, keep && ok && !(dir->flags & OBJ_VOLATILE));
		if (!ok)
			res = WALK_PASS;   /* EIO, ENOMEM, ESTALE...: the kernel gives its own answer */
		out->child = NULL, out->err = err;
	}
	return res;
}

enum walk_res walk_listing(struct walk *w, struct obj *dir)
{
	struct call *c = w->c;
	struct node *n = c->node;
	if (dir->list_slot.state == SLOT_OK)
		return dir->ents ? WALK_DONE : WALK_PASS;
	if (dir->list_slot.state == SLOT_BUSY)
		return wait_for(w, &dir->list_slot);
	if (dir->list_slot.state != SLOT_EMPTY || (dir->flags & (OBJ_VOLATILE | OBJ_NOCACHE)) || is_temp(w, dir))
		return WALK_PASS;
	struct fsinfo *fs = node_fs(n, dir->id.mnt);
	if (!fs || !fs->listable || fs_is_local(fs->type))
		return WALK_PASS;
	if (w->cache_only || !c->in_worker)
		return WALK_MISS;
	dir->list_slot.state = SLOT_BUSY;
	uint64_t epoch0 = n->mut_epoch;
	w->filled = true;
	struct dir_ref dref;
	int dfd = dir_fd_get(w, dir, &dref);
	char **names = NULL;
	size_t nnames = 0;
	struct dents *ents = NULL;
	int lerr = dfd;
	uint64_t ops = 0;
	long dirtype = dir->fstype;
	if (dfd >= 0) {
		node_unlock(n);
		lerr = fill_listing(dfd, dirtype, &names, &nnames, &ents, &ops);
		node_lock(n);
		dir_fd_put(w, &dref);
		STAT_ADD(n->fsops, ops);
	}
	bool keep = keepable(w, epoch0) && lerr == 0 && !(dir->flags & OBJ_VOLATILE);
	if (keep) {
		listing_set(&dir->list, names, nnames);
		dir->ents = ents;
	} else {
		free_names(names, nnames);
		dents_free(ents);
	}
	finish_slot(w, &dir->list_slot, SLOT_OK, 0, keep);
	return keep && dir->ents ? WALK_DONE : WALK_PASS;
}

/* Worker, lock held: the obj for a start descriptor the loop thread opened. */
static struct obj *start_obj(struct walk *w, int fd, const struct ident *id, bool is_root)
{
	struct node *n = w->c->node;
	struct obj *o = dc_obj_find(&n->dc, id);
	if (o || fd < 0 || w->cache_only)
		return o;   /* (making one asks no file system: statx DONT_SYNC, /proc, mountinfo) */
	struct found f;
	char phys[PATH_MAX] = "/";
	uint64_t ops = 0;
	node_unlock(n);
	int err = fill_ident(fd, &f);
	if (!err && !is_root) {
		char link[64];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t k = readlink(link, phys, sizeof phys - 1);
		phys[k > 0 ? k : 0] = '\0';
		if (k <= 0 || phys[0] != '/')
			err = -ENOENT;
	}
	if (!err && !node_fs(n, f.id.mnt)) {
		if (w->c->in_worker)
			node_fs_learn(n, fd, f.id.mnt);
		else
			node_fs_guess(n, w->c->pid, f.id.mnt);
	}
	int dup = err ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
	node_lock(n);
	STAT_ADD(n->fsops, ops);
	if (err || f.id.ino != id->ino || f.id.dev != id->dev || !S_ISDIR(f.mode)) {
		if (dup >= 0)
			close(dup);
		return NULL;
	}
	if ((o = dc_obj_find(&n->dc, id))) {   /* another worker made it meanwhile */
		close(dup);
		return o;
	}
	char saved[sizeof w->phys];
	strcpy(saved, w->phys);
	phys_set(w, phys);
	o = make_obj(w, &f, true);
	strcpy(w->phys, saved);
	if (o && dup >= 0 && !is_temp(w, o))
		dc_keep_fd(&n->dc, o, dup);
	else if (o && dup >= 0)
		o->fd = dup;
	else if (dup >= 0)
		close(dup);
	return o;
}

/* Is there another component after p (in p itself or in a pending link remainder)? And
 * is the current component followed by a slash? */
static bool more_after(const char *p, const char *const *stack, int sp)
{
	for (const char *q = p; *q; q++)
		if (*q != '/')
			return true;
	for (int i = sp - 1; i >= 0; i--)
		for (const char *q = stack[i]; *q; q++)
			if (*q != '/')
				return true;
	return false;
}

static bool slash_after(const char *p, const char *const *stack, int sp)
{
	if (*p == '/')
		return true;
	for (int i = sp - 1; i >= 0; i--) {
		if (stack[i][0] == '/')
			return true;
		if (stack[i][0])
			return false;
	}
	return false;
}

static enum walk_res done(struct walk *w, int err)
{
	w->err = err;
	return WALK_DONE;
}

enum walk_res walk(struct walk *w)
{
	struct call *c = w->c;
	struct node *n = c->node;
	w->err = 0;
	w->obj = w->dir = NULL;
	w->name = NULL;
	w->nlen = 0;
	struct obj *root = c->start.foreign_root ? start_obj(w, c->start.root_fd, &c->start.root, true) : n->root_obj;
	if (!root)
		return c->in_worker ? WALK_PASS : WALK_MISS;
	const char *p = w->path;
	struct obj *cur;
	if (p[0] == '/') {
		cur = root;
		phys_set(w, "/");
	} else {
		cur = start_obj(w, c->start.dir_fd, &c->start.dir, false);
		if (!cur)
			return c->in_worker ? WALK_PASS : WALK_MISS;
		phys_set(w, cur->phys);
		if (!cur->phys[0])
			w->phys_ok = false;
	}
	if (cur->flags & OBJ_NOCACHE)
		return WALK_PASS;
	const char *stack[MAX_LINKS + 2];
	int sp = 0, links = 0;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p) {
			if (sp) {
				p = stack[--sp];
				continue;
			}
			w->obj = cur;   /* ended on a directory: "/", ".", "..", "dir/" */
			return done(w, 0);
		}
		const char *comp = p;
		size_t len = strcspn(p, "/");
		p += len;
		bool last = !more_after(p, stack, sp);
		bool slash = last && slash_after(p, stack, sp);
		if (len == 1 && comp[0] == '.') {
			if (last) {
				w->obj = cur;
				return done(w, 0);
			}
			continue;
		}
		struct step st = { 0 };
		bool dotdot = len == 2 && comp[0] == '.' && comp[1] == '.';
		if (dotdot && cur == root) {
			st.child = cur;
		} else {
			w->at_last = last && !slash;
			enum walk_res r = lookup(w, cur, comp, len, &st);
			if (r != WALK_DONE)
				return r;
		}
		if (st.err) {
			/* The name failed: the answer, wherever it is in the path. */
			phys_push(w, comp, len);
			if (last) {
				w->dir = cur;
				w->name = comp;
				w->nlen = len;
			}
			return done(w, st.err);
		}
		struct obj *child = st.child;
		if (child->flags & OBJ_NOCACHE)
			return WALK_PASS;
		if (dotdot) {
			if (child != cur)
				phys_pop(w);
			cur = child;
			if (last) {
				w->obj = cur;
				return done(w, 0);
			}
			continue;
		}
		if (S_ISLNK(child->mode) && (!last || w->follow || slash)) {
			/* Followed only where the link itself lies in a cached tree: a link out to a
			 * passed tree (/tmp, /proc...) makes the whole walk the kernel's. */
			phys_push(w, comp, len);
			struct pol_decision d;
			char buf[8];
			if (w->on_link && w->phys_ok)
				w->on_link(w, w->link_ctx);
			if (!w->through_links &&
			    (!w->phys_ok || policy_decide(&c->job->policy, w->phys, &d, buf, sizeof buf) != POL_CACHE)) {
				w->left_trees = true;
				return WALK_PASS;
			}
			phys_pop(w);
			if (++links > MAX_LINKS)
				return done(w, ELOOP);
			if (child->tlen == 0)
				return done(w, ENOENT);
			stack[sp++] = p;
			p = child->target;
			if (p[0] == '/') {
				cur = root;
				phys_set(w, "/");
			}
			continue;
		}
		if (!last || slash) {
			if (!S_ISDIR(child->mode)) {
				phys_push(w, comp, len);
				return done(w, ENOTDIR);
			}
			phys_push(w, comp, len);
			cur = child;
			if (!last)
				continue;
			w->obj = cur;
			w->dir = NULL;
			return done(w, 0);
		}
		phys_push(w, comp, len);
		w->obj = child;
		w->dir = cur;
		w->name = comp;
		w->nlen = len;
		return done(w, 0);
	}
}

int walk_obj_fd(struct walk *w)
{
	struct node *n = w->c->node;
	if (w->fd >= 0 && w->fd_obj == w->obj) {
		int fd = w->fd;
		w->fd = -1;
		return fd;
	}
	if (S_ISDIR(w->obj->mode) || !w->dir)
		return dir_fd(w, w->obj);
	struct dir_ref dref;
	int dfd = dir_fd_get(w, w->dir, &dref);
	if (dfd < 0)
		return dfd;
	struct found f;
	uint64_t ops = 0;
	node_unlock(n);
	int fd = fill_lookup(dfd, w->name, w->nlen, &f, &ops);
	free(f.target);
	node_lock(n);
	dir_fd_put(w, &dref);
	STAT_ADD(n->fsops, ops);
	if (fd >= 0 && (f.id.ino != w->obj->id.ino || f.id.dev != w->obj->id.dev || f.id.mnt != w->obj->id.mnt)) {
		close(fd);
		return -ESTALE;   /* the name now names another file */
	}
	return fd;
}

void walk_done(struct walk *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	for (struct obj *o = w->temps, *next; o; o = next) {
		next = o->hnext;
		obj_free(o);
	}
	w->temps = NULL;
}

int slot_fill(struct walk *w, int (*op)(int fd, void *ctx), void *ctx)
{
	struct node *n = w->c->node;
	int fd = walk_obj_fd(w);
	if (fd < 0)
		return fd;
	node_unlock(n);
	int r = op(fd, ctx);
	close(fd);
	node_lock(n);
	STAT_ADD(n->fsops, 1);
	return r;
}
