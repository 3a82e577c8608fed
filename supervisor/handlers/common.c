/* The shared front half of every look-up: path in, start descriptors and a route out.
 * Every "no" means the kernel answers instead, which is always correct, only slower.
 * Relative paths are walked from the caller's own cwd or dirfd (never from a joined
 * string); the joined absolute form in c->path only feeds the policy and -v. */
#include "handlers/common.h"
#include "fill.h"
#include "log.h"
#include "replica.h"
#include "supervisor.h"
#include "resolve.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

int read_path(struct call *c, uint64_t addr, char *buf)
{
	ssize_t n = tracee_read_string(c->pid, addr, buf, PATH_MAX);
	if (n == 0)
		return -ENOENT;   /* "": the kernel's ENOENT (or an AT_EMPTY_PATH form) */
	return n < 0 ? (int)n : (int)n;
}

static int ident_of(int fd, struct ident *id, bool *isdir)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*id = (struct ident){ sx.stx_mnt_id, makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino };
	*isdir = S_ISDIR(sx.stx_mode);
	return 0;
}

static int open_proc(pid_t pid, const char *what, int dirfd)
{
	char p[64];
	if (dirfd >= 0)
		snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)pid, dirfd);
	else
		snprintf(p, sizeof p, "/proc/%d/%s", (int)pid, what);
	int fd = open(p, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void close_start(struct start *s)
{
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->root_fd >= 0)
		close(s->root_fd);
	s->dir_fd = s->root_fd = -1;
}

/* The dirfd s->dir is one of our replicas: walk from its original instead, from a
 * descriptor of it (the kept one: no file-system request; else reopened by its path, in a
 * worker), and remember to give the caller the original if the call goes to the kernel.
 * 1 when mapped, 0 when not a replica, -EAGAIN (loop thread: a worker must reopen it). */
static int replica_start(struct call *c, int dirfd, struct start *s)
{
	struct node *n = c->node;
	node_lock(n);
	struct obj *o = replica_original(s->dir.mnt, s->dir.ino);
	if (!o) {
		node_unlock(n);
		return 0;
	}
	int fd = dc_get_fd(&n->dc, o);
	fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	char *phys = fd < 0 && o->phys[0] ? strdup(o->phys) : NULL;
	struct ident id = o->id;
	node_unlock(n);
	c->swap_fd = dirfd;
	c->swap_obj = o;
	if (fd < 0 && !c->in_worker) {
		free(phys);
		return -EAGAIN;
	}
	if (fd < 0 && phys) {
		uint64_t ops = 0;
		fd = fill_reopen(-1, phys, &id, &ops);
		STAT_ADD(n->fsops, ops);
	}
	free(phys);
	if (fd < 0)
		return fd == -1 ? -ESTALE : fd;
	s->dir = id;
	s->dir_fd = fd;
	return 1;
}

int open_start(struct call *c, int dirfd, const char *path, struct start *s)
{
	struct job *j = c->job;
	bool isdir;
	*s = (struct start){ .root = c->node->root, .dir = c->node->root, .dir_fd = -1, .root_fd = -1 };
	if (j->ns_changed) {
		/* The caller may have another root (chroot, pivot_root, a container's mount
		 * namespace): walk in its view, from its root. */
		int fd = open_proc(c->pid, "root", -1);
		if (fd < 0)
			return fd;
		int err = ident_of(fd, &s->root, &isdir);
		if (err) {
			close(fd);
			return err;
		}
		if (s->root.mnt == c->node->root.mnt && s->root.ino == c->node->root.ino && s->root.dev == c->node->root.dev) {
			close(fd);
		} else {
			s->foreign_root = true;
			s->root_fd = fd;
		}
		s->dir = s->root;
	}
	if (path[0] == '/')
		return 0;
	if (dirfd != AT_FDCWD && dirfd < 0)
		return -EBADF;
	if (s->foreign_root) {
		close_start(s);
		return -EXDEV;   /* relative walks inside another root: the kernel's (see collrun(1)) */
	}
	int fd = open_proc(c->pid, "cwd", dirfd == AT_FDCWD ? -1 : dirfd);
	if (fd < 0)
		return fd;
	int err = ident_of(fd, &s->dir, &isdir);
	if (!err && !isdir)
		err = -ENOTDIR;
	if (!err && dirfd != AT_FDCWD && (err = replica_start(c, dirfd, s)) > 0) {
		close(fd);   /* the replica's: walked from its original's */
		return 0;
	}
	if (err) {
		close(fd);
		close_start(s);
		return err;
	}
	s->dir_fd = fd;
	return 0;
}

int start_dirfd(const struct start *s, const char *path)
{
	if (path[0] != '/')
		return s->dir_fd;
	return s->foreign_root ? -1 : AT_FDCWD;
}

/* Route on the absolute form of the path. Returns 1 when routed, 0 when a worker must make
 * the start directory known first. */
static int decide(struct call *c)
{
	struct job *j = c->job;
	struct node *n = c->node;
	if (c->raw[0] == '/') {
		memcpy(c->path, c->raw, strlen(c->raw) + 1);
	} else {
		node_lock(n);
		struct obj *o = dc_obj_find(&n->dc, &c->start.dir);
		if (!o) {   /* making the start obj asks no file system: the loop thread may */
			struct walk w = { .c = c, .path = ".", .keep = true, .fd = -1 };
			if (walk(&w) == WALK_DONE && !w.err)
				o = w.obj;
			if (o && w.temps) {
				o = NULL;   /* could not keep it: no name for the policy */
			}
			walk_done(&w);
		}
		int err = !o ? -EAGAIN : (o->flags & OBJ_NOCACHE) || !o->phys[0] ? -ENOENT
			: path_join(o->phys, c->raw, c->path, sizeof c->path);
		node_unlock(n);
		if (err == -EAGAIN && !c->in_worker)
			return 0;
		if (err) {
			c->how = ROUTE_KERNEL;
			return 1;
		}
	}
	struct pol_decision d;
	enum pol_action a = policy_decide(&j->policy, c->path, &d, c->target, sizeof c->target);
	c->no_rule = !d.rule;
	c->rule = d.rule;
	switch (a) {
	case POL_DENY:
	case POL_HIDE:
		c->how = ROUTE_DENY, c->route_err = d.err;   /* whoever asks */
		return 1;
	case POL_CACHE:
		c->how = caller_is_like_us(j, c->pid) ? ROUTE_CACHE : ROUTE_KERNEL;
		c->lookup = c->raw;
		return 1;
	case POL_REDIRECT:
	case POL_LIBRARY: {
		if (d.target != c->target)
			snprintf(c->target, sizeof c->target, "%s", d.target);
		/* Whether the target's answer may be kept depends on the target's own rule
		 * (only one redirect is followed: no chains, no loops). */
		struct pol_decision t;
		char unused[8];
		enum pol_action ta = policy_decide(&j->policy, c->target, &t, unused, sizeof unused);
		c->lookup = c->target;
		if (ta == POL_DENY || ta == POL_HIDE) {
			c->how = ROUTE_DENY, c->route_err = t.err;
			return 1;
		}
		/* We look the target up with our credentials, in our root: never for a caller
		 * with other rights or another root. */
		if (!caller_is_like_us(j, c->pid) || c->start.foreign_root || strlen(c->target) >= PATH_MAX)
			c->how = ROUTE_KERNEL;
		else
			c->how = ta == POL_CACHE ? ROUTE_CACHE : ROUTE_LIVE;
		/* The target is absolute: walked from our root, not from the caller's cwd. */
		return 1;
	}
	default:
		c->how = ROUTE_KERNEL;
		return 1;
	}
}

int route_call(struct call *c, int dirfd, uint64_t path_addr)
{
	if (c->prepared)
		return c->routed;
	c->routed = -1;
	if (!c->have_start) {   /* read once: a worker re-running the call reuses it */
		c->how = ROUTE_KERNEL;
		c->path[0] = '\0';
		c->rule = NULL;
		c->no_rule = false;   /* decide() may route before asking the policy */
		c->start = (struct start){ .dir_fd = -1, .root_fd = -1 };
		if (c->job->pass_all || read_path(c, path_addr, c->raw) < 0) {
			c->raw[0] = '\0';
			c->prepared = true;
			return -1;
		}
		int err = open_start(c, dirfd, c->raw, &c->start);
		if (err == -EAGAIN && !c->in_worker)
			return 0;   /* a worker opens the original of a replica dirfd */
		if (err < 0) {
			c->prepared = true;
			return -1;
		}
		c->have_start = true;
	}
	if (!decide(c))
		return 0;   /* a worker makes the start directory known, then routes */
	c->prepared = true;
	return c->routed = 1;
}

bool route_lookup(struct call *c, int dirfd, uint64_t path_addr, struct verdict *v)
{
	int r = route_call(c, dirfd, path_addr);
	if (r <= 0) {
		*v = r == 0 ? verdict_defer() : verdict_continue();
		return false;
	}
	switch (c->how) {
	case ROUTE_KERNEL:
		*v = verdict_continue();
		return false;
	case ROUTE_DENY:
		*v = verdict_return(-c->route_err);
		return false;
	case ROUTE_LIVE:
		if (!c->in_worker) {
			*v = verdict_defer();
			return false;
		}
		return true;
	case ROUTE_CACHE:
		return true;
	}
	return false;
}

bool walk_answerable(struct walk *w)
{
	struct call *c = w->c;
	if (!w->phys_ok)
		return false;
	if (!w->err && (w->obj->flags & (OBJ_NOCACHE | OBJ_VOLATILE)))
		return false;
	if (redirected(c) && w->err == 0)
		return true;   /* the target's rule was checked when routing */
	struct pol_decision d;
	char buf[8];
	return policy_decide(&c->job->policy, w->phys, &d, buf, sizeof buf) == POL_CACHE;
}

#define MAX_LINKS_SEEN 40

struct links_seen { char *v[MAX_LINKS_SEEN]; size_t n; };

static void saw_link(struct walk *w, void *ctx)
{
	struct links_seen *l = ctx;
	if (l->n < MAX_LINKS_SEEN && (l->v[l->n] = strdup(w->phys)))
		l->n++;
}

/* Walk the discovered tree r itself, through any link, and add what it went through. */
static enum walk_res resolve_tree(struct call *c, struct pol_rule *r)
{
	struct links_seen seen = { .n = 0 };
	struct walk t;
	walk_init(&t, c, true);
	t.path = r->pattern;
	t.through_links = true;
	t.on_link = saw_link;
	t.link_ctx = &seen;
	enum walk_res res = walk(&t);
	if (res == WALK_DONE) {
		__atomic_or_fetch(&r->flags, POL_RULE_RESOLVED, __ATOMIC_RELAXED);
		/* A tree that does not exist (lib64 next to lib) still has a place: where its
		 * first missing name would be, below the links that lead there. */
		if (t.phys_ok && (seen.n || strcmp(t.phys, r->pattern))) {
			char why[PATH_MAX + 64];
			snprintf(why, sizeof why, "link on the way to %s", r->pattern);
			for (size_t i = 0; i < seen.n; i++)
				discover_add_logged(c->job, POL_SRC_ALL, seen.v[i], why);
			snprintf(why, sizeof why, "where %s is", r->pattern);
			discover_add_logged(c->job, POL_SRC_ALL, t.phys, why);
		}
	} else if (res == WALK_PASS) {
		__atomic_or_fetch(&r->flags, POL_RULE_RESOLVED, __ATOMIC_RELAXED);   /* /proc...: never */
	}
	for (size_t i = 0; i < seen.n; i++)
		free(seen.v[i]);
	walk_done(&t);
	return res;
}

/* A tree discovered, or named by a ${VAR}, whose links and ".." were not looked at yet. */
static bool to_resolve(const struct pol_rule *r)
{
	return r && (r->flags & (POL_RULE_DISCOVERED | POL_RULE_EXPANDED)) &&
	       !(__atomic_load_n(&r->flags, __ATOMIC_RELAXED) & POL_RULE_RESOLVED);
}

enum walk_res walk_call(struct walk *w)
{
	struct call *c = w->c;
	enum walk_res r = walk(w);
	/* First the rule that decided the path; then, if the walk still leaves it, the
	 * discovered tree that names the path: a search path entry "APP/../lib" is decided by
	 * APP (the program's own tree, whose name it starts with), while its place is known
	 * only once the entry itself is resolved. */
	for (int k = 0; k < 2; k++) {
		bool left = (r == WALK_PASS && w->left_trees) || (r == WALK_DONE && !walk_answerable(w));
		if (!left)
			return r;
		struct pol_rule *rule = (struct pol_rule *)c->rule;
		if (k == 1) {
			const struct pol_rule *d = NULL;
			const struct policy *p = &c->job->policy;
			rule = p->discovered && c->path[0] && p->discovered(p->discovered_ctx, c->path, &d)
				? (struct pol_rule *)d : NULL;
		}
		if (!to_resolve(rule))
			continue;
		enum walk_res rr = resolve_tree(c, rule);
		if (rr == WALK_MISS || rr == WALK_PARKED)
			return rr;   /* the call runs again from the top, in a worker or when woken */
		bool follow = w->follow;
		const char *path = w->path;
		walk_done(w);
		walk_init(w, c, follow);
		w->path = path;
		r = walk(w);
	}
	return r;
}

enum walk_res cached_lookup(struct call *c, bool follow, final_fn final, void *ctx, int *err)
{
	struct walk w;
	walk_init(&w, c, follow);
	node_lock(c->node);
	enum walk_res r = walk_call(&w);
	if (r == WALK_DONE && !walk_answerable(&w))
		r = WALK_PASS;
	if (r == WALK_DONE && !w.err && final)
		r = final(&w, ctx);
	*err = w.err;
	c->outcome = w.filled ? OUT_FILL : OUT_HIT;
	walk_done(&w);
	node_unlock(c->node);
	return r;
}

struct verdict walk_verdict(struct call *c, enum walk_res r)
{
	switch (r) {
	case WALK_MISS:
		return verdict_defer();
	case WALK_PARKED:
		return verdict_parked();
	default:
		c->outcome = OUT_PASS;
		return verdict_continue();
	}
}

int write_answer(struct call *c, uint64_t addr, const void *buf, size_t len)
{
	/* Memory is addressed by pid: if the caller died and the pid was reused since we
	 * received the call, the write would land in another process. Answers that travel by
	 * notification id (errno, values, ADDFD) need no such check: a stale id just fails. */
	if (!c->still_valid(c))
		return -ESRCH;
	return tracee_write(c->pid, addr, buf, len);
}
