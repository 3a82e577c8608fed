/* access, faccessat, faccessat2. The answer depends on the caller's credentials, which
 * equal ours until the job changes them (then common.c checks every caller). */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "arch.h"
#include "handlers/walk.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static struct verdict serve_access(struct call *c, int dirfd, uint64_t path, int mode, int flags)
{
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW)))
		return verdict_continue();
	if (!serveable_path(c, dirfd, path))
		return verdict_continue();
	struct entry *e = cache_get(&sup.cache, c->path);
	struct access_item *i = e ? entry_access(e, mode, flags) : NULL;
	if (!i)
		return verdict_continue();
	c->outcome = i->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (i->state == SLOT_EMPTY) {
		int fd = walk_path(c->path, flags & AT_SYMLINK_NOFOLLOW, &sup.stats.fsops);
		int err = fd >= 0 ? (syscall(SYS_faccessat2, fd, "", mode, (flags & AT_EACCESS) | AT_EMPTY_PATH) < 0 ? errno : 0)
				  : -fd;
		struct stat st;
		bool changing = fd >= 0 && (fstat(fd, &st) < 0 || changes_during_job(&st));
		if (fd >= 0)
			close(fd);
		if (fd == WALK_NOT_PLAIN || changing)
			i->state = SLOT_PASS;
		else if (err == 0)
			i->state = SLOT_OK;
		else if (cacheable_errno(err) || err == EROFS)
			i->state = SLOT_ERR, i->err = err;
	}
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
