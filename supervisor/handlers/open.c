/* open, openat, openat2. A read-only open of a regular file in a cached tree is answered
 * with a fresh descriptor of its data object (SECCOMP_ADDFD_FLAG_SEND): a memfd copy, or
 * the file itself on a local file system, so read, pread, mmap and fstat then run in the
 * kernel. Opens that may write are passed through and make the cache forget every path
 * first; redirected ones are opened by us on the target and handed over. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "arch.h"
#include "handlers/walk.h"
#include "procfs.h"
#include "resolve.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SERVABLE_FLAGS (O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | KERNEL_O_LARGEFILE)

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

/* The job is about to change a file: remember its inode (so it is never cached while the
 * job runs) and forget all paths (it may be created, truncated or reached by other names). */
static struct verdict note_write_open(struct call *c, uint64_t flags)
{
	bool known = c->path[0] != '\0';
	if (known && harmless_device(c->path))
		return verdict_continue();
	struct stat st;
	if (known && fstatat(AT_FDCWD, c->path, &st, (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0) == 0)
		inode_set_add(&sup.written, st.st_dev, st.st_ino);
	else if (known && (flags & O_CREAT))
		note_created(c->path);   /* its inode exists only once the kernel has run the call */
	invalidate_all("open for writing");
	return verdict_continue();
}

/* The caller's umask, which its O_CREAT would have used. */
static mode_t tracee_umask(pid_t pid)
{
	char buf[4096];
	const char *u = proc_read(pid, "status", buf, sizeof buf) > 0 ? strstr(buf, "Umask:") : NULL;
	return u ? (mode_t)strtoul(u + 6, NULL, 8) : 022;
}

/* A redirected open that the cache cannot answer (writes, directories, O_PATH, targets
 * outside cached trees): open the target ourselves, with the caller's flags, and hand the
 * descriptor over. The kernel cannot do it: it would open the path as named. */
static struct verdict open_live(struct call *c, const char *target, uint64_t flags, mode_t mode)
{
	bool writes = may_write(flags);
	mode_t old = writes ? umask(tracee_umask(c->pid)) : 0;
	int fd = openat(AT_FDCWD, target, (int)flags | O_CLOEXEC, mode);
	int err = errno;
	if (writes)
		umask(old);
	sup.stats.fsops++;
	c->outcome = OUT_FILL;
	if (fd < 0)
		return verdict_return(-err);
	struct stat st;
	if (writes) {
		if (fstat(fd, &st) == 0)
			inode_set_add(&sup.written, st.st_dev, st.st_ino);
		invalidate_all("redirected open for writing");
	}
	return (struct verdict){ .kind = V_ADDFD, .fd = fd, .fd_flags = flags & O_CLOEXEC };
}

static void fill_open(struct open_slot *s, const char *path, bool nofollow)
{
	long fstype = 0;
	struct stat st;
	int fd = walk_path(path, nofollow, &st, &fstype, &sup.stats.fsops);
	if (fd < 0) {
		walk_failure(fd, &s->state, &s->err, true);
		return;
	}
	if (!S_ISREG(st.st_mode) || changes_during_job(&st)) {
		s->state = SLOT_PASS;   /* directories, devices, fifos, links (ELOOP), written files */
		close(fd);
		return;
	}
	int err = data_get(&sup.data, fd, &st, fstype, path, &s->obj, &sup.stats.fsops);
	close(fd);
	if (err == 0)
		s->state = SLOT_OK;
	else if (err == -EACCES)
		s->state = SLOT_ERR, s->err = EACCES;
	else
		s->state = SLOT_PASS;   /* too big, no memfd allowed (vm.memfd_noexec=2), no fds left... */
}

static struct verdict serve_open(struct call *c, int dirfd, uint64_t path, uint64_t flags, mode_t mode)
{
	struct route r = route_path(c, dirfd, path);
	if (r.how == ROUTE_DENY)
		return verdict_return(-r.err);
	bool writes = may_write(flags), servable = !writes && !(flags & ~(uint64_t)SERVABLE_FLAGS);
	if (r.how != ROUTE_KERNEL && redirected(c, &r) && (r.how == ROUTE_LIVE || !servable))
		return open_live(c, r.lookup, flags, mode);
	if (writes)
		return note_write_open(c, flags);
	if (r.how != ROUTE_CACHE || !servable)
		return verdict_continue();   /* O_PATH, O_DIRECTORY, O_NOATIME, O_DIRECT, ... */
	struct entry *e = cache_get(&sup.cache, r.lookup);
	if (!e)
		return verdict_continue();
	bool nofollow = flags & O_NOFOLLOW;
	struct open_slot *s = &e->open[nofollow];
	c->outcome = s->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (s->state == SLOT_EMPTY)
		fill_open(s, r.lookup, nofollow);
	if (s->state == SLOT_ERR)
		return verdict_return(-s->err);
	int fd = s->state == SLOT_OK ? data_open(&sup.data, s->obj, flags) : -1;
	if (fd < 0) {
		if (redirected(c, &r))
			return open_live(c, r.lookup, flags, mode);
		return c->outcome = OUT_PASS, verdict_continue();
	}
	return (struct verdict){ .kind = V_ADDFD, .fd = fd, .fd_flags = flags & O_CLOEXEC };
}

struct verdict h_open(struct call *c)
{
	return serve_open(c, AT_FDCWD, c->args[0], c->args[1], c->args[2]);
}

struct verdict h_openat(struct call *c)
{
	return serve_open(c, dirfd_arg(c->args[0]), c->args[1], (uint32_t)c->args[2], c->args[3]);
}

struct verdict h_openat2(struct call *c)
{
	struct open_how how;
	if (c->args[3] != sizeof how || tracee_read(c->pid, c->args[2], &how, sizeof how) < 0)
		return verdict_continue();
	if (how.resolve || (how.flags >> 32) || (how.mode && !(how.flags & (O_CREAT | __O_TMPFILE))))
		return verdict_continue();   /* RESOLVE_* walks, or the kernel's EINVAL */
	return serve_open(c, dirfd_arg(c->args[0]), c->args[1], how.flags, how.mode);
}
