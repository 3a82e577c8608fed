/* getxattr, lgetxattr, listxattr, llistxattr: trapped only when the policy redirects
 * paths, and answered only for redirected ones (from the target, like every other
 * look-up of a redirected path). Everything else goes to the kernel. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <sys/xattr.h>

static struct verdict answer(struct call *c, ssize_t n, uint64_t buf, const void *data, size_t size)
{
	c->outcome = OUT_FILL;
	if (n < 0)
		return verdict_return(-errno);
	if (size && n > 0 && write_answer(c, buf, data, n) < 0)
		return verdict_return(-EFAULT);   /* the kernel's answer for a bad buffer */
	return verdict_return(n);
}

static struct verdict serve_getxattr(struct call *c, bool nofollow)
{
	struct route r;
	struct verdict v;
	if (!route_lookup(c, AT_FDCWD, c->args[0], &r, &v))
		return v;
	char name[XATTR_NAME_MAX + 1], value[XATTR_SIZE_MAX];
	if (!redirected(c, &r) || tracee_read_string(c->pid, c->args[1], name, sizeof name) < 0)
		return verdict_continue();
	size_t size = c->args[3] < sizeof value ? c->args[3] : sizeof value;
	ssize_t n = nofollow ? lgetxattr(r.lookup, name, size ? value : NULL, size)
			     : getxattr(r.lookup, name, size ? value : NULL, size);
	return answer(c, n, c->args[2], value, size);
}

static struct verdict serve_listxattr(struct call *c, bool nofollow)
{
	struct route r;
	struct verdict v;
	if (!route_lookup(c, AT_FDCWD, c->args[0], &r, &v))
		return v;
	if (!redirected(c, &r))
		return verdict_continue();
	char list[XATTR_LIST_MAX];
	size_t size = c->args[2] < sizeof list ? c->args[2] : sizeof list;
	ssize_t n = nofollow ? llistxattr(r.lookup, size ? list : NULL, size)
			     : listxattr(r.lookup, size ? list : NULL, size);
	return answer(c, n, c->args[1], list, size);
}

struct verdict h_getxattr(struct call *c) { return serve_getxattr(c, false); }
struct verdict h_lgetxattr(struct call *c) { return serve_getxattr(c, true); }
struct verdict h_listxattr(struct call *c) { return serve_listxattr(c, false); }
struct verdict h_llistxattr(struct call *c) { return serve_listxattr(c, true); }
