/* The shared front half of every look-up: path in, absolute path and a yes/no out. Every
 * "no" means the kernel answers instead, which is always correct, only slower. */
#include "handlers/common.h"
#include "log.h"
#include "resolve.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>

bool serveable_path(struct call *c, int dirfd, uint64_t path_addr)
{
	char rel[PATH_MAX];
	ssize_t n = tracee_read_string(c->pid, path_addr, rel, sizeof rel);
	if (n <= 0)      /* bad pointer, too long, empty: the kernel's errno is the right one */
		return false;
	if (rel[0] == '/') {
		memcpy(c->path, rel, n + 1);
	} else {
		char base[PATH_MAX];
		if (tracee_dir_path(c->pid, dirfd, base, sizeof base) < 0 ||
		    path_join(base, rel, c->path, sizeof c->path) < 0)
			return false;
	}
	if (!caller_is_like_us(c->pid))
		return false;
	return policy_decide(&sup.policy, c->path, NULL) == POL_CACHE;
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
