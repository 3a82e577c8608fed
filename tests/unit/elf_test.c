/* elf_read_paths and elf_loader_tokens against real objects built with gcc at test time
 * (RUNPATH, RPATH, every token form, executables, static, 32-bit), hand-built objects of
 * both byte orders checked with readelf, and truncated or garbled files, which must fail
 * with -EIO/-EFBIG after reading at most ELF_READ_BOUND bytes (run under SANITIZE=1 too).
 * The loader itself is the reference where it can be: LD_DEBUG=libs prints the search
 * path it built from a RUNPATH, which must be what we computed. Scratch files live under
 * BUILD/tests/unit-scratch/elf/ (never /tmp). */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "elf_paths.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* snprintf that fails the test rather than truncate (and keeps -Wformat-truncation quiet). */
__attribute__((format(printf, 3, 4)))
static void fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, size, f, ap);
	va_end(ap);
	cr_assert(n >= 0 && (size_t)n < size, "path too long: %s", buf);
}

static void mkdirs(const char *path)
{
	char p[PATH_MAX];
	fmt(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* BUILD/tests/unit-scratch/elf/NAME, created; BUILD is where this binary was built
 * (BUILD/tests/unit/elf_test), so every build folder has its own scratch. */
static void scratch(const char *name, char *out)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cr_assert(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';   /* BUILD/tests/unit */
	*strrchr(exe, '/') = '\0';   /* BUILD/tests */
	fmt(out, PATH_MAX, "%s/unit-scratch/elf/%s", exe, name);
	mkdirs(out);
}

__attribute__((format(printf, 2, 3)))
static void put_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void put_bytes(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static unsigned char *get_bytes(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s", path);
	struct stat st;
	fstat(fd, &st);
	unsigned char *buf = malloc(st.st_size + 1);
	cr_assert_eq(pread(fd, buf, st.st_size, 0), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static bool have_prog(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	for (const char *p = path ? path : ""; *p;) {
		size_t len = strcspn(p, ":");
		fmt(buf, sizeof buf, "%.*s/%s", (int)len, p, name);
		if (len && access(buf, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

#define SKIP_UNLESS(prog)                                                                    \
	do {                                                                                 \
		if (!have_prog(prog)) {                                                      \
			fprintf(stderr, "SKIP: elf: %s not found in PATH\n", prog);          \
			cr_skip_test("%s not found in PATH", prog);                          \
		}                                                                            \
	} while (0)

/* Run argv (PATH searched); its stdout+stderr into out (if not NULL), NUL-terminated.
 * env: one NAME=VALUE added, or NULL. The exit status, or -1. */
static int run(char *const argv[], const char *env, char *out, size_t size)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		if (env)
			putenv((char *)env);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t len = 0;
	char sink[4096];
	for (;;) {
		char *dst = out && len + 1 < size ? out + len : sink;
		size_t room = out && len + 1 < size ? size - 1 - len : sizeof sink;
		ssize_t n = read(pfd[0], dst, room);
		if (n <= 0)
			break;
		if (dst != sink)
			len += n;
	}
	if (out)
		out[len] = '\0';
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void must_run(char *const argv[])
{
	char out[8192];
	int rc = run(argv, NULL, out, sizeof out);
	cr_assert_eq(rc, 0, "%s failed (%d): %s", argv[0], rc, out);
}

static int read_paths(const char *path, const char *origin, const char *lib, const char *plat,
		      struct elf_paths *ep)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	int r = elf_read_paths(fd, origin, lib, plat, ep);
	close(fd);
	return r;
}

static void assert_list(char **v, size_t n, const char *const *want, size_t nwant, const char *what)
{
	for (size_t i = 0; i < n && i < nwant; i++)
		cr_expect_str_eq(v[i], want[i], "%s[%zu]", what, i);
	cr_assert_eq(n, nwant, "%s: %zu entries, want %zu", what, n, nwant);
}

/* "readelf -d" lines of one tag: NEEDED "Shared library: [x]", RUNPATH "Library runpath:
 * [x]", RPATH "Library rpath: [x]". The values into v (at most 16); their count. */
static size_t readelf_tag(const char *path, const char *tag, char v[16][512])
{
	char out[65536], want[32];
	char *argv[] = { "readelf", "-d", "-W", (char *)path, NULL };
	cr_assert_eq(run(argv, NULL, out, sizeof out), 0, "readelf: %s", out);
	fmt(want, sizeof want, "(%s)", tag);
	size_t n = 0;
	for (char *line = strtok(out, "\n"); line && n < 16; line = strtok(NULL, "\n")) {
		char *t = strstr(line, want), *lb, *rb;
		if (!t || !(lb = strchr(t, '[')) || !(rb = strrchr(t, ']')))
			continue;
		fmt(v[n++], 512, "%.*s", (int)(rb - lb - 1), lb + 1);
	}
	return n;
}

static char *lib_c_source(const char *dir)
{
	static char src[PATH_MAX];
	fmt(src, sizeof src, "%s/f.c", dir);
	put_file(src, "int f(void) { return 1; }\n");
	return src;
}

/* A shared library DIR/NAME with the given -rpath and dtags flag. */
static void build_lib(const char *dir, const char *name, const char *rpath, const char *dtags,
		      char *out)
{
	char flag[PATH_MAX + 16];
	fmt(out, PATH_MAX, "%s/%s", dir, name);
	fmt(flag, sizeof flag, "-Wl,-rpath,%s", rpath);
	char *argv[] = { "gcc", "-shared", "-fPIC", "-o", out, lib_c_source(dir), (char *)dtags, flag, NULL };
	must_run(argv);
}

/* The directory part of path, as the loader's $ORIGIN. */
static void dir_of(const char *path, char *out)
{
	fmt(out, PATH_MAX, "%s", path);
	*strrchr(out, '/') = '\0';
}

static long rchar(void)
{
	char buf[1024];
	FILE *f = fopen("/proc/self/io", "r");
	cr_assert_not_null(f);
	long v = -1;
	while (fgets(buf, sizeof buf, f))
		if (sscanf(buf, "rchar: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* ---- hand-built objects: any class and byte order, and a known layout to garble ---- */

struct img {
	unsigned char b[0x1000];
	size_t len;
	bool is64, be;
	size_t phoff, phent, dynoff, dynent, ndyn, stroff, interp_off;
};

static void wr(struct img *m, size_t off, size_t size, uint64_t v)
{
	for (size_t i = 0; i < size; i++)
		m->b[off + (m->be ? size - 1 - i : i)] = (unsigned char)(v >> (8 * i));
}

#define W(m, base, T, field, v)                                                              \
	((m)->is64 ? wr(m, (base) + offsetof(Elf64_##T, field), sizeof(((Elf64_##T *)0)->field), v) \
		   : wr(m, (base) + offsetof(Elf32_##T, field), sizeof(((Elf32_##T *)0)->field), v))

#define VBASE 0x400000u

/* Layout: header at 0, three program headers at 0x40 (PT_LOAD of the whole file, PT_INTERP,
 * PT_DYNAMIC), interpreter at 0x200, dynamic section at 0x300, strings at 0x800. */
static void synth(struct img *m, bool is64, bool be, const char *interp, const char *runpath,
		  const char *rpath, const char *const *needed, size_t nneeded)
{
	memset(m, 0, sizeof *m);
	m->is64 = is64, m->be = be;
	m->phoff = 0x40, m->phent = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	m->interp_off = 0x200, m->dynoff = 0x300, m->stroff = 0x800;
	m->dynent = is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
	memcpy(m->b, ELFMAG, SELFMAG);
	m->b[EI_CLASS] = is64 ? ELFCLASS64 : ELFCLASS32;
	m->b[EI_DATA] = be ? ELFDATA2MSB : ELFDATA2LSB;
	m->b[EI_VERSION] = EV_CURRENT;
	W(m, 0, Ehdr, e_type, ET_DYN);
	W(m, 0, Ehdr, e_machine, is64 ? (be ? EM_PPC64 : EM_X86_64) : (be ? EM_PPC : EM_386));
	W(m, 0, Ehdr, e_version, EV_CURRENT);
	W(m, 0, Ehdr, e_phoff, m->phoff);
	W(m, 0, Ehdr, e_ehsize, is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr));
	W(m, 0, Ehdr, e_phentsize, m->phent);
	W(m, 0, Ehdr, e_phnum, 3);

	/* strings */
	size_t s = m->stroff + 1, str_needed[8], str_run = 0, str_rp = 0;
	for (size_t i = 0; i < nneeded; i++) {
		str_needed[i] = s - m->stroff;
		strcpy((char *)m->b + s, needed[i]);
		s += strlen(needed[i]) + 1;
	}
	if (runpath) {
		str_run = s - m->stroff;
		strcpy((char *)m->b + s, runpath);
		s += strlen(runpath) + 1;
	}
	if (rpath) {
		str_rp = s - m->stroff;
		strcpy((char *)m->b + s, rpath);
		s += strlen(rpath) + 1;
	}
	m->len = s;

	/* dynamic */
	size_t d = m->dynoff;
#define DYN(tag, val) (W(m, d, Dyn, d_tag, tag), W(m, d, Dyn, d_un.d_val, val), d += m->dynent)
	for (size_t i = 0; i < nneeded; i++)
		DYN(DT_NEEDED, str_needed[i]);
	if (runpath)
		DYN(DT_RUNPATH, str_run);
	if (rpath)
		DYN(DT_RPATH, str_rp);
	DYN(DT_STRTAB, VBASE + m->stroff);
	DYN(DT_STRSZ, s - m->stroff);
	DYN(DT_NULL, 0);
#undef DYN
	m->ndyn = (d - m->dynoff) / m->dynent;

	if (interp)
		strcpy((char *)m->b + m->interp_off, interp);
	size_t p = m->phoff;
	W(m, p, Phdr, p_type, PT_LOAD);
	W(m, p, Phdr, p_offset, 0);
	W(m, p, Phdr, p_vaddr, VBASE);
	W(m, p, Phdr, p_filesz, m->len);
	W(m, p, Phdr, p_memsz, m->len);
	p += m->phent;
	W(m, p, Phdr, p_type, interp ? PT_INTERP : PT_NULL);
	W(m, p, Phdr, p_offset, m->interp_off);
	W(m, p, Phdr, p_vaddr, VBASE + m->interp_off);
	W(m, p, Phdr, p_filesz, interp ? strlen(interp) + 1 : 0);
	p += m->phent;
	W(m, p, Phdr, p_type, PT_DYNAMIC);
	W(m, p, Phdr, p_offset, m->dynoff);
	W(m, p, Phdr, p_vaddr, VBASE + m->dynoff);
	W(m, p, Phdr, p_filesz, m->ndyn * m->dynent);
	W(m, p, Phdr, p_memsz, m->ndyn * m->dynent);
}

/* Program header i's field. */
#define PH(m, i, field, v) W(m, (m)->phoff + (i) * (m)->phent, Phdr, field, v)
/* Dynamic entry i's value. */
#define DYNVAL(m, i, v) W(m, (m)->dynoff + (i) * (m)->dynent, Dyn, d_un.d_val, v)

/* Write m, read it back with a file offset that must not move and reads that must stay
 * within ELF_READ_BOUND; the result. */
static int parse_img(const char *dir, const char *name, const struct img *m, struct elf_paths *ep)
{
	char path[PATH_MAX];
	fmt(path, sizeof path, "%s/%s", dir, name);
	put_bytes(path, m->b, m->len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	lseek(fd, 7, SEEK_SET);
	long before = rchar();
	int r = elf_read_paths(fd, "/o/lib/x.so", "lib64", "plat", ep);
	long read = rchar() - before;
	cr_expect_eq(lseek(fd, 0, SEEK_CUR), 7, "%s: file offset moved", name);
	cr_expect_leq(read, ELF_READ_BOUND + 4096, "%s: read %ld bytes", name, read);
	close(fd);
	return r;
}

/* ---- real objects --------------------------------------------------------------------- */

Test(elf, runpath_keeps_origin_entries_and_absolute_ones_in_order)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX], real[PATH_MAX], want0[PATH_MAX];
	scratch("runpath/sub", dir);
	build_lib(dir, "librp.so", "$ORIGIN/../lib:/abs/x", "-Wl,--enable-new-dtags", lib);
	cr_assert_not_null(realpath(lib, real));
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, real, "lib", "x86_64", &ep), 0);
	cr_assert(ep.is_elf && ep.dynamic && !ep.from_rpath);
	cr_assert_null(ep.interp);
	char origin[PATH_MAX];
	dir_of(real, origin);
	fmt(want0, sizeof want0, "%s/../lib", origin);
	const char *want[] = { want0, "/abs/x" };
	assert_list(ep.search, ep.nsearch, want, 2, "search");
	if (have_prog("readelf")) {
		char v[16][512];
		cr_assert_eq(readelf_tag(lib, "RUNPATH", v), 1);
		cr_assert_str_eq(v[0], "$ORIGIN/../lib:/abs/x");
		cr_assert_eq(readelf_tag(lib, "RPATH", v), 0);
	}
	elf_paths_free(&ep);
}

Test(elf, rpath_is_used_and_flagged_when_new_dtags_are_disabled)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX];
	scratch("rpath", dir);
	build_lib(dir, "librpath.so", "/opt/a/lib:/opt/b/lib", "-Wl,--disable-new-dtags", lib);
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, lib, "lib", "x86_64", &ep), 0);
	cr_assert(ep.from_rpath);
	const char *want[] = { "/opt/a/lib", "/opt/b/lib" };
	assert_list(ep.search, ep.nsearch, want, 2, "search");
	if (have_prog("readelf")) {
		char v[16][512];
		cr_assert_eq(readelf_tag(lib, "RPATH", v), 1);
		cr_assert_str_eq(v[0], "/opt/a/lib:/opt/b/lib");
		cr_assert_eq(readelf_tag(lib, "RUNPATH", v), 0);
	}
	elf_paths_free(&ep);
}

/* glibc's rules: "$NAME" not followed by [A-Za-z0-9_], or "${NAME}"; an unknown "$X" is
 * kept literally; results that are not absolute are searched from the job's current
 * directory, so they tell us nothing and are dropped (also "$LIB/x", an empty entry, and
 * "rel/dir"). */
Test(elf, tokens_expand_in_every_form_glibc_accepts)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX], origin[PATH_MAX];
	scratch("tokens", dir);
	build_lib(dir, "libtok.so",
		  "${ORIGIN}/a:$LIB/rel:/p/$PLATFORM/c:/q/${LIB}:/r/$LIBx:/s/$FOO:rel/dir::/t/${PLATFORM}x:"
		  "$ORIGINAL/z:/u/$:/v/${LIB",
		  "-Wl,--enable-new-dtags", lib);
	dir_of(lib, origin);
	char w0[PATH_MAX];
	fmt(w0, sizeof w0, "%s/a", origin);
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, lib, "lib/test-arch", "plat", &ep), 0);
	const char *want[] = { w0, "/p/plat/c", "/q/lib/test-arch", "/r/$LIBx", "/s/$FOO",
			       "/t/platx", "/u/$", "/v/${LIB" };
	assert_list(ep.search, ep.nsearch, want, 8, "search");
	elf_paths_free(&ep);
}

/* Only the search list: DT_NEEDED's strings are never read, the entry is kept as written,
 * and expanding it for another $ORIGIN gives what a read with that origin gives. */
Test(elf, search_only_reads_no_needed_and_keeps_the_entry_for_another_origin)
{
	char dir[PATH_MAX], path[PATH_MAX];
	scratch("searchonly", dir);
	const char *needed[] = { "libone.so", "libtwo.so" };
	struct img m;
	synth(&m, true, false, NULL, "$ORIGIN/../lib:/abs/$LIB", NULL, needed, 2);
	fmt(path, sizeof path, "%s/libs.so", dir);
	put_bytes(path, m.b, m.len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	struct elf_paths all, only;
	cr_assert_eq(elf_read_paths(fd, "/real/lib/libs.so", "lib64", "plat", &all), 0);
	long before = rchar();
	cr_assert_eq(elf_read_search(fd, "/real/lib/libs.so", "lib64", "plat", &only), 0);
	long read_only = rchar() - before;
	before = rchar();
	struct elf_paths again;
	cr_assert_eq(elf_read_paths(fd, "/real/lib/libs.so", "lib64", "plat", &again), 0);
	cr_assert_lt(read_only, rchar() - before, "the needed names were not read");
	elf_paths_free(&again);
	cr_assert(only.is_elf && only.dynamic);
	cr_assert_eq(only.nneeded, 0);
	cr_assert_eq(all.nneeded, 2);
	assert_list(only.search, only.nsearch, (const char *const *)all.search, all.nsearch, "search");
	cr_assert_str_eq(only.search_raw, "$ORIGIN/../lib:/abs/$LIB");
	struct elf_paths other;
	cr_assert_eq(elf_read_search(fd, "/link/dir/libs.so", "lib64", "plat", &other), 0);
	struct elf_paths again_there;
	cr_assert_eq(elf_search_for_origin(&only, "/link/dir/libs.so", "lib64", "plat", &again_there), 0);
	assert_list(again_there.search, again_there.nsearch, (const char *const *)other.search, other.nsearch,
		    "search from the other origin");
	cr_assert_eq(again_there.from_rpath, other.from_rpath);
	elf_paths_free(&again_there);
	elf_paths_free(&other);
	elf_paths_free(&only);
	elf_paths_free(&all);
	close(fd);
}

/* The loader drops an entry whose token has no value (no origin known, no platform). */
Test(elf, a_token_without_value_drops_its_entry)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX];
	scratch("novalue", dir);
	build_lib(dir, "libnv.so", "$ORIGIN/a:/b/$LIB:/c/${PLATFORM}:/d", "-Wl,--enable-new-dtags", lib);
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, NULL, NULL, "", &ep), 0);
	const char *want[] = { "/d" };
	assert_list(ep.search, ep.nsearch, want, 1, "search");
	elf_paths_free(&ep);
	cr_assert_eq(read_paths(lib, "relative/libnv.so", "lib", "x", &ep), -EINVAL);
}

Test(elf, trailing_slashes_and_duplicates_collapse_in_order)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX], origin[PATH_MAX];
	scratch("dups", dir);
	build_lib(dir, "libdup.so", "/d1/:/d1:/d2//:$ORIGIN:${ORIGIN}/:/:///", "-Wl,--enable-new-dtags", lib);
	dir_of(lib, origin);
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, lib, "lib", "x86_64", &ep), 0);
	const char *want[] = { "/d1", "/d2", origin, "/" };
	assert_list(ep.search, ep.nsearch, want, 4, "search");
	elf_paths_free(&ep);
}

Test(elf, executable_has_interp_and_needed_in_readelf_order)
{
	SKIP_UNLESS("gcc");
	SKIP_UNLESS("readelf");
	char dir[PATH_MAX], lib[PATH_MAX], exe[PATH_MAX], src[PATH_MAX], ldir[PATH_MAX];
	scratch("exe", dir);
	build_lib(dir, "libneed.so", "/nowhere", "-Wl,--enable-new-dtags", lib);
	fmt(src, sizeof src, "%s/main.c", dir);
	put_file(src, "#include <math.h>\nint f(void);\nint main(int c, char **v) { (void)v; return f() + (int)sqrt((double)c) - 2; }\n");
	fmt(exe, sizeof exe, "%s/prog", dir);
	fmt(ldir, sizeof ldir, "-L%s", dir);
	char *argv[] = { "gcc", "-o", exe, src, "-Wl,--no-as-needed", ldir, "-lneed", "-lm", NULL };
	must_run(argv);
	struct elf_paths ep;
	cr_assert_eq(read_paths(exe, exe, "lib", "x86_64", &ep), 0);
	cr_assert(ep.is_elf && ep.dynamic);
	cr_assert_eq(ep.nsearch, 0);

	char out[65536];
	char *rargv[] = { "readelf", "-l", "-W", exe, NULL };
	cr_assert_eq(run(rargv, NULL, out, sizeof out), 0);
	char *req = strstr(out, "Requesting program interpreter: ");
	cr_assert_not_null(req);
	req += strlen("Requesting program interpreter: ");
	*strchr(req, ']') = '\0';
	cr_assert_not_null(ep.interp);
	cr_assert_str_eq(ep.interp, req);

	char v[16][512];
	size_t n = readelf_tag(exe, "NEEDED", v);
	cr_assert_geq(n, 3);   /* libneed.so, libm, libc */
	const char *want[16];
	for (size_t i = 0; i < n; i++)
		want[i] = v[i];
	assert_list(ep.needed, ep.nneeded, want, n, "needed");
	cr_assert_str_eq(ep.needed[0], "libneed.so");
	elf_paths_free(&ep);
}

Test(elf, static_executable_has_no_dynamic_section)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], exe[PATH_MAX], src[PATH_MAX];
	scratch("static", dir);
	fmt(src, sizeof src, "%s/s.c", dir);
	put_file(src, "int main(void) { return 0; }\n");
	fmt(exe, sizeof exe, "%s/static-prog", dir);
	char *argv[] = { "gcc", "-static", "-o", exe, src, NULL };
	char out[8192];
	if (run(argv, NULL, out, sizeof out) != 0) {
		fprintf(stderr, "SKIP: elf: gcc -static failed here (no libc.a?): %s\n", out);
		cr_skip_test("gcc -static failed here");
	}
	struct elf_paths ep;
	cr_assert_eq(read_paths(exe, exe, "lib", "x86_64", &ep), 0);
	cr_assert(ep.is_elf);
	cr_assert(!ep.dynamic);
	cr_assert_null(ep.interp);
	cr_assert_eq(ep.nsearch + ep.nneeded, 0);
	elf_paths_free(&ep);
}

/* ELFCLASS32: gcc -m32 without a 32-bit libc can still link -nostdlib shared objects. */
Test(elf, elfclass32_object_from_gcc_m32)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], dep[PATH_MAX], lib[PATH_MAX], ldir[PATH_MAX], origin[PATH_MAX], w0[PATH_MAX];
	scratch("elf32", dir);
	fmt(dep, sizeof dep, "%s/libdep32.so", dir);
	char *a1[] = { "gcc", "-m32", "-shared", "-fPIC", "-nostdlib", "-o", dep, lib_c_source(dir), NULL };
	char out[8192];
	if (run(a1, NULL, out, sizeof out) != 0) {
		fprintf(stderr, "SKIP: elf: gcc -m32 cannot build a 32-bit object here: %s\n", out);
		cr_skip_test("gcc -m32 cannot build a 32-bit object here");
	}
	fmt(lib, sizeof lib, "%s/lib32.so", dir);
	fmt(ldir, sizeof ldir, "-L%s", dir);
	char *a2[] = { "gcc", "-m32", "-shared", "-fPIC", "-nostdlib", "-o", lib, lib_c_source(dir),
		       "-Wl,--no-as-needed", ldir, "-ldep32", "-Wl,--enable-new-dtags",
		       "-Wl,-rpath,$ORIGIN/x:/abs32/$LIB", NULL };
	must_run(a2);
	dir_of(lib, origin);
	fmt(w0, sizeof w0, "%s/x", origin);
	struct elf_paths ep;
	cr_assert_eq(read_paths(lib, lib, "lib/i386-linux-gnu", "i686", &ep), 0);
	cr_assert(ep.is_elf && ep.dynamic && !ep.from_rpath);
	const char *want[] = { w0, "/abs32/lib/i386-linux-gnu" };
	assert_list(ep.search, ep.nsearch, want, 2, "search");
	const char *wn[] = { "libdep32.so" };
	assert_list(ep.needed, ep.nneeded, wn, 1, "needed");
	elf_paths_free(&ep);
}

/* ---- hand-built objects --------------------------------------------------------------- */

/* Both classes in both byte orders; readelf (which reads any of them) agrees on the
 * strings, so the hand-built layout is a real ELF and not just what our reader expects. */
Test(elf, every_class_and_byte_order_reads_like_readelf)
{
	char dir[PATH_MAX];
	scratch("synth", dir);
	const char *needed[] = { "liba.so.1", "libb.so", "$ORIGIN/libc-local.so" };
	for (int v = 0; v < 4; v++) {
		bool is64 = v & 1, be = v & 2;
		struct img m;
		synth(&m, is64, be, "/lib/ld-test.so.1", "$ORIGIN/../lib:/x/$PLATFORM", "/ignored", needed, 3);
		char name[32];
		fmt(name, sizeof name, "o%d%s.so", is64 ? 64 : 32, be ? "be" : "le");
		struct elf_paths ep;
		cr_assert_eq(parse_img(dir, name, &m, &ep), 0, "%s", name);
		cr_assert(ep.is_elf && ep.dynamic && !ep.from_rpath, "%s", name);
		cr_assert_str_eq(ep.interp, "/lib/ld-test.so.1");
		const char *ws[] = { "/o/lib/../lib", "/x/plat" };
		assert_list(ep.search, ep.nsearch, ws, 2, name);
		const char *wn[] = { "liba.so.1", "libb.so", "/o/lib/libc-local.so" };
		assert_list(ep.needed, ep.nneeded, wn, 3, name);
		elf_paths_free(&ep);
		if (have_prog("readelf")) {
			char path[PATH_MAX], rv[16][512];
			fmt(path, sizeof path, "%s/%s", dir, name);
			cr_assert_eq(readelf_tag(path, "NEEDED", rv), 3, "%s", name);
			cr_assert_str_eq(rv[1], "libb.so");
			cr_assert_eq(readelf_tag(path, "RUNPATH", rv), 1, "%s", name);
			cr_assert_str_eq(rv[0], "$ORIGIN/../lib:/x/$PLATFORM");
		}
	}
}

Test(elf, non_elf_files_are_not_elf)
{
	char dir[PATH_MAX], p[PATH_MAX];
	scratch("nonelf", dir);
	const char *bodies[] = { "", "\x7f", "\x7f" "EL", "#!/bin/sh\necho hi\n", "ELF\x7f and more text" };
	for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
		fmt(p, sizeof p, "%s/file%zu", dir, i);
		put_bytes(p, bodies[i], strlen(bodies[i]));
		struct elf_paths ep;
		cr_assert_eq(read_paths(p, p, "lib", "x86_64", &ep), 0, "body %zu", i);
		cr_assert(!ep.is_elf && !ep.dynamic && !ep.interp && !ep.nsearch && !ep.nneeded);
	}
}

/* Every prefix of a real library: complete enough -> 0, else -EIO; never a crash, and
 * what was read never exceeds the bound. */
Test(elf, truncated_objects_fail_with_eio)
{
	SKIP_UNLESS("gcc");
	char dir[PATH_MAX], lib[PATH_MAX], cut[PATH_MAX];
	scratch("trunc", dir);
	build_lib(dir, "libfull.so", "$ORIGIN/../lib", "-Wl,--enable-new-dtags", lib);
	size_t len;
	unsigned char *full = get_bytes(lib, &len);
	fmt(cut, sizeof cut, "%s/cut.so", dir);
	size_t eio = 0;
	for (size_t n = 0; n < len; n += n < 256 ? 1 : 61) {
		put_bytes(cut, full, n);
		struct elf_paths ep;
		int r = read_paths(cut, cut, "lib", "x86_64", &ep);
		cr_assert(r == 0 || r == -EIO, "length %zu: %d", n, r);
		if (n < 4)
			cr_assert(r == 0 && !ep.is_elf);
		else
			cr_assert(ep.is_elf);
		eio += r == -EIO;
		if (r == 0)
			elf_paths_free(&ep);
	}
	cr_assert_gt(eio, 100);
	struct elf_paths ep;
	put_bytes(cut, full, 100);   /* header, part of the program headers */
	cr_assert_eq(read_paths(cut, cut, "lib", "x86_64", &ep), -EIO);
	cr_assert(ep.is_elf && !ep.nsearch && !ep.interp);
	free(full);
}

/* Offsets and sizes pointing anywhere: -EIO or -EFBIG, bounded reads, untouched offset. */
Test(elf, garbled_offsets_and_sizes_are_rejected)
{
	char dir[PATH_MAX];
	scratch("garbled", dir);
	const char *needed[] = { "liba.so" };
	struct { const char *name; int want; } cases[] = {
		{ "phoff_past_end", -EIO },       { "phentsize_wrong", -EIO },
		{ "phnum_xnum", -EFBIG },         { "dynamic_past_end", -EIO },
		{ "dynamic_huge", -EIO },         { "strtab_outside_loads", -EIO },
		{ "needed_past_strsz", -EIO },    { "string_without_nul", -EIO },
		{ "interp_without_nul", -EIO },   { "interp_huge", -EIO },
		{ "load_offset_wraps", -EIO },    { "bad_class", -EIO },
		{ "header_cut", -EIO },
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		for (int v = 0; v < 4; v++) {
			struct img m;
			bool is64 = v & 1;
			synth(&m, is64, v & 2, "/lib/ld.so", "/r", NULL, needed, 1);
			const char *n = cases[c].name;
			if (!strcmp(n, "phoff_past_end"))
				W(&m, 0, Ehdr, e_phoff, is64 ? UINT64_MAX - 8 : UINT32_MAX - 8);
			else if (!strcmp(n, "phentsize_wrong"))
				W(&m, 0, Ehdr, e_phentsize, m.phent + 4);
			else if (!strcmp(n, "phnum_xnum"))
				W(&m, 0, Ehdr, e_phnum, PN_XNUM);
			else if (!strcmp(n, "dynamic_past_end"))
				PH(&m, 2, p_offset, 0x7fffff00);
			else if (!strcmp(n, "dynamic_huge"))
				PH(&m, 2, p_filesz, is64 ? (1ull << 40) : UINT32_MAX);
			else if (!strcmp(n, "strtab_outside_loads"))
				DYNVAL(&m, 2, 0x100);
			else if (!strcmp(n, "needed_past_strsz"))
				DYNVAL(&m, 0, 0x7000);
			else if (!strcmp(n, "string_without_nul"))
				m.b[m.len - 1] = 'x', DYNVAL(&m, 1, m.len - 3 - m.stroff);   /* RUNPATH: last bytes */
			else if (!strcmp(n, "interp_without_nul"))
				PH(&m, 1, p_filesz, strlen("/lib/ld.so"));
			else if (!strcmp(n, "interp_huge"))
				PH(&m, 1, p_filesz, 1u << 30);
			else if (!strcmp(n, "load_offset_wraps"))
				PH(&m, 0, p_offset, is64 ? UINT64_MAX - 0x10 : UINT32_MAX - 0x10);
			else if (!strcmp(n, "bad_class"))
				m.b[EI_CLASS] = 7;
			else if (!strcmp(n, "header_cut"))
				m.len = is64 ? 60 : 40;
			struct elf_paths ep;
			char name[64];
			fmt(name, sizeof name, "%s-%d", n, v);
			int r = parse_img(dir, name, &m, &ep);
			cr_expect_eq(r, cases[c].want, "%s: %d, want %d", name, r, cases[c].want);
			cr_expect(ep.is_elf, "%s", name);
			cr_expect(!ep.interp && !ep.nsearch && !ep.nneeded, "%s: left results", name);
			if (r == 0)
				elf_paths_free(&ep);
		}
	}
}

/* A file built to make a reader read without end: a dynamic section claiming gigabytes,
 * thousands of DT_NEEDED entries naming strings that never end. At most ELF_READ_BOUND
 * bytes are read, then -EFBIG. */
Test(elf, hostile_sizes_are_read_only_up_to_the_bound)
{
	char dir[PATH_MAX], path[PATH_MAX];
	scratch("hostile", dir);
	const size_t dynoff = 0x1000, ndyn = ELF_MAX_DYNAMIC / sizeof(Elf64_Dyn) + 100;
	const size_t stroff = dynoff + ndyn * sizeof(Elf64_Dyn), strsz = 8 << 20;
	size_t len = stroff + strsz;
	unsigned char *b = calloc(1, len);
	cr_assert_not_null(b);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;   /* written in this host's own byte order */
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? ELFDATA2MSB : ELFDATA2LSB;
	eh->e_type = ET_DYN, eh->e_phoff = 64, eh->e_phentsize = sizeof(Elf64_Phdr), eh->e_phnum = 2;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + 64);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0, .p_filesz = len, .p_memsz = len };
	ph[1] = (Elf64_Phdr){ .p_type = PT_DYNAMIC, .p_offset = dynoff, .p_filesz = 1ull << 34 };
	Elf64_Dyn *d = (Elf64_Dyn *)(b + dynoff);
	d[0] = (Elf64_Dyn){ .d_tag = DT_STRTAB, .d_un.d_val = stroff };
	for (size_t i = 1; i < ndyn; i++)
		d[i] = (Elf64_Dyn){ .d_tag = DT_NEEDED, .d_un.d_val = (i * 4099) % (strsz / 2) };
	memset(b + stroff, 'A', strsz);
	fmt(path, sizeof path, "%s/hostile.so", dir);
	put_bytes(path, b, len);
	free(b);

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long before = rchar();
	struct elf_paths ep;
	int r = elf_read_paths(fd, path, "lib", "x86_64", &ep);
	long read = rchar() - before;
	close(fd);
	cr_assert_eq(r, -EFBIG);
	cr_assert_leq(read, ELF_READ_BOUND + 4096, "read %ld bytes", read);

	/* the same, ended by DT_NULL within the bound: the strings hit the budget instead */
	fd = open(path, O_RDWR | O_CLOEXEC);
	Elf64_Dyn end = { .d_tag = DT_NULL };
	cr_assert_eq(pwrite(fd, &end, sizeof end, dynoff + 1000 * sizeof(Elf64_Dyn)), (ssize_t)sizeof end);
	before = rchar();
	r = elf_read_paths(fd, path, "lib", "x86_64", &ep);
	read = rchar() - before;
	close(fd);
	cr_assert_eq(r, -EFBIG);
	cr_assert_leq(read, ELF_READ_BOUND + 4096, "read %ld bytes", read);
}

/* ---- the loader itself as the reference ------------------------------------------------ */

/* LD_DEBUG=libs: the "search path=" list the loader built from FILE's RUNPATH (each entry,
 * then its glibc-hwcaps/tls/platform subdirectories). */
static size_t loader_search(const char *exe, const char *file, char list[64][PATH_MAX])
{
	static char out[1 << 20];
	char *argv[] = { (char *)exe, NULL };
	run(argv, "LD_DEBUG=libs", out, sizeof out);
	char tail[PATH_MAX + 32];
	fmt(tail, sizeof tail, "(RUNPATH from file %s)", file);
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strstr(line, "search path="), *from = strstr(line, tail);
		if (!sp || !from)
			continue;
		sp += strlen("search path=");
		sp[strcspn(sp, "\t")] = '\0';
		size_t n = 0;
		for (char *e = strtok(sp, ":"); e && n < 64; e = strtok(NULL, ":"))
			fmt(list[n++], PATH_MAX, "%s", e);
		return n;
	}
	cr_assert_fail("no RUNPATH search path for %s in LD_DEBUG output", file);
	return 0;
}

/* Ours and the loader's agree: each of our entries is in its list, and each of its
 * entries is one of ours or a subdirectory of one (the hwcaps probes). */
static void assert_matches_loader(struct elf_paths *ep, char list[64][PATH_MAX], size_t n)
{
	for (size_t i = 0; i < ep->nsearch; i++) {
		bool found = false;
		for (size_t j = 0; j < n; j++)
			found |= strcmp(list[j], ep->search[i]) == 0;
		cr_assert(found, "%s is not in the loader's search path", ep->search[i]);
	}
	for (size_t j = 0; j < n; j++) {
		bool under = false;
		for (size_t i = 0; i < ep->nsearch; i++) {
			size_t l = strlen(ep->search[i]);
			under |= strncmp(list[j], ep->search[i], l) == 0 && (list[j][l] == '\0' || list[j][l] == '/');
		}
		cr_assert(under, "the loader searches %s, which we did not compute", list[j]);
	}
}

Test(elf, loader_tokens_and_origin_are_what_the_loader_uses)
{
	SKIP_UNLESS("gcc");
	char lib[256], plat[64];
	int r = elf_loader_tokens(lib, sizeof lib, plat, sizeof plat);
	cr_assert_eq(r, 0, "elf_loader_tokens: %d (lib '%s', platform '%s')", r, lib, plat);
	char dir[PATH_MAX], src[PATH_MAX], exe[PATH_MAX], real[PATH_MAX];
	scratch("loader/bin", dir);
	fmt(src, sizeof src, "%s/m.c", dir);
	put_file(src, "int main(void) { return 0; }\n");
	fmt(exe, sizeof exe, "%s/m", dir);
	char *argv[] = { "gcc", "-o", exe, src, "-Wl,--enable-new-dtags",
			 "-Wl,-rpath,/nonexistent-collrun/$LIB/$PLATFORM:$ORIGIN/../o:${ORIGIN}/p:/q//:/nonexistent-collrun/${LIB}", NULL };
	must_run(argv);
	cr_assert_not_null(realpath(exe, real));
	struct elf_paths ep;
	cr_assert_eq(read_paths(exe, real, lib, plat, &ep), 0);
	cr_assert_eq(ep.nsearch, 5);
	char list[64][PATH_MAX];
	size_t n = loader_search(exe, exe, list);
	assert_matches_loader(&ep, list, n);
	elf_paths_free(&ep);
}

/* glibc's $ORIGIN for a library is the directory of the path it opened, symlinks NOT
 * resolved: T/lib/libf.so -> R/lib/libf.so searches T/lib/../dep. The caller must pass
 * that path, and this test keeps the claim honest. */
Test(elf, library_origin_is_the_path_the_loader_opened)
{
	SKIP_UNLESS("gcc");
	char root[PATH_MAX], rlib[PATH_MAX], tlib[PATH_MAX], src[PATH_MAX], libf[PATH_MAX], link[PATH_MAX];
	char exe[PATH_MAX], flag[PATH_MAX + 16], ldir[PATH_MAX + 2];
	scratch("origin", root);
	fmt(rlib, sizeof rlib, "%s/R/lib", root);
	fmt(tlib, sizeof tlib, "%s/T/lib", root);
	mkdirs(rlib);
	mkdirs(tlib);
	/* libf.so needs libg.so, which only R/dep has: the loader searches T/dep for it (and
	 * fails: the program does not run — which is the point) */
	char rdep[PATH_MAX], libg[PATH_MAX], gflag[PATH_MAX + 2];
	fmt(rdep, sizeof rdep, "%s/R/dep", root);
	mkdirs(rdep);
	build_lib(rdep, "libg.so", "/nowhere", "-Wl,--enable-new-dtags", libg);
	fmt(libf, sizeof libf, "%s/libf.so", rlib);
	fmt(gflag, sizeof gflag, "-L%s", rdep);
	char *fargv[] = { "gcc", "-shared", "-fPIC", "-o", libf, lib_c_source(rlib), "-Wl,--no-as-needed",
			  gflag, "-lg", "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/../dep", NULL };
	must_run(fargv);
	fmt(link, sizeof link, "%s/libf.so", tlib);
	unlink(link);
	cr_assert_eq(symlink("../../R/lib/libf.so", link), 0);
	fmt(src, sizeof src, "%s/m.c", root);
	put_file(src, "int f(void);\nint main(void) { return f() - 1; }\n");
	fmt(exe, sizeof exe, "%s/m", root);
	fmt(flag, sizeof flag, "-Wl,-rpath,%s", tlib);
	fmt(ldir, sizeof ldir, "-L%s", rlib);
	char *argv[] = { "gcc", "-o", exe, src, ldir, "-lf", "-Wl,--enable-new-dtags", flag, NULL };
	must_run(argv);
	struct elf_paths ep;
	cr_assert_eq(read_paths(link, link, "lib", "x86_64", &ep), 0);
	char list[64][PATH_MAX];
	size_t n = loader_search(exe, link, list);
	assert_matches_loader(&ep, list, n);
	char want[PATH_MAX];
	fmt(want, sizeof want, "%s/../dep", tlib);
	cr_assert_str_eq(ep.search[0], want);
	elf_paths_free(&ep);
}

Test(elf, loader_tokens_look_like_this_machines_loader)
{
	char lib[256], plat[64];
	cr_assert_eq(elf_loader_tokens(lib, sizeof lib, plat, sizeof plat), 0);
	cr_assert(strncmp(lib, "lib", 3) == 0, "$LIB = %s", lib);
	cr_assert(plat[0] != '\0');
	char small[4];
	cr_assert_eq(elf_loader_tokens(small, sizeof small, plat, sizeof plat),
		     strlen(lib) >= sizeof small ? -ERANGE : 0);
}

/* LD_LIBRARY_PATH's form: ':' and ';' separate, tokens expand, appending skips what is there. */
Test(elf, expand_path_list_appends_new_absolute_entries)
{
	char **v = NULL;
	size_t n = 0;
	cr_assert_eq(elf_expand_path_list("/a:/b;/c::rel:$ORIGIN/x:/a/", ":;", "/o", "lib64", "p", &v, &n), 0);
	const char *want[] = { "/a", "/b", "/c", "/o/x" };
	assert_list(v, n, want, 4, "list");
	cr_assert_eq(elf_expand_path_list("/c:/d/$PLATFORM:/e/$LIB", ":", NULL, NULL, "p", &v, &n), 0);
	const char *want2[] = { "/a", "/b", "/c", "/o/x", "/d/p" };
	assert_list(v, n, want2, 5, "list");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
