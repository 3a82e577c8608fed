/* execve, execveat: always passed to the kernel (it must read the binary itself for
 * /proc/self/exe, AT_EXECFN, set-id rules), after learning where the new program's code
 * lives (discover.h): the search paths in the environment it is given (read from its envp
 * here, in the loop thread: memory only), then, by a worker, its ELF RUNPATH and tree, its
 * #! interpreter, and a Python interpreter's environment. So a job script that sets
 * LD_LIBRARY_PATH, or runs a program from a Spack tree or a venv, is cached like the first
 * program collrun started. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "discover.h"
#include "learn.h"
#include "log.h"
#include "tracee_mem.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ENV_VALUE_MAX 65536   /* longer values are not searched (nobody's LD_LIBRARY_PATH) */
#define ENV_MAX_VARS 20000    /* a bound on the envp walk */

/* Variables whose value is a search path (every absolute entry a tree of the job's code)... */
static const char *const search_vars[] = { "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME" };
/* ...and ones that name one tree. */
static const char *const tree_vars[] = { "VIRTUAL_ENV", "CONDA_PREFIX" };

bool discover_add_logged(struct job *j, unsigned source, const char *dir, const char *why)
{
	if (!(j->policy.discover_sources & source) || discovered_add(&j->disc, dir, why) != 1)
		return false;
	log_trace(1, "discovered %s (%s)", dir, why);
	return true;
}

/* Every absolute entry of a ':'-separated list. */
static void add_list(struct job *j, const char *list, const char *why)
{
	char *copy = strdup(list), *save = NULL;
	for (char *e = copy ? strtok_r(copy, ":", &save) : NULL; e; e = strtok_r(NULL, ":", &save))
		if (e[0] == '/')
			discover_add_logged(j, POL_SRC_ENVIRONMENT, e, why);
	free(copy);
}

/* The environment string at addr, if its name is one we want: its value (malloc'd) and the
 * name's index in *which, else NULL. */
static char *wanted(pid_t pid, uint64_t addr, const char *const *names, size_t nnames, size_t *which)
{
	char head[32];
	ssize_t n = tracee_read_string(pid, addr, head, sizeof head);
	if (n == -EFAULT)
		return NULL;
	head[sizeof head - 1] = '\0';
	for (size_t i = 0; i < nnames; i++) {
		size_t l = strlen(names[i]);
		if (strncmp(head, names[i], l) || head[l] != '=')
			continue;
		char *v = malloc(ENV_VALUE_MAX);
		if (v && tracee_read_string(pid, addr, v, ENV_VALUE_MAX) < 0) {
			free(v);
			return NULL;
		}
		*which = i;
		if (v)
			memmove(v, v + l + 1, strlen(v + l + 1) + 1);
		return v;
	}
	return NULL;
}

/* Loop thread: read the new program's environment and add what it names. */
static struct exec_note *read_env(struct call *c, uint64_t envp, const char *exe)
{
	static const char *const names[] = { "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
					     "CONDA_PREFIX", "PATH", "HOME", "PYTHONUSERBASE" };
	struct exec_note *note = calloc(1, sizeof *note);
	if (!note || !envp)
		return note;
	char why[PATH_MAX + 64];
	for (size_t i = 0; i < ENV_MAX_VARS; i++) {
		uint64_t p;
		if (tracee_read(c->pid, envp + i * sizeof p, &p, sizeof p) < 0 || !p)
			break;
		size_t k;
		char *v = wanted(c->pid, p, names, sizeof names / sizeof *names, &k);
		if (!v)
			continue;
		snprintf(why, sizeof why, "%s of %s", names[k], exe);
		if (k < sizeof search_vars / sizeof *search_vars)
			add_list(c->job, v, why);
		else if (k < sizeof search_vars / sizeof *search_vars + sizeof tree_vars / sizeof *tree_vars)
			discover_add_logged(c->job, POL_SRC_ENVIRONMENT, v, why);
		if (strcmp(names[k], "PATH") == 0 && !note->path)
			note->path = v, v = NULL;
		else if (strcmp(names[k], "HOME") == 0 && !note->home)
			note->home = v, v = NULL;
		else if (strcmp(names[k], "PYTHONUSERBASE") == 0 && !note->userbase)
			note->userbase = v, v = NULL;
		free(v);
	}
	return note;
}

static struct verdict serve_exec(struct call *c, int dirfd, uint64_t path, uint64_t envp)
{
	if (c->job->pass_all || !(c->job->policy.discover_sources & ~POL_SRC_LIBRARIES))
		return verdict_continue();   /* nothing to learn from a new program */
	if (!c->in_worker) {
		int routed = route_call(c, dirfd, path);   /* path, start, and its absolute form */
		if (routed < 0 || !c->raw[0])
			return verdict_continue();
		c->exec = read_env(c, envp, c->path[0] ? c->path : c->raw);
		return verdict_defer();   /* the file itself is read by a worker */
	}
	if (!c->raw[0])
		return verdict_continue();
	int dfd = start_dirfd(&c->start, c->raw);
	if (dfd != -1 && !c->start.foreign_root)
		STAT_ADD(c->node->fsops, learn_program(c->job, dfd, c->raw, c->path[0] ? c->path : c->raw, c->exec));
	return verdict_continue();
}

struct verdict h_execve(struct call *c)
{
	return serve_exec(c, AT_FDCWD, c->args[0], c->args[2]);
}

struct verdict h_execveat(struct call *c)
{
	if (c->args[4] & AT_EMPTY_PATH)
		return verdict_continue();   /* fexecve: the descriptor's file was opened before */
	return serve_exec(c, dirfd_arg(c->args[0]), c->args[1], c->args[3]);
}
