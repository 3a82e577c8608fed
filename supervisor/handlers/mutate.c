/* Calls that change the name space, file metadata, credentials, namespaces or mounts.
 * None is answered by us: each goes to the kernel, after collrun has marked what it may
 * change (invalidate.c) and recorded it as in flight, so no cached answer goes stale and
 * no fill racing it is kept. Credential and namespace changes switch the supervisor to
 * checking every caller. Each path a mutation names is described once in `specs`. */
#include "handlers/common.h"
#include "replica.h"
#include "handlers/handlers.h"
#include "invalidate.h"
#include "arch.h"
#include "log.h"
#include "syscall_table.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <string.h>
#include <sys/syscall.h>

/* One path argument: its dirfd argument (-1: AT_FDCWD), what the call does to it, and
 * whether the final symlink is followed (FOLLOW_IF_FLAG: unless flags_arg has
 * AT_SYMLINK_NOFOLLOW; FOLLOW_IF_SET: only if it has AT_SYMLINK_FOLLOW). */
enum follow { NOFOLLOW, FOLLOW, FOLLOW_UNLESS_NOFOLLOW, FOLLOW_IF_FOLLOW };
struct path_arg { int8_t dirfd, path; uint8_t kind, follow; };
struct mut_spec {
	int nr;
	int8_t flags_arg;          /* -1: none */
	int8_t fd_arg;             /* fd-only form: the file is the caller's descriptor */
	struct path_arg p[2];
};

#define P(d, a, k, f) { d, a, k, f }
#define NONE { -1, -1, 0, 0 }
static const struct mut_spec specs[] = {
	{ SYS_rename, -1, -1, { P(-1, 0, MUT_NAME, NOFOLLOW), P(-1, 1, MUT_NAME, NOFOLLOW) } },
	{ SYS_renameat, -1, -1, { P(0, 1, MUT_NAME, NOFOLLOW), P(2, 3, MUT_NAME, NOFOLLOW) } },
	{ SYS_renameat2, -1, -1, { P(0, 1, MUT_NAME, NOFOLLOW), P(2, 3, MUT_NAME, NOFOLLOW) } },
	{ SYS_unlink, -1, -1, { P(-1, 0, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_unlinkat, -1, -1, { P(0, 1, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_rmdir, -1, -1, { P(-1, 0, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_mkdir, -1, -1, { P(-1, 0, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_mkdirat, -1, -1, { P(0, 1, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_mknod, -1, -1, { P(-1, 0, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_mknodat, -1, -1, { P(0, 1, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_symlink, -1, -1, { P(-1, 1, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_symlinkat, -1, -1, { P(1, 2, MUT_NAME, NOFOLLOW), NONE } },
	{ SYS_link, -1, -1, { P(-1, 0, MUT_ATTR, NOFOLLOW), P(-1, 1, MUT_NAME, NOFOLLOW) } },
	{ SYS_linkat, 4, -1, { P(0, 1, MUT_ATTR, FOLLOW_IF_FOLLOW), P(2, 3, MUT_NAME, NOFOLLOW) } },
	{ SYS_chmod, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_fchmodat, -1, -1, { P(0, 1, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_fchmodat2, 3, 0, { P(0, 1, MUT_ATTR, FOLLOW_UNLESS_NOFOLLOW), NONE } },
	{ SYS_chown, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_lchown, -1, -1, { P(-1, 0, MUT_ATTR, NOFOLLOW), NONE } },
	{ SYS_fchownat, 4, 0, { P(0, 1, MUT_ATTR, FOLLOW_UNLESS_NOFOLLOW), NONE } },
	{ SYS_truncate, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_utime, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_utimes, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_utimensat, 3, 0, { P(0, 1, MUT_ATTR, FOLLOW_UNLESS_NOFOLLOW), NONE } },
	{ SYS_futimesat, -1, 0, { P(0, 1, MUT_ATTR, FOLLOW), NONE } },   /* NULL path: fd's file */
	{ SYS_setxattr, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_lsetxattr, -1, -1, { P(-1, 0, MUT_ATTR, NOFOLLOW), NONE } },
	{ SYS_removexattr, -1, -1, { P(-1, 0, MUT_ATTR, FOLLOW), NONE } },
	{ SYS_lremovexattr, -1, -1, { P(-1, 0, MUT_ATTR, NOFOLLOW), NONE } },
	{ SYS_fchmod, -1, 0, { NONE, NONE } },
	{ SYS_fchown, -1, 0, { NONE, NONE } },
	{ SYS_fsetxattr, -1, 0, { NONE, NONE } },
	{ SYS_fremovexattr, -1, 0, { NONE, NONE } },
	{ SYS_mount, -1, -1, { P(-1, 1, MUT_MOUNT, FOLLOW), NONE } },
	{ SYS_umount2, 1, -1, { P(-1, 0, MUT_MOUNT, FOLLOW), NONE } },
};

static const struct mut_spec *spec_of(int nr)
{
	for (size_t i = 0; i < sizeof specs / sizeof *specs; i++)
		if (specs[i].nr == nr)
			return &specs[i];
	return NULL;
}

static bool follows(const struct call *c, const struct mut_spec *m, const struct path_arg *p)
{
	unsigned flags = m->flags_arg >= 0 ? (unsigned)c->args[m->flags_arg] : 0;
	switch (p->follow) {
	case FOLLOW:
		return true;
	case FOLLOW_UNLESS_NOFOLLOW:
		return !(flags & AT_SYMLINK_NOFOLLOW);
	case FOLLOW_IF_FOLLOW:
		return flags & AT_SYMLINK_FOLLOW;
	}
	return false;
}

/* Does a file the cache does not know deserve a look-up before the kernel acts? Only in a
 * tree the policy caches (elsewhere nothing of it is served). */
static bool worth_identifying(struct call *c, const struct start *s, const char *raw)
{
	char abs[PATH_MAX * 2];
	if (raw[0] == '/') {
		snprintf(abs, sizeof abs, "%s", raw);
	} else {
		node_lock(c->node);
		struct obj *o = dc_obj_find(&c->node->dc, &s->dir);
		bool ok = o && o->phys[0] && snprintf(abs, sizeof abs, "%s/%s", o->phys, raw) < (int)sizeof abs;
		node_unlock(c->node);
		if (!ok)
			return o != NULL;   /* its cwd is cached but the name is odd: look; else nothing there is cached */
	}
	struct pol_decision d;
	char buf[8];
	enum pol_action a = policy_decide(&c->job->policy, abs, &d, buf, sizeof buf);
	return a == POL_CACHE || a == POL_REDIRECT || a == POL_LIBRARY;
}

struct verdict h_mutation(struct call *c)
{
	const struct mut_spec *m = spec_of(c->nr);
	if (!m || c->job->pass_all) {
		if (m)
			mutation_passed(c);
		return verdict_continue();
	}
	if (m->fd_arg >= 0) {
		/* fchmod(fd), utimensat(fd, NULL), fchownat(fd, "", AT_EMPTY_PATH)... */
		bool fd_form = m->p[0].path < 0;
		if (!fd_form && m->p[0].path >= 0) {
			char first;
			if (c->args[m->p[0].path] == 0 ||
			    (tracee_read(c->pid, c->args[m->p[0].path], &first, 1) == 0 && first == '\0'))
				fd_form = true;
		}
		if (fd_form) {
			int fd = dirfd_arg(c->args[m->fd_arg]);
			struct obj *ro = replica_of_fd(c, fd);
			if (ro) {
				/* One of our replicas: the original changes, once the caller holds it. */
				c->swap_fd = fd;
				c->swap_obj = ro;
				node_lock(c->node);
				mark_ident(c->node, ro->id.dev, ro->id.ino, 0);
				node_unlock(c->node);
				mutation_passed(c);
				return verdict_continue();
			}
			mark_caller_fd(c, fd);
			mutation_passed(c);
			return verdict_continue();
		}
	}
	bool need_worker = false;
	for (int i = 0; i < 2 && m->p[i].path >= 0; i++) {
		const struct path_arg *p = &m->p[i];
		char *raw = i == 0 ? c->raw : c->target;
		struct start s = { .dir_fd = -1, .root_fd = -1 };
		int rd = read_path(c, c->args[p->path], raw);
		if (rd == -EPERM || rd == -EACCES) {
			/* We may not read this caller's memory (Yama's ptrace_scope for a node
			 * supervisor that is not its ancestor): the kernel can do what we cannot
			 * see, so no cached answer can be trusted again. */
			if (!c->job->pass_all)
				log_trace(1, "cannot read the memory of pid %d (ptrace restrictions?): every "
					  "later call is passed to the kernel", (int)c->pid);
			c->job->pass_all = true;
			continue;
		}
		if (rd < 0)
			continue;   /* the kernel fails it too */
		int dirfd = p->dirfd >= 0 ? dirfd_arg(c->args[p->dirfd]) : AT_FDCWD;
		if (open_start(c, dirfd, raw, &s) < 0) {
			close_start(&s);
			continue;   /* cannot place it: covered by the in-flight record only */
		}
		bool follow = follows(c, m, p);
		node_lock(c->node);
		bool done = mark_path(c, &s, raw, p->kind, follow);
		if (p->kind == MUT_MOUNT) {
			c->job->mounted = true;
			node_snapshot_mounts(c->node);
			dc_drop_fds(&c->node->dc);   /* nothing of ours may keep a mount busy */
		}
		node_unlock(c->node);
		if (!done && worth_identifying(c, &s, raw)) {
			if (c->in_worker)
				identify_path(c, &s, raw, p->kind, follow);
			else
				need_worker = true;
		}
		close_start(&s);
	}
	if (need_worker)
		return verdict_defer();   /* a worker looks the file up, then passes the call on */
	mutation_passed(c);
	return verdict_continue();
}

struct verdict h_creds(struct call *c)
{
	c->job->creds_changed = true;
	return verdict_continue();
}

struct verdict h_namespace(struct call *c)
{
	c->job->ns_changed = true;
	if (c->nr == SYS_chroot || c->nr == SYS_pivot_root)
		return h_mutation(c);
	return verdict_continue();
}

/* pthread_create and posix_spawn use clone3; only new mount or user namespaces matter. */
struct verdict h_clone3(struct call *c)
{
	uint64_t flags;
	if (tracee_read(c->pid, c->args[0], &flags, sizeof flags) < 0 || (flags & (CLONE_NEWNS | CLONE_NEWUSER)))
		c->job->ns_changed = true;
	return verdict_continue();
}

/* Landlock restricts what a process may open, and no /proc file shows it: stop serving. */
struct verdict h_landlock(struct call *c)
{
	if (!c->job->pass_all)
		log_trace(1, "[%d] landlock_restrict_self: every later call goes to the kernel", (int)c->pid);
	c->job->pass_all = true;
	return verdict_continue();
}
