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

static void fill_link(struct link_slot *s, const char *path, bool keep)
{
	char target[PATH_MAX];
	struct stat st;
	int fd = walk_path(path, true, &st, NULL, &sup.stats.fsops);
	if (fd < 0) {
		walk_failure(fd, &s->state, &s->err, keep);
		return;
	}
	/* readlinkat(fd, "") of a non-link answers ENOENT; readlink(path) says EINVAL. */
	ssize_t n = readlinkat(fd, "", target, sizeof target);
	int err = n < 0 ? (errno == ENOENT ? EINVAL : errno) : 0;
	close(fd);
	if (n >= 0 && (s->target = malloc(n + 1))) {
		memcpy(s->target, target, n);
		s->len = n;
		s->state = SLOT_OK;
	} else if (n < 0 && (cacheable_errno(err) || !keep)) {
		s->state = SLOT_ERR;
		s->err = err;
	}
}

static struct verdict serve_readlink(struct call *c, int dirfd, uint64_t path, uint64_t buf, int bufsiz)
{
	if (bufsiz <= 0)
		return verdict_continue();
	struct route r;
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &r, &v))
		return v;
	struct link_slot live = { 0 }, *s = &live;
	if (r.how == ROUTE_CACHE) {
		struct entry *e = cache_get(&sup.cache, r.lookup);
		if (!e)
			return verdict_continue();
		s = &e->link;
	}
	c->outcome = s->state == SLOT_EMPTY ? OUT_FILL : OUT_HIT;
	if (s->state == SLOT_EMPTY)
		fill_link(s, r.lookup, r.how == ROUTE_CACHE);
	if (s->state == SLOT_PASS && redirected(c, &r))
		fill_link(s = &live, r.lookup, false);
	size_t len = s->len < (size_t)bufsiz ? s->len : (size_t)bufsiz;
	if (s->state == SLOT_ERR)
		v = verdict_return(-s->err);
	else if (s->state != SLOT_OK || write_answer(c, buf, s->target, len) < 0)
		c->outcome = OUT_PASS, v = verdict_continue();
	else
		v = verdict_return(len);
	if (s == &live)
		free(live.target);
	return v;
}

struct verdict h_readlink(struct call *c)
{
	return serve_readlink(c, AT_FDCWD, c->args[0], c->args[1], (int)c->args[2]);
}

struct verdict h_readlinkat(struct call *c)
{
	return serve_readlink(c, dirfd_arg(c->args[0]), c->args[1], c->args[2], (int)c->args[3]);
}
