/* Learning where a job's code lives from the files themselves (discover.h holds what is
 * learned): a program's tree, the RUNPATH of every ELF object, a script's interpreter, a
 * Python interpreter's environment. Each reads a few KiB of a file the loader or the
 * kernel reads anyway; none runs in the loop thread except on a local file system. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct job;

/* What a new program's environment says beyond search paths (handlers/exec.c). */
struct exec_note {
	char *path;       /* PATH, for #!/usr/bin/env NAME */
	char *home;       /* HOME and PYTHONUSERBASE, for a Python interpreter's user site */
	char *userbase;
};
void exec_note_free(struct exec_note *n);

/* A program about to run: named relative to dfd (AT_FDCWD or a start directory) as named,
 * named_abs its absolute form (for a venv's python, the named path matters). Its tree, its
 * ELF search paths, a Python environment; for a #! script, the same for its interpreter.
 * Returns the file-system operations made. */
unsigned learn_program(struct job *j, int dfd, const char *named, const char *named_abs,
		       const struct exec_note *note);
/* An ELF object open for reading at fd, whose real path is real: its RUNPATH (or RPATH).
 * opened: the absolute path it was opened by, or NULL. glibc's $ORIGIN of a library is the
 * folder of the path it opened (symbolic links not resolved); the reading, and
 * other loaders', is the real folder: where they differ, both are learned.
 * Returns whether it was an ELF object. */
bool learn_object(struct job *j, int fd, const char *real, const char *opened);
/* The tree a program whose real path is real was installed in (COLLRUN_EXE_TREE): its
 * folder, or that folder's parent for .../bin and .../sbin unless the parent is home;
 * "" for "/". */
void install_tree(const char *real, const char *home, char *out, size_t size);
/* A shared object the loader opens outside every cached tree (dlopen of an absolute path, a
 * search path nobody declared): its folder, and its own search paths. Opened relative to
 * dfd as named; named_abs is its absolute form. Returns the file-system operations made. */
unsigned learn_library(struct job *j, int dfd, const char *named, const char *named_abs);
/* Before PROGRAM runs (--print-policy, --explain): what it and the libraries it needs
 * (found through their own search paths and ld_path, outside the system directories) name. */
void learn_closure(struct job *j, const char *exe, const char *ld_path, const struct exec_note *note);
/* Does a file name look like a shared object (libfoo.so, libfoo.so.1.2, x.cpython-311-x86_64-linux-gnu.so)? */
bool is_shared_object_name(const char *name);
