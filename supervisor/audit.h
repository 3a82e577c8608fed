/* --audit: one line per trapped call, strace-like (text) or one JSON object per line
 * (jsonl; the schema is in collrun(1)), written whole and at once so that lines from the
 * loop, the workers and other processes never interleave and a killed job loses none.
 * Both backends call audit_call() once per answered call. */
#pragma once
#include "backtrace.h"
#include "call.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum audit_format { AUDIT_TEXT = 0, AUDIT_JSONL = 1 };

extern bool audit_on;        /* --audit given */
extern bool audit_backtrace; /* --backtrace given */

/* Open the audit output before the program runs: file (NULL: standard error), created or
 * truncated, O_CLOEXEC so the program never inherits it. 0 or -errno (EISDIR, ENOENT for a
 * missing parent, EACCES...); audit_on is set on success. */
int audit_open(const char *file, int format);
/* One answered call. known: result is the call's real return value (>= 0, or -errno);
 * !known: printed as "= ?". stack may be NULL. Thread-safe (workers answer too). */
void audit_call(const struct call *c, const struct verdict *v, bool known, int64_t result, const struct bt *stack);
void audit_close(void);
/* Decode c's arguments now, while the caller still waits (pointers to its stack, such as
 * openat2's struct open_how, are only valid until it runs on), for this thread's next
 * audit_call(c). buf (size bytes) must live until then. A backend that audits at a
 * syscall-exit stop, with the caller still stopped, need not call it. */
void audit_capture_args(const struct call *c, char *buf, size_t size);
/* The same in two steps, for a backend that holds many calls at once (tracer.c): decode
 * into buf (false if it does not fit), and later, just before audit_call(c) on the same
 * thread, say that those are c's arguments. */
bool audit_decode_args(const struct call *c, char *buf, size_t size);
void audit_use_args(const struct call *c, const char *decoded);

/* CLOCK_MONOTONIC in ns: what struct call's t_recv holds. */
uint64_t audit_now_ns(void);
