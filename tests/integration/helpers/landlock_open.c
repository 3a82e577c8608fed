/* Test helper (namespaces.sh): Landlock takes file reads away from a process without
 * changing anything /proc/PID/status shows. Opens FILE, restricts itself with a ruleset
 * that handles LANDLOCK_ACCESS_FS_READ_FILE and grants nothing, then opens FILE again:
 * natively the second open fails with EACCES, and so must it under collrun.
 * Usage: landlock_open FILE | landlock_open --abi (prints the ABI version, or "none") */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void try_open(const char *what, const char *path)
{
	char buf[256];
	errno = 0;
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("%s: open = -1 %s\n", what, strerrorname_np(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf);
	printf("%s: open ok, read %zd bytes\n", what, n);
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (!strcmp(argv[1], "--abi")) {
		if (abi < 1)
			printf("none (%s)\n", strerror(errno));
		else
			printf("%ld\n", abi);
		return 0;
	}
	if (abi < 1)
		return fprintf(stderr, "landlock_open: no Landlock: %s\n", strerror(errno)), 3;
	try_open("before landlock_restrict_self", argv[1]);
	struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE };
	int rs = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
	if (rs < 0)
		return perror("landlock_create_ruleset"), 3;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return perror("PR_SET_NO_NEW_PRIVS"), 3;
	if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
		return perror("landlock_restrict_self"), 3;
	close(rs);
	try_open("after landlock_restrict_self (reads not allowed)", argv[1]);
	try_open("again", argv[1]);
	struct stat st;
	printf("stat (not restricted by Landlock): %s\n", stat(argv[1], &st) == 0 ? "ok" : strerrorname_np(errno));
	return 0;
}
