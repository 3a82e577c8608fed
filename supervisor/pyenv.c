/* Finding a Python interpreter's environment without running it (see pyenv.h): the rules
 * of CPython's Modules/getpath.py (prefix from pyvenv.cfg's home or a stdlib landmark
 * searched upwards) and Lib/site.py (venv prefix, user site, site-packages, .pth lines),
 * plus Debian's dist-packages. Reading the interpreter's own files is what makes an
 * environment nobody activated visible: the job's environment variables say nothing. */
#include "pyenv.h"
#include "elf_paths.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PY_MAX_FILE     (256 << 10)   /* a pyvenv.cfg or .pth file read at most this far */
#define PY_MAX_VERSIONS 8
#define PY_VER_LEN      16
#define PY_MAX_SEEN     128           /* directories whose identity is remembered */

static const char *const libdirs[] = { "lib", "lib64" };   /* sys.platlibdir, and "lib" */

struct py {
	const char *named;                     /* exe_named, for the why strings */
	struct found_dirs *out;
	char ver[PY_MAX_VERSIONS][PY_VER_LEN]; /* "3.11", "3.13t": what lib/python<ver> is */
	size_t nver;
	struct { dev_t dev; ino_t ino; } seen[PY_MAX_SEEN];   /* directories reported */
	size_t nseen;
};

static void strip_trailing_slashes(char *s)
{
	size_t len = strlen(s);
	while (len > 1 && s[len - 1] == '/')
		s[--len] = '\0';
}

int found_dirs_add(struct found_dirs *d, const char *dir, const char *why)
{
	if (!dir || dir[0] != '/')
		return -EINVAL;
	char *dc = strdup(dir);
	if (!dc)
		return -ENOMEM;
	strip_trailing_slashes(dc);
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].dir, dc) == 0) {
			free(dc);
			return 0;
		}
	char *wc = strdup(why ? why : "");
	if (!wc) {
		free(dc);
		return -ENOMEM;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct found_dir *nv = realloc(d->v, cap * sizeof *nv);
		if (!nv) {
			free(dc);
			free(wc);
			return -ENOMEM;
		}
		d->v = nv, d->cap = cap;
	}
	d->v[d->n++] = (struct found_dir){ dc, wc };
	return 0;
}

void found_dirs_free(struct found_dirs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].dir);
		free(d->v[i].why);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* printf into a PATH_MAX buffer; false if it does not fit (such a path is skipped). */
__attribute__((format(printf, 2, 3)))
static bool path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
	return n >= 0 && n < PATH_MAX;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* Report dir if it is an existing directory not reported under another name: a venv's
 * lib64 is a symlink to its lib, and Python only uses the name "lib". */
__attribute__((format(printf, 3, 4)))
static int report(struct py *py, const char *dir, const char *fmt, ...)
{
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0;
	for (size_t i = 0; i < py->nseen; i++)
		if (py->seen[i].dev == st.st_dev && py->seen[i].ino == st.st_ino)
			return 0;
	if (py->nseen < PY_MAX_SEEN) {
		py->seen[py->nseen].dev = st.st_dev;
		py->seen[py->nseen++].ino = st.st_ino;
	}
	va_list ap;
	va_start(ap, fmt);
	char *why;
	int n = vasprintf(&why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	int r = found_dirs_add(py->out, dir, why);
	free(why);
	return r;
}

/* A directory to put "/name" after: "" for the root, so no path starts "//". */
static const char *pfx(const char *dir)
{
	return strcmp(dir, "/") == 0 ? "" : dir;
}

/* The directory path is in ("/" for "/x"); out may be path itself. */
static void parent_of(const char *path, char *out)
{
	if (out != path)
		snprintf(out, PATH_MAX, "%s", path);
	char *slash = strrchr(out, '/');
	if (slash)
		slash[slash == out ? 1 : 0] = '\0';
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* "3.N" followed by ABI letters at s; writes the version as its lib directory is named —
 * with "t" (free-threaded builds have lib/python3.13t), without "d"/"m" (3.7's python3.7m
 * still uses lib/python3.7) — and returns the end of what it read, or NULL. */
static const char *parse_version(const char *s, char *ver)
{
	if (s[0] != '3' || s[1] != '.' || s[2] < '0' || s[2] > '9')
		return NULL;
	const char *p = s + 2;
	while (*p >= '0' && *p <= '9')
		p++;
	int digits = (int)(p - s);
	if (digits > 6)
		return NULL;
	bool t = false;
	while (*p == 't' || *p == 'd' || *p == 'm')
		t |= *p++ == 't';
	snprintf(ver, PY_VER_LEN, "%.*s%s", digits, s, t ? "t" : "");
	return p;
}

static void add_version(struct py *py, const char *ver)
{
	for (size_t i = 0; i < py->nver; i++)
		if (strcmp(py->ver[i], ver) == 0)
			return;
	if (py->nver < PY_MAX_VERSIONS)
		snprintf(py->ver[py->nver++], PY_VER_LEN, "%s", ver);
}

/* python, python3, python3.N (with ABI letters): the names CPython installs itself under.
 * A versioned name gives the version. */
static bool python_name(struct py *py, const char *name)
{
	char ver[PY_VER_LEN];
	if (strcmp(name, "python") == 0 || strcmp(name, "python3") == 0)
		return true;
	if (strncmp(name, "python", 6) != 0)
		return false;
	const char *end = parse_version(name + 6, ver);
	if (!end || *end)
		return false;
	add_version(py, ver);
	return true;
}

/* libpython3.N.so...: an interpreter (or an embedding program) linked with a shared libpython. */
static bool libpython_name(const char *needed, char *ver)
{
	const char *name = base_name(needed);
	if (strncmp(name, "libpython", 9) != 0)
		return false;
	const char *end = parse_version(name + 9, ver);
	return end && strncmp(end, ".so", 3) == 0;
}

/* A small text file, NUL-terminated; past PY_MAX_FILE only whole lines are kept. */
static int read_small(const char *path, char **text)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = malloc(PY_MAX_FILE + 1);
	size_t len = 0;
	int r = buf ? 0 : -ENOMEM;
	while (r == 0 && len < PY_MAX_FILE) {
		ssize_t n = read(fd, buf + len, PY_MAX_FILE - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0)
			break;
		else
			len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	if (len == PY_MAX_FILE) {
		char *nl = memrchr(buf, '\n', len);
		len = nl ? (size_t)(nl - buf) : 0;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n' || *s == '\f' || *s == '\v')
		s++;
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n\f\v", s[len - 1]))
		s[--len] = '\0';
	return s;
}

struct venv {
	bool found;
	char prefix[PATH_MAX];   /* sys.prefix: the parent of the executable's directory */
	char cfg[PATH_MAX];
	char home[PATH_MAX];     /* pyvenv.cfg "home": the base interpreter's directory */
	bool system_site;        /* include-system-site-packages */
};

/* site.py's venv(): a pyvenv.cfg in the executable's directory or its parent makes that
 * parent sys.prefix; "home" is where getpath then looks for the base installation. */
static int find_venv(struct py *py, struct venv *v)
{
	char exe_dir[PATH_MAX];
	parent_of(py->named, exe_dir);
	parent_of(exe_dir, v->prefix);
	const char *dirs[] = { exe_dir, v->prefix };
	for (size_t i = 0; i < 2 && !v->found; i++)
		if (path_fmt(v->cfg, "%s/pyvenv.cfg", pfx(dirs[i])) && is_file(v->cfg))
			v->found = true;
	if (!v->found)
		return 0;
	v->system_site = true;
	char *text;
	int r = read_small(v->cfg, &text);
	if (r < 0)
		return r == -ENOMEM ? r : 0;   /* unreadable: Python would fail the same way */
	char *save;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *key = trim(line), *val = trim(eq + 1), ver[PY_VER_LEN];
		for (char *k = key; *k; k++)
			*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
		if (strcmp(key, "home") == 0 && val[0] == '/')
			snprintf(v->home, sizeof v->home, "%s", val);
		else if (strcmp(key, "include-system-site-packages") == 0)
			v->system_site = strcasecmp(val, "true") == 0;
		else if ((strcmp(key, "version") == 0 || strcmp(key, "version_info") == 0) &&
			 parse_version(val, ver))
			add_version(py, ver);
	}
	free(text);
	strip_trailing_slashes(v->home);
	return 0;
}

static bool version_dir_name(const char *name, char *ver)
{
	if (strncmp(name, "python", 6) != 0)
		return false;
	const char *end = parse_version(name + 6, ver);
	return end && !*end && strcmp(name + 6, ver) == 0;
}

/* Does dir hold a stdlib (lib[64]/python<ver>/os.py or os.pyc, getpath's landmark)? With no
 * version known yet, any python3.* directory holding one counts and gives the versions. */
static bool has_stdlib(struct py *py, const char *dir)
{
	char p[PATH_MAX];
	bool found = false;
	for (size_t l = 0; l < 2; l++) {
		if (py->nver) {
			for (size_t i = 0; i < py->nver; i++)
				if ((path_fmt(p, "%s/%s/python%s/os.py", pfx(dir), libdirs[l], py->ver[i]) && is_file(p)) ||
				    (path_fmt(p, "%s/%s/python%s/os.pyc", pfx(dir), libdirs[l], py->ver[i]) && is_file(p)))
					return true;
			continue;
		}
		if (!path_fmt(p, "%s/%s", pfx(dir), libdirs[l]))
			continue;
		DIR *d = opendir(p);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char ver[PY_VER_LEN], lm[PATH_MAX];
			if (version_dir_name(e->d_name, ver) &&
			    ((path_fmt(lm, "%s/%s/%s/os.py", pfx(dir), libdirs[l], e->d_name) && is_file(lm)) ||
			     (path_fmt(lm, "%s/%s/%s/os.pyc", pfx(dir), libdirs[l], e->d_name) && is_file(lm))))
				found = true, add_version(py, ver);
		}
		if (d)
			closedir(d);
	}
	return found;
}

/* getpath's search_up: from dir upwards, the first directory holding the landmark. */
static bool search_up_stdlib(struct py *py, const char *dir, char *prefix)
{
	char cur[PATH_MAX];
	snprintf(cur, sizeof cur, "%s", dir);
	for (;;) {
		if (has_stdlib(py, cur)) {
			snprintf(prefix, PATH_MAX, "%s", cur);
			return true;
		}
		if (strcmp(cur, "/") == 0)
			return false;
		parent_of(cur, cur);
	}
}

static bool search_up_dynload(struct py *py, const char *dir, char *exec_prefix)
{
	char cur[PATH_MAX], p[PATH_MAX];
	snprintf(cur, sizeof cur, "%s", dir);
	for (;;) {
		for (size_t l = 0; l < 2; l++)
			for (size_t i = 0; i < py->nver; i++)
				if (path_fmt(p, "%s/%s/python%s/lib-dynload", pfx(cur), libdirs[l], py->ver[i]) && is_dir(p)) {
					snprintf(exec_prefix, PATH_MAX, "%s", cur);
					return true;
				}
		if (strcmp(cur, "/") == 0)
			return false;
		parent_of(cur, cur);
	}
}

/* posixpath.normpath of an absolute path: no ".", "..", or repeated '/'; lexical, as
 * Python's abspath is (symlinks are not resolved). */
static void normalize(const char *in, char *out)
{
	size_t n = 0;
	out[n++] = '/';
	for (const char *p = in; *p;) {
		while (*p == '/')
			p++;
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* nothing: "//" and "/./" name the same directory */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;   /* the '/' before the dropped component */
		} else {
			if (n > 1)
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	out[n] = '\0';
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* site.py's addpackage for every *.pth of sitedir, in name order: each line that is not a
 * comment, blank or an "import" line names a directory, relative to sitedir. */
static int add_pth_dirs(struct py *py, const char *sitedir)
{
	DIR *d = opendir(sitedir);
	if (!d)
		return 0;
	char **names = NULL;
	size_t n = 0;
	int r = 0;
	struct dirent *e;
	while (r == 0 && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 4 || strcmp(e->d_name + len - 4, ".pth") != 0)
			continue;
		char **nn = realloc(names, (n + 1) * sizeof *nn);
		char *s = strdup(e->d_name);
		if (nn)
			names = nn;
		if (!nn || !s) {
			free(s);
			r = -ENOMEM;
			break;
		}
		names[n++] = s;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, strcmp_ptr);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char pth[PATH_MAX], *text;
		if (!path_fmt(pth, "%s/%s", sitedir, names[i]) || read_small(pth, &text) < 0)
			continue;
		unsigned lineno = 0;
		for (char *line = text, *next; r == 0 && line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			lineno++;
			if (line[0] == '#' || trim(line)[0] == '\0' || strncmp(line, "import ", 7) == 0 ||
			    strncmp(line, "import\t", 7) == 0)
				continue;
			/* rstrip only: leading blanks are part of the name, as in site.py */
			size_t len = strlen(line);
			while (len && strchr(" \t\r\n\f\v", line[len - 1]))
				line[--len] = '\0';
			char joined[PATH_MAX * 2], norm[PATH_MAX * 2];
			if (line[0] == '/')
				snprintf(joined, sizeof joined, "%s", line);
			else
				snprintf(joined, sizeof joined, "%s/%s", sitedir, line);
			normalize(joined, norm);
			if (strlen(norm) < PATH_MAX)
				r = report(py, norm, "%s line %u (for %s)", pth, lineno, py->named);
		}
		free(text);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

/* A site directory, then what its .pth files add. */
static int add_site(struct py *py, const char *dir, const char *what)
{
	if (!is_dir(dir))
		return 0;
	int r = report(py, dir, "%s of %s", what, py->named);
	return r < 0 ? r : add_pth_dirs(py, dir);
}

/* site.py's getsitepackages for one prefix: lib[64]/python3.N/site-packages, and Debian's
 * patched site.py's dist-packages (only the ones that exist are reported). */
static int add_prefix_sites(struct py *py, const char *prefix)
{
	char p[PATH_MAX];
	int r = 0;
	for (size_t i = 0; r == 0 && i < py->nver; i++) {
		for (size_t l = 0; r == 0 && l < 2; l++)
			if (path_fmt(p, "%s/%s/python%s/site-packages", pfx(prefix), libdirs[l], py->ver[i]))
				r = add_site(py, p, "site-packages");
		if (r == 0 && path_fmt(p, "%s/local/lib/python%s/dist-packages", pfx(prefix), py->ver[i]))
			r = add_site(py, p, "dist-packages (Debian)");
		if (r == 0 && path_fmt(p, "%s/lib/python3/dist-packages", pfx(prefix)))
			r = add_site(py, p, "dist-packages (Debian)");
		for (size_t l = 0; r == 0 && l < 2; l++)
			if (path_fmt(p, "%s/%s/python%s/dist-packages", pfx(prefix), libdirs[l], py->ver[i]))
				r = add_site(py, p, "dist-packages (Debian)");
	}
	return r;
}

static int add_user_site(struct py *py, const char *user_base, const char *home)
{
	char base[PATH_MAX], p[PATH_MAX];
	const char *how;
	if (user_base && user_base[0] == '/')
		snprintf(base, sizeof base, "%s", user_base), how = "PYTHONUSERBASE";
	else if (home && home[0] == '/' && path_fmt(base, "%s/.local", home))
		how = "HOME/.local";
	else
		return 0;
	int r = 0;
	for (size_t i = 0; r == 0 && i < py->nver; i++)
		if (path_fmt(p, "%s/lib/python%s/site-packages", base, py->ver[i]) && is_dir(p)) {
			r = report(py, p, "user site of %s (%s)", py->named, how);
			if (r == 0)
				r = add_pth_dirs(py, p);
		}
	return r;
}

/* Is exe_real the interpreter, and what does its ELF say (versions from a libpython it
 * links; where that libpython is, through its RUNPATH)? 1 yes, 0 no, or -errno. */
static int identify(struct py *py, const char *exe_real, char *libpython_dir)
{
	/* both names are looked at (not ||): each may give the version */
	bool named = python_name(py, base_name(py->named)) | python_name(py, base_name(exe_real));
	int fd = open(exe_real, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == EACCES || errno == EPERM ? named : -errno;   /* execute-only: trust the name */
	struct elf_paths ep;
	int r = elf_read_paths(fd, exe_real, NULL, NULL, &ep);
	close(fd);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !ep.is_elf)
		return 0;   /* a script named python3 is not the interpreter; a broken file neither */
	bool linked = false;
	for (size_t i = 0; i < ep.nneeded; i++) {
		char ver[PY_VER_LEN], p[PATH_MAX];
		if (!libpython_name(ep.needed[i], ver))
			continue;
		linked = true;
		add_version(py, ver);
		for (size_t j = 0; j < ep.nsearch && !libpython_dir[0]; j++)
			if (path_fmt(p, "%s/%s", ep.search[j], ep.needed[i]) && is_file(p))
				snprintf(libpython_dir, PATH_MAX, "%s", ep.search[j]);
	}
	elf_paths_free(&ep);
	return named || linked;
}

int pyenv_discover(const char *exe_named, const char *exe_real, const char *user_base,
		   const char *home, struct found_dirs *out)
{
	if (!exe_named || !exe_real || exe_named[0] != '/' || exe_real[0] != '/')
		return -EINVAL;
	struct py py = { .named = exe_named, .out = out };
	char libpython_dir[PATH_MAX] = "";
	int r = identify(&py, exe_real, libpython_dir);
	if (r <= 0)
		return r;

	struct venv v = { .found = false };
	if ((r = find_venv(&py, &v)) < 0)
		return r;

	/* getpath: the base installation is searched from the venv's "home", else from the
	 * real executable's directory; then from the libpython it links; then assumed. */
	char exe_dir[PATH_MAX], base[PATH_MAX], exec_prefix[PATH_MAX];
	if (v.found && v.home[0])
		snprintf(exe_dir, sizeof exe_dir, "%s", v.home);
	else
		parent_of(exe_real, exe_dir);
	if (!search_up_stdlib(&py, exe_dir, base) &&
	    !(libpython_dir[0] && search_up_stdlib(&py, libpython_dir, base)))
		parent_of(exe_dir, base);
	bool exec_differs = search_up_dynload(&py, exe_dir, exec_prefix) && strcmp(exec_prefix, base) != 0;

	char p[PATH_MAX];
	if (v.found)
		r = report(&py, v.prefix, "sys.prefix of %s (%s)", exe_named, v.cfg);
	if (r == 0 && v.found)
		r = report(&py, base, "sys.base_prefix of %s (pyvenv.cfg home = %s)", exe_named,
			   v.home[0] ? v.home : "(none)");
	else if (r == 0)
		r = report(&py, base, "sys.prefix of %s%s", exe_named,
			   path_fmt(p, "%s/conda-meta", pfx(base)) && is_dir(p) ? " (conda environment)" : "");
	if (r == 0 && exec_differs)
		r = report(&py, exec_prefix, "sys.exec_prefix of %s", exe_named);

	for (size_t i = 0; r == 0 && i < py.nver; i++)
		for (size_t l = 0; r == 0 && l < 2; l++) {
			if (path_fmt(p, "%s/%s/python%s", pfx(base), libdirs[l], py.ver[i]))
				r = report(&py, p, "stdlib of %s", exe_named);
			if (r == 0 && path_fmt(p, "%s/%s/python%s/lib-dynload",
					       pfx(exec_differs ? exec_prefix : base), libdirs[l], py.ver[i]))
				r = report(&py, p, "lib-dynload of %s", exe_named);
		}

	/* site.py: the venv's site directories first, then the user site, then the base's —
	 * the last two only if the venv includes system site-packages. */
	bool system_site = !v.found || v.system_site;
	if (r == 0 && v.found)
		r = add_prefix_sites(&py, v.prefix);
	if (r == 0 && system_site)
		r = add_user_site(&py, user_base, home);
	if (r == 0 && system_site)
		r = add_prefix_sites(&py, base);
	if (r == 0 && system_site && exec_differs)
		r = add_prefix_sites(&py, exec_prefix);
	return r;
}
