/* The shared front half of every look-up: path in, absolute path and a yes/no out. Every
 * "no" means the kernel answers instead, which is always correct, only slower. */
#include "handlers/common.h"
#include "log.h"
#include "resolve.h"
#include "tracee_mem.h"
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
	/* Everything above read the caller's state: make sure it is still that caller. */
	if (!c->still_valid(c))
		return false;
	return policy_decide(&sup.policy, c->path, NULL) == POL_CACHE;
}
