/* A Python interpreter's environment, found from the interpreter itself and never by
 * running it: the directories CPython's start-up (getpath, site.py) would put its prefixes
 * and sys.path in, so the supervisor can cache a venv or conda environment nobody activated. */
#pragma once
#include <stddef.h>

struct found_dir {
	char *dir;   /* absolute, existing directory, no trailing '/' */
	char *why;   /* where it came from, e.g. "sys.prefix of /x/venv/bin/python (pyvenv.cfg)" */
};
struct found_dirs {
	struct found_dir *v;
	size_t n, cap;
};

/* Is the executable at exe_real (absolute, symlinks resolved by the caller) a CPython
 * interpreter? exe_named is the path as invoked (sys.executable: argv[0], searched in PATH
 * when it has no '/'), from whose directory a venv is found, since a venv's bin/python is
 * usually a symlink to the base interpreter. It is Python if exe_real is an ELF file (a
 * script named python3 — a pyenv shim, a wrapper — is not the interpreter: the interpreter
 * it runs is seen when it is executed; an unreadable file is judged by its name) and
 * either name is python, python3 or python3.N[t], or the ELF links libpython3.N.
 * If so, append to *out the existing directories among, in sys.path's order:
 *  - sys.prefix: a venv's (pyvenv.cfg in exe_named's directory or one up: that directory's
 *    parent); else the directory above exe_real's that holds lib[64]/python3.N/os.py, as
 *    getpath searches (a conda environment is this too; conda-meta/ only labels it); else
 *    exe_real's directory's parent. sys.exec_prefix when it differs (lib-dynload's).
 *  - sys.base_prefix of a venv: found the same way from pyvenv.cfg's "home".
 *  - the stdlib lib[64]/python3.N and its lib-dynload, of the base prefix;
 *  - site directories: the venv's, the user site (PYTHONUSERBASE = user_base, else
 *    home/.local; lib/python3.N/site-packages) unless pyvenv.cfg says
 *    include-system-site-packages = false, then the base prefix's (the same condition):
 *    lib[64]/python3.N/site-packages and Debian's local/lib/python3.N/dist-packages,
 *    lib/python3/dist-packages and lib/python3.N/dist-packages;
 *  - after each site directory, the directories its *.pth files name (in name order; lines
 *    that are not comments, blank or "import" lines; relative to that directory; normalised
 *    as os.path.abspath does).
 * X.Y comes from the executable's names, pyvenv.cfg's "version", the libpython it links,
 * else every lib[64]/python3.* holding os.py in the prefix.
 * Not modelled: PYTHONHOME and PYTHONPATH (the caller has the job's environment),
 * ._pth files, python -I/-s/-S, a build-tree interpreter, and paths that only code run by a
 * .pth "import" line or an editable install's finder adds.
 * Reads only pyvenv.cfg, *.pth (at most 256 KiB each), the ELF headers of exe_real and
 * directory listings of lib/ and site directories. 0 (also when it is not Python: nothing
 * appended) or -errno (-ENOMEM; -EINVAL for a relative path). */
int pyenv_discover(const char *exe_named, const char *exe_real, const char *user_base,
		   const char *home, struct found_dirs *out);
void found_dirs_free(struct found_dirs *d);
/* Append a copy of (dir, why) unless dir (trailing '/' ignored) is already there: 0,
 * -EINVAL (NULL or relative dir), -ENOMEM. */
int found_dirs_add(struct found_dirs *d, const char *dir, const char *why);
