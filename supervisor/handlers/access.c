/* access, faccessat, faccessat2. The answer depends on the caller's credentials, which
 * equal ours until the job changes them (then route_path() checks every caller). */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/walk.h"
#include "arch.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void fill_access(struct access_item *i, const char *path, bool keep)
{
	struct stat st;
	int fd = walk_path(path, i->flags & AT_SYMLINK_NOFOLLOW, &st, NULL, &sup.stats.fsops);
	if (fd < 0) {
		walk_failure(fd, &i->state, &i->err, keep);
		return;
	}
	int err = syscall(SYS_faccessat2, fd, "", i->mode, (i->flags & AT_EACCESS) | AT_EMPTY_PATH) < 0 ? errno : 0;
	close(fd);
	if (keep && changes_during_job(&st))
		i->state = SLOT_PASS;
	else if (err == 0)
		i->state = SLOT_OK;
	else if (cacheable_errno(err) || err == EROFS || !keep)
		i->state = SLOT_ERR, i->err = err;
}

static struct verdict serve_access(struct call *c, int dirfd, uint64_t path, int mode, int flags)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW)))
		return verdict_continue();
	struct route r;
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &r, &v))
		return v;
	struct access_item live = { .mode = mode, .flags = flags }, *i = &live;
	if (r.how == ROUTE_CACHE) {
		struct entry *e = cache_get(&sup.cache, r.lookup);
		if (!e || !(i = entry_access(e, mode, flags)))
			return verdict_continue();
	}
	c->outcome = i->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (i->state == SLOT_EMPTY)
		fill_access(i, r.lookup, r.how == ROUTE_CACHE);
	if (i->state == SLOT_PASS && redirected(c, &r))
		fill_access(i = &live, r.lookup, false);
	if (i->state == SLOT_OK)
		return verdict_return(0);
	if (i->state == SLOT_ERR)
		return verdict_return(-i->err);
	c->outcome = OUT_PASS;
	return verdict_continue();
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
