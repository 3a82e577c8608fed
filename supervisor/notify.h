/* The user-notify backend: receive one trapped call from the listener, dispatch it to its
 * handler through the syscall table, send the verdict back. */
#pragma once

/* Per-listener setup (SYNC_WAKE_UP when the kernel has it). 0 or -errno. */
int notify_setup(int listener);
/* Serve one pending notification. 0 (including "caller vanished"), or -errno when the
 * listener itself is broken. */
int notify_serve_one(int listener);
