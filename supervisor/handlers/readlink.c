/* readlink, readlinkat. The link body is read by the walk that found the link; each call
 * gets at most bufsiz bytes, unterminated, and that count, like the kernel. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The link body of the walk's final file (not followed), or EINVAL for any other file. */
static enum walk_res final_link(struct walk *w, void *ctx)
{
	struct call *c = w->c;
	if (!S_ISLNK(w->obj->mode)) {
		*(int *)ctx = EINVAL;
		return WALK_DONE;
	}
	c->ans_len = w->obj->tlen;
	memcpy(c->ans.link, w->obj->target, w->obj->tlen);
	return WALK_DONE;
}

static struct verdict serve_readlink(struct call *c, int dirfd, uint64_t path, uint64_t buf, int bufsiz)
{
	if (bufsiz <= 0)
		return verdict_continue();
	struct verdict v;
	if (!route_lookup(c, dirfd, path, &v))
		return v;
	int err = 0;
	size_t len = 0;
	if (c->how == ROUTE_LIVE) {
		c->outcome = OUT_FILL;
		ssize_t n = readlinkat(AT_FDCWD, c->target, c->ans.link, sizeof c->ans.link);
		if (n < 0)
			return verdict_return(-errno);
		len = n;
	} else {
		int notlink = 0;
		enum walk_res r = cached_lookup(c, false, final_link, &notlink, &err);
		if (r != WALK_DONE)
			return walk_verdict(c, r);
		if (!err)
			err = notlink;
		len = c->ans_len;
	}
	if (err)
		return verdict_return(-err);
	if (len > (size_t)bufsiz)
		len = bufsiz;
	if (write_answer(c, buf, c->ans.link, len) < 0)
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
