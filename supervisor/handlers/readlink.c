/* readlink, readlinkat. The whole target is cached; each call gets at most bufsiz bytes,
 * unterminated, and that count, like the kernel. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/walk.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct verdict serve_readlink(struct call *c, int dirfd, uint64_t path, uint64_t buf, int bufsiz)
{
	if (bufsiz <= 0)
		return verdict_continue();
	if (!serveable_path(c, dirfd, path))
		return verdict_continue();
	struct entry *e = cache_get(&sup.cache, c->path);
	if (!e)
		return verdict_continue();
	struct link_slot *s = &e->link;
	c->outcome = s->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (s->state == SLOT_EMPTY) {
		char target[PATH_MAX];
		int fd = walk_path(c->path, true, &sup.stats.fsops);
		ssize_t n = fd >= 0 ? readlinkat(fd, "", target, sizeof target) : -1;
		int err = fd >= 0 ? errno : -fd;
		if (fd >= 0)
			close(fd);
		if (fd == WALK_NOT_PLAIN)
			s->state = SLOT_PASS;
		else if (n < 0 && (err == ENOENT && fd >= 0 ? (err = EINVAL) : err, cacheable_errno(err)))
			s->state = SLOT_ERR, s->err = err;
		else if (n >= 0 && (s->target = malloc(n + 1)))
			memcpy(s->target, target, n), s->len = n, s->state = SLOT_OK;
	}
	if (s->state == SLOT_ERR)
		return verdict_return(-s->err);
	size_t len = s->len < (size_t)bufsiz ? s->len : (size_t)bufsiz;
	if (s->state != SLOT_OK || write_answer(c, buf, s->target, len) < 0)
		return c->outcome = OUT_PASS, verdict_continue();
	return verdict_return(len);
}

struct verdict h_readlink(struct call *c)
{
	return serve_readlink(c, AT_FDCWD, c->args[0], c->args[1], (int)c->args[2]);
}

struct verdict h_readlinkat(struct call *c)
{
	return serve_readlink(c, dirfd_arg(c->args[0]), c->args[1], c->args[2], (int)c->args[3]);
}
