/* What every look-up handler does before it can answer from the cache. */
#pragma once
#include "call.h"
#include "supervisor.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read the path argument, make it absolute (dirfd/cwd), check the caller sees the file
 * system as we do, and ask the policy. true: c->path holds the absolute path and the call
 * may be served. false: pass it to the kernel. */
bool serveable_path(struct call *c, int dirfd, uint64_t path_addr);
/* Copy a result into the caller's buffer, after checking the call is still pending.
 * 0, or -errno (the caller then gets the kernel's own answer via CONTINUE). */
int write_answer(struct call *c, uint64_t addr, const void *buf, size_t len);
static inline int dirfd_arg(uint64_t a) { return (int)(int32_t)a; }
