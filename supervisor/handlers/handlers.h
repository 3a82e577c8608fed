/* Handler entry points, one per trapped syscall; rows in syscall_table.c point here.
 * A handler runs first in the loop thread (c->in_worker false: cache only, no file-system
 * call) and may return V_DEFER; a worker then runs it again from the start. */
#pragma once
#include "call.h"

struct verdict h_open(struct call *c);
struct verdict h_openat(struct call *c);
struct verdict h_openat2(struct call *c);
struct verdict h_creat(struct call *c);
struct verdict h_stat(struct call *c);
struct verdict h_lstat(struct call *c);
struct verdict h_newfstatat(struct call *c);
struct verdict h_statx(struct call *c);
struct verdict h_access(struct call *c);
struct verdict h_faccessat(struct call *c);
struct verdict h_faccessat2(struct call *c);
struct verdict h_readlink(struct call *c);
struct verdict h_readlinkat(struct call *c);
struct verdict h_getxattr(struct call *c);
struct verdict h_lgetxattr(struct call *c);
struct verdict h_listxattr(struct call *c);
struct verdict h_llistxattr(struct call *c);
struct verdict h_mutation(struct call *c);
struct verdict h_creds(struct call *c);
struct verdict h_namespace(struct call *c);
struct verdict h_clone3(struct call *c);
struct verdict h_landlock(struct call *c);
struct verdict h_open_foreign(struct call *c);
struct verdict h_execve(struct call *c);
struct verdict h_execveat(struct call *c);
struct verdict h_getdents64(struct call *c);
struct verdict h_getdents(struct call *c);
struct verdict h_fchdir(struct call *c);
