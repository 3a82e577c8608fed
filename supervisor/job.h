/* The job: the program collrun started, as a process tree. Waiting for it, forwarding
 * signals, ending it when the supervisor cannot go on, and ending collrun the way the
 * program ended so the shell sees the same status. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/* Signals collrun receives and hands on to the program instead of dying of them. */
void job_forwarded_signals(sigset_t *set);
/* Serve the listener (or only wait, when nested: listener < 0) until the program exits.
 * Fills *si with its wait status. 0, or -errno if the supervisor broke (job killed). */
int job_supervise(pid_t child, int listener, siginfo_t *si);
/* After the program exited: if processes it started still run under the filter, keep
 * serving them from a background copy of the supervisor until they are all gone. */
void job_linger(int listener);
/* SIGKILL the process and every descendant still reachable through /proc. */
void job_kill_tree(pid_t root);
/* Exit with the program's status, or die of its signal. */
__attribute__((noreturn)) void job_exit_like(const siginfo_t *si);
/* If collrun itself crashes, take the job down with a message instead of leaving its
 * trapped calls failing with ENOSYS. */
void job_install_crash_handlers(pid_t child);
