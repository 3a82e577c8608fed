/* Test helper: run a command in a process where seccomp(2) fails with the errno given,
 * the way it does on a kernel without seccomp at all (ENOSYS) or that refuses (EPERM).
 * With -n only user notification fails (SECCOMP_GET_ACTION_AVAIL and filters asking for a
 * listener, EINVAL), as on a kernel older than 5.0: plain filters still install.
 * Usage: no_seccomp [-n] ERRNO CMD [ARGS...] */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int notify_only = argc > 1 && strcmp(argv[1], "-n") == 0;
	argv += notify_only, argc -= notify_only;
	if (argc < 3)
		return fprintf(stderr, "usage: no_seccomp [-n] ERRNO CMD [ARGS...]\n"), 2;
	unsigned err = atoi(argv[1]);
	struct sock_filter all[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	/* Arguments' low halves (little-endian x86_64). */
	struct sock_filter notify[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_GET_ACTION_AVAIL, 2, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_filter *f = notify_only ? notify : all;
	size_t len = notify_only ? sizeof notify / sizeof *notify : sizeof all / sizeof *all;
	struct sock_fprog prog = { (unsigned short)len, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return perror("no_seccomp: install"), 2;
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
