/* The user-notify backend: receive one trapped call from the listener, dispatch it to its
 * handler through the syscall table, send the verdict back. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Per-listener setup (SYNC_WAKE_UP when the kernel has it). 0 or -errno. */
int notify_setup(int listener);
/* Serve one pending notification. 0 (including "caller vanished"), or -errno when the
 * listener itself is broken. */
int notify_serve_one(int listener);
/* Serve what is pending now (one call), so the caller's loop looks at its other
 * descriptors (signals, the program's exit) between calls. 0 or -errno as above. */
int notify_serve_burst(int listener);
/* Around fork() of the lingering copy: the supervisor runs worker threads, and only the
 * forking thread exists in the child. Call prepare before fork, then after_fork in both. */
void notify_prepare_fork(void);
void notify_after_fork(int in_child);

/* One call's life, shared by both backends (tracer.c is the other). */
struct call;
struct node;
struct verdict;
/* A recycled or new call buffer, or NULL. */
struct call *call_new(struct node *n);
/* Fill in what the backend received; listener is -1 under ptrace. */
void call_init(struct call *c, uint64_t id, pid_t pid, int nr, uint32_t arch, const uint64_t args[6],
	       int listener);
/* Route the call to its handler (or the foreign-ABI path) on the loop thread. */
struct verdict call_dispatch(struct call *c);
/* Count, answer through the call's backend, log, recycle. */
void call_finish(struct call *c, struct verdict v);
/* The -v line of an answered call. */
void call_trace(const struct call *c, const struct verdict *v, bool gave_fd);
/* Back to the free list (closes what the call holds). */
void call_release(struct call *c);
