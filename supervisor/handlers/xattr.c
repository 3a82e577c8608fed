/* getxattr, lgetxattr, listxattr, llistxattr: trapped only when the policy redirects
 * paths, and answered only for redirected ones (from the target, like every other
 * look-up of a redirected path), by a worker. Everything else goes to the kernel. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <sys/xattr.h>

static struct verdict answer(struct call *c, ssize_t n, int err, uint64_t buf, const void *data, size_t size)
{
	c->outcome = OUT_FILL;
	if (n < 0)
		return verdict_return(-err);
	if (size && n > 0 && write_answer(c, buf, data, n) < 0)
		return verdict_return(-EFAULT);   /* the kernel's answer for a bad buffer */
	return verdict_return(n);
}

static struct verdict serve_getxattr(struct call *c, bool nofollow)
{
	struct verdict v;
	if (!route_lookup(c, AT_FDCWD, c->args[0], &v))
		return v;
	if (!redirected(c))
		return verdict_continue();
	if (!c->in_worker)
		return verdict_defer();
	char name[XATTR_NAME_MAX + 1];
	if (tracee_read_string(c->pid, c->args[1], name, sizeof name) < 0)
		return verdict_continue();
	size_t size = c->args[3] < XATTR_SIZE_MAX ? c->args[3] : XATTR_SIZE_MAX;
	char *value = size ? malloc(size) : NULL;
	if (size && !value)
		return verdict_continue();
	ssize_t n = nofollow ? lgetxattr(c->target, name, value, size) : getxattr(c->target, name, value, size);
	v = answer(c, n, errno, c->args[2], value, size);
	free(value);
	return v;
}

static struct verdict serve_listxattr(struct call *c, bool nofollow)
{
	struct verdict v;
	if (!route_lookup(c, AT_FDCWD, c->args[0], &v))
		return v;
	if (!redirected(c))
		return verdict_continue();
	if (!c->in_worker)
		return verdict_defer();
	size_t size = c->args[2] < XATTR_LIST_MAX ? c->args[2] : XATTR_LIST_MAX;
	char *list = size ? malloc(size) : NULL;
	if (size && !list)
		return verdict_continue();
	ssize_t n = nofollow ? llistxattr(c->target, list, size) : listxattr(c->target, list, size);
	v = answer(c, n, errno, c->args[1], list, size);
	free(list);
	return v;
}

struct verdict h_getxattr(struct call *c) { return serve_getxattr(c, false); }
struct verdict h_lgetxattr(struct call *c) { return serve_getxattr(c, true); }
struct verdict h_listxattr(struct call *c) { return serve_listxattr(c, false); }
struct verdict h_llistxattr(struct call *c) { return serve_listxattr(c, true); }
