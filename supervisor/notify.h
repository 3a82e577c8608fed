/* The user-notify backend: receive one trapped call from the listener, dispatch it to its
 * handler through the syscall table, send the verdict back. */
#pragma once

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
