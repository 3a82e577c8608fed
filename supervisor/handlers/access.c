/* access, faccessat, faccessat2. The answer depends on the caller's credentials, which
 * equal ours for every caller route_lookup() lets through; it is the kernel's own
 * faccessat2 on the file the walk found (ACLs, read-only mounts, capabilities included). */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "arch.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct access_op { int mode, flags; };

static int op_access(int fd, void *ctx)
{
	struct access_op *a = ctx;
	return syscall(SYS_faccessat2, fd, "", a->mode, (a->flags & AT_EACCESS) | AT_EMPTY_PATH) < 0 ? -errno : 0;
}

/* Errors access() may keep: they depend only on the file and our rights. */
static bool keepable_access_err(int err)
{
	return err == EACCES || err == EROFS || err == ETXTBSY || err == EPERM;
}

struct access_want { int mode, flags, res; };

static enum walk_res final_access(struct walk *w, void *ctx)
{
	struct access_want *a = ctx;
	int mode = a->mode, flags = a->flags, *res = &a->res;
	struct access_item *i = obj_access(w->obj, mode, flags & AT_EACCESS);
	if (!i)
		return WALK_PASS;
	enum walk_res r;
	if (!slot_claim(w, &i->s, &r)) {
		if (r == WALK_DONE) {
			if (i->s.state == SLOT_OK)
				*res = 0;
			else if (i->s.state == SLOT_ERR)
				*res = i->s.err;
			else
				return WALK_PASS;
		}
		return r;
	}
	struct access_op op = { mode, flags };
	int err = slot_fill(w, op_access, &op);
	if (err == -ESTALE || (err && !keepable_access_err(-err))) {
		slot_done(w, &i->s, SLOT_EMPTY, 0);
		return WALK_PASS;
	}
	slot_done(w, &i->s, err ? SLOT_ERR : SLOT_OK, -err);
	*res = -err;
	return WALK_DONE;
}

static struct verdict serve_access(struct call *c, int dirfd, uint64_t path, int mode, int flags)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW)))
		return verdict_continue();
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &v))
		return v;
	int err = 0;
	if (c->how == ROUTE_LIVE) {
		c->outcome = OUT_FILL;
		err = syscall(SYS_faccessat2, AT_FDCWD, c->target, mode, flags) < 0 ? errno : 0;
		return verdict_return(-err);
	}
	struct access_want want = { mode, flags, 0 };
	enum walk_res r = cached_lookup(c, !(flags & AT_SYMLINK_NOFOLLOW), final_access, &want, &err);
	if (r != WALK_DONE)
		return walk_verdict(c, r);
	return verdict_return(-(err ? err : want.res));
}

struct verdict h_access(struct call *c)
{
	return serve_access(c, AT_FDCWD, c->args[0], (int)c->args[1], 0);
}

struct verdict h_faccessat(struct call *c)
{
	return serve_access(c, dirfd_arg(c->args[0]), c->args[1], (int)c->args[2], 0);
}

struct verdict h_faccessat2(struct call *c)
{
	return serve_access(c, dirfd_arg(c->args[0]), c->args[1], (int)c->args[2], (int)c->args[3]);
}
