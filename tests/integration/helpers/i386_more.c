/* Test helper (foreign_abi.sh): i386 calls (int 0x80 from a 64-bit process) that change
 * what later 64-bit look-ups see, each between two 64-bit look-ups of the same path.
 * collrun must notice them (trap them) so the second look-up is not answered from a stale
 * cache, and must not take an i386 clone3 without namespace flags for a namespace change.
 * Usage: i386_more truncate64 FILE | chown32 FILE | lchown32 LINK | umount MNT FILE-IN-MNT
 *        | clone3 FILE   (exit 4: this kernel runs no i386 calls) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long i386_call(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static const char *rs(long r) /* an i386 result: -errno in eax */
{
	static char b[64];
	if (r < 0 && r > -4096)
		snprintf(b, sizeof b, "-1 %s", strerrorname_np((int)-r));
	else
		snprintf(b, sizeof b, "%ld", r);
	return b;
}

static void st64(const char *label, const char *path, int nofollow)
{
	struct stat st;
	errno = 0;
	long r = syscall(nofollow ? SYS_lstat : SYS_stat, path, &st);
	if (r)
		printf("%s %s: -1 %s\n", nofollow ? "lstat" : "stat", label, strerrorname_np(errno));
	else
		printf("%s %s: size=%lld uid=%u gid=%u\n", nofollow ? "lstat" : "stat", label,
		       (long long)st.st_size, st.st_uid, st.st_gid);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	char *low = mmap((void *)0x10000000, 8192, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return perror("mmap"), 1;
	char *p = low, *q = low + 2048;
	snprintf(p, 2048, "%s", argv[2]);
	snprintf(q, 2048, "%s", argc > 3 ? argv[3] : "");
	if (i386_call(20 /* getpid */, 0, 0, 0) != getpid()) {
		printf("no i386 system calls here\n");
		return 4;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "truncate64")) {
		st64("FILE", p, 0);
		printf("i386 truncate64(FILE, 5) = %s\n", rs(i386_call(193, (long)p, 5, 0)));
		st64("FILE", p, 0);
	} else if (!strcmp(cmd, "chown32")) {
		st64("FILE", p, 0);
		printf("i386 chown32(FILE, 65534, 65534) = %s\n", rs(i386_call(212, (long)p, 65534, 65534)));
		st64("FILE", p, 0);
	} else if (!strcmp(cmd, "lchown32")) {
		st64("LINK", p, 1);
		printf("i386 lchown32(LINK, 65534, 65534) = %s\n", rs(i386_call(198, (long)p, 65534, 65534)));
		st64("LINK", p, 1);
	} else if (!strcmp(cmd, "umount") && argc == 4) {
		st64("FILE-IN-MNT", q, 0);
		printf("i386 umount(MNT) = %s\n", rs(i386_call(22, (long)p, 0, 0)));
		st64("FILE-IN-MNT", q, 0);
	} else if (!strcmp(cmd, "clone3")) {
		/* struct clone_args, version 0 (64 bytes): flags 0, exit_signal SIGCHLD, no stack
		 * (the child continues on a copy of ours, like fork). */
		uint64_t *ca = (uint64_t *)(low + 4096);
		memset(ca, 0, 64);
		ca[4] = SIGCHLD;
		st64("FILE", p, 0);
		fflush(stdout);
		long pid = i386_call(435, (long)ca, 64, 0);
		if (pid == 0)
			syscall(SYS_exit_group, 0);
		int status = -1;
		if (pid > 0)
			waitpid(pid, &status, 0);
		printf("i386 clone3(flags=0): %s, child exit %d\n", pid > 0 ? "ok" : rs(pid),
		       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		st64("FILE", p, 0);
	} else {
		return 2;
	}
	return 0;
}
