/* Learning where a job's code lives from the files themselves (see learn.h). */
#include "learn.h"
#include "discover.h"
#include "elf_paths.h"
#include "log.h"
#include "pyenv.h"
#include "supervisor.h"
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void exec_note_free(struct exec_note *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->home);
	free(n->userbase);
	free(n);
}

bool is_shared_object_name(const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *so = strstr(base, ".so");
	/* ".so" at the end, or followed by a version: ".so.1", ".so.1.2.3" */
	return so && (so[3] == '\0' || (so[3] == '.' && so[4] >= '0' && so[4] <= '9'));
}

/* The real path of an open descriptor, or "" (deleted, too long). */
static void real_of(int fd, char *out, size_t size)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, size - 1);
	out[n > 0 && out[0] == '/' ? n : 0] = '\0';
	if (n > 0 && strstr(out, " (deleted)"))
		out[0] = '\0';
}

/* The folder part of path (without the last '/'), as a length. */
static size_t dir_len(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? (size_t)(s - path) : 0;
}

static void add_search(struct job *j, char *const *v, size_t n, bool from_rpath, const char *origin)
{
	char why[PATH_MAX + 64];
	snprintf(why, sizeof why, "%s of %s", from_rpath ? "RPATH" : "RUNPATH", origin);
	for (size_t i = 0; i < n; i++)
		discover_add_logged(j, POL_SRC_RUNPATH, v[i], why);
}

bool learn_object(struct job *j, int fd, const char *real, const char *opened)
{
	static __thread char lib[64], platform[64];
	static __thread bool tokens;
	if (!tokens && elf_loader_tokens(lib, sizeof lib, platform, sizeof platform) == 0)
		tokens = true;
	const char *l = tokens ? lib : "", *pf = tokens ? platform : "";
	struct elf_paths e = { 0 };
	bool is_elf = elf_read_search(fd, real, l, pf, &e) == 0 && e.is_elf;
	if (is_elf)
		add_search(j, e.search, e.nsearch, e.from_rpath, real);
	/* Opened through a link in another folder: $ORIGIN is that folder for the loader, so
	 * the same entries expanded from there too (the file is read once). */
	if (is_elf && opened && opened[0] == '/' &&
	    (dir_len(opened) != dir_len(real) || memcmp(opened, real, dir_len(real)))) {
		struct elf_paths o;
		if (elf_search_for_origin(&e, opened, l, pf, &o) == 0)
			add_search(j, o.search, o.nsearch, o.from_rpath, opened);
		elf_paths_free(&o);
	}
	elf_paths_free(&e);
	return is_elf;
}

void install_tree(const char *real, const char *home, char *out, size_t size)
{
	snprintf(out, size, "%s", real);
	char *slash = strrchr(out, '/');
	if (slash)
		*slash = '\0';
	char *base = strrchr(out, '/');
	if (base && base != out && (!strcmp(base, "/bin") || !strcmp(base, "/sbin"))) {
		*base = '\0';
		if (home && strcmp(out, home) == 0)
			*base = '/';   /* back to ~/bin: never the whole home folder */
	}
	if (out[0] == '\0' || strcmp(out, "/") == 0)
		out[0] = '\0';
}

/* "#!INTERP ARG" of a script: the interpreter's path (resolving /usr/bin/env NAME through
 * PATH), or an empty string. */
static void script_interp(int fd, const char *path_var, char *out, size_t size)
{
	char line[256];
	out[0] = '\0';
	ssize_t n = pread(fd, line, sizeof line - 1, 0);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return;
	line[n] = '\0';
	char *nl = strchr(line, '\n');
	if (!nl)
		return;
	*nl = '\0';
	char *save = NULL, *interp = strtok_r(line + 2, " \t", &save), *arg = strtok_r(NULL, " \t", &save);
	if (!interp || interp[0] != '/')
		return;
	const char *base = strrchr(interp, '/') + 1;
	if (strcmp(base, "env") || !arg || arg[0] == '-' || !path_var) {
		snprintf(out, size, "%s", interp);
		return;
	}
	char *copy = strdup(path_var);
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		if (d[0] == '/' && snprintf(cand, sizeof cand, "%s/%s", d, arg) < (int)sizeof cand &&
		    access(cand, X_OK) == 0) {
			snprintf(out, size, "%s", cand);
			break;
		}
	}
	free(copy);
}

/* The file a new program is, and, for a script, its interpreter (depth 1). */
static unsigned program(struct job *j, int dfd, const char *named, const char *named_abs,
			const struct exec_note *note, int depth)
{
	int fd = openat(dfd, named, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 1;   /* not readable (mode 0111), missing...: the kernel's exec will say */
	char real[PATH_MAX], tree[PATH_MAX], why[PATH_MAX + 64], interp[PATH_MAX];
	struct stat st;
	real_of(fd, real, sizeof real);
	if (!real[0] || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 1;
	}
	install_tree(real, note ? note->home : NULL, tree, sizeof tree);
	snprintf(why, sizeof why, "tree of %s", real);
	discover_add_logged(j, POL_SRC_PROGRAM, tree, why);
	if (named_abs && named_abs[0] == '/' && strcmp(named_abs, real)) {
		/* Run through a link (a venv's bin/python to its base interpreter): the tree it
		 * was run from is the program's too (sys.executable, pyvenv.cfg, its bin/). */
		install_tree(named_abs, note ? note->home : NULL, tree, sizeof tree);
		snprintf(why, sizeof why, "tree of %s", named_abs);
		discover_add_logged(j, POL_SRC_PROGRAM, tree, why);
	}
	learn_object(j, fd, real, NULL);   /* $ORIGIN of a program: /proc/self/exe's folder */
	struct found_dirs py = { 0 };
	if (pyenv_discover(named_abs, real, note ? note->userbase : NULL, note ? note->home : NULL, &py) == 0)
		for (size_t i = 0; i < py.n; i++)
			discover_add_logged(j, POL_SRC_PYTHON, py.v[i].dir, py.v[i].why);
	found_dirs_free(&py);
	script_interp(fd, note ? note->path : NULL, interp, sizeof interp);
	close(fd);
	unsigned ops = 3;   /* open, the ELF headers, the script line */
	if (interp[0] && depth == 0)
		ops += program(j, AT_FDCWD, interp, interp, note, 1);
	return ops;
}

unsigned learn_program(struct job *j, int dfd, const char *named, const char *named_abs,
		       const struct exec_note *note)
{
	return program(j, dfd, named, named_abs, note, 0);
}

unsigned learn_library(struct job *j, int dfd, const char *named, const char *named_abs)
{
	int fd = openat(dfd, named, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 1;
	char real[PATH_MAX], why[PATH_MAX + 64], dir[PATH_MAX];
	struct stat st;
	real_of(fd, real, sizeof real);
	if (real[0] && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && learn_object(j, fd, real, named_abs)) {
		/* The loader's next probes are in the folder it searched (as opened); the
		 * library's siblings are in its real folder. */
		const char *both[] = { named_abs, real };
		for (size_t i = 0; i < 2; i++) {
			if (!both[i] || both[i][0] != '/')
				continue;
			snprintf(dir, sizeof dir, "%.*s", (int)dir_len(both[i]), both[i]);
			snprintf(why, sizeof why, "folder of %s, loaded by the job", both[i]);
			discover_add_logged(j, POL_SRC_LIBRARIES, dir, why);
		}
	}
	close(fd);
	return 2;
}

/* ---- a program's closure, before it runs (--print-policy and --explain with PROGRAM) ---- */

struct pending { char **v; size_t n, cap; };

static void push_path(struct pending *p, const char *s)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i], s) == 0)
			return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **v = realloc(p->v, cap * sizeof *v);
		if (!v)
			return;
		p->v = v;
		p->cap = cap;
	}
	char *d = strdup(s);
	if (d)
		p->v[p->n++] = d;
}

/* A DT_NEEDED name, found as the loader would outside its system directories: in the
 * object's own search paths, then LD_LIBRARY_PATH. */
static bool find_needed(const struct elf_paths *e, const char *name, const char *ld_path, char *out, size_t size)
{
	for (size_t i = 0; i < e->nsearch; i++)
		if (snprintf(out, size, "%s/%s", e->search[i], name) < (int)size && access(out, R_OK) == 0)
			return true;
	char *copy = ld_path ? strdup(ld_path) : NULL, *save = NULL;
	bool found = false;
	for (char *d = copy ? strtok_r(copy, ":", &save) : NULL; d && !found; d = strtok_r(NULL, ":", &save))
		found = d[0] == '/' && snprintf(out, size, "%s/%s", d, name) < (int)size && access(out, R_OK) == 0;
	free(copy);
	return found;
}

void learn_closure(struct job *j, const char *exe, const char *ld_path, const struct exec_note *note)
{
	learn_program(j, AT_FDCWD, exe, exe, note);
	static char lib[64], platform[64];
	if (elf_loader_tokens(lib, sizeof lib, platform, sizeof platform) < 0)
		lib[0] = platform[0] = '\0';
	struct pending todo = { 0 };
	char real[PATH_MAX];
	if (realpath(exe, real))
		push_path(&todo, real);
	/* Breadth first over DT_NEEDED, each object once, bounded like any search. */
	for (size_t i = 0; i < todo.n && i < 1024; i++) {
		int fd = open(todo.v[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		struct elf_paths e = { 0 };
		if (elf_read_paths(fd, todo.v[i], lib, platform, &e) == 0 && e.is_elf) {
			if (i > 0)
				learn_object(j, fd, todo.v[i], NULL);
			for (size_t k = 0; k < e.nneeded; k++) {
				char found[PATH_MAX];
				if (strchr(e.needed[k], '/') || !find_needed(&e, e.needed[k], ld_path, found, sizeof found))
					continue;
				if (realpath(found, real))
					push_path(&todo, real);
			}
		}
		elf_paths_free(&e);
		close(fd);
	}
	for (size_t i = 0; i < todo.n; i++)
		free(todo.v[i]);
	free(todo.v);
}
