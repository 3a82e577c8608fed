/* What every look-up handler does before it can answer from the cache. */
#pragma once
#include "call.h"
#include "supervisor.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum route_how {
	ROUTE_KERNEL,   /* let the kernel answer the call as made */
	ROUTE_CACHE,    /* answer from the cache entry of route.lookup */
	ROUTE_LIVE,     /* answer from route.lookup, computed now and not kept */
	ROUTE_DENY,     /* fail with route.err */
};

struct route {
	enum route_how how;
	int err;
	const char *lookup;   /* c->path, or c->target when a rule redirected the call */
};

/* Read the path argument, make it absolute (dirfd/cwd) into c->path, and decide with the
 * policy how the call is answered. Anything collrun cannot be sure of goes to the kernel. */
struct route route_path(struct call *c, int dirfd, uint64_t path_addr);
static inline bool redirected(const struct call *c, const struct route *r) { return r->lookup != c->path; }
/* route_path() for handlers that answer look-ups: true if the handler answers from *r;
 * false if *v is already the answer (the kernel's, or a denial). */
static inline bool route_lookup(struct call *c, int dirfd, uint64_t path, struct route *r, struct verdict *v)
{
	*r = route_path(c, dirfd, path);
	if (r->how == ROUTE_KERNEL)
		*v = verdict_continue();
	else if (r->how == ROUTE_DENY)
		*v = verdict_return(-r->err);
	return r->how == ROUTE_CACHE || r->how == ROUTE_LIVE;
}
/* Copy a result into the caller's buffer, after checking the call is still pending.
 * 0, or -errno (the caller then gets the kernel's own answer via CONTINUE). */
int write_answer(struct call *c, uint64_t addr, const void *buf, size_t len);
static inline int dirfd_arg(uint64_t a) { return (int)(int32_t)a; }
