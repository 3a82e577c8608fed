/* stat, lstat, newfstatat (the fstat form never reaches us: BPF lets AT_EMPTY_PATH
 * through), statx. The cached struct is the kernel's own bytes, written back verbatim. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/walk.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static void fill_stat(struct stat_slot *s, const char *path, bool nofollow)
{
	int fd = walk_path(path, nofollow, &sup.stats.fsops);
	if (fd < 0) {
		if (fd == WALK_NOT_PLAIN)
			s->state = SLOT_PASS;
		else if (cacheable_errno(-fd))
			s->state = SLOT_ERR, s->err = -fd;
		return;
	}
	/* fstat of the walked descriptor: the very bytes stat(path) gives, one walk only. */
	long r = syscall(SYS_newfstatat, fd, "", &s->st, AT_EMPTY_PATH);
	close(fd);
	if (r < 0)
		return;
	/* A file the job writes changes under us: keep answering it from the kernel. */
	s->state = changes_during_job(&s->st) ? SLOT_PASS : SLOT_OK;
}

static bool statx_changes_during_job(const struct statx *sx)
{
	struct stat st = { .st_mode = sx->stx_mode, .st_ino = sx->stx_ino,
			   .st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor) };
	st.st_ctim.tv_sec = sx->stx_ctime.tv_sec;
	st.st_ctim.tv_nsec = sx->stx_ctime.tv_nsec;
	/* A statx that did not ask for ctime has none to judge by: never cache it. */
	return !(sx->stx_mask & STATX_CTIME) || changes_during_job(&st);
}

static struct verdict serve_stat(struct call *c, int dirfd, uint64_t path, uint64_t buf, bool nofollow)
{
	if (!serveable_path(c, dirfd, path))
		return verdict_continue();
	struct entry *e = cache_get(&sup.cache, c->path);
	if (!e)
		return verdict_continue();
	struct stat_slot *s = &e->stat[nofollow];
	c->outcome = s->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (s->state == SLOT_EMPTY)
		fill_stat(s, c->path, nofollow);
	if (s->state == SLOT_ERR)
		return verdict_return(-s->err);
	if (s->state != SLOT_OK || write_answer(c, buf, &s->st, sizeof s->st) < 0)
		return c->outcome = OUT_PASS, verdict_continue();
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

struct verdict h_statx(struct call *c)
{
	unsigned flags = c->args[2], mask = c->args[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC) || (mask & STATX__RESERVED))
		return verdict_continue();
	if (!serveable_path(c, dirfd_arg(c->args[0]), c->args[1]))
		return verdict_continue();
	struct entry *e = cache_get(&sup.cache, c->path);
	struct statx_item *i = e ? entry_statx(e, flags, mask) : NULL;
	if (!i)
		return verdict_continue();
	c->outcome = i->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (i->state == SLOT_EMPTY) {
		int fd = walk_path(c->path, flags & AT_SYMLINK_NOFOLLOW, &sup.stats.fsops);
		long r = fd >= 0 ? syscall(SYS_statx, fd, "", flags | AT_EMPTY_PATH, mask, &i->sx) : -1;
		if (fd >= 0)
			close(fd);
		if (fd == WALK_NOT_PLAIN)
			i->state = SLOT_PASS;
		else if (fd < 0 && cacheable_errno(-fd))
			i->state = SLOT_ERR, i->err = -fd;
		else if (r == 0)
			i->state = statx_changes_during_job(&i->sx) ? SLOT_PASS : SLOT_OK;
	}
	if (i->state == SLOT_ERR)
		return verdict_return(-i->err);
	if (i->state != SLOT_OK || write_answer(c, c->args[4], &i->sx, sizeof i->sx) < 0)
		return c->outcome = OUT_PASS, verdict_continue();
	return verdict_return(0);
}
