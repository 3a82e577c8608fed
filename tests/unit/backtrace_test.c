/* bt_collect on real stops: a probe's open() reached through main -> outer -> middle ->
 * inner (dynamic and static builds), Python's open() (names from .dynsym of a binary
 * stripped of .symtab), repeated walks from the caches, and threads that are not in a
 * ptrace stop of ours. Prints the cost of a first and of a cached walk (never asserted:
 * the machine is noisy). */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include "backtrace.h"
#include "bt_harness.h"

static void helper_path(const char *name, char *buf, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';          /* $(BUILD)/tests/unit */
	*strrchr(exe, '/') = '\0';          /* $(BUILD)/tests */
	char *path, real[PATH_MAX];
	cr_assert_gt(asprintf(&path, "%s/helpers/%s", exe, name), 0);
	cr_assert_not_null(realpath(path, real), "helper %s missing: make test-bins builds it", path);
	free(path);
	cr_assert_lt(strlen(real), size);
	strcpy(buf, real);
}

static void show(const char *what, const struct bt *b)
{
	fprintf(stderr, "%s: %d frames\n", what, b->n);
	for (int i = 0; i < b->n; i++)
		fprintf(stderr, "  #%-2d 0x%012llx %s+0x%llx (%s)\n", i, (unsigned long long)b->f[i].ip,
			b->f[i].fn[0] ? b->f[i].fn : "??", (unsigned long long)b->f[i].off, b->f[i].obj);
}

static int find_fn(const struct bt *b, const char *fn, int from)
{
	for (int i = from; i < b->n; i++)
		if (strcmp(b->f[i].fn, fn) == 0)
			return i;
	return -1;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* inner, middle, outer, main in that order, innermost first, each in the helper binary,
 * and the frames above inner in libc (dynamic) or in the helper too (static). */
static void check_chain(const char *name, bool is_static)
{
	char exe[PATH_MAX];
	helper_path(name, exe, sizeof exe);
	char *argv[] = { exe, "/nonexistent-bt-chain-probe", NULL };
	pid_t pid = bt_spawn_at_open(argv, argv[1]);
	cr_assert_gt(pid, 0, "%s never reached its openat", exe);
	struct bt b;
	double t0 = now_us();
	int r = bt_collect(pid, &b);
	double t1 = now_us();
	struct bt again;
	int r2 = 0;
	for (int i = 0; i < 100; i++)
		r2 |= bt_collect(pid, &again);
	double t2 = now_us();
	fprintf(stderr, "%s: first walk %.1f us, cached walk %.1f us (%d frames)\n", name, t1 - t0,
		(t2 - t1) / 100, b.n);
	show(name, &b);
	bt_kill(pid);
	cr_assert_eq(r, 0, "bt_collect: %s", strerror(-r));
	cr_assert_eq(r2, 0);
	int i = find_fn(&b, "inner", 0), m = find_fn(&b, "middle", i + 1),
	    o = find_fn(&b, "outer", m + 1), mn = find_fn(&b, "main", o + 1);
	cr_assert(i > 0 && m == i + 1 && o == m + 1 && mn == o + 1,
		  "want inner, middle, outer, main in a row: at %d %d %d %d", i, m, o, mn);
	for (int k = i; k <= mn; k++) {
		cr_assert_str_eq(b.f[k].obj, exe, "frame %d's object", k);
		cr_assert_gt(b.f[k].off, 0, "a return address lies past its function's start");
	}
	/* The frames below inner: the open wrapper that made the syscall. */
	cr_assert_neq(strstr(b.f[0].fn, "open"), NULL, "innermost frame %s", b.f[0].fn);
	if (is_static)
		cr_assert_str_eq(b.f[0].obj, exe);
	else
		cr_assert_neq(strstr(b.f[0].obj, "/libc.so"), NULL, "innermost object %s", b.f[0].obj);
	/* Cached walks give the same frames. */
	cr_assert_eq(again.n, b.n);
	cr_assert_eq(memcmp(&again.f, &b.f, b.n * sizeof b.f[0]), 0);
	bt_forget(pid);
}

Test(backtrace, dynamic_probe_shows_inner_middle_outer_main)
{
	check_chain("bt_chain", false);
	bt_clear();
}

Test(backtrace, static_probe_shows_inner_middle_outer_main)
{
	/* A static binary has no .eh_frame_hdr: the table is built from .eh_frame. */
	check_chain("bt_chain_static", true);
	bt_clear();
}

Test(backtrace, second_process_of_the_same_program_uses_the_object_cache)
{
	/* After bt_forget of the first process, a second one is walked with the objects the
	 * first loaded: same names, its own addresses (ASLR). */
	check_chain("bt_chain", false);
	check_chain("bt_chain", false);
	check_chain("bt_chain_static", true);
	check_chain("bt_chain_static", true);
	bt_clear();
}

/* bt_chain MODE (jit, bare), stopped at its open and walked into *b; bt_collect must succeed. */
static void walk_chain_mode(const char *mode, struct bt *b)
{
	char exe[PATH_MAX], label[64];
	helper_path("bt_chain", exe, sizeof exe);
	char *argv[] = { exe, "/nonexistent-bt-chain-probe", (char *)mode, NULL };
	pid_t pid = bt_spawn_at_open(argv, argv[1]);
	cr_assert_gt(pid, 0);
	int r = bt_collect(pid, b);
	snprintf(label, sizeof label, "bt_chain %s", mode);
	show(label, b);
	bt_kill(pid);
	cr_assert_eq(r, 0, "bt_collect: %s", strerror(-r));
}

Test(backtrace, a_frame_without_unwind_information_is_shown_and_the_walk_goes_on)
{
	/* inner is called from code in an anonymous mapping (a JIT's): that frame has no object
	 * and no name; libunwind passes it by its frame pointer, so via_jit and main follow. */
	struct bt b;
	walk_chain_mode("jit", &b);
	int i = find_fn(&b, "inner", 0);
	cr_assert(i > 0 && i + 1 < b.n, "inner at %d of %d", i, b.n);
	cr_assert_str_eq(b.f[i + 1].obj, "", "the JIT frame's object");
	cr_assert_str_eq(b.f[i + 1].fn, "");
	cr_assert_eq(b.f[i + 1].off, 0);
	int v = find_fn(&b, "via_jit", i + 2), mn = find_fn(&b, "main", v + 1);
	cr_assert(v == i + 2 && mn == v + 1, "via_jit at %d, main at %d", v, mn);
	bt_clear();
}

Test(backtrace, a_stack_that_cannot_be_walked_ends_the_list_without_an_error)
{
	/* The openat is made on a fresh zeroed stack with rbp 0: the first frame is found, the
	 * next return address is 0, and the call still succeeds with what it has. */
	struct bt b;
	walk_chain_mode("bare", &b);
	cr_assert_geq(b.n, 1);
	cr_assert_str_eq(b.f[0].fn, "on_bare_stack");
	cr_assert_eq(find_fn(&b, "main", 0), -1, "main lies beyond a stack that cannot be walked");
	bt_clear();
}

/* In the child: a mount namespace of its own with a tmpfs on dir, and the static probe
 * copied there, so that file exists only in the child's namespace. */
static void private_copy(void *arg)
{
	char **v = arg;                     /* { dir, source, destination } */
	static char buf[1 << 16];
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", v[0], "tmpfs", 0, NULL) < 0)
		_exit(125);
	int in = open(v[1], O_RDONLY), out = open(v[2], O_WRONLY | O_CREAT | O_EXCL, 0755);
	ssize_t n;
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			_exit(125);
	if (in < 0 || out < 0 || close(out) < 0)
		_exit(125);
	close(in);
}

Test(backtrace, an_object_only_in_the_process_mount_namespace_is_read_through_its_root)
{
	/* Our open of the path maps shows finds nothing (the tmpfs is not mounted in our
	 * namespace): the object is opened through /proc/PID/root instead. */
	if (geteuid() != 0)
		cr_skip_test("mount namespaces need root here");
	char exe[PATH_MAX], *dir, *dst;
	helper_path("bt_chain_static", exe, sizeof exe);
	cr_assert_gt(asprintf(&dir, "%s.ns%d", exe, (int)getpid()), 0);
	cr_assert_gt(asprintf(&dst, "%s/bt_chain_static", dir), 0);
	cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
	char *v[] = { dir, exe, dst };
	char *argv[] = { dst, "/nonexistent-bt-chain-probe", NULL };
	pid_t pid = bt_spawn_at_open_with(private_copy, v, argv, argv[1]);
	struct bt b = { 0 };
	int r = pid > 0 ? bt_collect(pid, &b) : -1;
	show("bt_chain_static in its own mount namespace", &b);
	if (pid > 0)
		bt_kill(pid);
	rmdir(dir);
	cr_assert_gt(pid, 0, "the probe never reached its openat");
	cr_assert_eq(access(dst, F_OK), -1, "the copy must not be visible here");
	cr_assert_eq(r, 0);
	int i = find_fn(&b, "inner", 0), mn = find_fn(&b, "main", i + 1);
	cr_assert(i > 0 && mn == i + 3, "inner at %d, main at %d", i, mn);
	free(dir);
	free(dst);
	bt_clear();
}

Test(backtrace, python_frames_are_named_from_dynsym)
{
	const char *py = "/usr/bin/python3";
	if (access(py, X_OK) != 0)
		cr_skip_test("no %s", py);
	char *argv[] = { (char *)py, "-c", "open('/nonexistent-bt-probe')", NULL };
	pid_t pid = bt_spawn_at_open(argv, "/nonexistent-bt-probe");
	cr_assert_gt(pid, 0, "python never opened the probe path");
	struct bt b;
	int r = bt_collect(pid, &b);
	show("python3", &b);
	bt_kill(pid);
	cr_assert_eq(r, 0, "bt_collect: %s", strerror(-r));
	int in_python = 0, in_libc = 0, eval = 0;
	for (int i = 0; i < b.n; i++) {
		if (strstr(b.f[i].obj, "python3") || strstr(b.f[i].obj, "libpython"))
			in_python += b.f[i].fn[0] != '\0' &&
				     (strstr(b.f[i].fn, "Py") || strstr(b.f[i].fn, "_io"));
		in_libc += strstr(b.f[i].obj, "/libc.so") != NULL;
		eval += strcmp(b.f[i].fn, "_PyEval_EvalFrameDefault") == 0;
	}
	cr_assert_gt(in_python, 0, "no named frame in the python binary");
	cr_assert_gt(in_libc, 0, "no frame in libc");
	cr_assert_gt(eval, 0, "the interpreter loop's frame is missing");
	bt_clear();
}

Test(backtrace, a_process_that_is_not_stopped_is_an_error)
{
	/* Not traced at all. */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	struct bt b;
	b.n = 7;
	int r = bt_collect(pid, &b);
	cr_assert_eq(r, -ESRCH, "got %d", r);
	cr_assert_eq(b.n, 0);
	bt_kill(pid);
	/* Gone. */
	cr_assert_eq(bt_collect(pid, &b), -ESRCH);
	cr_assert_eq(bt_collect(0, &b), -ESRCH);
	cr_assert_eq(bt_collect(1, NULL), -EINVAL);
	bt_clear();
}

Test(backtrace, a_traced_process_that_has_exited_is_an_error)
{
	/* Stopped once (a walk works), then let go to its exit: the next walk fails, cleanly. */
	char exe[PATH_MAX];
	helper_path("bt_chain", exe, sizeof exe);
	char *argv[] = { exe, "/nonexistent-bt-chain-probe", NULL };
	pid_t pid = bt_spawn_at_open(argv, argv[1]);
	cr_assert_gt(pid, 0);
	struct bt b;
	cr_assert_eq(bt_collect(pid, &b), 0);
	cr_assert_eq(ptrace(PTRACE_CONT, pid, 0, 0), 0);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st));
	cr_assert_eq(bt_collect(pid, &b), -ESRCH);
	cr_assert_eq(b.n, 0);
	bt_forget(pid);
	bt_clear();
}
