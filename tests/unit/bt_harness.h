/* For backtrace_test and bench/backtrace: start a program under ptrace with a seccomp filter
 * that stops it (SECCOMP_RET_TRACE, as collrun's ptrace backend does) at each openat, and run
 * it to the openat of a given path. Header-only: the two programs share it. */
#pragma once
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* Start argv under ptrace and leave it stopped at the seccomp stop of openat(want): its pid,
 * or -1 when it exited (or the stop never came). prep (NULL: none) runs in the child before
 * the exec, e.g. to enter another mount namespace; it _exit()s on failure. */
static inline pid_t bt_spawn_at_open_with(void (*prep)(void *), void *arg, char *const argv[],
					  const char *want)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
		if (!f || seccomp_rule_add(f, SCMP_ACT_TRACE(0), SCMP_SYS(openat), 0) < 0 ||
		    ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(126);
		if (prep)
			prep(arg);
		raise(SIGSTOP);             /* the parent sets PTRACE_O_TRACESECCOMP now */
		if (seccomp_load(f) < 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st) ||
	    ptrace(PTRACE_SETOPTIONS, pid, 0,
		   PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0)
		goto fail;
	int sig = 0;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, sig) < 0 || waitpid(pid, &st, 0) != pid)
			goto fail;
		if (!WIFSTOPPED(st))
			return -1;          /* exited: never opened want */
		sig = 0;
		if (st >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) {
			struct user_regs_struct r;
			char path[4096] = "";
			struct iovec l = { path, sizeof path - 1 }, rem = { (void *)r.rsi, sizeof path - 1 };
			if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
				goto fail;
			rem.iov_base = (void *)r.rsi;
			/* A path near the end of its page may make this short: then it is not want's. */
			if (process_vm_readv(pid, &l, 1, &rem, 1, 0) > 0 && strcmp(path, want) == 0)
				return pid;
		} else if (st >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8)) && WSTOPSIG(st) != SIGTRAP)
			sig = WSTOPSIG(st);
	}
fail:
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static inline pid_t bt_spawn_at_open(char *const argv[], const char *want)
{
	return bt_spawn_at_open_with(NULL, NULL, argv, want);
}

static inline void bt_kill(pid_t pid)
{
	int st;
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}
