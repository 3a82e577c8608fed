/* The ptrace backend (--backend=ptrace, or auto where a seccomp listener cannot be
 * installed): the filter says SECCOMP_RET_TRACE instead of USER_NOTIF, and one tracer thread
 * receives each trapped call as a PTRACE_EVENT_SECCOMP stop. Calls run through the same
 * table, handlers, policy and cache as under user notification; only the way an answer
 * reaches the caller differs (registers instead of ioctls, see tracer.c). */
#pragma once
#include "call.h"
#include <stdbool.h>
#include <sys/types.h>

/* The job is traced (set once the program has been seized). */
extern bool tracer_active;

/* Start the tracer thread and make it seize pid (the program, in the shim, before its
 * filter is installed), following its forks, clones and execs. 0 or -errno (EPERM: this
 * system does not let collrun trace the program, e.g. Yama ptrace_scope 3). */
int tracer_attach(pid_t pid);
/* A traced call's verdict, from any thread: the tracer thread applies it. Takes the call. */
void tracer_answer(struct call *c, struct verdict v);
/* A descriptor that becomes readable once no traced process is left. */
int tracer_done_fd(void);
