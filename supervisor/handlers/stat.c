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

/* keep: the answer will be kept, so it must not be one that changes during the job. */
static void fill_stat(struct stat_slot *s, const char *path, bool nofollow, bool keep)
{
	/* The walk's fstat of its descriptor: the very bytes stat(path) gives. */
	int fd = walk_path(path, nofollow, &s->st, NULL, &sup.stats.fsops);
	if (fd < 0) {
		walk_failure(fd, &s->state, &s->err, keep);
		return;
	}
	close(fd);
	/* A file the job writes changes under us: keep answering it from the kernel. */
	s->state = keep && changes_during_job(&s->st) ? SLOT_PASS : SLOT_OK;
}

static struct verdict serve_stat(struct call *c, int dirfd, uint64_t path, uint64_t buf, bool nofollow)
{
	struct route r;
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &r, &v))
		return v;
	struct stat_slot live = { 0 }, *s = &live;
	if (r.how == ROUTE_CACHE) {
		struct entry *e = cache_get(&sup.cache, r.lookup);
		if (!e)
			return verdict_continue();
		s = &e->stat[nofollow];
	}
	c->outcome = s->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (s->state == SLOT_EMPTY)
		fill_stat(s, r.lookup, nofollow, r.how == ROUTE_CACHE);
	if (s->state == SLOT_PASS && redirected(c, &r))   /* the kernel would look up the wrong path */
		fill_stat(s = &live, r.lookup, nofollow, false);
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

static void fill_statx(struct statx_item *i, const char *path, bool keep)
{
	struct stat st;
	int fd = walk_path(path, i->flags & AT_SYMLINK_NOFOLLOW, &st, NULL, &sup.stats.fsops);
	if (fd < 0) {
		walk_failure(fd, &i->state, &i->err, keep);
		return;
	}
	long r = syscall(SYS_statx, fd, "", i->flags | AT_EMPTY_PATH, i->mask, &i->sx);
	/* Judge by the walk's fstat: a statx that did not ask for ctime may not carry one. */
	bool changing = keep && changes_during_job(&st);
	close(fd);
	if (r == 0)
		i->state = changing ? SLOT_PASS : SLOT_OK;
}

struct verdict h_statx(struct call *c)
{
	unsigned flags = c->args[2], mask = c->args[3];
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC) || (mask & STATX__RESERVED))
		return verdict_continue();
	struct route r;
	struct verdict v;
	if (!route_lookup(c, dirfd_arg(c->args[0]), c->args[1], &r, &v))
		return v;
	struct statx_item live = { .flags = flags, .mask = mask }, *i = &live;
	if (r.how == ROUTE_CACHE) {
		struct entry *e = cache_get(&sup.cache, r.lookup);
		if (!e || !(i = entry_statx(e, flags, mask)))
			return verdict_continue();
	}
	c->outcome = i->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (i->state == SLOT_EMPTY)
		fill_statx(i, r.lookup, r.how == ROUTE_CACHE);
	if (i->state == SLOT_PASS && redirected(c, &r))
		fill_statx(i = &live, r.lookup, false);
	if (i->state == SLOT_ERR)
		return verdict_return(-i->err);
	if (i->state != SLOT_OK || write_answer(c, c->args[4], &i->sx, sizeof i->sx) < 0)
		return c->outcome = OUT_PASS, verdict_continue();
	return verdict_return(0);
}
