/* probe.c — the differential probe for collrun (tests/diff/run-diff.sh).
 * Usage: probe SCENARIO FIXTUREDIR | probe --list
 * Runs one named scenario of file look-ups against the fixture tree made by fixture.sh and
 * prints one line per call: the call, its arguments (fixture paths printed relative), the
 * result and errno name. Run natively and under collrun, the output must be identical.
 * Look-ups use raw syscall() so that exactly the system call under test is made. Never
 * printed: atime, ctime, and dev/ino/nlink of opened descriptors (a served fd is a memfd).
 * --list prints "name flags" (run-diff.sh acts on them):
 * s = serves: the same look-up of an unchanged fixture path is made more than once, with no
 *     event between that may legitimately drop it (a mutation of that path, a namespace or
 *     credential change), so collrun must answer some call from its cache: hits > 0
 *     (served= in --stats-file), not only fills;
 * f = fills: fixture paths are looked up, but each (call, path) once or only around
 *     mutations and namespace changes, so only served+filled > 0 is required;
 * r = means something only as root (mount, chroot, set*id): not run in the uid-65534 pass,
 * m = mutates the fixture (ino/mtime/btime hidden: the fixture is recreated per run),
 * h = helper, not run on its own, k = differs by design when served from a memfd copy
 * (--data=memfd: reported as SKIP when it differs; must match otherwise),
 * e = may differ only by EINTR from a signal that arrives before collrun receives the call
 * (documented; every other result must match), t = a timer signal every 100 us while the
 * look-ups run: under the ptrace backend each signal costs a stop more than each call,
 * which starves the program's own loop for minutes (collrun(1), BACKENDS): not run in the
 * traced passes. x86_64 only (uses SYS_open, SYS_stat, ...). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dlfcn.h>
#include <link.h>
#ifndef SYS_open
#error "probe.c needs the x86_64 system calls (SYS_open, SYS_stat, ...)"
#endif

static const char *FIX;    /* absolute fixture directory */
static char *ARGV0;
static int g_mut;          /* mutating scenario: hide ino, mtime, btime */

/* ---- helpers ------------------------------------------------------------------------ */
static const char *A(const char *rel) /* absolute path of a fixture entry (ring of 8) */
{
	static __thread char ring[8][PATH_MAX + 64]; /* per thread: s_threads */
	static __thread int n;
	char *b = ring[n++ & 7];
	snprintf(b, sizeof ring[0], "%s/%s", FIX, rel);
	return b;
}

static const char *en(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static void relfix(const char *s, size_t n) /* print s, with the fixture prefix as <FIX> */
{
	size_t fl = strlen(FIX);
	if (n >= fl && !memcmp(s, FIX, fl)) {
		fputs("<FIX>", stdout);
		s += fl, n -= fl;
	}
	fwrite(s, 1, n, stdout);
}

static void report(long r, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(long r, int e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (r < 0)
		printf(" = %ld %s\n", r, en(e));
	else
		printf(" = %ld\n", r);
}
/* C(expression, "description", ...): evaluate, print "description = result [ERRNO]". */
#define C(expr, ...) ({ errno = 0; long r_ = (long)(expr); int e_ = errno; report(r_, e_, __VA_ARGS__); r_; })

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	while (n--)
		h = (h ^ *c++) * 16777619u;
	return h;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *ftype(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFCHR: return "chr";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	default: return "other";
	}
}

static void pst(const struct stat *s) /* stat of a path: every stable field */
{
	printf("  st mode=0%o size=%lld nlink=%lu uid=%u gid=%u blocks=%lld blksize=%ld",
	       s->st_mode, (long long)s->st_size, (unsigned long)s->st_nlink, s->st_uid,
	       s->st_gid, (long long)s->st_blocks, (long)s->st_blksize);
	if (!g_mut)
		printf(" mtime=%lld.%09ld dev=%#lx ino=%lu", (long long)s->st_mtim.tv_sec,
		       s->st_mtim.tv_nsec, (unsigned long)s->st_dev, (unsigned long)s->st_ino);
	printf("\n");
}

static void pstx(const struct statx *x)
{
	printf("  stx mask=%#x attr=%#llx attr_mask=%#llx mode=0%o size=%llu nlink=%u uid=%u "
	       "gid=%u blocks=%llu blksize=%u", x->stx_mask, (unsigned long long)x->stx_attributes,
	       (unsigned long long)x->stx_attributes_mask, x->stx_mode,
	       (unsigned long long)x->stx_size, x->stx_nlink, x->stx_uid, x->stx_gid,
	       (unsigned long long)x->stx_blocks, x->stx_blksize);
	if (x->stx_mask & STATX_MNT_ID)
		printf(" mnt_id=%llu", (unsigned long long)x->stx_mnt_id);
	if (x->stx_mask & STATX_DIOALIGN)
		printf(" dio=%u/%u", x->stx_dio_mem_align, x->stx_dio_offset_align);
	if (!g_mut) {
		printf(" mtime=%lld.%09u dev=%u:%u ino=%llu", (long long)x->stx_mtime.tv_sec,
		       x->stx_mtime.tv_nsec, x->stx_dev_major, x->stx_dev_minor,
		       (unsigned long long)x->stx_ino);
		if (x->stx_mask & STATX_BTIME)
			printf(" btime=%lld.%09u", (long long)x->stx_btime.tv_sec, x->stx_btime.tv_nsec);
	}
	printf("\n");
}

static void fdstat(int fd) /* fstat of an opened fd: type, permission bits and size only */
{
	struct stat s;
	if (fstat(fd, &s))
		printf("  fstat = -1 %s\n", en(errno));
	else
		printf("  fstat type=%s perm=%04o size=%lld\n", ftype(s.st_mode), s.st_mode & 07777,
		       (long long)s.st_size);
}

static void readsum(int fd, size_t chunk) /* read to EOF, print length and checksum */
{
	static char buf[1 << 16];
	long long len = 0;
	uint32_t h = 2166136261u;
	ssize_t n;
	if (chunk > sizeof buf)
		chunk = sizeof buf;
	while ((n = read(fd, buf, chunk)) > 0)
		h = fnv(h, buf, n), len += n;
	if (n < 0)
		printf("  read error %s after %lld\n", en(errno), len);
	else
		printf("  read len=%lld fnv=%08x\n", len, h);
}

static void fdshow(long fd) /* after a successful open: fstat, read if regular, close */
{
	struct stat s;
	if (fd < 0)
		return;
	fdstat(fd);
	if (!fstat(fd, &s) && S_ISREG(s.st_mode))
		readsum(fd, 65536);
	close(fd);
}

static void rl(long r, const char *buf)
{
	if (r >= 0) {
		printf("  -> \"");
		relfix(buf, r);
		printf("\"\n");
	}
}

static long o2(int dfd, const char *p, unsigned long long fl, unsigned long long res)
{
	struct open_how h = { .flags = fl, .resolve = res };
	return syscall(SYS_openat2, dfd, p, &h, sizeof h);
}

/* Every trapped look-up on one path (l = label printed, p = path used). */
static void battery(const char *l, const char *p)
{
	struct stat st;
	struct statx sx;
	char buf[256];
	fdshow(C(syscall(SYS_open, p, O_RDONLY), "open(%s, O_RDONLY)", l));
	fdshow(C(syscall(SYS_openat, AT_FDCWD, p, O_RDONLY), "openat(AT_FDCWD, %s, O_RDONLY)", l));
	fdshow(C(o2(AT_FDCWD, p, O_RDONLY, 0), "openat2(AT_FDCWD, %s, O_RDONLY)", l));
	if (!C(syscall(SYS_stat, p, &st), "stat(%s)", l))
		pst(&st);
	if (!C(syscall(SYS_lstat, p, &st), "lstat(%s)", l))
		pst(&st);
	if (!C(syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0), "newfstatat(AT_FDCWD, %s, 0)", l))
		pst(&st);
	if (!C(syscall(SYS_newfstatat, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW),
	       "newfstatat(AT_FDCWD, %s, AT_SYMLINK_NOFOLLOW)", l))
		pst(&st);
	if (!C(syscall(SYS_statx, AT_FDCWD, p, 0, STATX_BASIC_STATS, &sx),
	       "statx(AT_FDCWD, %s, 0, BASIC)", l))
		pstx(&sx);
	if (!C(syscall(SYS_statx, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx),
	       "statx(AT_FDCWD, %s, AT_SYMLINK_NOFOLLOW, BASIC|BTIME)", l))
		pstx(&sx);
	C(syscall(SYS_access, p, F_OK), "access(%s, F_OK)", l);
	C(syscall(SYS_access, p, R_OK), "access(%s, R_OK)", l);
	C(syscall(SYS_access, p, W_OK), "access(%s, W_OK)", l);
	C(syscall(SYS_access, p, X_OK), "access(%s, X_OK)", l);
	C(syscall(SYS_faccessat, AT_FDCWD, p, R_OK), "faccessat(AT_FDCWD, %s, R_OK)", l);
	C(syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, AT_EACCESS), "faccessat2(AT_FDCWD, %s, R_OK, AT_EACCESS)", l);
	C(syscall(SYS_faccessat2, AT_FDCWD, p, F_OK, AT_SYMLINK_NOFOLLOW),
	  "faccessat2(AT_FDCWD, %s, F_OK, AT_SYMLINK_NOFOLLOW)", l);
	rl(C(syscall(SYS_readlink, p, buf, sizeof buf), "readlink(%s, 256)", l), buf);
	rl(C(syscall(SYS_readlinkat, AT_FDCWD, p, buf, sizeof buf), "readlinkat(AT_FDCWD, %s, 256)", l), buf);
}
#define BAT(rel) battery(rel, A(rel))

static void sstat(const char *rel) /* stat one fixture path and show it */
{
	struct stat st;
	if (!C(syscall(SYS_stat, A(rel), &st), "stat(%s)", rel))
		pst(&st);
}

static void openread(const char *rel)
{
	fdshow(C(syscall(SYS_open, A(rel), O_RDONLY), "open(%s, O_RDONLY)", rel));
}

/* ---- scenarios ---------------------------------------------------------------------- */
static void s_basic(void)
{
	const char *p[] = { "small.txt", "empty", "medium.txt", "large.txt", "page-plus-one",
			    "exec.sh", "d1", "d1/d2/d3/deep.txt", "name with space.txt", "linked.txt",
			    "linked-hard", "missing", "d1/missing", "missing-dir/x", ".", "" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		BAT(p[i]);
	battery("\"\" (empty string)", "");
}

/* statx masks and flags: one cached answer must not stand in for another request */
static void s_statx(void)
{
	struct { unsigned m; const char *n; } mk[] = {
		{ 0, "0" }, { STATX_SIZE, "SIZE" }, { STATX_TYPE | STATX_MODE, "TYPE|MODE" },
		{ STATX_ALL | STATX_DIOALIGN, "ALL|DIOALIGN" }, { STATX_MNT_ID, "MNT_ID" },
		{ 0x40000000, "0x40000000" }, { 0x80000000u, "RESERVED" } };
	struct { int f; const char *n; } fl[] = {
		{ 0, "0" }, { AT_STATX_FORCE_SYNC, "FORCE_SYNC" }, { AT_STATX_DONT_SYNC, "DONT_SYNC" },
		{ AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, "FORCE|DONT_SYNC" }, { AT_NO_AUTOMOUNT, "NO_AUTOMOUNT" },
		{ 0x8000000, "0x8000000" } };
	const char *p[] = { "small.txt", "d1", "chain-a", "missing", "empty" };
	struct statx sx;
	struct stat st;
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		for (size_t m = 0; m < sizeof mk / sizeof *mk; m++)
			if (!C(syscall(SYS_statx, AT_FDCWD, A(p[i]), 0, mk[m].m, &sx), "statx(%s, 0, %s)", p[i], mk[m].n))
				pstx(&sx);
		for (size_t f = 0; f < sizeof fl / sizeof *fl; f++)
			if (!C(syscall(SYS_statx, AT_FDCWD, A(p[i]), fl[f].f, STATX_BASIC_STATS, &sx), "statx(%s, %s, BASIC)", p[i], fl[f].n))
				pstx(&sx);
		C(syscall(SYS_newfstatat, AT_FDCWD, A(p[i]), &st, 0x1), "newfstatat(%s, flags=0x1)", p[i]);
		if (!C(syscall(SYS_newfstatat, AT_FDCWD, A(p[i]), &st, AT_NO_AUTOMOUNT), "newfstatat(%s, AT_NO_AUTOMOUNT)", p[i]))
			pst(&st);
	}
}

static void s_notdir(void)
{
	const char *p[] = { "small.txt/x", "small.txt/", "small.txt/.", "small.txt/..", "notdir/x",
			    "notdir/", "d1/../small.txt", "d1/./d2/../d2//d3/deep.txt", "dangling/x",
			    "d1/d2/d3/deep.txt/", "d1/", "chain-a/", "chain-a/." };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		BAT(p[i]);
}

static void s_eloop(void)
{
	const char *p[] = { "loop1", "loop2", "self", "loop1/x", "self/", "deep0", "deep1", "deep40" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		BAT(p[i]);
}

static void s_symlinks(void)
{
	const char *p[] = { "chain-a", "chain-b", "chain-c", "abslink", "uplink", "dirlink",
			    "dirlink/", "dirlink/d2/d3/deep.txt", "dangling", "dangling/", "tmplink",
			    "d3link/../sibling.txt", "d3link/../../d2/d3/deep.txt", "longtarget", "longtarget2",
			    "nl\nname" };
	char buf[64];
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		BAT(p[i]);
	/* readlink buffer sizes: bytes past the returned length must stay untouched */
	size_t sizes[] = { 1, 3, 7, 8, 63, 0, (size_t)-1, (size_t)INT_MAX + 1 };
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		memset(buf, '#', sizeof buf);
		long r = C(syscall(SYS_readlink, A("chain-a"), buf, sizes[i]), "readlink(chain-a, bufsiz=%zd)", (ssize_t)sizes[i]);
		if (r >= 0)
			printf("  -> \"%.*s\" next byte=%c\n", (int)r, buf, buf[r]);
		memset(buf, '#', sizeof buf);
		r = C(syscall(SYS_readlinkat, AT_FDCWD, A("chain-a"), buf, sizes[i]),
		      "readlinkat(AT_FDCWD, chain-a, bufsiz=%zd)", (ssize_t)sizes[i]);
		if (r >= 0)
			printf("  -> \"%.*s\" next byte=%c\n", (int)r, buf, buf[r]);
	}
}

static void s_dirfd(void)
{
	struct stat st;
	struct statx sx;
	char buf[256];
	int dfd = C(open(FIX, O_RDONLY | O_DIRECTORY), "open(<FIX>, O_RDONLY|O_DIRECTORY)");
	int d1 = C(openat(dfd, "d1", O_RDONLY | O_DIRECTORY), "openat(<FIX>, d1, O_DIRECTORY)");
	int op = C(syscall(SYS_open, A("d1"), O_PATH), "open(d1, O_PATH)");
	int ff = C(syscall(SYS_open, A("small.txt"), O_RDONLY), "open(small.txt, O_RDONLY)");
	const char *rel[] = { "small.txt", "d1/d2/d3/deep.txt", "../fixture/small.txt", "missing",
			      "chain-a", "dirlink/d2", "." };
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
		fdshow(C(syscall(SYS_openat, dfd, rel[i], O_RDONLY), "openat(<FIX>, %s)", rel[i]));
		fdshow(C(o2(dfd, rel[i], O_RDONLY, 0), "openat2(<FIX>, %s)", rel[i]));
		if (!C(syscall(SYS_newfstatat, dfd, rel[i], &st, 0), "newfstatat(<FIX>, %s, 0)", rel[i]))
			pst(&st);
		if (!C(syscall(SYS_newfstatat, dfd, rel[i], &st, AT_SYMLINK_NOFOLLOW), "newfstatat(<FIX>, %s, NOFOLLOW)", rel[i]))
			pst(&st);
		if (!C(syscall(SYS_statx, dfd, rel[i], 0, STATX_BASIC_STATS, &sx), "statx(<FIX>, %s)", rel[i]))
			pstx(&sx);
		C(syscall(SYS_faccessat, dfd, rel[i], R_OK), "faccessat(<FIX>, %s, R_OK)", rel[i]);
		C(syscall(SYS_faccessat2, dfd, rel[i], X_OK, AT_EACCESS), "faccessat2(<FIX>, %s, X_OK, AT_EACCESS)", rel[i]);
		rl(C(syscall(SYS_readlinkat, dfd, rel[i], buf, sizeof buf), "readlinkat(<FIX>, %s)", rel[i]), buf);
	}
	fdshow(C(syscall(SYS_openat, d1, "d2/d3/deep.txt", O_RDONLY), "openat(d1, d2/d3/deep.txt)"));
	fdshow(C(syscall(SYS_openat, d1, "../small.txt", O_RDONLY), "openat(d1, ../small.txt)"));
	fdshow(C(syscall(SYS_openat, op, "d2/d3/deep.txt", O_RDONLY), "openat(O_PATH d1, d2/d3/deep.txt)"));
	if (!C(syscall(SYS_newfstatat, op, "d2", &st, 0), "newfstatat(O_PATH d1, d2, 0)"))
		pst(&st);
	C(syscall(SYS_openat, ff, "x", O_RDONLY), "openat(file fd, x)");
	C(syscall(SYS_newfstatat, ff, "x", &st, 0), "newfstatat(file fd, x)");
	C(syscall(SYS_faccessat, ff, "x", F_OK), "faccessat(file fd, x)");
	C(syscall(SYS_readlinkat, ff, "x", buf, sizeof buf), "readlinkat(file fd, x)");
	C(syscall(SYS_openat, 999, "small.txt", O_RDONLY), "openat(999, small.txt)");
	C(syscall(SYS_newfstatat, -5, "small.txt", &st, 0), "newfstatat(-5, small.txt)");
	C(syscall(SYS_statx, 999, "small.txt", 0, STATX_BASIC_STATS, &sx), "statx(999, small.txt)");
	C(syscall(SYS_faccessat2, 999, "small.txt", R_OK, 0), "faccessat2(999, small.txt)");
	C(syscall(SYS_readlinkat, 999, "chain-a", buf, sizeof buf), "readlinkat(999, chain-a)");
	fdshow(C(syscall(SYS_openat, 999, A("small.txt"), O_RDONLY), "openat(999, /abs/small.txt)"));
	if (!C(syscall(SYS_newfstatat, -5, A("small.txt"), &st, 0), "newfstatat(-5, /abs/small.txt)"))
		pst(&st);
	/* empty path with AT_EMPTY_PATH on a directory fd (NULL allowed since Linux 6.11) */
	if (!C(syscall(SYS_newfstatat, dfd, "", &st, AT_EMPTY_PATH), "newfstatat(<FIX>, \"\", AT_EMPTY_PATH)"))
		pst(&st);
	C(syscall(SYS_newfstatat, dfd, "", &st, 0), "newfstatat(<FIX>, \"\", 0)");
	C(syscall(SYS_statx, dfd, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), "statx(<FIX>, NULL, AT_EMPTY_PATH)");
	C(syscall(SYS_statx, dfd, NULL, 0, STATX_BASIC_STATS, &sx), "statx(<FIX>, NULL, 0)");
	C(syscall(SYS_faccessat2, dfd, "", R_OK, AT_EMPTY_PATH), "faccessat2(<FIX>, \"\", R_OK, AT_EMPTY_PATH)");
	close(dfd), close(d1), close(op), close(ff);
}

static void s_cwd(void)
{
	char buf[PATH_MAX];
	struct stat st;
	C(chdir(FIX), "chdir(<FIX>)");
	const char *rel[] = { "small.txt", "./d1/../small.txt", "chain-a", "d1", "..", "missing" };
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++)
		battery(rel[i], rel[i]);
	C(chdir("d1/d2"), "chdir(d1/d2)");
	const char *rel2[] = { "../../small.txt", "..", ".", "d3/deep.txt", "../../chain-a", "../../../fixture/empty" };
	for (size_t i = 0; i < sizeof rel2 / sizeof *rel2; i++)
		battery(rel2[i], rel2[i]);
	int d1 = C(open(A("d1"), O_RDONLY | O_DIRECTORY), "open(d1, O_DIRECTORY)");
	C(fchdir(d1), "fchdir(d1)");
	battery("d2/d3/deep.txt", "d2/d3/deep.txt");
	close(d1);
	C(chdir(A("dirlink")), "chdir(dirlink)");
	if (getcwd(buf, sizeof buf)) {
		printf("getcwd -> ");
		relfix(buf, strlen(buf));
		printf("\n");
	}
	if (!C(syscall(SYS_stat, "..", &st), "stat(..) [physical parent of d1]"))
		pst(&st);
	battery("d2/../../small.txt", "d2/../../small.txt");
}

static void s_nofollow(void)
{
	const char *p[] = { "chain-a", "small.txt", "dangling", "dirlink", "dirlink/", "self", "d1" };
	char buf[64];
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		fdshow(C(syscall(SYS_open, A(p[i]), O_RDONLY | O_NOFOLLOW), "open(%s, O_NOFOLLOW)", p[i]));
		fdshow(C(syscall(SYS_openat, AT_FDCWD, A(p[i]), O_RDONLY | O_NOFOLLOW), "openat(%s, O_NOFOLLOW)", p[i]));
		fdshow(C(o2(AT_FDCWD, A(p[i]), O_RDONLY | O_NOFOLLOW, 0), "openat2(%s, O_NOFOLLOW)", p[i]));
		fdshow(C(o2(AT_FDCWD, A(p[i]), O_RDONLY, RESOLVE_NO_SYMLINKS), "openat2(%s, RESOLVE_NO_SYMLINKS)", p[i]));
		int fd = C(syscall(SYS_open, A(p[i]), O_PATH | O_NOFOLLOW), "open(%s, O_PATH|O_NOFOLLOW)", p[i]);
		if (fd >= 0) {
			fdstat(fd);
			rl(C(syscall(SYS_readlinkat, fd, "", buf, sizeof buf), "  readlinkat(fd, \"\")"), buf);
			close(fd);
		}
	}
	fdshow(C(o2(AT_FDCWD, A("d1/d2/d3/deep.txt"), O_RDONLY, RESOLVE_NO_SYMLINKS), "openat2(d1/d2/d3/deep.txt, RESOLVE_NO_SYMLINKS)"));
	fdshow(C(o2(AT_FDCWD, A("dirlink/d2/d3/deep.txt"), O_RDONLY, RESOLVE_NO_SYMLINKS), "openat2(dirlink/d2/d3/deep.txt, RESOLVE_NO_SYMLINKS)"));
}

static void s_directory(void)
{
	const char *p[] = { "small.txt", "d1", "dirlink", "chain-a", "missing", "empty", "d1/d2/" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		fdshow(C(syscall(SYS_open, A(p[i]), O_RDONLY | O_DIRECTORY), "open(%s, O_DIRECTORY)", p[i]));
		fdshow(C(o2(AT_FDCWD, A(p[i]), O_RDONLY | O_DIRECTORY, 0), "openat2(%s, O_DIRECTORY)", p[i]));
		fdshow(C(syscall(SYS_open, A(p[i]), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), "open(%s, O_DIRECTORY|O_NOFOLLOW)", p[i]));
		fdshow(C(syscall(SYS_open, A(p[i]), O_WRONLY | O_DIRECTORY), "open(%s, O_WRONLY|O_DIRECTORY)", p[i]));
	}
	C(syscall(SYS_open, A("d1"), O_WRONLY), "open(d1, O_WRONLY)");
	C(syscall(SYS_open, A("d1"), O_RDWR), "open(d1, O_RDWR)");
	/* a directory's entries, sorted */
	DIR *d = opendir(A("d1"));
	char *names[64];
	int n = 0;
	struct dirent *e;
	while (d && n < 64 && (e = readdir(d)))
		if (asprintf(&names[n], "%s type=%d", e->d_name, e->d_type) > 0)
			n++;
	if (d)
		closedir(d);
	qsort(names, n, sizeof *names, cmpstr);
	for (int i = 0; i < n; i++)
		printf("readdir(d1): %s\n", names[i]), free(names[i]);
	/* read on a directory fd */
	int fd = C(syscall(SYS_open, A("d1"), O_RDONLY), "open(d1, O_RDONLY)");
	char b[4];
	C(read(fd, b, sizeof b), "read(d1 fd)");
	close(fd);
}

static void s_opath(void)
{
	const char *p[] = { "small.txt", "large.txt", "d1", "missing", "chain-a", "secret", "noperm" };
	char b[8];
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		int fd = C(syscall(SYS_open, A(p[i]), O_PATH), "open(%s, O_PATH)", p[i]);
		if (fd < 0)
			continue;
		fdstat(fd);
		C(fcntl(fd, F_GETFL), "  fcntl(F_GETFL)");
		C(read(fd, b, sizeof b), "  read");
		C(syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH), "  faccessat2(fd, \"\", R_OK, AT_EMPTY_PATH)");
		fdshow(C(syscall(SYS_openat, fd, "", O_RDONLY), "  openat(fd, \"\", O_RDONLY)"));
		char proc[64];
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		fdshow(C(syscall(SYS_open, proc, O_RDONLY), "  open(/proc/self/fd/N, O_RDONLY)"));
		close(fd);
	}
	C(syscall(SYS_open, A("small.txt"), O_PATH | O_DIRECTORY), "open(small.txt, O_PATH|O_DIRECTORY)");
}

static void s_openat2(void)
{
	int dfd = C(open(FIX, O_RDONLY | O_DIRECTORY), "open(<FIX>, O_DIRECTORY)");
	struct { const char *p; unsigned long long res; const char *rn; } t[] = {
		{ "small.txt", RESOLVE_BENEATH, "BENEATH" },
		{ "../fixture/small.txt", RESOLVE_BENEATH, "BENEATH" },
		{ "d1/../small.txt", RESOLVE_BENEATH, "BENEATH" },
		{ "abslink", RESOLVE_BENEATH, "BENEATH" },
		{ "uplink", RESOLVE_BENEATH, "BENEATH" },
		{ "chain-a", RESOLVE_BENEATH, "BENEATH" },
		{ "/small.txt", RESOLVE_IN_ROOT, "IN_ROOT" },
		{ "/../../small.txt", RESOLVE_IN_ROOT, "IN_ROOT" },
		{ "abslink", RESOLVE_IN_ROOT, "IN_ROOT" },
		{ "procself/comm", RESOLVE_NO_XDEV, "NO_XDEV" },
		{ "procself/comm", RESOLVE_NO_MAGICLINKS, "NO_MAGICLINKS" },
		{ "small.txt", RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS, "NO_XDEV|NO_MAGICLINKS" },
		{ "chain-a", RESOLVE_NO_SYMLINKS, "NO_SYMLINKS" },
		{ "small.txt", 0x80, "unknown bit 0x80" },
		{ "small.txt", RESOLVE_BENEATH | RESOLVE_IN_ROOT, "BENEATH|IN_ROOT" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		fdshow(C(o2(dfd, t[i].p, O_RDONLY, t[i].res), "openat2(<FIX>, %s, resolve=%s)", t[i].p, t[i].rn));
	fdshow(C(o2(dfd, A("small.txt"), O_RDONLY, RESOLVE_BENEATH), "openat2(<FIX>, /abs/small.txt, BENEATH)"));
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", dfd);
	C(o2(AT_FDCWD, self, O_RDONLY, RESOLVE_NO_MAGICLINKS), "openat2(/proc/self/fd/dfd, NO_MAGICLINKS)");
	struct { struct open_how h; char pad[16]; } big = { { .flags = O_RDONLY }, { 0 } };
	fdshow(C(syscall(SYS_openat2, dfd, "small.txt", &big, sizeof big), "openat2(small.txt, size=40 zero tail)"));
	big.pad[3] = 1;
	C(syscall(SYS_openat2, dfd, "small.txt", &big, sizeof big), "openat2(small.txt, size=40 nonzero tail)");
	C(syscall(SYS_openat2, dfd, "small.txt", &big, 8), "openat2(small.txt, size=8)");
	C(syscall(SYS_openat2, dfd, "small.txt", (void *)1, sizeof big.h), "openat2(small.txt, how=(void*)1)");
	struct open_how h = { .flags = O_RDONLY, .mode = 0644 };
	C(syscall(SYS_openat2, dfd, "small.txt", &h, sizeof h), "openat2(small.txt, O_RDONLY, mode=0644)");
	h = (struct open_how){ .flags = 1ULL << 40 };
	C(syscall(SYS_openat2, dfd, "small.txt", &h, sizeof h), "openat2(small.txt, flags=1<<40)");
	close(dfd);
}

static void s_badptr(void)
{
	struct stat st;
	struct statx sx;
	char buf[64];
	const char *bad = (const char *)1;
	struct open_how h = { .flags = O_RDONLY };
	C(syscall(SYS_open, bad, O_RDONLY), "open((char*)1)");
	C(syscall(SYS_openat, AT_FDCWD, bad, O_RDONLY), "openat((char*)1)");
	C(syscall(SYS_openat2, AT_FDCWD, bad, &h, sizeof h), "openat2((char*)1)");
	C(syscall(SYS_stat, bad, &st), "stat((char*)1)");
	C(syscall(SYS_lstat, bad, &st), "lstat((char*)1)");
	C(syscall(SYS_newfstatat, AT_FDCWD, bad, &st, 0), "newfstatat((char*)1)");
	C(syscall(SYS_statx, AT_FDCWD, bad, 0, STATX_BASIC_STATS, &sx), "statx((char*)1)");
	C(syscall(SYS_access, bad, F_OK), "access((char*)1)");
	C(syscall(SYS_faccessat, AT_FDCWD, bad, F_OK), "faccessat((char*)1)");
	C(syscall(SYS_faccessat2, AT_FDCWD, bad, F_OK, 0), "faccessat2((char*)1)");
	C(syscall(SYS_readlink, bad, buf, sizeof buf), "readlink((char*)1)");
	C(syscall(SYS_readlinkat, AT_FDCWD, bad, buf, sizeof buf), "readlinkat((char*)1)");
	C(syscall(SYS_open, NULL, O_RDONLY), "open(NULL)");
	C(syscall(SYS_stat, NULL, &st), "stat(NULL)");
	/* bad result buffers: the look-up happens first, so a missing path is ENOENT */
	const char *p[] = { "small.txt", "missing", "chain-a", "d1" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		C(syscall(SYS_stat, A(p[i]), (void *)1), "stat(%s, (void*)1)", p[i]);
		C(syscall(SYS_lstat, A(p[i]), (void *)1), "lstat(%s, (void*)1)", p[i]);
		C(syscall(SYS_newfstatat, AT_FDCWD, A(p[i]), (void *)1, 0), "newfstatat(%s, (void*)1)", p[i]);
		C(syscall(SYS_statx, AT_FDCWD, A(p[i]), 0, STATX_BASIC_STATS, (void *)1), "statx(%s, (void*)1)", p[i]);
		C(syscall(SYS_readlink, A(p[i]), (char *)1, 64), "readlink(%s, (char*)1, 64)", p[i]);
		C(syscall(SYS_readlinkat, AT_FDCWD, A(p[i]), (char *)1, 64), "readlinkat(%s, (char*)1, 64)", p[i]);
	}
	/* pages: [rw][none] and [ro]: a path ending at the page end, buffers in read-only memory */
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(m + pg, pg, PROT_NONE);
	const char *abs = A("small.txt");
	size_t n = strlen(abs);
	memcpy(m + pg - n - 1, abs, n + 1);
	fdshow(C(syscall(SYS_open, m + pg - n - 1, O_RDONLY), "open(small.txt NUL at page end)"));
	if (!C(syscall(SYS_stat, m + pg - n - 1, &st), "stat(small.txt NUL at page end)"))
		pst(&st);
	memcpy(m + pg - n, abs, n);
	C(syscall(SYS_open, m + pg - n, O_RDONLY), "open(small.txt, no NUL before unmapped page)");
	C(syscall(SYS_stat, m + pg - n, &st), "stat(small.txt, no NUL before unmapped page)");
	C(syscall(SYS_access, m + pg - n, F_OK), "access(small.txt, no NUL before unmapped page)");
	C(syscall(SYS_readlink, m + pg - n, buf, sizeof buf), "readlink(small.txt, no NUL before unmapped page)");
	C(syscall(SYS_stat, abs, m + pg - 16), "stat(small.txt, buffer straddles unmapped page)");
	C(syscall(SYS_statx, AT_FDCWD, abs, 0, STATX_BASIC_STATS, m + pg - 16), "statx(small.txt, buffer straddles unmapped page)");
	C(syscall(SYS_readlink, A("chain-a"), m + pg - 3, 64), "readlink(chain-a, buffer straddles unmapped page)");
	mprotect(m + 2 * pg, pg, PROT_READ);
	C(syscall(SYS_stat, abs, m + 2 * pg), "stat(small.txt, read-only buffer)");
	C(syscall(SYS_newfstatat, AT_FDCWD, abs, m + 2 * pg, 0), "newfstatat(small.txt, read-only buffer)");
	C(syscall(SYS_statx, AT_FDCWD, abs, 0, STATX_BASIC_STATS, m + 2 * pg), "statx(small.txt, read-only buffer)");
	C(syscall(SYS_readlink, A("chain-a"), m + 2 * pg, 64), "readlink(chain-a, read-only buffer)");
	printf("read-only page still zero: %s\n", m[2 * pg] == 0 && m[2 * pg + 8] == 0 ? "yes" : "no");
	munmap(m, 3 * pg);
}

static void s_longpath(void)
{
	static char p[8192];
	struct stat st;
	char buf[64];
	size_t fl = strlen(FIX);
	/* FIX + "/" + k*"./" + "small.txt" of total length 4095 (fits PATH_MAX) and 4096 (not) */
	for (size_t len = 4094; len <= 4097; len++) {
		size_t pad = len - fl - 1 - strlen("small.txt"), k = fl + 1;
		memcpy(p, FIX, fl);
		p[fl] = '/';
		if (pad % 2) /* odd padding: one extra slash */
			p[k++] = '/';
		for (size_t i = 0; i < pad / 2; i++)
			p[k++] = '.', p[k++] = '/';
		strcpy(p + k, "small.txt");
		fdshow(C(syscall(SYS_open, p, O_RDONLY), "open(<%zu-byte path>)", strlen(p)));
		if (!C(syscall(SYS_stat, p, &st), "stat(<%zu-byte path>)", strlen(p)))
			pst(&st);
		C(syscall(SYS_access, p, R_OK), "access(<%zu-byte path>)", strlen(p));
		C(syscall(SYS_readlink, p, buf, sizeof buf), "readlink(<%zu-byte path>)", strlen(p));
	}
	memset(p, 'n', 300);
	p[300] = 0;
	C(syscall(SYS_stat, p, &st), "stat(<300-byte component>)");
	C(syscall(SYS_open, A(p), O_RDONLY), "open(<FIX>/<300-byte component>)");
	memset(p, 'n', 255);
	p[255] = 0;
	C(syscall(SYS_stat, A(p), &st), "stat(<FIX>/<255-byte component>)");
	memset(p, 'a', 256);
	p[256] = 0;
	C(syscall(SYS_access, A(p), F_OK), "access(<FIX>/<256-byte component>)");
}

static void s_read(void)
{
	const char *p[] = { "small.txt", "empty", "medium.txt", "large.txt", "page-plus-one" };
	size_t chunks[] = { 1, 4096, 65536 };
	char b[32];
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		for (size_t c = 0; c < 3; c++) {
			if (p[i][0] == 'l' && c == 0)
				continue; /* 1-byte reads of 2 MB: too slow, not more telling */
			int fd = C(syscall(SYS_open, A(p[i]), O_RDONLY), "open(%s) chunk=%zu", p[i], chunks[c]);
			readsum(fd, chunks[c]);
			C(read(fd, b, sizeof b), "  read at EOF");
			close(fd);
		}
		int fd = C(syscall(SYS_open, A(p[i]), O_RDONLY), "open(%s)", p[i]);
		off_t end = C(lseek(fd, 0, SEEK_END), "  lseek(0, SEEK_END)");
		off_t offs[] = { 0, end > 0 ? end - 1 : 0, end, end + 10, 4096 };
		for (size_t k = 0; k < 5; k++) {
			long r = C(pread(fd, b, 8, offs[k]), "  pread(8, @%lld)", (long long)offs[k]);
			if (r > 0)
				printf("  -> fnv=%08x\n", fnv(2166136261u, b, r));
		}
		C(lseek(fd, 3, SEEK_SET), "  lseek(3, SEEK_SET)");
		C(lseek(fd, 2, SEEK_CUR), "  lseek(2, SEEK_CUR)");
		C(lseek(fd, -1, SEEK_SET), "  lseek(-1, SEEK_SET)");
		C(write(fd, "x", 1), "  write on O_RDONLY fd");
		C(ftruncate(fd, 0), "  ftruncate on O_RDONLY fd");
		C(fallocate(fd, 0, 0, 4096), "  fallocate on O_RDONLY fd");
		C(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) ? -1 : 0, "  posix_fadvise");
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		C(m == MAP_FAILED ? -1 : 0, "  mmap(PROT_WRITE, MAP_SHARED)");
		if (m != MAP_FAILED)
			munmap(m, 4096);
		close(fd);
	}
}

static void s_sparse(void) /* a file with holes: SEEK_DATA/SEEK_HOLE see them */
{
	int fd = C(syscall(SYS_open, A("sparse"), O_RDONLY), "open(sparse)");
	C(lseek(fd, 0, SEEK_DATA), "  lseek(0, SEEK_DATA)");
	C(lseek(fd, 0, SEEK_HOLE), "  lseek(0, SEEK_HOLE)");
	C(lseek(fd, 1048576, SEEK_HOLE), "  lseek(1M, SEEK_HOLE)");
	C(lseek(fd, 2097152, SEEK_DATA), "  lseek(2M, SEEK_DATA)");
	readsum(fd, 65536);
	close(fd);
}

static void s_offsets(void)
{
	char b[128];
	int a = C(syscall(SYS_open, A("medium.txt"), O_RDONLY), "open(medium.txt) a");
	int b2 = C(syscall(SYS_open, A("medium.txt"), O_RDONLY), "open(medium.txt) b");
	C(read(a, b, 10), "read(a, 10)");
	C(lseek(a, 0, SEEK_CUR), "lseek(a, 0, SEEK_CUR)");
	C(lseek(b2, 0, SEEK_CUR), "lseek(b, 0, SEEK_CUR) [separate open: not shared]");
	int d = C(dup(a), "dup(a)");
	C(read(d, b, 5), "read(dup, 5)");
	C(lseek(a, 0, SEEK_CUR), "lseek(a, 0, SEEK_CUR) [dup shares]");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		ssize_t r = read(a, b, 7);
		_exit(r == 7 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child read 7 from a: exit=%d\n", WEXITSTATUS(status));
	C(lseek(a, 0, SEEK_CUR), "lseek(a, 0, SEEK_CUR) [after child read]");
	C(lseek(b2, 0, SEEK_CUR), "lseek(b, 0, SEEK_CUR)");
	if (C(read(a, b, 4), "read(a, 4)") == 4)
		printf("  -> fnv=%08x\n", fnv(2166136261u, b, 4));
	fflush(stdout);
	pid = fork();
	if (pid == 0) { /* the child opens the file itself: its own offset */
		int c = open(A("medium.txt"), O_RDONLY);
		ssize_t r = read(c, b, 100);
		_exit(r == 100 && lseek(a, 0, SEEK_CUR) == 26 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	printf("child own open read 100, a still at 26: exit=%d\n", WEXITSTATUS(status));
	close(a), close(b2), close(d);
}

/* dlopen & co. without a link-time reference (which would make the static link pull in
 * static dlopen and warn): look them up in the loaded libc.so.6; NULL in a static build. */
struct q { const char *name; void *found; };
static int libc_sym_cb(struct dl_phdr_info *i, size_t sz, void *arg)
{
	(void)sz;
	struct q *q = arg;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	const uint32_t *gh = NULL;
	if (!strstr(i->dlpi_name, "/libc.so.6"))
		return 0;
	for (int k = 0; k < i->dlpi_phnum; k++) {
		if (i->dlpi_phdr[k].p_type != PT_DYNAMIC)
			continue;
		for (const ElfW(Dyn) *d = (void *)(i->dlpi_addr + i->dlpi_phdr[k].p_vaddr); d->d_tag != DT_NULL; d++) {
			ElfW(Addr) a = d->d_un.d_ptr < i->dlpi_addr ? d->d_un.d_ptr + i->dlpi_addr : d->d_un.d_ptr;
			if (d->d_tag == DT_SYMTAB) sym = (void *)a;
			if (d->d_tag == DT_STRTAB) str = (void *)a;
			if (d->d_tag == DT_GNU_HASH) gh = (void *)a;
		}
	}
	if (!sym || !str || !gh)
		return 0;
	const ElfW(Addr) *bloom = (const void *)(gh + 4);
	const uint32_t *buckets = (const void *)(bloom + gh[2]), *chain = buckets + gh[0];
	uint32_t h = 5381;
	for (const unsigned char *c = (const void *)q->name; *c; c++)
		h = h * 33 + *c;
	for (uint32_t n = buckets[h % gh[0]]; n >= gh[1]; n++) {
		uint32_t h2 = chain[n - gh[1]];
		if ((h | 1) == (h2 | 1) && !strcmp(q->name, str + sym[n].st_name) && sym[n].st_value)
			q->found = (void *)(i->dlpi_addr + sym[n].st_value);
		if (q->found || (h2 & 1))
			break;
	}
	return 1;
}

static void *libc_sym(const char *name)
{
	struct q q = { name, NULL };
	dl_iterate_phdr(libc_sym_cb, &q);
	return q.found;
}

static void s_mmap(void)
{
	const char *p[] = { "large.txt", "small.txt", "page-plus-one", "exec.sh" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		int fd = C(syscall(SYS_open, A(p[i]), O_RDONLY | O_CLOEXEC), "open(%s)", p[i]);
		struct stat s;
		fstat(fd, &s);
		size_t len = s.st_size;
		unsigned char *m = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
		if (!C(m == MAP_FAILED ? -1 : 0, "  mmap(%zu, PROT_READ|PROT_EXEC, MAP_PRIVATE)", len))
			printf("  -> fnv=%08x\n", fnv(2166136261u, m, len)), munmap(m, len);
		m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (!C(m == MAP_FAILED ? -1 : 0, "  mmap(PROT_READ|PROT_WRITE, MAP_PRIVATE)")) {
			m[0] ^= 1;
			munmap(m, len);
		}
		m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (!C(m == MAP_FAILED ? -1 : 0, "  mmap(PROT_READ, MAP_SHARED)"))
			printf("  -> fnv=%08x (private write not visible)\n", fnv(2166136261u, m, len)), munmap(m, len);
		C(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1 << 30) == MAP_FAILED ? -1 : 0, "  mmap(offset 1 GiB)");
		close(fd);
	}
	int fd = C(syscall(SYS_open, A("empty"), O_RDONLY), "open(empty)");
	void *e = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	C(e == MAP_FAILED ? -1 : 0, "  mmap(empty, 4096)");
	close(fd);
	void *(*dlopen)(const char *, int) = (void *(*)(const char *, int))libc_sym("dlopen");
	void *(*dlsym)(void *, const char *) = (void *(*)(void *, const char *))libc_sym("dlsym");
	char *(*dlerror)(void) = (char *(*)(void))libc_sym("dlerror");
	int (*dlclose)(void *) = (int (*)(void *))libc_sym("dlclose");
	if (!dlopen || !dlsym || !dlerror || !dlclose) {
		printf("dlopen: not available (static build)\n");
		return;
	}
	void *h = dlopen("libm.so.6", RTLD_NOW);
	printf("dlopen(libm.so.6) %s\n", h ? "ok" : dlerror());
	if (h) {
		double (*cosp)(double) = (double (*)(double))dlsym(h, "cos");
		printf("  cos(0.5)=%.17g\n", cosp ? cosp(0.5) : -1.0);
		dlclose(h);
	}
	h = dlopen("libcollrun-probe-missing.so.1", RTLD_NOW);
	printf("dlopen(libcollrun-probe-missing.so.1) %s\n", h ? "ok?" : dlerror());
	h = dlopen(A("small.txt"), RTLD_NOW);
	if (!h) {
		const char *m = dlerror();
		printf("dlopen(small.txt) ");
		relfix(m, strlen(m));
		printf("\n");
	}
}

static void s_fstat(void)
{
	const char *p[] = { "small.txt", "empty", "large.txt", "exec.sh", "secret", "noperm",
			    "xonly", "d1", "chain-a", "linked-hard" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
		int fd = C(syscall(SYS_open, A(p[i]), O_RDONLY), "open(%s)", p[i]);
		if (fd >= 0)
			fdstat(fd), close(fd);
	}
}

static void s_cloexec(void)
{
	struct { int fl; const char *n; } t[] = {
		{ O_RDONLY, "O_RDONLY" }, { O_RDONLY | O_CLOEXEC, "O_CLOEXEC" },
		{ O_RDONLY | O_NONBLOCK, "O_NONBLOCK" }, { O_RDONLY | O_NOATIME, "O_NOATIME" },
		{ O_RDONLY | O_APPEND, "O_APPEND" }, { O_RDONLY | O_SYNC, "O_SYNC" },
		{ O_RDONLY | O_DSYNC, "O_DSYNC" }, { O_RDONLY | O_DIRECT, "O_DIRECT" },
		{ O_RDONLY | O_LARGEFILE, "O_LARGEFILE" }, { O_RDONLY | O_NOCTTY, "O_NOCTTY" },
		{ O_PATH | O_CLOEXEC, "O_PATH|O_CLOEXEC" }, { O_RDONLY | O_ASYNC, "O_ASYNC" },
		{ O_RDONLY | O_CREAT, "O_CREAT (exists)" }, { O_RDONLY | O_CREAT | O_EXCL, "O_CREAT|O_EXCL (exists)" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		int fd = C(syscall(SYS_open, A("small.txt"), t[i].fl, 0644), "open(small.txt, %s)", t[i].n);
		if (fd < 0)
			continue;
		C(fcntl(fd, F_GETFD), "  F_GETFD");
		printf("  F_GETFL = %#x\n", fcntl(fd, F_GETFL));
		close(fd);
		fd = C(syscall(SYS_openat, AT_FDCWD, A("small.txt"), t[i].fl, 0644), "openat(small.txt, %s)", t[i].n);
		C(fcntl(fd, F_GETFD), "  F_GETFD");
		printf("  F_GETFL = %#x\n", fcntl(fd, F_GETFL));
		close(fd);
		fd = C(o2(AT_FDCWD, A("small.txt"), t[i].fl, 0), "openat2(small.txt, %s)", t[i].n);
		if (fd >= 0) {
			C(fcntl(fd, F_GETFD), "  F_GETFD");
			printf("  F_GETFL = %#x\n", fcntl(fd, F_GETFL));
			close(fd);
		}
	}
	int fd = C(syscall(SYS_open, A("small.txt"), O_RDONLY | O_CLOEXEC), "open(small.txt, O_CLOEXEC)");
	C(fcntl(fd, F_SETFD, 0), "  F_SETFD 0");
	C(fcntl(fd, F_GETFD), "  F_GETFD");
	C(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND), "  F_SETFL O_NONBLOCK|O_APPEND");
	printf("  F_GETFL = %#x\n", fcntl(fd, F_GETFL));
	C(fcntl(fd, F_DUPFD_CLOEXEC, 10), "  F_DUPFD_CLOEXEC 10");
	C(fcntl(10, F_GETFD), "  F_GETFD(10)");
	C(fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_RDLCK }), "  F_SETLK F_RDLCK");
	C(fcntl(fd, F_SETLK, &(struct flock){ .l_type = F_WRLCK }), "  F_SETLK F_WRLCK");
	close(fd), close(10);
}

static void s_exec(void)
{
	char b[5];
	int a = C(syscall(SYS_open, A("small.txt"), O_RDONLY), "open(small.txt)");
	int c = C(syscall(SYS_open, A("medium.txt"), O_RDONLY | O_CLOEXEC), "open(medium.txt, O_CLOEXEC)");
	C(read(a, b, 5), "read(a, 5)");
	printf("exec %s exec-child\n", a == 3 && c == 4 ? "(fds 3, 4)" : "(unexpected fds)");
	fflush(stdout);
	execl("/proc/self/exe", ARGV0, "exec-child", FIX, (char *)NULL);
	printf("execl failed: %s\n", en(errno));
}

static void s_exec_child(void)
{
	C(fcntl(3, F_GETFD), "fcntl(3, F_GETFD)");
	C(lseek(3, 0, SEEK_CUR), "lseek(3, 0, SEEK_CUR)");
	readsum(3, 4096);
	C(fcntl(4, F_GETFD), "fcntl(4, F_GETFD) [was O_CLOEXEC]");
	BAT("chain-a");
}

static void s_mutate(void)
{
	struct stat st;
	char buf[64];
	/* append */
	sstat("mutable/append.txt");
	openread("mutable/append.txt");
	int fd = C(syscall(SYS_open, A("mutable/append.txt"), O_WRONLY | O_APPEND), "open(mutable/append.txt, O_WRONLY|O_APPEND)");
	C(write(fd, "more bytes\n", 11), "write(11)");
	close(fd);
	sstat("mutable/append.txt");
	openread("mutable/append.txt");
	/* create after ENOENT */
	BAT("mutable/new.txt");
	fd = C(syscall(SYS_open, A("mutable/new.txt"), O_WRONLY | O_CREAT | O_EXCL, 0640), "open(mutable/new.txt, O_CREAT|O_EXCL, 0640)");
	C(write(fd, "new\n", 4), "write(4)");
	close(fd);
	BAT("mutable/new.txt");
	C(syscall(SYS_open, A("mutable/new.txt"), O_RDONLY | O_CREAT | O_EXCL, 0640), "open(mutable/new.txt, O_CREAT|O_EXCL) again");
	fdshow(C(syscall(SYS_open, A("mutable/rdcreat.txt"), O_RDONLY | O_CREAT, 0600), "open(mutable/rdcreat.txt, O_RDONLY|O_CREAT)"));
	sstat("mutable/rdcreat.txt");
	/* rename over an existing file */
	sstat("mutable/old.txt");
	sstat("mutable/target.txt");
	openread("mutable/target.txt");
	C(rename(A("mutable/old.txt"), A("mutable/target.txt")), "rename(mutable/old.txt, mutable/target.txt)");
	sstat("mutable/old.txt");
	sstat("mutable/target.txt");
	openread("mutable/target.txt");
	openread("mutable/old.txt");
	/* unlink */
	BAT("mutable/victim.txt");
	C(unlink(A("mutable/victim.txt")), "unlink(mutable/victim.txt)");
	BAT("mutable/victim.txt");
	/* chmod */
	sstat("mutable/chmodme");
	C(syscall(SYS_access, A("mutable/chmodme"), X_OK), "access(mutable/chmodme, X_OK)");
	C(chmod(A("mutable/chmodme"), 0755), "chmod(mutable/chmodme, 0755)");
	sstat("mutable/chmodme");
	C(syscall(SYS_access, A("mutable/chmodme"), X_OK), "access(mutable/chmodme, X_OK)");
	C(chmod(A("mutable/chmodme"), 0), "chmod(mutable/chmodme, 0)");
	sstat("mutable/chmodme");
	C(syscall(SYS_faccessat2, AT_FDCWD, A("mutable/chmodme"), R_OK | X_OK, AT_EACCESS), "faccessat2(mutable/chmodme, R_OK|X_OK, AT_EACCESS)");
	/* explicit times are seen */
	struct timespec ts[2] = { { 1000000000, 0 }, { 1234567890, 123456789 } };
	C(utimensat(AT_FDCWD, A("mutable/chmodme"), ts, 0), "utimensat(mutable/chmodme, mtime=1234567890.123456789)");
	if (!C(syscall(SYS_stat, A("mutable/chmodme"), &st), "stat(mutable/chmodme)"))
		printf("  mtime=%lld.%09ld\n", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	/* truncation: O_WRONLY|O_TRUNC, and O_RDONLY|O_TRUNC (Linux truncates that too) */
	openread("mutable/trunc1.txt");
	fd = C(syscall(SYS_open, A("mutable/trunc1.txt"), O_WRONLY | O_TRUNC), "open(mutable/trunc1.txt, O_WRONLY|O_TRUNC)");
	close(fd);
	sstat("mutable/trunc1.txt");
	openread("mutable/trunc1.txt");
	openread("mutable/trunc2.txt");
	fdshow(C(syscall(SYS_open, A("mutable/trunc2.txt"), O_RDONLY | O_TRUNC), "open(mutable/trunc2.txt, O_RDONLY|O_TRUNC)"));
	sstat("mutable/trunc2.txt");
	C(truncate(A("mutable/trunc1.txt"), 5000), "truncate(mutable/trunc1.txt, 5000)");
	sstat("mutable/trunc1.txt");
	openread("mutable/trunc1.txt");
	/* symlink, mkdir, rmdir after negative look-ups */
	C(syscall(SYS_readlink, A("mutable/newlink"), buf, sizeof buf), "readlink(mutable/newlink)");
	C(symlink("append.txt", A("mutable/newlink")), "symlink(append.txt, mutable/newlink)");
	rl(C(syscall(SYS_readlink, A("mutable/newlink"), buf, sizeof buf), "readlink(mutable/newlink)"), buf);
	sstat("mutable/newlink");
	sstat("mutable/newdir");
	C(mkdir(A("mutable/newdir"), 0750), "mkdir(mutable/newdir, 0750)");
	sstat("mutable/newdir");
	C(rename(A("mutable/append.txt"), A("mutable/newdir/moved.txt")), "rename(mutable/append.txt, mutable/newdir/moved.txt)");
	sstat("mutable/newlink");
	openread("mutable/newdir/moved.txt");
	C(rmdir(A("mutable/newdir")), "rmdir(mutable/newdir)");
	C(unlink(A("mutable/newdir/moved.txt")), "unlink(mutable/newdir/moved.txt)");
	C(rmdir(A("mutable/newdir")), "rmdir(mutable/newdir)");
	sstat("mutable/newdir");
	sstat("mutable/newdir/moved.txt");
	/* replace a directory that was looked up by a file */
	sstat("mutable/dir2file/inner.txt");
	C(unlink(A("mutable/dir2file/inner.txt")), "unlink(mutable/dir2file/inner.txt)");
	C(rmdir(A("mutable/dir2file")), "rmdir(mutable/dir2file)");
	fd = C(syscall(SYS_open, A("mutable/dir2file"), O_WRONLY | O_CREAT, 0644), "creat(mutable/dir2file)");
	close(fd);
	sstat("mutable/dir2file");
	sstat("mutable/dir2file/inner.txt");
	/* a child process changes a file; the parent sees it */
	openread("mutable/bychild.txt");
	fflush(stdout);
	if (fork() == 0) {
		int c = open(A("mutable/bychild.txt"), O_WRONLY | O_TRUNC);
		_exit(write(c, "changed by child\n", 17) == 17 ? 0 : 1);
	}
	wait(NULL);
	sstat("mutable/bychild.txt");
	openread("mutable/bychild.txt");
	/* hard link */
	C(link(A("mutable/bychild.txt"), A("mutable/hard")), "link(mutable/bychild.txt, mutable/hard)");
	sstat("mutable/bychild.txt");
	openread("mutable/hard");
}

/* changes made under another name, or through a descriptor collrun never saw opened */
static void s_mutate_alias(void)
{
	char proc[64];
	sstat("mutable/alias-a");
	sstat("mutable/symalias");
	openread("mutable/alias-a");
	int fd = C(syscall(SYS_open, A("mutable/alias-b"), O_WRONLY | O_APPEND), "open(mutable/alias-b [hard link of alias-a], O_APPEND)");
	C(write(fd, "via b\n", 6), "write(6)");
	close(fd);
	sstat("mutable/alias-a");
	sstat("mutable/symalias");
	openread("mutable/alias-a");
	fd = C(syscall(SYS_open, A("mutable/symalias"), O_WRONLY | O_APPEND), "open(mutable/symalias, O_APPEND)");
	C(write(fd, "via symlink\n", 12), "write(12)");
	close(fd);
	sstat("mutable/alias-b");
	openread("mutable/alias-b");
	/* creat(2) is not in the trapped list */
	sstat("mutable/creatme");
	openread("mutable/creatme");
	fd = C(syscall(SYS_creat, A("mutable/creatme"), 0644), "creat(mutable/creatme)");
	C(write(fd, "xy\n", 3), "write(3)");
	close(fd);
	sstat("mutable/creatme");
	openread("mutable/creatme");
	/* reopen an O_PATH descriptor for writing through /proc/self/fd */
	sstat("mutable/viaproc");
	openread("mutable/viaproc");
	int op = C(syscall(SYS_open, A("mutable/viaproc"), O_PATH), "open(mutable/viaproc, O_PATH)");
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", op);
	fd = C(syscall(SYS_open, proc, O_WRONLY | O_APPEND), "open(/proc/self/fd/N, O_WRONLY|O_APPEND)");
	C(write(fd, "via proc\n", 9), "write(9)");
	close(fd), close(op);
	sstat("mutable/viaproc");
	openread("mutable/viaproc");
	/* renameat2 RENAME_EXCHANGE swaps two cached files */
	openread("mutable/swap1");
	openread("mutable/swap2");
	C(syscall(SYS_renameat2, AT_FDCWD, A("mutable/swap1"), AT_FDCWD, A("mutable/swap2"), RENAME_EXCHANGE),
	  "renameat2(mutable/swap1, mutable/swap2, RENAME_EXCHANGE)");
	openread("mutable/swap1");
	openread("mutable/swap2");
	sstat("mutable/swap1");
	/* a symlink replaced by rename */
	char buf[64];
	rl(C(syscall(SYS_readlink, A("mutable/flip"), buf, sizeof buf), "readlink(mutable/flip)"), buf);
	openread("mutable/flip");
	C(symlink("swap1", A("mutable/flip.new")), "symlink(swap1, mutable/flip.new)");
	C(rename(A("mutable/flip.new"), A("mutable/flip")), "rename(mutable/flip.new, mutable/flip)");
	rl(C(syscall(SYS_readlink, A("mutable/flip"), buf, sizeof buf), "readlink(mutable/flip)"), buf);
	openread("mutable/flip");
}

/* the current directory is renamed, replaced and removed while relative look-ups go on */
static void s_cwd_moves(void)
{
	char buf[PATH_MAX];
	C(chdir(A("mutable/cwdir")), "chdir(mutable/cwdir)");
	battery("f", "f");
	C(rename(A("mutable/cwdir"), A("mutable/cwdir2")), "rename(mutable/cwdir, mutable/cwdir2)");
	battery("f", "f");
	C(mkdir(A("mutable/cwdir"), 0755), "mkdir(mutable/cwdir)");
	C(close(open(A("mutable/cwdir/g"), O_WRONLY | O_CREAT, 0644)), "creat(mutable/cwdir/g)");
	battery("f", "f");
	battery("g", "g");
	if (getcwd(buf, sizeof buf))
		printf("getcwd -> "), relfix(buf, strlen(buf)), printf("\n");
	C(unlink(A("mutable/cwdir2/f")), "unlink(mutable/cwdir2/f)");
	C(rmdir(A("mutable/cwdir2")), "rmdir(mutable/cwdir2)");
	battery("f", "f");
	battery(".", ".");
	battery("..", "..");
	C(syscall(SYS_open, "new", O_WRONLY | O_CREAT, 0644), "open(new, O_CREAT) in removed cwd");
}

/* A private mount name space: what a cached path names changes under the job's feet. */
static void s_mountns(void)
{
	if (geteuid() != 0) {
		printf("not root: no mount name space\n");
		return;
	}
	openread("small.txt");
	sstat("d1/d2/d3/deep.txt");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct stat st;
		if (C(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)") ||
		    C(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "mount(/, MS_REC|MS_PRIVATE)"))
			_exit(1);
		C(mount(A("medium.txt"), A("small.txt"), NULL, MS_BIND, NULL), "mount(medium.txt, small.txt, MS_BIND)");
		openread("small.txt");
		sstat("small.txt");
		C(mount("tmpfs", A("d1"), "tmpfs", 0, "size=64k,mode=0710"), "mount(tmpfs, d1, mode=0710)");
		if (!C(syscall(SYS_stat, A("d1"), &st), "stat(d1)"))
			printf("  mode=0%o\n", st.st_mode); /* a tmpfs has its own dev/ino/times */
		BAT("d1/d2/d3/deep.txt");
		C(umount2(A("d1"), 0), "umount(d1)");
		sstat("d1/d2/d3/deep.txt");
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit=%d\n", WEXITSTATUS(st));
	openread("small.txt"); /* the parent's name space never changed */
	sstat("d1/d2/d3/deep.txt");
}

/* one thread alone drops to nobody (raw syscalls: glibc would change every thread) */
static void *tcreds_main(void *arg)
{
	(void)arg;
	C(syscall(SYS_setgroups, 0, NULL), "thread: setgroups(0)");
	C(syscall(SYS_setresgid, 65534, 65534, 65534), "thread: setresgid(65534)");
	C(syscall(SYS_setresuid, 65534, 65534, 65534), "thread: setresuid(65534)");
	BAT("secret");
	BAT("private/inner.txt");
	openread("small.txt");
	return NULL;
}

static void s_thread_creds(void)
{
	pthread_t t;
	if (geteuid() != 0) {
		printf("not root\n");
		return;
	}
	openread("secret");
	openread("private/inner.txt");
	pthread_create(&t, NULL, tcreds_main, NULL);
	pthread_join(t, NULL);
	openread("secret"); /* the main thread is still root */
	openread("private/inner.txt");
	sstat("private/inner.txt");
}

static void s_vfork(void)
{
	static volatile long r1, r2, e1, e2;
	static struct stat st;
	pid_t pid = vfork();
	if (pid == 0) {
		r1 = syscall(SYS_stat, A("chain-a"), &st), e1 = errno;
		r2 = syscall(SYS_open, A("missing"), O_RDONLY), e2 = errno;
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("vfork child: stat(chain-a) = %ld %s, open(missing) = %ld %s\n", r1, r1 ? en(e1) : "", r2, r2 < 0 ? en(e2) : "");
	pst(&st);
	openread("chain-a");
}

static void s_kill(void) /* a child killed while it makes trapped calls; we carry on */
{
	int p[2];
	if (pipe(p))
		return;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct stat st;
		for (long i = 0;; i++) {
			syscall(SYS_stat, A("small.txt"), &st);
			int fd = syscall(SYS_open, A("large.txt"), O_RDONLY);
			close(fd);
			if (i == 100 && write(p[1], "r", 1) != 1)
				_exit(1);
		}
	}
	char c;
	C(read(p[0], &c, 1), "read(ready pipe)");
	C(kill(pid, SIGKILL), "kill(child, SIGKILL)");
	int st;
	waitpid(pid, &st, 0);
	printf("child killed by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	BAT("small.txt");
	openread("large.txt");
}

static void s_signal_exit(void)
{
	openread("small.txt");
	fflush(stdout);
	raise(SIGUSR1); /* default action: terminate */
}

static void s_write_while_open(void)
{
	/* an fd opened read-only sees later writes to the same file (same inode natively) */
	int r = C(syscall(SYS_open, A("mutable/shared.txt"), O_RDONLY), "open(mutable/shared.txt, O_RDONLY)");
	int w = C(syscall(SYS_open, A("mutable/shared.txt"), O_WRONLY), "open(mutable/shared.txt, O_WRONLY)");
	C(pwrite(w, "XYZ", 3, 2), "pwrite(w, XYZ, @2)");
	readsum(r, 4096);
	C(pwrite(w, "tail", 4, 100), "pwrite(w, tail, @100)");
	fdstat(r);
	readsum(r, 4096);
	close(r), close(w);
}

/* --- threads: 8 threads x 200 calls, each result compared with a single-threaded reference */
#define NT 8
#define NI 200
static const char *tfiles[] = { "small.txt", "empty", "medium.txt", "d1/d2/d3/deep.txt", "missing",
				"chain-a", "loop1", "secret", "d1", "notdir/x" };
#define NF (sizeof tfiles / sizeof *tfiles)
#define NOP 5
static const char *topn[NOP] = { "open+read", "stat", "lstat", "statx", "access R_OK" };
static char tref[NF][NOP][96];
static atomic_int tcount[NF][NOP], tbad[NF][NOP];
static char tgot[NF][NOP][96]; /* first mismatching result (only printed when there is one) */
static pthread_barrier_t tbar;

static void tcall(size_t f, int op, char *out, size_t n)
{
	const char *p = A(tfiles[f]);
	struct stat st;
	struct statx sx;
	long r;
	char buf[4096];
	switch (op) {
	case 0:
		r = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY | O_CLOEXEC);
		if (r < 0)
			break;
		uint32_t h = 2166136261u;
		ssize_t k;
		long long len = 0;
		while ((k = read(r, buf, sizeof buf)) > 0)
			h = fnv(h, buf, k), len += k;
		close(r);
		snprintf(out, n, "ok len=%lld fnv=%08x", len, h);
		return;
	case 1: case 2:
		r = syscall(op == 1 ? SYS_stat : SYS_lstat, p, &st);
		if (!r)
			snprintf(out, n, "ok mode=0%o size=%lld ino=%lu", st.st_mode, (long long)st.st_size, (unsigned long)st.st_ino);
		break;
	case 3:
		r = syscall(SYS_statx, AT_FDCWD, p, 0, STATX_BASIC_STATS, &sx);
		if (!r)
			snprintf(out, n, "ok mode=0%o size=%llu", sx.stx_mode, (unsigned long long)sx.stx_size);
		break;
	default:
		r = syscall(SYS_access, p, R_OK);
		if (!r)
			snprintf(out, n, "ok");
	}
	if (r < 0)
		snprintf(out, n, "%s", en(errno));
}

static void *tmain(void *arg)
{
	int t = (int)(intptr_t)arg;
	char out[96];
	pthread_barrier_wait(&tbar);
	for (int i = 0; i < NI; i++) {
		size_t f = (size_t)(t * 3 + i) % NF;
		int op = (i / NF + t) % NOP;
		tcall(f, op, out, sizeof out);
		atomic_fetch_add(&tcount[f][op], 1);
		if (strcmp(out, tref[f][op]) && atomic_fetch_add(&tbad[f][op], 1) == 0)
			memcpy(tgot[f][op], out, sizeof out);
	}
	return NULL;
}

static void s_threads(void)
{
	pthread_t th[NT];
	for (size_t f = 0; f < NF; f++)
		for (int op = 0; op < NOP; op++)
			tcall(f, op, tref[f][op], sizeof tref[f][op]);
	pthread_barrier_init(&tbar, NULL, NT);
	for (int t = 0; t < NT; t++)
		pthread_create(&th[t], NULL, tmain, (void *)(intptr_t)t);
	for (int t = 0; t < NT; t++)
		pthread_join(th[t], NULL);
	for (size_t f = 0; f < NF; f++)
		for (int op = 0; op < NOP; op++)
			printf("%s %s: calls=%d mismatches=%d ref=%s%s%s\n", topn[op], tfiles[f],
			       tcount[f][op], tbad[f][op], tref[f][op], tbad[f][op] ? " got=" : "", tgot[f][op]);
}

static void *tcwd_main(void *arg)
{
	(void)arg;
	char buf[PATH_MAX];
	C(unshare(CLONE_FS), "thread: unshare(CLONE_FS)");
	C(chdir(A("d1")), "thread: chdir(d1)");
	if (getcwd(buf, sizeof buf))
		printf("thread: getcwd -> "), relfix(buf, strlen(buf)), printf("\n");
	battery("thread: d2/d3/deep.txt", "d2/d3/deep.txt");
	battery("thread: small.txt", "small.txt");
	return NULL;
}

static void s_thread_cwd(void)
{
	pthread_t t;
	C(chdir(FIX), "chdir(<FIX>)");
	pthread_create(&t, NULL, tcwd_main, NULL);
	pthread_join(t, NULL);
	battery("main: small.txt", "small.txt");
	battery("main: d2/d3/deep.txt", "d2/d3/deep.txt");
}

/* --- SIGALRM storm: a regular-file open/stat/read natively never fails with EINTR */
static volatile sig_atomic_t nsig, hbad;
static char hpath[PATH_MAX];
static void on_alrm(int s)
{
	(void)s;
	int e = errno;
	struct stat st;
	nsig++;
	if (syscall(SYS_stat, hpath, &st) || st.st_size != 13)
		hbad++;
	errno = e;
}

static void storm(int restart)
{
	enum { K = 6 };
	static const char *kn[K] = { "open+read", "openat", "stat", "statx", "access", "readlink" };
	long ok[K] = { 0 }, eintr[K] = { 0 }, other[K] = { 0 }, iters = 0;
	char path[PATH_MAX], link[PATH_MAX], buf[64];
	struct stat st;
	struct statx sx;
	snprintf(path, sizeof path, "%s", A("small.txt"));
	snprintf(hpath, sizeof hpath, "%s", path);
	snprintf(link, sizeof link, "%s", A("chain-a"));
	struct sigaction sa = { .sa_handler = on_alrm, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	nsig = hbad = 0;
	int fd0 = dup(0);
	close(fd0); /* lowest free fd before the storm */
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);
	while ((iters < 4000 || nsig < 20) && iters < 2000000) {
		int k = iters++ % K;
		long r;
		switch (k) {
		case 0:
			r = syscall(SYS_open, path, O_RDONLY);
			if (r >= 0) {
				ssize_t n = read(r, buf, sizeof buf);
				close(r);
				r = n == 13 ? 0 : -1;
			}
			break;
		case 1:
			r = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
			if (r >= 0)
				close(r), r = 0;
			break;
		case 2: r = syscall(SYS_stat, path, &st); break;
		case 3: r = syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx); break;
		case 4: r = syscall(SYS_access, path, R_OK); break;
		default: r = syscall(SYS_readlink, link, buf, sizeof buf) == 7 ? 0 : -1;
		}
		if (r >= 0)
			ok[k]++;
		else if (errno == EINTR)
			eintr[k]++;
		else
			other[k]++;
	}
	struct itimerval off = { { 0, 0 }, { 0, 0 } };
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	printf("storm %s: iterations>=4000 and signals>=20: %s\n", restart ? "SA_RESTART" : "no SA_RESTART",
	       iters >= 4000 && nsig >= 20 ? "yes" : "no");
	for (int k = 0; k < K; k++)
		if (ok[k] == iters / K + (k < iters % K))
			printf("  %s: all ok\n", kn[k]);
		else
			printf("  %s: ok=%ld EINTR=%ld other=%ld\n", kn[k], ok[k], eintr[k], other[k]);
	printf("  stat in handler failed: %d\n", (int)hbad);
	int fd1 = dup(0);
	printf("  lowest free fd unchanged (no leaked fds): %s\n", fd1 == fd0 ? "yes" : "no");
	close(fd1);
}
static void s_sigalrm_restart(void) { storm(1); }
static void s_sigalrm_norestart(void) { storm(0); }

/* --- access checks and credentials */
static void accesses(void)
{
	const char *p[] = { "small.txt", "exec.sh", "secret", "noperm", "xonly", "d1", "private",
			    "private/inner.txt", "chain-a", "dangling", "loop1", "missing" };
	struct { int m; const char *n; } md[] = { { F_OK, "F_OK" }, { R_OK, "R_OK" }, { W_OK, "W_OK" },
						   { X_OK, "X_OK" }, { R_OK | W_OK | X_OK, "RWX" } };
	struct { int f; const char *n; } fl[] = { { 0, "0" }, { AT_EACCESS, "AT_EACCESS" },
						   { AT_SYMLINK_NOFOLLOW, "NOFOLLOW" },
						   { AT_EACCESS | AT_SYMLINK_NOFOLLOW, "AT_EACCESS|NOFOLLOW" } };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		for (size_t m = 0; m < sizeof md / sizeof *md; m++) {
			C(syscall(SYS_access, A(p[i]), md[m].m), "access(%s, %s)", p[i], md[m].n);
			C(syscall(SYS_faccessat, AT_FDCWD, A(p[i]), md[m].m), "faccessat(%s, %s)", p[i], md[m].n);
			for (size_t f = 0; f < sizeof fl / sizeof *fl; f++)
				C(syscall(SYS_faccessat2, AT_FDCWD, A(p[i]), md[m].m, fl[f].f),
				  "faccessat2(%s, %s, %s)", p[i], md[m].n, fl[f].n);
		}
	C(syscall(SYS_access, A("small.txt"), 8), "access(small.txt, 8)");
	C(syscall(SYS_faccessat2, AT_FDCWD, A("small.txt"), R_OK, 0x1), "faccessat2(small.txt, R_OK, flags=0x1)");
	C(syscall(SYS_faccessat2, AT_FDCWD, A("small.txt"), 0x10, 0), "faccessat2(small.txt, mode=0x10)");
}
static void s_access(void) { accesses(); }

static void unpriv_calls(void)
{
	const char *p[] = { "secret", "noperm", "private/inner.txt", "private/link", "private",
			    "small.txt", "private2/inner.txt" };
	for (size_t i = 0; i < sizeof p / sizeof *p; i++)
		BAT(p[i]);
	C(syscall(SYS_open, A("small.txt"), O_WRONLY), "open(small.txt, O_WRONLY)");
	C(syscall(SYS_open, A("mutable/created"), O_WRONLY | O_CREAT | O_EXCL, 0644), "open(mutable/created, O_CREAT|O_EXCL)");
}

static void s_unpriv(void) /* run by the script as nobody (setpriv) */
{
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	printf("uid=%u/%u/%u gid=%u\n", r, e, s, getgid());
	unpriv_calls();
	accesses();
}

static void s_eacces(void) /* starts as root, drops to nobody inside */
{
	if (geteuid() != 0) {
		printf("not root: skipping the root phase\n");
	} else {
		/* phase 1: root reads everything (so a cache would now hold it) */
		const char *p[] = { "secret", "noperm", "private/inner.txt", "private/link" };
		for (size_t i = 0; i < sizeof p / sizeof *p; i++)
			BAT(p[i]);
		/* phase 2: real uid nobody, effective root: access() uses real ids */
		C(setresgid(65534, 0, 0), "setresgid(65534, 0, 0)");
		C(setresuid(65534, 0, 0), "setresuid(65534, 0, 0)");
		C(syscall(SYS_access, A("secret"), R_OK), "access(secret, R_OK)");
		C(syscall(SYS_faccessat2, AT_FDCWD, A("secret"), R_OK, AT_EACCESS), "faccessat2(secret, R_OK, AT_EACCESS)");
		C(syscall(SYS_faccessat2, AT_FDCWD, A("private/inner.txt"), R_OK, 0), "faccessat2(private/inner.txt, R_OK, 0)");
		openread("secret");
		/* phase 3: all ids nobody, no groups */
		C(setgroups(0, NULL), "setgroups(0)");
		C(setresgid(65534, 65534, 65534), "setresgid(65534)");
		C(setresuid(65534, 65534, 65534), "setresuid(65534)");
	}
	s_unpriv();
}

static void s_chroot(void)
{
	if (geteuid() != 0) {
		printf("not root: no chroot\n");
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[64];
		C(chroot(FIX), "chroot(<FIX>)");
		C(chdir("/"), "chdir(/)");
		const char *p[] = { "/small.txt", "/../../small.txt", "/chain-a", "/abslink", "/procself/status", "d1/d2/d3/deep.txt" };
		for (size_t i = 0; i < sizeof p / sizeof *p; i++)
			battery(p[i], p[i]);
		C(chdir("/d1"), "chdir(/d1)");
		battery("../small.txt", "../small.txt");
		rl(C(syscall(SYS_readlink, "/chain-a", buf, sizeof buf), "readlink(/chain-a)"), buf);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("chroot child exit=%d\n", WEXITSTATUS(st));
	BAT("small.txt"); /* the parent is not in the chroot */
}

static void s_procself(void)
{
	char buf[PATH_MAX];
	struct stat st;
	C(chdir(FIX), "chdir(<FIX>)");
	if (!C(syscall(SYS_stat, A("procself/exe"), &st), "stat(procself/exe)"))
		printf("  size=%lld mode=0%o\n", (long long)st.st_size, st.st_mode);
	if (!C(syscall(SYS_stat, "/proc/self/exe", &st), "stat(/proc/self/exe)"))
		printf("  size=%lld mode=0%o\n", (long long)st.st_size, st.st_mode);
	long r = C(syscall(SYS_readlink, A("procself/cwd"), buf, sizeof buf), "readlink(procself/cwd)");
	rl(r, buf);
	r = C(syscall(SYS_readlink, A("procself/exe"), buf, sizeof buf - 1), "readlink(procself/exe)");
	if (r > 0)
		buf[r] = 0, printf("  basename -> %s\n", strrchr(buf, '/') + 1);
	openread("procself/comm");
	fdshow(C(syscall(SYS_open, "/proc/self/comm", O_RDONLY), "open(/proc/self/comm)"));
	r = C(syscall(SYS_readlink, A("procself"), buf, sizeof buf), "readlink(procself)");
	rl(r, buf);
	C(syscall(SYS_access, A("procself/root/"), X_OK), "access(procself/root/, X_OK)");
}

static void s_fds(void) /* open descriptors at start: nothing may leak into the job */
{
	for (int fd = 0; fd < 1024; fd++) {
		int fdfl = fcntl(fd, F_GETFD);
		if (fdfl < 0)
			continue;
		struct stat s;
		fstat(fd, &s);
		printf("fd %d: F_GETFD=%d F_GETFL=%#x type=%s\n", fd, fdfl, fcntl(fd, F_GETFL), ftype(s.st_mode));
	}
	int fd = C(syscall(SYS_open, A("small.txt"), O_RDONLY), "open(small.txt)");
	close(fd);
}

extern char **environ;
static void s_env(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **v = malloc((n + 1) * sizeof *v);
	memcpy(v, environ, n * sizeof *v);
	qsort(v, n, sizeof *v, cmpstr);
	for (size_t i = 0; i < n; i++)
		printf("env %s\n", v[i]);
	free(v);
}

static void s_fd_empty_path(void) /* fd-based calls on a served descriptor */
{
	struct stat st;
	struct statx sx;
	int fd = C(syscall(SYS_open, A("small.txt"), O_RDONLY), "open(small.txt)");
	if (!C(syscall(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), "newfstatat(fd, \"\", AT_EMPTY_PATH)"))
		printf("  type=%s perm=%04o size=%lld\n", ftype(st.st_mode), st.st_mode & 07777, (long long)st.st_size);
	if (!C(syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx), "statx(fd, \"\", AT_EMPTY_PATH)"))
		printf("  type=%s perm=%04o size=%llu\n", ftype(sx.stx_mode), sx.stx_mode & 07777, (unsigned long long)sx.stx_size);
	const char *m[] = { "F_OK", "R_OK", "W_OK", "X_OK" };
	for (int i = 0; i < 4; i++)
		C(syscall(SYS_faccessat2, fd, "", i ? 1 << (3 - i) : 0, AT_EMPTY_PATH), "faccessat2(fd, \"\", %s, AT_EMPTY_PATH)", m[i]);
	C(syscall(SYS_newfstatat, fd, "x", &st, 0), "newfstatat(fd, x, 0)");
	close(fd);
}

/* Identity of a served descriptor (a memfd): differs by design, see man/collrun.1. */
static void s_fd_identity(void)
{
	char p[64], buf[PATH_MAX];
	struct stat a, b;
	int fd = C(syscall(SYS_open, A("small.txt"), O_RDONLY), "open(small.txt)");
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	rl(C(syscall(SYS_readlink, p, buf, sizeof buf), "readlink(/proc/self/fd/N)"), buf);
	C(fcntl(fd, F_GET_SEALS), "fcntl(F_GET_SEALS)");
	fstat(fd, &a);
	stat(A("small.txt"), &b);
	printf("fstat dev/ino/nlink == stat(path): %s\n",
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_nlink == b.st_nlink ? "yes" : "no");
	close(fd);
}

/* --- issue 9: a mkdir racing a reader. The reader polls stat(D/i) while the main thread
 * mkdirs D/i; once mkdir has returned (and the reader has been told so), the reader's next
 * stat must find the directory. Natively always; a supervisor that flushes, answers
 * CONTINUE and lets a queued look-up re-cache the old ENOENT fails. No sleeps: the reader
 * signals "polling" before the mkdir, and is told "done" only after mkdir returned. */
#define NRACE 200
static atomic_int race_ready, race_done;
static char race_path[PATH_MAX];
static long race_final;
static int race_errno;

static void *race_reader(void *arg)
{
	(void)arg;
	struct stat st;
	syscall(SYS_stat, race_path, &st);
	atomic_store(&race_ready, 1);
	while (!atomic_load(&race_done))
		syscall(SYS_stat, race_path, &st);
	errno = 0;
	race_final = syscall(SYS_stat, race_path, &st);
	race_errno = errno;
	return NULL;
}

static void s_mkdir_race(void)
{
	int failed = 0, mkfail = 0;
	char first[128] = "";
	for (int i = 0; i < NRACE; i++) {
		pthread_t t;
		snprintf(race_path, sizeof race_path, "%s/mutable/race/%d", FIX, i);
		atomic_store(&race_ready, 0);
		atomic_store(&race_done, 0);
		pthread_create(&t, NULL, race_reader, NULL);
		while (!atomic_load(&race_ready))
			;
		if (mkdir(race_path, 0755))
			mkfail++;
		atomic_store(&race_done, 1);
		pthread_join(t, NULL);
		if (race_final && !failed++)
			snprintf(first, sizeof first, " (first: mutable/race/%d = %s)", i, en(race_errno));
	}
	printf("mkdir-race: %d directories, mkdir failed %d, stat after mkdir failed %d%s\n", NRACE, mkfail,
	       failed, first);
}

/* --- issue 9: a cwd of ~3,429 bytes and a relative path of ~1,207 bytes: each fits
 * PATH_MAX, their join does not. fixture.sh wrote both paths (relative to longtree/). */
static int slurp(const char *rel, char *buf, size_t size)
{
	FILE *f = fopen(A(rel), "r");
	size_t n = f ? fread(buf, 1, size - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n ? 0 : -1;
}

static void s_longcwd(void)
{
	static char cwd[8192], rel[4096];
	if (slurp("longtree.cwd", cwd, sizeof cwd) || slurp("longtree.rel", rel, sizeof rel)) {
		printf("fixture lacks longtree.cwd / longtree.rel\n");
		return;
	}
	C(chdir(A("longtree")), "chdir(longtree)");
	int bad = 0;
	size_t cl = strlen(FIX) + strlen("/longtree/") + strlen(cwd);
	for (char *c = strtok(cwd, "/"); c; c = strtok(NULL, "/"))
		bad += chdir(c) != 0;
	printf("chdir down %s; cwd ~%zu bytes, relative path %zu bytes, joined > PATH_MAX: %s\n",
	       bad ? "failed" : "ok", cl, strlen(rel), cl + 1 + strlen(rel) >= PATH_MAX ? "yes" : "no");
	for (int round = 0; round < 2; round++) {
		printf("round %d\n", round);
		battery("<long relative path>", rel);
	}
	int dfd = C(open(".", O_RDONLY | O_DIRECTORY), "open(., O_DIRECTORY) [the long cwd]");
	struct stat st;
	if (!C(syscall(SYS_newfstatat, dfd, rel, &st, 0), "newfstatat(<long cwd fd>, <long relative path>)"))
		pst(&st);
	fdshow(C(syscall(SYS_openat, dfd, rel, O_RDONLY), "openat(<long cwd fd>, <long relative path>)"));
	fdshow(C(syscall(SYS_openat, dfd, rel, O_RDONLY), "openat(<long cwd fd>, <long relative path>) again"));
	close(dfd);
}

/* --- issue 9: a relative look-up never searches the ancestors of the cwd. Run as uid
 * 65534 (the owner of perm/t/...): after chmod 0 perm/t, stat("f") from perm/t/a/b still
 * works natively, while perm/t/a/b/f by its absolute path is EACCES. As root both work. */
static void s_ancestor_perm(void)
{
	C(chdir(A("perm/t/a/b")), "chdir(perm/t/a/b)");
	battery("f", "f");
	C(chmod(A("perm/t"), 0), "chmod(perm/t, 0)");
	battery("f", "f");
	battery("f (again)", "f");
	battery("../b/f", "../b/f");
	BAT("perm/t/a/b/f");
	C(chmod(A("perm/t"), 0755), "chmod(perm/t, 0755)");
	battery("f (after chmod 0755)", "f");
	BAT("perm/t/a/b/f");
}

/* --- issue 9: openat2 with RESOLVE_* flags that writes: a truncation, and a creation after
 * a negative look-up, must be seen by later stats and opens (and by --data=memfd copies). */
static void s_openat2_write(void)
{
	int dfd = C(open(FIX, O_RDONLY | O_DIRECTORY), "open(<FIX>, O_DIRECTORY)");
	openread("mutable/trunc1.txt");
	openread("mutable/trunc1.txt");
	sstat("mutable/trunc1.txt");
	sstat("mutable/trunc1.txt");
	int fd = C(o2(AT_FDCWD, A("mutable/trunc1.txt"), O_WRONLY | O_TRUNC, RESOLVE_NO_MAGICLINKS),
		   "openat2(mutable/trunc1.txt, O_WRONLY|O_TRUNC, RESOLVE_NO_MAGICLINKS)");
	C(write(fd, "new bytes\n", 10), "write(10)");
	close(fd);
	sstat("mutable/trunc1.txt");
	openread("mutable/trunc1.txt");
	openread("mutable/trunc2.txt");
	sstat("mutable/trunc2.txt");
	fd = C(o2(dfd, "mutable/trunc2.txt", O_RDWR | O_TRUNC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
	       "openat2(<FIX>, mutable/trunc2.txt, O_RDWR|O_TRUNC, RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)");
	C(write(fd, "abc\n", 4), "write(4)");
	close(fd);
	sstat("mutable/trunc2.txt");
	openread("mutable/trunc2.txt");
	BAT("mutable/o2new.txt");
	struct open_how h = { .flags = O_WRONLY | O_CREAT | O_EXCL, .mode = 0640, .resolve = RESOLVE_BENEATH };
	fd = C(syscall(SYS_openat2, dfd, "mutable/o2new.txt", &h, sizeof h),
	       "openat2(<FIX>, mutable/o2new.txt, O_WRONLY|O_CREAT|O_EXCL, 0640, RESOLVE_BENEATH)");
	C(write(fd, "created\n", 8), "write(8)");
	close(fd);
	BAT("mutable/o2new.txt");
	close(dfd);
}

static void s_exitcode(void)
{
	openread("small.txt");
	fprintf(stderr, "probe: exiting with status 7\n");
	exit(7);
}

/* Flags: see the top of this file. s/f chosen per scenario: s where a look-up of an
 * unchanged path repeats (battery() alone opens each path three ways), f where every
 * (call, path) is made once, or only around mutations and namespace changes. Notes:
 * longpath is s: its 4094- and 4095-byte spellings of small.txt ("/./" padding) are one
 * path once "//" and "/./" are normalised before keying (issue 9); statx is f: each
 * (flags, mask) is asked once; mmap is f: the static build opens each file once (the
 * dynamic one's hits come from dlopen); mountns is f: the mount in between may drop
 * entries; fd-empty-path is k: faccessat2(fd, "", W_OK) on a memfd checks collrun's
 * ownership of the copy, which differs from the file's when run as uid 65534. */
static const struct { const char *name, *flags; void (*fn)(void); } scenarios[] = {
	{ "basic", "s", s_basic },          { "statx", "f", s_statx },          { "notdir", "s", s_notdir },
	{ "eloop", "s", s_eloop },          { "symlinks", "s", s_symlinks },
	{ "dirfd", "s", s_dirfd },          { "cwd", "s", s_cwd },
	{ "nofollow", "s", s_nofollow },    { "directory", "", s_directory },
	{ "opath", "", s_opath },           { "openat2", "", s_openat2 },
	{ "badptr", "s", s_badptr },        { "longpath", "s", s_longpath },
	{ "read", "s", s_read },            { "sparse", "f", s_sparse },            { "offsets", "s", s_offsets },
	{ "mmap", "f", s_mmap },            { "fstat", "f", s_fstat },
	{ "cloexec", "s", s_cloexec },      { "exec", "s", s_exec },
	{ "exec-child", "h", s_exec_child }, { "mutate", "sm", s_mutate },
	{ "mutate-alias", "fm", s_mutate_alias }, { "mountns", "fr", s_mountns },
	{ "write-while-open", "fmk", s_write_while_open },
	{ "threads", "s", s_threads },      { "thread-cwd", "s", s_thread_cwd },
	{ "sigalrm-restart", "st", s_sigalrm_restart },
	{ "sigalrm-norestart", "set", s_sigalrm_norestart },
	{ "access", "s", s_access },         { "eacces", "smr", s_eacces },
	{ "unpriv", "hm", s_unpriv },        { "chroot", "sr", s_chroot },
	{ "procself", "", s_procself },     { "fds", "f", s_fds },
	{ "env", "", s_env },               { "fd-empty-path", "fk", s_fd_empty_path },
	{ "fd-identity", "fk", s_fd_identity },      { "exitcode", "f", s_exitcode },
	{ "signal-exit", "f", s_signal_exit }, { "cwd-moves", "sm", s_cwd_moves },
	{ "thread-creds", "sr", s_thread_creds }, { "vfork", "f", s_vfork },
	{ "kill", "s", s_kill },
	{ "mkdir-race", "fm", s_mkdir_race }, { "longcwd", "s", s_longcwd },
	{ "ancestor-perm", "sm", s_ancestor_perm }, { "openat2-write", "sm", s_openat2_write },
};

int main(int argc, char **argv)
{
	ARGV0 = argv[0];
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
			printf("%s %s\n", scenarios[i].name, *scenarios[i].flags ? scenarios[i].flags : "-");
		return 0;
	}
	if (argc != 3 || argv[2][0] != '/') {
		fprintf(stderr, "usage: probe SCENARIO /ABS/FIXTUREDIR | probe --list\n");
		return 2;
	}
	FIX = argv[2];
	umask(022);
	for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			g_mut = strchr(scenarios[i].flags, 'm') != NULL;
			printf("scenario %s\n", argv[1]);
			scenarios[i].fn();
			return 0;
		}
	fprintf(stderr, "probe: unknown scenario %s\n", argv[1]);
	return 2;
}
