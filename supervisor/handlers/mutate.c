/* Calls that change the name space, file metadata, credentials or mounts. None is served:
 * each is passed to the kernel after collrun has made sure no cached answer can go stale
 * (forget every path) or be given to a caller who sees the files differently. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/walk.h"
#include "syscall_table.h"
#include "tracee_mem.h"
#include <linux/sched.h>

struct verdict h_mutation(struct call *c)
{
	const struct syscall_desc *d = syscall_lookup(c->nr);
	invalidate_all(d ? d->name : "mutation");
	return verdict_continue();
}

struct verdict h_creds(struct call *c)
{
	(void)c;
	sup.creds_changed = true;
	return verdict_continue();
}

struct verdict h_namespace(struct call *c)
{
	sup.ns_changed = true;
	walk_forget();   /* a device number may now be another file system */
	return h_mutation(c);
}

/* pthread_create and posix_spawn use clone3; only new mount or user namespaces matter. */
struct verdict h_clone3(struct call *c)
{
	uint64_t flags;
	if (tracee_read(c->pid, c->args[0], &flags, sizeof flags) < 0 ||
	    (flags & (CLONE_NEWNS | CLONE_NEWUSER)))
		return h_namespace(c);
	return verdict_continue();
}
