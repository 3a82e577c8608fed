/* open, openat, openat2, creat.
 * Read-only opens of regular files in cached trees: a file on a local file system is
 * opened by the kernel itself (CONTINUE: its page cache already is the node's copy, and
 * the answer is exactly native); a file on a network or FUSE file system is answered with
 * a fresh descriptor of its sealed memfd copy (ADDFD), so reads and mmaps never reach the
 * server again. Misses are answered from the cache either way.
 * Opens that may write are performed by a worker on the caller's behalf — from the
 * caller's own start directory, with its umask, after checking the call is still pending
 * — and the descriptor is handed over: then we know which file was written before the
 * caller sees the result, and mark it (never by flushing). Redirected opens are performed
 * on the target the same way. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "arch.h"
#include "fill.h"
#include "invalidate.h"
#include "learn.h"
#include "sesslink.h"
#include "procfs.h"
#include "replica.h"
#include "tracee_mem.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SERVABLE_FLAGS (O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_DIRECTORY | KERNEL_O_LARGEFILE)

struct open_req {
	uint64_t flags;
	mode_t mode;
	uint64_t resolve;   /* openat2's RESOLVE_* */
	bool two;           /* made with openat2: emulate with openat2 (strict flag checks) */
};

static bool may_write(uint64_t flags)
{
	/* O_TMPFILE contains O_DIRECTORY's bit: test it whole. */
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* Character devices that every shell opens for writing and that cannot alias a file. */
static bool harmless_device(const char *p)
{
	static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/full", "/dev/tty",
					    "/dev/random", "/dev/urandom", "/dev/ptmx" };
	for (size_t i = 0; i < sizeof devs / sizeof *devs; i++)
		if (strcmp(p, devs[i]) == 0)
			return true;
	return strncmp(p, "/dev/pts/", 9) == 0 && strchr(p + 9, '/') == NULL;
}

/* "/proc/self/fd/N", "/proc/thread-self/fd/N", "/proc/PID/fd/N", "/dev/fd/N",
 * "/dev/stdin"...: the caller reopens one of its descriptors. Its fd number, or -1. */
static int reopened_fd(const char *p, pid_t caller, pid_t *owner)
{
	const char *q = NULL;
	*owner = caller;
	if (!strncmp(p, "/dev/fd/", 8))
		q = p + 8;
	else if (!strcmp(p, "/dev/stdin"))
		return 0;
	else if (!strcmp(p, "/dev/stdout"))
		return 1;
	else if (!strcmp(p, "/dev/stderr"))
		return 2;
	else if (!strncmp(p, "/proc/self/fd/", 14))
		q = p + 14;
	else if (!strncmp(p, "/proc/thread-self/fd/", 21))
		q = p + 21;
	else if (!strncmp(p, "/proc/", 6) && isdigit((unsigned char)p[6])) {
		char *end;
		long pid = strtol(p + 6, &end, 10);
		if (strncmp(end, "/fd/", 4))
			return -1;
		*owner = pid;
		q = end + 4;
	}
	if (!q || !isdigit((unsigned char)*q))
		return -1;
	char *end;
	long fd = strtol(q, &end, 10);
	return *end ? -1 : (int)fd;
}

static bool in_pseudo_tree(const char *p)
{
	return !strncmp(p, "/proc/", 6) || !strcmp(p, "/proc") || !strncmp(p, "/dev/", 5) ||
	       !strncmp(p, "/sys/", 5);
}

/* The caller's umask, which its O_CREAT would have used. */
static mode_t tracee_umask(pid_t pid)
{
	char buf[4096];
	const char *u = proc_read(pid, "status", buf, sizeof buf) > 0 ? strstr(buf, "Umask:") : NULL;
	return u ? (mode_t)strtoul(u + 6, NULL, 8) : 022;
}

/* Would the caller's own open find a descriptor number free? The kernel takes one before
 * it looks at the path, so with none free an O_CREAT or O_TRUNC open fails EMFILE having
 * changed nothing: we must not create or truncate first and fail after. (Another thread of
 * the caller may open or close meanwhile; this can only err towards the kernel's answer.) */
static bool caller_has_free_fd(pid_t pid)
{
	char buf[4096], path[64];
	unsigned long soft = 0;
	if (proc_read(pid, "limits", buf, sizeof buf) > 0) {
		const char *l = strstr(buf, "Max open files");
		if (!l || sscanf(l + 14, "%lu", &soft) != 1)
			return true;   /* "unlimited" or unreadable: let the open tell */
	}
	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return true;
	unsigned long n = 0;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && strtoul(e->d_name, NULL, 10) < soft)
			n++;
	closedir(d);
	/* Fewer descriptors below the limit than the limit: some number below it is free. */
	bool free_below = n < soft;
	return free_below;
}

/* Worker: the kernel performs the open for the caller, here. The new file description is
 * the caller's once handed over. */
static struct verdict open_for_caller(struct call *c, const struct open_req *o, bool redirect)
{
	const char *path = redirect ? c->target : c->raw;
	int dfd = redirect ? AT_FDCWD : start_dirfd(&c->start, c->raw);
	bool writes = may_write(o->flags);
	if (writes || (o->flags & (O_CREAT | __O_TMPFILE)))
		umask(tracee_umask(c->pid));   /* this worker's own fs_struct (node.c) */
	c->outcome = OUT_FILL;
	if ((o->flags & (O_CREAT | O_TRUNC | __O_TMPFILE)) && !caller_has_free_fd(c->pid))
		return verdict_return(-EMFILE);
	/* The path was read by pid: act only if that caller still waits for this call. */
	if (!c->still_valid(c))
		return verdict_continue();
	int fd;
	if (o->two) {
		struct open_how how = { .flags = o->flags | O_CLOEXEC | O_NOCTTY, .mode = o->mode, .resolve = o->resolve };
		fd = syscall(SYS_openat2, dfd, path, &how, sizeof how);
	} else {
		fd = openat(dfd, path, (int)o->flags | O_CLOEXEC | O_NOCTTY, o->mode);
	}
	int err = errno;
	STAT_ADD(c->node->fsops, 1);
	if (fd < 0)
		return verdict_return(-err);
	if (writes) {
		struct stat st;
		node_lock(c->node);
		if (fstat(fd, &st) == 0) {
			if (S_ISREG(st.st_mode))
				inode_set_add(&c->job->written, st.st_dev, st.st_ino);
			mark_ident(c->node, st.st_dev, st.st_ino, 0);
		}
		if (o->flags & (O_CREAT | O_TRUNC)) {
			/* The name may be new: a negative answer for it must go. */
			mark_path(c, &c->start, path, MUT_NAME, false);
		}
		c->node->mut_epoch++;   /* done: fills that began before may have seen the old state */
		node_unlock(c->node);
	}
	struct verdict v = verdict_addfd(fd, o->flags & O_CLOEXEC);
	v.last_close_theirs = true;
	return v;
}

/* A write open we cannot perform ourselves (another root, other credentials, a /proc or
 * /dev path): find what it writes if we can, mark it, and let the kernel open it. */
static struct verdict write_passed(struct call *c, const struct open_req *o)
{
	pid_t owner;
	int fd = c->path[0] ? reopened_fd(c->path, c->pid, &owner) : -1;
	if (fd >= 0) {
		struct call tmp = *c;
		tmp.pid = owner;
		mark_caller_fd(&tmp, fd);
	} else if (c->raw[0] && !in_pseudo_tree(c->path[0] ? c->path : c->raw)) {
		node_lock(c->node);
		bool done = mark_path(c, &c->start, c->raw, MUT_ATTR, !(o->flags & O_NOFOLLOW));
		node_unlock(c->node);
		if (!done) {
			if (!c->in_worker)
				return verdict_defer();
			identify_path(c, &c->start, c->raw, MUT_ATTR, !(o->flags & O_NOFOLLOW));
		}
	}
	if (!in_pseudo_tree(c->path[0] ? c->path : c->raw))
		mutation_passed(c);
	return verdict_continue();
}

struct copy_op { struct data_store *d; const struct timespec *since; const char *name;
		 struct stat st; bool have_st; struct data_obj *out; uint64_t ops; };

static int op_copy(int fd, void *ctx)
{
	struct copy_op *k = ctx;
	if (!k->have_st && fstat(fd, &k->st) < 0)
		return -errno;
	return data_copy(k->d, fd, &k->st, k->name, k->since, &k->out, &k->ops);
}

/* No descriptor: the answer is in *res (never 0, which is a descriptor number). */
#define NO_FD INT_MIN

/* The memfd copy of the walk's final file: a descriptor for the caller, -errno of the open
 * (EACCES...), or NO_FD with the walk's answer in *res. */
static int serve_copy(struct walk *w, const struct open_req *o, enum walk_res *res)
{
	struct obj *ob = w->obj;
	struct call *c = w->c;
	struct data_store *d = c->node->data;
	*res = WALK_DONE;
	for (int round = 0; round < 2; round++) {
		if (!c->in_worker && ob->open_slot.state == SLOT_EMPTY) {
			*res = WALK_MISS;   /* copies are made by workers, however local the file */
			return NO_FD;
		}
		if (!slot_claim(w, &ob->open_slot, res)) {
			if (*res != WALK_DONE)
				return NO_FD;
			if (ob->open_slot.state == SLOT_ERR)
				return -ob->open_slot.err;
			if (ob->open_slot.state != SLOT_OK || !(ob->flags & OBJ_STAT_EXACT)) {
				*res = WALK_PASS;
				return NO_FD;
			}
			struct data_obj *dobj = data_find(d, &ob->st);
			if (dobj) {
				int fd = data_open(d, dobj, (int)o->flags);
				if (fd < 0)
					*res = WALK_PASS, fd = NO_FD;
				return fd;
			}
			/* Evicted (--max-cache): copy again. */
			ob->open_slot.state = SLOT_EMPTY;
			continue;
		}
		/* The version copied is the stat the walk has (checked again after copying). */
		struct copy_op k = { .d = d, .since = &c->job->start, .name = ob->phys,
				     .st = ob->st, .have_st = ob->flags & OBJ_STAT_EXACT };
		int err = SL_FALLBACK;
		if (sesslink_id && (ob->flags & OBJ_STAT_EXACT) && ob->phys && ob->phys[0] && !c->start.foreign_root) {
			/* In a session the root reads the file once for every node. */
			char *phys = strdup(ob->phys);
			struct stat st = ob->st;
			uint64_t mnt = ob->id.mnt;
			node_unlock(c->node);
			if (phys)
				err = sesslink_file(d, mnt, phys, &st, &k.out);
			node_lock(c->node);
			free(phys);
		}
		if (err == SL_FALLBACK)
			err = slot_fill(w, op_copy, &k);
		STAT_ADD(c->node->fsops, k.ops);
		if (err == -EACCES) {
			slot_done(w, &ob->open_slot, SLOT_ERR, EACCES);
			return -EACCES;
		}
		if (err) {
			/* Too big, changed while copied, no executable memfd here...: the kernel. */
			if (err == -EAGAIN)
				ob->flags |= OBJ_VOLATILE;
			slot_done(w, &ob->open_slot, SLOT_EMPTY, 0);
			data_release(k.out);
			*res = WALK_PASS;
			return NO_FD;
		}
		struct data_obj *dobj = data_insert(d, k.out);
		if (!dobj) {   /* over --max-cache by itself: this caller gets it, nobody keeps it */
			int fd = data_open(d, k.out, (int)o->flags);
			data_release(k.out);
			slot_done(w, &ob->open_slot, SLOT_EMPTY, 0);
			if (fd < 0)
				*res = WALK_PASS, fd = NO_FD;
			return fd;
		}
		int fd = data_open(d, dobj, (int)o->flags);
		bool had_exact = ob->flags & OBJ_STAT_EXACT;
		if (!had_exact) {
			ob->st = k.st;   /* the copy is served by this stat's version */
			ob->flags |= OBJ_STAT_EXACT;
		}
		if (slot_done(w, &ob->open_slot, SLOT_OK, 0) && ob->st_slot.state == SLOT_EMPTY)
			ob->st_slot.state = SLOT_OK;   /* one walk answers every slot */
		if (!had_exact && ob->open_slot.state != SLOT_OK)
			ob->flags &= ~OBJ_STAT_EXACT;
		if (fd < 0)
			*res = WALK_PASS, fd = NO_FD;
		return fd;
	}
	*res = WALK_PASS;
	return NO_FD;
}

struct reopen_op { int flags; int fd; };

static int op_reopen(int fd, void *ctx)
{
	struct reopen_op *k = ctx;
	char name[32];
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	/* Through the descriptor the walk found: no path walk on the file system, the same
	 * file, and the permission check a native open makes. (Without O_NOFOLLOW: that would
	 * refuse the magic link itself; the walk already applied it.) */
	k->fd = open(name, (k->flags & ~O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY);
	return k->fd < 0 ? -errno : 0;
}

/* Worker, lock held: open the walk's final file (a directory, or a file that is not
 * copied) with the caller's flags from the cache's descriptors, without walking its path
 * again on the file system. A descriptor, -errno of the open, or NO_FD with *res. */
static int open_from_walk(struct walk *w, const struct open_req *o, enum walk_res *res)
{
	*res = WALK_DONE;
	if (!w->c->in_worker) {
		*res = WALK_MISS;
		return NO_FD;
	}
	w->filled = true;
	struct reopen_op k = { (int)o->flags, -1 };
	int err = slot_fill(w, op_reopen, &k);
	if (err == -ESTALE || (err && !cacheable_errno(-err))) {
		*res = WALK_PASS;   /* the name changed meanwhile, or an error of the moment */
		return NO_FD;
	}
	return err ? err : k.fd;
}

static int op_learn(int fd, void *ctx)
{
	struct walk *w = ctx;
	char name[32];
	snprintf(name, sizeof name, "/proc/self/fd/%d", fd);
	int rfd = open(name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (rfd < 0)
		return -errno;
	learn_object(w->c->job, rfd, w->phys, w->c->path[0] ? w->c->path : NULL);
	close(rfd);
	return 0;
}

/* A shared object the loader opens in a cached tree: its RUNPATH names where the loader
 * looks next (learn.h). Once per file. Lock held (dropped while reading). */
static void learn_walked(struct walk *w, int served_fd)
{
	struct obj *o = w->obj;
	if ((o->flags & OBJ_LEARNED) || !w->phys_ok || !is_shared_object_name(w->phys) ||
	    !(w->c->job->policy.discover_sources & POL_SRC_RUNPATH))
		return;
	o->flags |= OBJ_LEARNED;
	if (served_fd >= 0) {   /* the descriptor we hand out (memfd copy, or the file with --data=direct) */
		learn_object(w->c->job, served_fd, w->phys, w->c->path[0] ? w->c->path : NULL);
		return;
	}
	slot_fill(w, op_learn, w);
}

/* A directory on a network or FUSE file system opened for reading: a descriptor of its
 * replica (replica.h), whose listing is served from the cache, so the file system sees
 * neither the open nor the listing. NO_FD with *res WALK_DONE: open the original instead;
 * or *res WALK_MISS / WALK_PARKED while its entries are being listed. Lock held. */
static int replica_for(struct walk *w, const struct open_req *o, enum walk_res *res)
{
	*res = WALK_DONE;
	if (replica_disabled || redirected(w->c))
		return NO_FD;
	enum walk_res r = walk_listing(w, w->obj);
	if (r == WALK_MISS || r == WALK_PARKED) {
		*res = r;
		return NO_FD;
	}
	if (r != WALK_DONE || (w->obj->flags & (OBJ_VOLATILE | OBJ_NOCACHE)))
		return NO_FD;
	int fd = replica_open(w->c->node, w->obj, (int)o->flags);
	return fd < 0 ? NO_FD : fd;
}

static struct verdict serve_open(struct call *c, int dirfd, uint64_t path, const struct open_req *o)
{
	bool writes = may_write(o->flags);
	int routed = route_call(c, dirfd, path);
	if (routed == 0)
		return verdict_defer();
	if (routed > 0 && c->how == ROUTE_DENY)
		return verdict_return(-c->route_err);
	bool redirect = routed > 0 && c->how != ROUTE_KERNEL && redirected(c);
	if (writes) {
		if (c->path[0] && harmless_device(c->path))
			return verdict_continue();
		if (routed < 0) {
			mutation_passed(c);   /* cannot place it: at least no fill racing it is kept */
			return verdict_continue();
		}
		/* RESOLVE_IN_ROOT of an absolute path walks from the caller's dirfd, which we only
		 * hold for relative paths. */
		bool in_root_abs = o->two && (o->resolve & RESOLVE_IN_ROOT) && c->raw[0] == '/';
		if (!redirect && (c->start.foreign_root || in_root_abs || in_pseudo_tree(c->path) ||
				  !caller_is_like_us(c->job, c->pid)))
			return write_passed(c, o);
		if (!c->in_worker)
			return verdict_defer();
		return open_for_caller(c, o, redirect);
	}
	if (routed > 0 && c->how == ROUTE_KERNEL && c->no_rule && !(o->flags & (O_PATH | O_DIRECTORY)) &&
	    (c->job->policy.discover_sources & (POL_SRC_LIBRARIES | POL_SRC_RUNPATH)) &&
	    is_shared_object_name(c->raw) && !c->start.foreign_root) {
		/* A library outside every tree (dlopen of a path, a search path nobody declared):
		 * learn its folder and its own search paths, then let the kernel open it. */
		if (!c->in_worker)
			return verdict_defer();
		STAT_ADD(c->node->fsops, learn_library(c->job, start_dirfd(&c->start, c->raw), c->raw,
							    c->path[0] ? c->path : NULL));
		return verdict_continue();
	}
	if (routed < 0 || c->how == ROUTE_KERNEL)
		return verdict_continue();
	bool servable = !(o->flags & ~(uint64_t)SERVABLE_FLAGS) && !o->resolve;
	if (c->how == ROUTE_LIVE || !servable) {
		if (!redirect)
			return verdict_continue();   /* O_PATH, O_DIRECTORY, O_NOATIME, RESOLVE_*...: the kernel's */
		return c->in_worker ? open_for_caller(c, o, true) : verdict_defer();
	}
	struct walk w;
	walk_init(&w, c, !(o->flags & O_NOFOLLOW));
	node_lock(c->node);
	enum walk_res r = walk_call(&w);
	int fd = -1, err = 0;
	bool kernel = false, copied = false, replica = false;
	if (r == WALK_DONE && !walk_answerable(&w))
		r = WALK_PASS;
	struct fsinfo *fs = r == WALK_DONE && !w.err ? node_fs(c->node, w.obj->id.mnt) : NULL;
	bool local = fs && fs_is_local(fs->type);
	if (r == WALK_DONE && w.err)
		err = w.err;
	else if (r == WALK_DONE && S_ISLNK(w.obj->mode)) {
		if (o->flags & O_DIRECTORY)
			r = WALK_PASS;   /* O_NOFOLLOW|O_DIRECTORY on a link: the kernel's answer */
		else
			err = ELOOP;     /* O_NOFOLLOW on a link */
	} else if (r == WALK_DONE && (o->flags & O_DIRECTORY) && !S_ISDIR(w.obj->mode))
		err = ENOTDIR;
	else if (r == WALK_DONE && S_ISDIR(w.obj->mode)) {
		/* Python lists every directory it imports from: on a network file system, open it
		 * from the cache's own descriptor (no walk); a local one the kernel opens. */
		if (local)
			r = WALK_PASS, kernel = true;
		else if ((fd = replica_for(&w, o, &r)) == NO_FD && r == WALK_DONE &&
			 (fd = open_from_walk(&w, o, &r)) < 0)
			err = fd == NO_FD ? 0 : -fd, fd = -1;
		else if (fd >= 0)
			replica = true;
	} else if (r == WALK_DONE && !S_ISREG(w.obj->mode))
		r = WALK_PASS;   /* devices, fifos, sockets: the kernel */
	else if (r == WALK_DONE) {
		if (local && !data_wants_copy(c->node->data, local)) {
			learn_walked(&w, -1);
			r = WALK_PASS, kernel = true;   /* the kernel opens it: exactly native */
		}
		else if (!data_wants_copy(c->node->data, local)) {
			/* --data=direct on a network file system: the file itself, without a walk */
			if ((fd = open_from_walk(&w, o, &r)) < 0)
				err = fd == NO_FD ? 0 : -fd, fd = -1;
			else if (r == WALK_DONE)
				learn_walked(&w, fd);   /* pread only: the caller's offset stays 0 */
		} else {
			fd = serve_copy(&w, o, &r);
			copied = true;
			if (fd >= 0 && r == WALK_DONE)
				learn_walked(&w, fd);
			if (fd < 0) {
				err = fd == NO_FD ? 0 : -fd;
				fd = -1;
			}
		}
	}
	c->outcome = w.filled ? OUT_FILL : OUT_HIT;
	walk_done(&w);
	node_unlock(c->node);
	if (r == WALK_PASS && redirect)
		return c->in_worker ? open_for_caller(c, o, true) : verdict_defer();
	if (r != WALK_DONE) {
		if (fd >= 0)
			close(fd);
		struct verdict v = walk_verdict(c, r);
		if (kernel)
			c->outcome = OUT_KERNEL;
		return v;
	}
	if (err)
		return verdict_return(-err);
	struct verdict v = verdict_addfd(fd, o->flags & O_CLOEXEC);
	/* the file itself: its last close must be the caller's */
	v.last_close_theirs = !copied && !replica;
	return v;
}

struct verdict h_open(struct call *c)
{
	struct open_req o = { .flags = c->args[1], .mode = c->args[2] };
	return serve_open(c, AT_FDCWD, c->args[0], &o);
}

struct verdict h_creat(struct call *c)
{
	struct open_req o = { .flags = O_CREAT | O_WRONLY | O_TRUNC, .mode = c->args[1] };
	return serve_open(c, AT_FDCWD, c->args[0], &o);
}

struct verdict h_openat(struct call *c)
{
	struct open_req o = { .flags = (uint32_t)c->args[2], .mode = c->args[3] };
	return serve_open(c, dirfd_arg(c->args[0]), c->args[1], &o);
}

struct verdict h_openat2(struct call *c)
{
	struct open_how how;
	if (c->args[3] != sizeof how || tracee_read(c->pid, c->args[2], &how, sizeof how) < 0)
		return verdict_continue();   /* other sizes and bad pointers: the kernel's answer */
	if ((how.flags >> 32) || (how.mode && !(how.flags & (O_CREAT | __O_TMPFILE))) ||
	    (how.resolve & ~(uint64_t)(RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS |
				       RESOLVE_BENEATH | RESOLVE_IN_ROOT | RESOLVE_CACHED)))
		return verdict_continue();   /* the kernel's EINVAL */
	struct open_req o = { .flags = how.flags, .mode = how.mode, .resolve = how.resolve, .two = true };
	return serve_open(c, dirfd_arg(c->args[0]), c->args[1], &o);
}

/* An open made through the i386 or x32 ABI: never served (the kernel opens with the
 * caller's own ABI rules, O_LARGEFILE among them); one that may write marks what it
 * writes first, as any other write we pass on. */
struct verdict h_open_foreign(struct call *c)
{
	struct open_req o = { 0 };
	int dirfd = AT_FDCWD;
	uint64_t path = c->args[0];
	struct open_how how;
	switch (c->nr) {
	case SYS_open: o.flags = (uint32_t)c->args[1]; break;
	case SYS_creat: o.flags = O_CREAT | O_WRONLY | O_TRUNC; break;
	case SYS_openat: dirfd = dirfd_arg(c->args[0]), path = c->args[1], o.flags = (uint32_t)c->args[2]; break;
	case SYS_openat2:
		if (c->args[3] != sizeof how || tracee_read(c->pid, c->args[2], &how, sizeof how) < 0)
			return verdict_continue();
		dirfd = dirfd_arg(c->args[0]), path = c->args[1], o.flags = how.flags;
		break;
	default:
		return verdict_continue();
	}
	if (!may_write(o.flags))
		return verdict_continue();
	int routed = route_call(c, dirfd, path);
	if (routed == 0)
		return verdict_defer();
	if (routed < 0 || (c->path[0] && harmless_device(c->path))) {
		if (routed < 0)
			mutation_passed(c);
		return verdict_continue();
	}
	return write_passed(c, &o);
}
