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
#include "node.h"
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

static const char *const names[] = { "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
				     "CONDA_PREFIX", "PATH", "HOME", "PYTHONUSERBASE" };

/* The index in names[] of the variable the environment string s ("NAME=value", or its
 * first bytes) sets, or -1. */
static int env_name(const char *s)
{
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		size_t l = strlen(names[i]);
		if (strncmp(s, names[i], l) == 0 && s[l] == '=')
			return (int)i;
	}
	return -1;
}

/* The value of the environment string at addr whose head (its first bytes, already read)
 * sets one of names[]: malloc'd, with the name's index in *which; else NULL. */
static char *wanted(pid_t pid, uint64_t addr, const char *head, int *which)
{
	int k = env_name(head);
	if (k < 0)
		return NULL;
	char *v = malloc(ENV_VALUE_MAX);
	if (v && tracee_read_string(pid, addr, v, ENV_VALUE_MAX) < 0) {
		free(v);
		return NULL;
	}
	*which = k;
	size_t l = strlen(names[k]);
	if (v)
		memmove(v, v + l + 1, strlen(v + l + 1) + 1);
	return v;
}

/* The first ENV_BATCH pointers of envp from i on (fewer at its NULL or a bad page): how
 * many, or 0 at the end. */
#define ENV_BATCH 256
static size_t env_pointers(pid_t pid, uint64_t envp, size_t i, uint64_t *p)
{
	size_t n = 0;
	while (n < ENV_BATCH && i + n < ENV_MAX_VARS) {
		uint64_t at = envp + (i + n) * sizeof *p;
		ssize_t got = tracee_read_page(pid, at, p + n, (ENV_BATCH - n) * sizeof *p);
		if (got < (ssize_t)sizeof *p)   /* a pointer across two pages (an unaligned envp) */
			got = tracee_read(pid, at, p + n, sizeof *p) == 0 ? (ssize_t)sizeof *p : 0;
		if (got < (ssize_t)sizeof *p)
			break;
		for (size_t k = 0; k < (size_t)got / sizeof *p; k++)
			if (!p[n + k])
				return n + k;
		n += got / sizeof *p;
	}
	return n;
}

/* names[k]'s value v (malloc'd; taken) in the environment of exe: what it adds. */
static void note_var(struct job *j, struct exec_note *note, int k, char *v, const char *exe)
{
	char why[PATH_MAX + 64];
	snprintf(why, sizeof why, "%s of %s", names[k], exe);
	size_t i = (size_t)k;
	if (i < sizeof search_vars / sizeof *search_vars)
		add_list(j, v, why);
	else if (i < sizeof search_vars / sizeof *search_vars + sizeof tree_vars / sizeof *tree_vars)
		discover_add_logged(j, POL_SRC_ENVIRONMENT, v, why);
	if (strcmp(names[k], "PATH") == 0 && !note->path)
		note->path = v, v = NULL;
	else if (strcmp(names[k], "HOME") == 0 && !note->home)
		note->home = v, v = NULL;
	else if (strcmp(names[k], "PYTHONUSERBASE") == 0 && !note->userbase)
		note->userbase = v, v = NULL;
	free(v);
}

/* Loop thread: read the new program's environment and add what it names. Its pointers
 * and the first bytes of its strings are read a batch per system call: one read each cost
 * a quarter of a millisecond on every exec. */
static struct exec_note *read_env(struct call *c, uint64_t envp, const char *exe)
{
	struct exec_note *note = calloc(1, sizeof *note);
	if (!note || !envp)
		return note;
	uint64_t p[ENV_BATCH];
	static __thread char heads[ENV_BATCH][TRACEE_HEAD_MAX + 1];
	for (size_t i = 0, n; i < ENV_MAX_VARS && (n = env_pointers(c->pid, envp, i, p)) > 0; i += n) {
		ssize_t h = tracee_read_heads(c->pid, p, n, heads);
		for (size_t j = 0; j < n; j++) {
			/* A head not read in the batch (a string on a bad page after a good one):
			 * on its own, as before. */
			if ((ssize_t)j >= h && tracee_read_string(c->pid, p[j], heads[j], sizeof heads[j]) == -EFAULT)
				continue;
			heads[j][TRACEE_HEAD_MAX] = '\0';
			int k;
			char *v = wanted(c->pid, p[j], heads[j], &k);
			if (v)
				note_var(c->job, note, k, v, exe);
		}
		if (n < ENV_BATCH)
			break;   /* its NULL, or a page we could not read */
	}
	return note;
}

void exec_prelearn(struct job *j, pid_t pid, const char *program, char *const envp[])
{
	if (j->pass_all || !(j->policy.discover_sources & ~POL_SRC_LIBRARIES) || program[0] != '/' ||
	    strlen(program) >= sizeof j->prelearned)
		return;
	struct exec_note *note = calloc(1, sizeof *note);
	if (!note)
		return;   /* then its execve is learned when it comes, as any other */
	for (char *const *e = envp; e && *e; e++) {
		int k = env_name(*e);
		char *v = k < 0 ? NULL : strdup(*e + strlen(names[k]) + 1);
		if (v)
			note_var(j, note, k, v, program);
	}
	STAT_ADD(node.fsops, learn_program(j, AT_FDCWD, program, program, note));
	exec_note_free(note);
	strcpy(j->prelearned, program);
	j->prelearned_pid = pid;
}

static struct verdict serve_exec(struct call *c, int dirfd, uint64_t path, uint64_t envp)
{
	if (c->job->pass_all || !(c->job->policy.discover_sources & ~POL_SRC_LIBRARIES))
		return verdict_continue();   /* nothing to learn from a new program */
	if (!c->in_worker) {
		int routed = route_call(c, dirfd, path);   /* path, start, and its absolute form */
		if (routed < 0 || !c->raw[0])
			return verdict_continue();
		if (c->pid == c->job->prelearned_pid && strcmp(c->raw, c->job->prelearned) == 0) {
			c->job->prelearned_pid = 0;   /* the program collrun started: learned already */
			return verdict_continue();
		}
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
