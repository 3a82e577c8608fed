/* stat, lstat, newfstatat (the fstat form never reaches us: BPF lets AT_EMPTY_PATH
 * through), statx. The cached struct is the kernel's own bytes for that file, from an
 * fstat of the descriptor the walk found, written back verbatim. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int op_fstat(int fd, void *st)
{
	return fstat(fd, st) < 0 ? -errno : 0;
}

/* The exact stat of the walk's final file into c->ans.st: from the cache, or filled. */
static enum walk_res final_stat(struct walk *w, void *unused)
{
	(void)unused;
	struct obj *o = w->obj;
	struct call *c = w->c;
	enum walk_res r;
	if (!slot_claim(w, &o->st_slot, &r)) {
		if (r == WALK_DONE) {
			if (o->st_slot.state != SLOT_OK)
				return WALK_PASS;
			c->ans.st = o->st;
		}
		return r;
	}
	struct stat st;
	int err = slot_fill(w, op_fstat, &st);
	if (err || changed_during_job(c->job, &st.st_ctim)) {
		if (!err)
			o->flags |= OBJ_VOLATILE;   /* its attributes move: the kernel answers */
		slot_done(w, &o->st_slot, SLOT_EMPTY, 0);
		if (err)
			return WALK_PASS;
		c->ans.st = st;   /* fresh from the kernel: right for this call */
		return WALK_DONE;
	}
	o->st = st;
	o->flags |= OBJ_STAT_EXACT;
	slot_done(w, &o->st_slot, SLOT_OK, 0);
	c->ans.st = st;
	return WALK_DONE;
}

static int live_fstatat(struct call *c, bool nofollow)
{
	return fstatat(AT_FDCWD, c->target, &c->ans.st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0 ? -errno : 0;
}

static struct verdict serve_stat(struct call *c, int dirfd, uint64_t path, uint64_t buf, bool nofollow)
{
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &v))
		return v;
	int err;
	if (c->how == ROUTE_LIVE) {
		c->outcome = OUT_FILL;
		err = live_fstatat(c, nofollow);
	} else {
		enum walk_res r = cached_lookup(c, !nofollow, final_stat, NULL, &err);
		if (r != WALK_DONE)
			return walk_verdict(c, r);
	}
	if (err)
		return verdict_return(-err);
	if (write_answer(c, buf, &c->ans.st, sizeof c->ans.st) < 0)
		return c->outcome = OUT_PASS, verdict_continue();   /* EFAULT etc.: the kernel's */
	return verdict_return(0);
}

struct verdict h_stat(struct call *c)
{
	return serve_stat(c, AT_FDCWD, c->args[0], c->args[1], false);
}

struct verdict h_lstat(struct call *c)
{
	return serve_stat(c, AT_FDCWD, c->args[0], c->args[1], true);
}

struct verdict h_newfstatat(struct call *c)
{
	unsigned flags = c->args[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT))
		return verdict_continue();
	return serve_stat(c, dirfd_arg(c->args[0]), c->args[1], c->args[2], flags & AT_SYMLINK_NOFOLLOW);
}

struct statx_op { unsigned flags, mask; struct statx *sx; };

static int op_statx(int fd, void *ctx)
{
	struct statx_op *s = ctx;
	/* AT_SYMLINK_NOFOLLOW: fd is the final file itself (a link only if not followed). */
	return syscall(SYS_statx, fd, "", (s->flags & ~AT_SYMLINK_NOFOLLOW) | AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW,
		       s->mask, s->sx) < 0 ? -errno : 0;
}

static enum walk_res final_statx(struct walk *w, void *ctx)
{
	const struct statx_op *want = ctx;
	unsigned flags = want->flags, mask = want->mask;
	struct obj *o = w->obj;
	struct call *c = w->c;
	/* The item is per sync mode and mask: what statx reports depends on what was asked. */
	struct statx_item *i = obj_statx(o, flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT), mask);
	if (!i)
		return WALK_PASS;
	enum walk_res r;
	if (!slot_claim(w, &i->s, &r)) {
		if (r == WALK_DONE) {
			if (i->s.state != SLOT_OK)
				return WALK_PASS;
			c->ans.sx = i->sx;
		}
		return r;
	}
	struct statx_op op = { flags, mask, &c->ans.sx };
	int err = slot_fill(w, op_statx, &op);
	if (err) {
		slot_done(w, &i->s, SLOT_EMPTY, 0);
		return WALK_PASS;
	}
	i->sx = c->ans.sx;
	slot_done(w, &i->s, SLOT_OK, 0);
	return WALK_DONE;
}

struct verdict h_statx(struct call *c)
{
	unsigned flags = c->args[2], mask = c->args[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC) || (mask & STATX__RESERVED))
		return verdict_continue();
	struct verdict v;
	if (!route_lookup(c, dirfd_arg(c->args[0]), c->args[1], &v))
		return v;
	int err;
	if (c->how == ROUTE_LIVE) {
		c->outcome = OUT_FILL;
		err = syscall(SYS_statx, AT_FDCWD, c->target, flags, mask, &c->ans.sx) < 0 ? errno : 0;
	} else {
		struct statx_op want = { flags, mask, NULL };
		enum walk_res r = cached_lookup(c, !(flags & AT_SYMLINK_NOFOLLOW), final_statx, &want, &err);
		if (r != WALK_DONE)
			return walk_verdict(c, r);
	}
	if (err)
		return verdict_return(-err);
	if (write_answer(c, c->args[4], &c->ans.sx, sizeof c->ans.sx) < 0)
		return c->outcome = OUT_PASS, verdict_continue();
	return verdict_return(0);
}
