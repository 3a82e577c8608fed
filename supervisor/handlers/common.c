/* The shared front half of every look-up: path in, absolute path and a yes/no out. Every
 * "no" means the kernel answers instead, which is always correct, only slower. */
#include "handlers/common.h"
#include "log.h"
#include "resolve.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

static const struct route to_kernel = { ROUTE_KERNEL, 0, NULL };

struct route route_path(struct call *c, int dirfd, uint64_t path_addr)
{
	char rel[PATH_MAX];
	ssize_t n = tracee_read_string(c->pid, path_addr, rel, sizeof rel);
	if (n <= 0)      /* bad pointer, too long, empty: the kernel's errno is the right one */
		return to_kernel;
	if (rel[0] == '/') {
		memcpy(c->path, rel, n + 1);
	} else {
		char base[PATH_MAX];
		if (tracee_dir_path(c->pid, dirfd, base, sizeof base) < 0 ||
		    path_join(base, rel, c->path, sizeof c->path) < 0) {
			c->path[0] = '\0';
			return to_kernel;
		}
	}
	struct pol_decision d;
	switch (policy_decide(&sup.policy, c->path, &d, c->target, sizeof c->target)) {
	case POL_DENY:
	case POL_HIDE:
		return (struct route){ ROUTE_DENY, d.err, c->path };   /* whoever asks */
	case POL_CACHE:
		if (!caller_is_like_us(c->pid))
			return to_kernel;
		return (struct route){ ROUTE_CACHE, 0, c->path };
	case POL_REDIRECT:
	case POL_LIBRARY: {
		if (d.target != c->target)
			snprintf(c->target, sizeof c->target, "%s", d.target);
		/* Whether the target's answer may be kept depends on the target's own rule
		 * (only one redirect is followed: no chains, no loops). */
		struct pol_decision t;
		char unused[8];
		enum pol_action ta = policy_decide(&sup.policy, c->target, &t, unused, sizeof unused);
		if (ta == POL_DENY || ta == POL_HIDE)
			return (struct route){ ROUTE_DENY, t.err, c->target };
		/* We look the target up with our credentials: never for a caller with others. */
		if (!caller_is_like_us(c->pid))
			return to_kernel;
		return (struct route){ ta == POL_CACHE ? ROUTE_CACHE : ROUTE_LIVE, 0, c->target };
	}
	default:
		return to_kernel;
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
