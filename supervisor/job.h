/* The job, seen from collrun: the program runs under the keeper (keeper.h). Serving its
 * calls while waiting for it, forwarding signals, leaving a background copy to serve what
 * outlives it, and ending collrun the way the program ended so the shell sees the same. */
#pragma once
#include "keeper.h"
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Signals collrun receives and hands on to the program instead of dying of them. */
void job_forwarded_signals(sigset_t *set);
/* Serve the listener (or only wait, when nested: listener < 0) until the keeper reports
 * that the program (held by prog_pidfd) exited; fills *si with its si_code and si_status.
 * Every round services every ready descriptor, so a busy listener never starves signals
 * or the program's end. 0; -ECHILD if the keeper is gone; other -errno if the supervisor
 * broke. */
/* watch: the connection to the node supervisor (share.h), or -1: if it closes first,
 * -EPIPE. */
int job_supervise(struct keeper *k, int prog_pidfd, int listener, int watch, siginfo_t *si);
/* After the program exited: if processes it started still run under the filter, fork a
 * background copy that keeps serving them (and holds the keeper's liveness pipe) until
 * they are all gone or it gets SIGTERM, SIGINT or SIGHUP. true in collrun if a copy was
 * left; never returns in the copy. */
/* watch >= 0: shared with a node supervisor (its connection): the copy serves nothing and
 * ends when the supervisor does. */
bool job_linger(struct keeper *k, int listener, int watch);
/* Exit with the program's status, or die of its signal. */
__attribute__((noreturn)) void job_exit_like(const siginfo_t *si);
/* If collrun itself crashes, say so before dying; the keeper then ends the job, whose
 * trapped calls wait (the keeper holds the listener) instead of failing with ENOSYS. */
void job_install_crash_handlers(void);
