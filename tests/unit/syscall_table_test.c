/* The one syscall table: rows are consistent with the kernel ABI and libseccomp, lookups
 * work, and the BPF program built from it traps exactly the calls it should on a real
 * kernel (fstat and read stay in the kernel). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "arch.h"
#include "filter_prebuilt.h"
#include "shim.h"
#include "syscall_table.h"

Test(syscall_table, every_row_is_complete_and_matches_libseccomp_numbering)
{
	for (size_t i = 0; i < syscall_table_len; i++) {
		const struct syscall_desc *d = &syscall_table[i];
		cr_assert_not_null(d->name);
		cr_assert_not_null(d->handler, "%s has no handler", d->name);
		int nr = seccomp_syscall_resolve_name(d->name);
		if (nr != __NR_SCMP_ERROR)
			cr_assert_eq(nr, d->nr, "%s: table says %d, libseccomp %d", d->name, d->nr, nr);
		cr_assert_eq(syscall_lookup(d->nr), d);
		cr_assert_eq(syscall_lookup_name(d->name), d);
	}
}

Test(syscall_table, the_issue_s_lookups_are_served)
{
	static const char *const served[] = { "open", "openat", "openat2", "stat", "lstat", "newfstatat",
		"statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat" };
	for (size_t i = 0; i < sizeof served / sizeof *served; i++) {
		const struct syscall_desc *d = syscall_lookup_name(served[i]);
		cr_assert_not_null(d, "%s missing", served[i]);
		cr_assert_eq(d->group, GROUP_LOOKUP, "%s", served[i]);
	}
}

Test(syscall_table, data_path_calls_are_never_trapped)
{
	static const int never[] = { SYS_read, SYS_pread64, SYS_mmap, SYS_fstat, SYS_close,
				     SYS_write, SYS_lseek };
	for (size_t i = 0; i < sizeof never / sizeof *never; i++)
		cr_assert_null(syscall_lookup(never[i]), "syscall %d is trapped", never[i]);
	/* getdents64 is trapped: listings of cached directories are served (handlers/dirents.c) */
	cr_assert_eq(syscall_lookup(SYS_getdents64)->group, GROUP_LOOKUP);
	/* execve is trapped to learn the new program's search paths, and always passed */
	cr_assert_eq(syscall_lookup(SYS_execve)->group, GROUP_EXEC);
	cr_assert_eq(syscall_lookup(SYS_execveat)->group, GROUP_EXEC);
	cr_assert_null(syscall_lookup(-1));
	cr_assert_null(syscall_lookup(COLLRUN_MAX_NR));
}

Test(syscall_table, mutations_are_watched)
{
	static const char *const watched[] = { "rename", "renameat2", "unlink", "unlinkat", "mkdir",
		"symlink", "link", "chmod", "truncate", "utimensat", "creat" };
	for (size_t i = 0; i < sizeof watched / sizeof *watched; i++) {
		const struct syscall_desc *d = syscall_lookup_name(watched[i]);
		cr_assert_not_null(d, "%s not trapped", watched[i]);
		cr_assert_eq(d->group, GROUP_MUTATE);
	}
	cr_assert_eq(syscall_lookup_name("setuid")->group, GROUP_CREDS);
	cr_assert_eq(syscall_lookup_name("chroot")->group, GROUP_NAMESPACE);
}

/* Install the real filter in a child, answer CONTINUE to everything, record numbers. */
Test(syscall_table, filter_traps_path_calls_but_not_fstat_read_or_getpid)
{
	struct sock_fprog prog;
	cr_assert_eq(shim_build_filter(&prog, false), 0);
	int pipefd[2];
	cr_assert_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		int lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (write(pipefd[1], &lfd, sizeof lfd) != sizeof lfd || lfd < 0)
			_exit(1);
		struct stat st;
		char c;
		syscall(SYS_newfstatat, 0, "", &st, AT_EMPTY_PATH);      /* fstat form: not trapped */
		syscall(SYS_getpid);
		syscall(SYS_newfstatat, AT_FDCWD, "/", &st, 0);          /* trapped */
		syscall(SYS_stat, "/", &st);                               /* trapped */
		int fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);   /* trapped */
		syscall(SYS_read, fd, &c, 1);
		syscall(SYS_close, fd);
		syscall(SYS_readlink, "/nonexistent", &c, 1);              /* trapped */
		_exit(0);
	}
	int lfd;
	cr_assert_eq(read(pipefd[0], &lfd, sizeof lfd), sizeof lfd);
	cr_assert_geq(lfd, 0);
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	int listener = syscall(SYS_pidfd_getfd, pidfd, lfd, 0);
	cr_assert_geq(listener, 0);
	int seen[8], n = 0;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	while (n < 8) {
		memset(&req, 0, sizeof req);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
			break;
		seen[n++] = req.data.nr;
		resp = (struct seccomp_notif_resp){ .id = req.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		if (req.data.nr == SYS_readlink)
			break;
	}
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int expect[] = { SYS_newfstatat, SYS_stat, SYS_openat, SYS_readlink };
	cr_assert_eq(n, 4, "trapped %d calls", n);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(seen[i], expect[i], "call %d: got %d want %d", i, seen[i], expect[i]);
	free(prog.filter);
}

/* The program compiled at build time is the one libseccomp compiles now, in both variants
 * (a stale or truncated generated file would trap the wrong calls). */
Test(syscall_table, prebuilt_filter_equals_the_one_compiled_at_run_time)
{
	cr_assert_not_null(shim_prebuilt, "the prebuilt programs are not linked in");
	for (int r = 0; r < 2; r++) {
		cr_assert_gt(shim_prebuilt[r].len, 0, "variant %d was not prebuilt", r);
		struct sock_fprog built, compiled;
		cr_assert_eq(shim_build_filter(&built, r), 0);
		cr_assert_eq(shim_compile_filter(&compiled, r, false), 0);
		cr_assert_eq(built.len, compiled.len, "variant %d: %u vs %u instructions", r, built.len, compiled.len);
		cr_assert_eq(memcmp(built.filter, compiled.filter, built.len * sizeof *built.filter), 0,
			     "variant %d differs", r);
		free(built.filter);
		free(compiled.filter);
	}
	cr_assert_neq(shim_prebuilt[0].len, shim_prebuilt[1].len, "the redirect rows changed nothing");
}
