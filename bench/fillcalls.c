/* bench/fillcalls: N look-ups of one kind, started on a byte from standard input, so that bench/run-fill.sh can
 * attach `strace -f -c` to collrun (the supervisor) first and count the system calls the
 * supervisor makes per trapped call (issue 9, "Measure").
 *
 *   fillcalls MODE N DIR
 *
 * DIR holds a regular file `file` and a folder `files/` with f00000 … f(N-1) (run-fill.sh makes
 * them; fillcalls -m N DIR does too). MODE, one call per iteration:
 *   stat-abs    stat("DIR/file")                          a hit, absolute path
 *   stat-rel    chdir(DIR) first, then stat("file")       a hit, relative path
 *   open        openat("DIR/file", O_RDONLY) + close      a served open (close is not trapped)
 *   stat-fill   stat("DIR/files/f%05d"), each name once    a fill of a file that exists
 *   stat-miss   stat("DIR/files/m%05d"), each name once    a fill of a missing name (negative)
 *   open-fill   openat("DIR/files/f%05d") + close, each once   a fill and a served open
 * First it makes one call of the kind on DIR/file (so hits are hits: the cache is warm), prints
 * "fillcalls: ready PID" on standard output and waits for one byte on standard input (read(2)
 * of a pipe or FIFO is not trapped); after the N calls it prints "fillcalls: done MODE N". Every call's result is checked: a wrong one exits 1
 * before anything is counted as done. N = 0 measures what the start and the exit cost. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what, const char *path)
{
	fprintf(stderr, "fillcalls: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void do_stat(const char *path, int want_errno)
{
	struct stat st;
	int r = stat(path, &st);
	if (want_errno ? (r == 0 || errno != want_errno) : r != 0)
		die("stat", path);
}

static void do_open(const char *path)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || close(fd) < 0)
		die("open", path);
}

static int make_files(long n, const char *dir)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/files", dir);
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("mkdir", p);
	snprintf(p, sizeof p, "%s/file", dir);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "fillcalls\n", 10) != 10 || close(fd) < 0)
		die("create", p);
	for (long i = 0; i < n; i++) {
		snprintf(p, sizeof p, "%s/files/f%05ld", dir, i);
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || close(fd) < 0)
			die("create", p);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "-m") == 0)
		return make_files(atol(argv[2]), argv[3]);
	if (argc != 4) {
		fprintf(stderr, "usage: fillcalls stat-abs|stat-rel|open|stat-fill|stat-miss|open-fill N DIR\n"
				"       fillcalls -m N DIR    (make DIR/file and DIR/files/f00000 …)\n");
		return 2;
	}
	const char *mode = argv[1], *dir = argv[3];
	long n = atol(argv[2]);
	if (n < 0 || n > 99999 || strlen(dir) > 3000)
		return fprintf(stderr, "fillcalls: N must be 0..99999, DIR shorter than 3000\n"), 2;
	/* Page-aligned, so that reading a path never crosses a page: the supervisor reads the
	 * caller's memory page by page, and a path on a page boundary costs it one more
	 * process_vm_readv — with the stack's random placement, a different count each run. */
	static char file[4096] __attribute__((aligned(4096))), p[4096] __attribute__((aligned(4096)));
	snprintf(file, sizeof file, "%s/file", dir);
	const char *fmt = NULL;   /* distinct names for the fill modes */
	int kind;                 /* 0 stat, 1 open */
	int want = 0;
	if (!strcmp(mode, "stat-abs"))
		kind = 0;
	else if (!strcmp(mode, "stat-rel")) {
		if (chdir(dir) < 0)
			die("chdir", dir);
		snprintf(file, sizeof file, "file");
		kind = 0;
	} else if (!strcmp(mode, "open"))
		kind = 1;
	else if (!strcmp(mode, "stat-fill"))
		kind = 0, fmt = "%s/files/f%05ld";
	else if (!strcmp(mode, "stat-miss"))
		kind = 0, fmt = "%s/files/m%05ld", want = ENOENT;
	else if (!strcmp(mode, "open-fill"))
		kind = 1, fmt = "%s/files/f%05ld";
	else
		return fprintf(stderr, "fillcalls: unknown mode %s\n", mode), 2;

	if (kind == 0)
		do_stat(file, 0);   /* warm: hits find the entry filled */
	else
		do_open(file);
	printf("fillcalls: ready %d\n", (int)getpid());
	fflush(stdout);
	char go;
	if (read(0, &go, 1) != 1)
		return fprintf(stderr, "fillcalls: no start byte on standard input\n"), 1;
	for (long i = 0; i < n; i++) {
		const char *path = file;
		if (fmt) {
			snprintf(p, sizeof p, fmt, dir, i);
			path = p;
		}
		if (kind == 0)
			do_stat(path, want);
		else
			do_open(path);
	}
	printf("fillcalls: done %s %ld\n", mode, n);
	return 0;
}
