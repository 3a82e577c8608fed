/* bench/inproc_floor: what an in-process answer path would cost at best, and the fact that
 * rules it out (issue 12, "the bold one"). Such a path would have the program's own
 * SIGSYS handler answer look-ups (a seccomp filter returning SECCOMP_RET_TRAP) from a
 * shared copy of the cache, with no trip to a supervisor.
 *
 *   inproc_floor [-n N]
 *
 * Prints one line "inproc: stat_native_us=.. stat_sigsys_us=.. exec_after_trap=.." where
 *   stat_native_us  fstatat(AT_FDCWD, "/", ...) natively, µs per call;
 *   stat_sigsys_us  the same call trapped by a filter (SECCOMP_RET_TRAP on newfstatat) and
 *                   answered by a SIGSYS handler that copies a stat from memory and sets
 *                   the return value: the trap, the signal frame and sigreturn, with no
 *                   look-up at all — the least such a path could cost per call;
 *   exec_after_trap what happens to a program exec'd after that filter is installed
 *                   (here /bin/true): a filter outlives execve, a signal handler does not,
 *                   so the new program's first stat-family call kills it with SIGSYS
 *                   ("killed-by-SIGSYS"), which is why collrun does not answer in-process.
 * x86-64 only (the handler writes the return register). */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "timing.h"

#ifndef __x86_64__
int main(void)
{
	puts("inproc: unsupported=1");
	return 0;
}
#else

static struct stat answer;

/* newfstatat(dirfd, path, buf, flags): buf is the third argument (rdx). */
static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	ucontext_t *uc = ctx;
	memcpy((void *)uc->uc_mcontext.gregs[REG_RDX], &answer, sizeof answer);
	uc->uc_mcontext.gregs[REG_RAX] = 0;
}

static int trap_fstatat(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_newfstatat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof *f, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0 ? -errno : 0;
}

static double per_call(long n)
{
	struct stat st;
	double t0 = now_us();
	for (long i = 0; i < n; i++)
		if (fstatat(AT_FDCWD, "/", &st, 0) < 0)
			exit(1);
	return (now_us() - t0) / n;
}

/* Median of 5 rounds: each round is short, and this machine is noisy. */
static double median_per_call(long n)
{
	double r[5];
	for (int i = 0; i < 5; i++)
		r[i] = per_call(n);
	return median(r, 5);
}

int main(int argc, char **argv)
{
	long n = 100000;
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-n") == 0)
			n = atol(argv[++i]);
	if (stat("/", &answer) < 0)
		return 1;
	double native = median_per_call(n);
	/* The exec case first, in a child: the filter cannot be taken off again. */
	const char *exec_after = "?";
	pid_t pid = fork();
	if (pid == 0) {
		struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
		sigaction(SIGSYS, &sa, NULL);
		if (trap_fstatat() < 0)
			_exit(125);
		execl("/bin/true", "true", (char *)NULL);
		_exit(126);
	}
	int st;
	if (pid > 0 && waitpid(pid, &st, 0) == pid)
		exec_after = WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS ? "killed-by-SIGSYS"
			     : WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ran"
			     : WIFEXITED(st) && WEXITSTATUS(st) >= 125 ? "no-filter"
									: "other";
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigaction(SIGSYS, &sa, NULL);
	if (trap_fstatat() < 0) {
		printf("inproc: stat_native_us=%.3f unsupported=1\n", native);
		return 0;
	}
	double trapped = median_per_call(n);
	struct stat check;
	if (fstatat(AT_FDCWD, "/", &check, 0) != 0 || check.st_ino != answer.st_ino)
		return 1;   /* the handler did not answer */
	printf("inproc: stat_native_us=%.3f stat_sigsys_us=%.3f exec_after_trap=%s\n", native, trapped, exec_after);
	return 0;
}
#endif
