/* pyenv_discover on fake layouts — a base install, a venv over it (symlinked and copied
 * interpreters, with and without system site-packages), a conda-style environment, user
 * sites, .pth files of every kind of line, an embedding program linking libpython — and on
 * this machine's /usr/bin/python3, whose own sys.path is the reference. Nothing is run
 * except python3 itself for that reference: the fake interpreters are copies of /bin/true.
 * Scratch files live under BUILD/tests/unit-scratch/pyenv/ (never /tmp). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "pyenv.h"

/* ---- helpers -------------------------------------------------------------------------- */

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

/* A fresh BUILD/tests/unit-scratch/pyenv/NAME (BUILD: where this binary was built). */
static void scratch(const char *name, char *out)
{
	char exe[PATH_MAX], cmd[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	cr_assert(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	*strrchr(exe, '/') = '\0';
	fmt(out, PATH_MAX, "%s/unit-scratch/pyenv/%s", exe, name);
	fmt(cmd, sizeof cmd, "rm -rf '%s'", out);
	cr_assert_eq(system(cmd), 0);
	mkdirs(out);
}

/* ROOT/REL as a directory (with its parents). */
static void dir_at(const char *root, const char *rel)
{
	char p[PATH_MAX];
	fmt(p, sizeof p, "%s/%s", root, rel);
	mkdirs(p);
}

__attribute__((format(printf, 3, 4)))
static void file_at(const char *root, const char *rel, const char *f, ...)
{
	char p[PATH_MAX];
	fmt(p, sizeof p, "%s/%s", root, rel);
	FILE *fp = fopen(p, "w");
	cr_assert_not_null(fp, "%s: %s", p, strerror(errno));
	va_list ap;
	va_start(ap, f);
	vfprintf(fp, f, ap);
	va_end(ap);
	fclose(fp);
}

/* An executable that is an ELF file and no Python: a copy of /bin/true. */
static void fake_interpreter(const char *root, const char *rel)
{
	char p[PATH_MAX], cmd[2 * PATH_MAX];
	fmt(p, sizeof p, "%s/%s", root, rel);
	fmt(cmd, sizeof cmd, "cp /bin/true '%s'", p);
	cr_assert_eq(system(cmd), 0);
}

static void link_at(const char *root, const char *rel, const char *target)
{
	char p[PATH_MAX];
	fmt(p, sizeof p, "%s/%s", root, rel);
	cr_assert_eq(symlink(target, p), 0, "%s: %s", p, strerror(errno));
}

/* pyenv_discover with exe_real = realpath(ROOT/NAMED). */
static int discover(const char *root, const char *named, const char *user_base, const char *home,
		    struct found_dirs *d)
{
	char n[PATH_MAX], r[PATH_MAX];
	fmt(n, sizeof n, "%s/%s", root, named);
	cr_assert_not_null(realpath(n, r), "%s", n);
	memset(d, 0, sizeof *d);
	return pyenv_discover(n, r, user_base, home, d);
}

/* The found directories, relative to root, must be exactly want[] in order. */
static void assert_found(const struct found_dirs *d, const char *root, const char *const *want, size_t n)
{
	char w[PATH_MAX];
	for (size_t i = 0; i < d->n && i < n; i++) {
		if (want[i][0] == '/')
			fmt(w, sizeof w, "%s", want[i]);
		else
			fmt(w, sizeof w, "%s/%s", root, want[i]);
		cr_expect_str_eq(d->v[i].dir, w, "[%zu] (%s)", i, d->v[i].why);
	}
	for (size_t i = n; i < d->n; i++)
		cr_expect_fail("unexpected [%zu] %s (%s)", i, d->v[i].dir, d->v[i].why);
	cr_assert_eq(d->n, n, "%zu found, want %zu", d->n, n);
}

static bool found(const struct found_dirs *d, const char *dir)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].dir, dir) == 0)
			return true;
	return false;
}

/* base/ : a CPython 3.11 installed at ROOT/base, with a .pth in its site-packages.
 * venv/ : a venv over it whose bin/python links to the base interpreter, and whose
 * site-packages has a.pth with one line of each kind. */
static void make_base_and_venv(const char *root, const char *system_site)
{
	dir_at(root, "base/bin");
	fake_interpreter(root, "base/bin/python3.11");
	dir_at(root, "base/lib/python3.11/site-packages");
	dir_at(root, "base/lib/python3.11/lib-dynload");
	file_at(root, "base/lib/python3.11/os.py", "# the stdlib landmark\n");
	dir_at(root, "basepkg");
	file_at(root, "base/lib/python3.11/site-packages/base.pth", "%s/basepkg\n", root);

	dir_at(root, "venv/bin");
	link_at(root, "venv/bin/python", "../../base/bin/python3.11");
	file_at(root, "venv/pyvenv.cfg",
		"home = %s/base/bin\ninclude-system-site-packages = %s\nversion = 3.11.7\n", root, system_site);
	dir_at(root, "venv/lib/python3.11/site-packages/rel-pkg");
	dir_at(root, "abs-pkg");
	dir_at(root, "commented");
	dir_at(root, "imported");
	dir_at(root, "dotdot-pkg");
	file_at(root, "venv/lib/python3.11/site-packages/a.pth",
		"%s/abs-pkg\n"
		"rel-pkg\r\n"
		"# %s/commented\n"
		"   \n"
		"import sys; sys.path.append('%s/imported')\n"
		"import\tos\n"
		"%s/missing\n"
		"../../../../dotdot-pkg   \n",
		root, root, root, root);
	/* a user site that a venv without system site-packages must not use */
	dir_at(root, "ubase/lib/python3.11/site-packages");
}

/* ---- tests ---------------------------------------------------------------------------- */

Test(pyenv, venv_without_system_site_packages)
{
	char root[PATH_MAX], ubase[PATH_MAX], w[PATH_MAX];
	scratch("venv-isolated", root);
	make_base_and_venv(root, "false");
	fmt(ubase, sizeof ubase, "%s/ubase", root);
	struct found_dirs d;
	cr_assert_eq(discover(root, "venv/bin/python", ubase, NULL, &d), 0);
	const char *want[] = {
		"venv", "base", "base/lib/python3.11", "base/lib/python3.11/lib-dynload",
		"venv/lib/python3.11/site-packages", "abs-pkg",
		"venv/lib/python3.11/site-packages/rel-pkg", "dotdot-pkg",
	};
	assert_found(&d, root, want, sizeof want / sizeof *want);
	fmt(w, sizeof w, "sys.prefix of %s/venv/bin/python (%s/venv/pyvenv.cfg)", root, root);
	cr_assert_str_eq(d.v[0].why, w);
	fmt(w, sizeof w, "home = %s/base/bin", root);
	cr_assert_not_null(strstr(d.v[1].why, "sys.base_prefix"), "%s", d.v[1].why);
	cr_assert_not_null(strstr(d.v[1].why, w), "%s", d.v[1].why);
	cr_assert_not_null(strstr(d.v[5].why, "a.pth line 1"), "%s", d.v[5].why);
	cr_assert_not_null(strstr(d.v[7].why, "a.pth line 8"), "%s", d.v[7].why);
	found_dirs_free(&d);
}

Test(pyenv, venv_with_system_site_packages_adds_user_and_base_sites)
{
	char root[PATH_MAX], ubase[PATH_MAX];
	scratch("venv-system", root);
	make_base_and_venv(root, "True");
	dir_at(root, "userpkg");
	file_at(root, "ubase/lib/python3.11/site-packages/u.pth", "../../../../userpkg\n");
	fmt(ubase, sizeof ubase, "%s/ubase", root);
	struct found_dirs d;
	cr_assert_eq(discover(root, "venv/bin/python", ubase, "/nonexistent-home", &d), 0);
	const char *want[] = {
		"venv", "base", "base/lib/python3.11", "base/lib/python3.11/lib-dynload",
		"venv/lib/python3.11/site-packages", "abs-pkg",
		"venv/lib/python3.11/site-packages/rel-pkg", "dotdot-pkg",
		"ubase/lib/python3.11/site-packages", "userpkg",
		"base/lib/python3.11/site-packages", "basepkg",
	};
	assert_found(&d, root, want, sizeof want / sizeof *want);
	cr_assert_not_null(strstr(d.v[8].why, "user site"), "%s", d.v[8].why);
	cr_assert_not_null(strstr(d.v[8].why, "PYTHONUSERBASE"), "%s", d.v[8].why);
	found_dirs_free(&d);
}

/* python -m venv --copies: bin/python is a copy with no version in its name; pyvenv.cfg's
 * "version" says which lib/python3.N is the stdlib. */
Test(pyenv, venv_with_copied_interpreter_takes_version_from_pyvenv_cfg)
{
	char root[PATH_MAX];
	scratch("venv-copies", root);
	dir_at(root, "base/bin");
	fake_interpreter(root, "base/bin/python3.11");
	dir_at(root, "base/lib/python3.11/lib-dynload");
	file_at(root, "base/lib/python3.11/os.py", "\n");
	dir_at(root, "base/lib/python3.12");   /* another version's leftovers: not ours */
	file_at(root, "base/lib/python3.12/os.py", "\n");
	dir_at(root, "venv/bin");
	fake_interpreter(root, "venv/bin/python");
	dir_at(root, "venv/lib/python3.11/site-packages");
	file_at(root, "venv/pyvenv.cfg", "home=%s/base/bin\nversion = 3.11.2\n", root);
	struct found_dirs d;
	cr_assert_eq(discover(root, "venv/bin/python", NULL, NULL, &d), 0);
	const char *want[] = { "venv", "base", "base/lib/python3.11", "base/lib/python3.11/lib-dynload",
			       "venv/lib/python3.11/site-packages" };
	assert_found(&d, root, want, sizeof want / sizeof *want);
	found_dirs_free(&d);
}

/* A conda environment is its own prefix (no pyvenv.cfg): found from the stdlib landmark
 * above the interpreter, version from lib/python3.* since "python3" has none. */
Test(pyenv, conda_environment_is_found_from_its_layout)
{
	char root[PATH_MAX];
	scratch("conda", root);
	dir_at(root, "env/bin");
	fake_interpreter(root, "env/bin/python3");
	dir_at(root, "env/conda-meta");
	dir_at(root, "env/lib/python3.11/site-packages/pkg-src");
	dir_at(root, "env/lib/python3.11/lib-dynload");
	file_at(root, "env/lib/python3.11/os.py", "\n");
	file_at(root, "env/lib/python3.11/site-packages/dev.pth", "pkg-src\n");
	struct found_dirs d;
	cr_assert_eq(discover(root, "env/bin/python3", NULL, NULL, &d), 0);
	const char *want[] = { "env", "env/lib/python3.11", "env/lib/python3.11/lib-dynload",
			       "env/lib/python3.11/site-packages", "env/lib/python3.11/site-packages/pkg-src" };
	assert_found(&d, root, want, sizeof want / sizeof *want);
	cr_assert_not_null(strstr(d.v[0].why, "conda environment"), "%s", d.v[0].why);
	found_dirs_free(&d);
}

/* Without PYTHONUSERBASE the user site is HOME/.local/lib/python3.N/site-packages; with
 * it, that one and not HOME's. */
Test(pyenv, user_site_from_home_unless_pythonuserbase_is_set)
{
	char root[PATH_MAX], home[PATH_MAX], ubase[PATH_MAX];
	scratch("usersite", root);
	dir_at(root, "py/bin");
	fake_interpreter(root, "py/bin/python3.11");
	dir_at(root, "py/lib/python3.11/lib-dynload");
	file_at(root, "py/lib/python3.11/os.py", "\n");
	dir_at(root, "home/.local/lib/python3.11/site-packages");
	dir_at(root, "ubase/lib/python3.11/site-packages");
	fmt(home, sizeof home, "%s/home", root);
	fmt(ubase, sizeof ubase, "%s/ubase", root);
	struct found_dirs d;
	cr_assert_eq(discover(root, "py/bin/python3.11", NULL, home, &d), 0);
	const char *want[] = { "py", "py/lib/python3.11", "py/lib/python3.11/lib-dynload",
			       "home/.local/lib/python3.11/site-packages" };
	assert_found(&d, root, want, 4);
	cr_assert_not_null(strstr(d.v[3].why, "HOME/.local"), "%s", d.v[3].why);
	found_dirs_free(&d);
	cr_assert_eq(discover(root, "py/bin/python3.11", ubase, home, &d), 0);
	const char *want2[] = { "py", "py/lib/python3.11", "py/lib/python3.11/lib-dynload",
				"ubase/lib/python3.11/site-packages" };
	assert_found(&d, root, want2, 4);
	found_dirs_free(&d);
}

/* A program that embeds Python (links libpython3.N) is an interpreter too; with no stdlib
 * above it, the prefix is found above the libpython its RUNPATH names. 3.99 so that no
 * real installation on the way up to / (a merged /lib/python3.11) is found instead. */
Test(pyenv, program_linking_libpython_uses_the_prefix_of_that_library)
{
	char root[PATH_MAX], src[PATH_MAX], lib[PATH_MAX], exe[PATH_MAX], ldir[PATH_MAX + 2], rp[PATH_MAX + 16];
	scratch("embed", root);
	if (system("command -v gcc >/dev/null 2>&1") != 0) {
		fprintf(stderr, "SKIP: pyenv: gcc not found in PATH\n");
		cr_skip_test("gcc not found in PATH");
	}
	dir_at(root, "py/lib/python3.99/site-packages");
	file_at(root, "py/lib/python3.99/os.py", "\n");
	dir_at(root, "app/bin");
	file_at(root, "f.c", "int f(void) { return 0; }\n");
	file_at(root, "m.c", "int f(void);\nint main(void) { return f(); }\n");
	fmt(src, sizeof src, "%s/f.c", root);
	fmt(lib, sizeof lib, "%s/py/lib/libpython3.99.so.1.0", root);
	char cmd[4 * PATH_MAX];
	fmt(cmd, sizeof cmd, "gcc -shared -fPIC -Wl,-soname,libpython3.99.so.1.0 -o '%s' '%s' && ln -sf libpython3.99.so.1.0 '%s/py/lib/libpython3.99.so'",
	    lib, src, root);
	cr_assert_eq(system(cmd), 0);
	fmt(exe, sizeof exe, "%s/app/bin/embedder", root);
	fmt(ldir, sizeof ldir, "-L%s/py/lib", root);
	fmt(rp, sizeof rp, "-Wl,-rpath,%s/py/lib", root);
	fmt(cmd, sizeof cmd, "gcc -o '%s' '%s/m.c' '%s' -lpython3.99 '%s'", exe, root, ldir, rp);
	cr_assert_eq(system(cmd), 0);
	struct found_dirs d;
	cr_assert_eq(discover(root, "app/bin/embedder", NULL, NULL, &d), 0);
	const char *want[] = { "py", "py/lib/python3.99", "py/lib/python3.99/site-packages" };
	assert_found(&d, root, want, 3);
	found_dirs_free(&d);
}

/* Not Python: another program, a script named python3 (a pyenv shim, a wrapper: the
 * interpreter it runs is seen when it execs it), an ELF named like a tool. */
Test(pyenv, other_executables_find_nothing)
{
	char root[PATH_MAX];
	scratch("notpython", root);
	struct found_dirs d = { 0 };
	cr_assert_eq(pyenv_discover("/bin/true", "/bin/true", NULL, "/root", &d), 0);
	cr_assert_eq(d.n, 0);
	dir_at(root, "shim/bin");
	dir_at(root, "shim/lib/python3.11");
	file_at(root, "shim/lib/python3.11/os.py", "\n");
	file_at(root, "shim/bin/python3", "#!/bin/sh\nexec /usr/bin/python3 \"$@\"\n");
	cr_assert_eq(discover(root, "shim/bin/python3", NULL, NULL, &d), 0);
	cr_assert_eq(d.n, 0);
	fake_interpreter(root, "shim/bin/python3-config");
	fake_interpreter(root, "shim/bin/pythonista");
	cr_assert_eq(discover(root, "shim/bin/python3-config", NULL, NULL, &d), 0);
	cr_assert_eq(discover(root, "shim/bin/pythonista", NULL, NULL, &d), 0);
	cr_assert_eq(d.n, 0);
	cr_assert_eq(pyenv_discover("bin/python3", "/usr/bin/python3", NULL, NULL, &d), -EINVAL);
	cr_assert_eq(pyenv_discover("/nonexistent/python3", "/nonexistent/python3", NULL, NULL, &d), -ENOENT);
}

/* What the interpreter itself says, run with PYTHONPATH/PYTHONHOME unset (the caller
 * handles those): sys.prefix, base_prefix, exec_prefix, then every existing absolute
 * directory of sys.path. pyenv_discover must find exactly these, in both directions. */
static void assert_matches_python(const char *named)
{
	char real[PATH_MAX], cmd[PATH_MAX + 256];
	cr_assert_not_null(realpath(named, real));
	fmt(cmd, sizeof cmd, "env -u PYTHONPATH -u PYTHONHOME -u PYTHONSAFEPATH '%s' -c "
	    "'import sys; print(sys.prefix); print(sys.base_prefix); print(sys.exec_prefix); "
	    "print(\"\\n\".join(sys.path))'", named);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char lines[64][PATH_MAX];
	size_t n = 0;
	while (n < 64 && fgets(lines[n], PATH_MAX, p)) {
		lines[n][strcspn(lines[n], "\n")] = '\0';
		struct stat st;
		if (lines[n][0] == '/' && stat(lines[n], &st) == 0 && S_ISDIR(st.st_mode))
			n++;   /* '' (the script's directory) and python311.zip are not ours */
	}
	cr_assert_eq(pclose(p), 0, "%s failed", cmd);
	cr_assert_geq(n, 4);

	struct found_dirs d = { 0 };
	cr_assert_eq(pyenv_discover(named, real, getenv("PYTHONUSERBASE"), getenv("HOME"), &d), 0);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  %s: found %s  (%s)\n", named, d.v[i].dir, d.v[i].why);
	for (size_t i = 0; i < n; i++)
		cr_expect(found(&d, lines[i]), "%s: python uses %s, not found", named, lines[i]);
	for (size_t i = 0; i < d.n; i++) {
		bool used = false;
		for (size_t j = 0; j < n; j++)
			used |= strcmp(lines[j], d.v[i].dir) == 0;
		cr_expect(used, "%s: found %s (%s), which python does not use", named, d.v[i].dir, d.v[i].why);
	}
	found_dirs_free(&d);
}

/* This machine's python3. */
Test(pyenv, system_python_matches_its_own_sys_path)
{
	const char *py = "/usr/bin/python3";
	char real[PATH_MAX];
	if (access(py, X_OK) != 0 || !realpath(py, real)) {
		fprintf(stderr, "SKIP: pyenv: no %s here\n", py);
		cr_skip_test("no %s here", py);
	}
	assert_matches_python(py);
	struct found_dirs d = { 0 };
	cr_assert_eq(pyenv_discover(py, real, NULL, NULL, &d), 0);
	if (strcmp(real, "/usr/bin/python3.11") == 0) {   /* Debian 12 */
		cr_assert(found(&d, "/usr/lib/python3.11"));
		cr_assert(found(&d, "/usr/lib/python3/dist-packages"));
	}
	found_dirs_free(&d);
}

/* Real venvs made by this machine's python3 (no pip needed), with and without system
 * site-packages, each with a .pth naming a directory: run unactivated, they must agree. */
Test(pyenv, real_venvs_match_their_own_sys_path)
{
	char root[PATH_MAX], cmd[4 * PATH_MAX], named[PATH_MAX];
	scratch("realvenv", root);
	if (access("/usr/bin/python3", X_OK) != 0) {
		fprintf(stderr, "SKIP: pyenv: no /usr/bin/python3 here\n");
		cr_skip_test("no /usr/bin/python3 here");
	}
	dir_at(root, "pk");
	const char *variants[] = { "isolated", "system" };
	for (size_t v = 0; v < 2; v++) {
		fmt(cmd, sizeof cmd, "/usr/bin/python3 -m venv --without-pip %s '%s/%s' >/dev/null 2>&1",
		    v ? "--system-site-packages" : "", root, variants[v]);
		if (system(cmd) != 0) {
			fprintf(stderr, "SKIP: pyenv: python3 -m venv does not work here\n");
			cr_skip_test("python3 -m venv does not work here");
		}
		char sp[PATH_MAX];
		fmt(sp, sizeof sp, "%s/lib", variants[v]);
		fmt(cmd, sizeof cmd, "echo '%s/pk' > \"$(echo '%s/%s/lib/'python3.*/site-packages)/x.pth\"",
		    root, root, variants[v]);
		cr_assert_eq(system(cmd), 0);
		fmt(named, sizeof named, "%s/%s/bin/python", root, variants[v]);
		assert_matches_python(named);
	}
}

Test(pyenv, found_dirs_add_dedupes_and_wants_absolute_dirs)
{
	struct found_dirs d = { 0 };
	cr_assert_eq(found_dirs_add(&d, "/a/b/", "first"), 0);
	cr_assert_eq(found_dirs_add(&d, "/a/b", "second"), 0);
	cr_assert_eq(found_dirs_add(&d, "/", "root"), 0);
	cr_assert_eq(found_dirs_add(&d, "a/b", "relative"), -EINVAL);
	cr_assert_eq(found_dirs_add(&d, NULL, "null"), -EINVAL);
	for (int i = 0; i < 40; i++) {   /* past the first allocation */
		char dir[32];
		fmt(dir, sizeof dir, "/d%d", i);
		cr_assert_eq(found_dirs_add(&d, dir, NULL), 0);
	}
	cr_assert_eq(d.n, 42);
	cr_assert_str_eq(d.v[0].dir, "/a/b");
	cr_assert_str_eq(d.v[0].why, "first");
	cr_assert_str_eq(d.v[1].dir, "/");
	cr_assert_str_eq(d.v[41].why, "");
	found_dirs_free(&d);
	cr_assert_eq(d.n, 0);
}
