/* The I/O side of the policy: reading policy files, the variables collrun provides
 * (COLLRUN_EXE_TREE), and printing rules for --print-policy and --explain. */
#include "policy_setup.h"
#include "learn.h"
#include "discover.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef COLLRUN_DATADIR
#define COLLRUN_DATADIR "/usr/local/share/collrun"
#endif
#define MAX_POLICY_FILE (16 << 20)

extern const char collrun_default_policy[];

struct env_ctx { char exe_tree[PATH_MAX]; };

static void exe_tree(const char *exe, char *out, size_t size)
{
	char real[PATH_MAX];
	out[0] = '\0';
	if (exe && realpath(exe, real))
		install_tree(real, getenv("HOME"), out, size);
}

static const char *getvar(void *ctx, const char *name)
{
	struct env_ctx *e = ctx;
	if (strcmp(name, "COLLRUN_EXE_TREE") == 0)
		return e->exe_tree;
	return getenv(name);
}

static int load(void *ctx, const char *path, char **text, size_t *len, char **canon)
{
	(void)ctx;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int err = 0;
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (S_ISDIR(st.st_mode))
		err = -EISDIR;
	else if (st.st_size > MAX_POLICY_FILE)
		err = -EFBIG;
	char *buf = err ? NULL : malloc(st.st_size + 1);
	ssize_t n = 0;
	if (!err && !buf)
		err = -ENOMEM;
	while (!err && n < st.st_size) {
		ssize_t r = read(fd, buf + n, st.st_size - n);
		if (r < 0)
			err = -errno;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*text = buf;
	*len = n;
	*canon = realpath(path, NULL);
	if (!*canon)
		*canon = strdup(path);
	return 0;
}

int policy_setup(struct policy *p, const struct options *o, const char *exe, char *msg, size_t msgsize)
{
	struct env_ctx ctx;
	exe_tree(exe, ctx.exe_tree, sizeof ctx.exe_tree);
	struct pol_env env = { getvar, load, &ctx };
	int err = 0;
	for (int i = 0; !err && i < o->ncache; i++) {
		/* Paths are matched as written: cover the name given and, if it differs (a
		 * symlink, "..", "//"), the real one, which is how most programs will name it. */
		char real[PATH_MAX];
		err = policy_add(p, POL_CACHE, o->cache_dirs[i], NULL, 0, "--cache");
		if (!err && realpath(o->cache_dirs[i], real) && strcmp(real, o->cache_dirs[i]) != 0)
			err = policy_add(p, POL_CACHE, real, NULL, 0, "--cache (real path)");
	}
	for (int i = 0; !err && i < o->npolicy; i++)
		err = policy_load(p, o->policy_files[i], &env, msg, msgsize);
	const char *list = getenv("COLLRUN_POLICY");
	char *copy = list ? strdup(list) : NULL, *save = NULL;
	for (char *f = copy ? strtok_r(copy, ":", &save) : NULL; !err && f; f = strtok_r(NULL, ":", &save))
		err = policy_load(p, f, &env, msg, msgsize);
	free(copy);
	if (err || o->no_default_policy)
		return err;
	const char *installed = COLLRUN_DATADIR "/default.policy";
	if (access(installed, R_OK) == 0)
		return policy_load(p, installed, &env, msg, msgsize);
	return policy_parse(p, collrun_default_policy, strlen(collrun_default_policy), "<built-in default>",
			    &env, msg, msgsize);
}

/* Is rule i the same rule as an earlier one (two sources can yield one text, as
 * ${PYENV_ROOT}/versions and ${HOME}/.pyenv/versions do)? First match wins, so the later
 * copy never decides anything. */
static bool repeats_earlier(const struct policy *p, size_t i, const char *text)
{
	char other[PATH_MAX * 3];
	for (size_t j = 0; j < i; j++) {
		policy_format_rule(&p->rules[j], other, sizeof other);
		if (strcmp(other, text) == 0)
			return true;
	}
	return false;
}

int policy_print(const struct policy *p)
{
	return policy_print_to(stdout, p);
}

int policy_print_to(FILE *out, const struct policy *p)
{
	char rule[PATH_MAX * 3];
	for (size_t i = 0; i < p->n; i++) {
		policy_format_rule(&p->rules[i], rule, sizeof rule);
		if (repeats_earlier(p, i, rule))
			continue;
		fprintf(out, "%-60s # %s\n", rule, p->rules[i].origin);
		if (p->rules[i].action != POL_DISCOVERED || !p->discovered_ctx)
			continue;
		/* What was discovered so far (for --print-policy -- PROGRAM: what PROGRAM's own
		 * files and environment name; the rest is learned while the job runs). */
		struct discovered *d = p->discovered_ctx;
		for (size_t k = 0, n = discovered_count(d); k < n; k++) {
			const struct pol_rule *r = discovered_rule(d, k);
			policy_format_rule(r, rule, sizeof rule);
			fprintf(out, "  %-58s # %s\n", rule, r->origin);
		}
	}
	if (p->n == 0)
		fprintf(out, "# no rules: every path is passed to the kernel\n");
	return 0;
}

int policy_explain(const struct policy *p, const char *path)
{
	char abs[PATH_MAX * 2], cwd[PATH_MAX], target[PATH_MAX * 2], rule[PATH_MAX * 3];
	if (path[0] != '/' && getcwd(cwd, sizeof cwd))
		snprintf(abs, sizeof abs, "%s/%s", cwd, path);
	else
		snprintf(abs, sizeof abs, "%s", path);
	struct pol_decision d;
	policy_decide(p, abs, &d, target, sizeof target);
	if (!d.rule) {
		printf("%s: pass (no rule covers it: the kernel answers)\n", abs);
		return 0;
	}
	policy_format_rule(d.rule, rule, sizeof rule);
	switch (d.action) {
	case POL_CACHE: printf("%s: cache (answered from collrun's cache)", abs); break;
	case POL_PASS: printf("%s: pass (the kernel answers)", abs); break;
	case POL_DENY: printf("%s: deny %s (every look-up fails with it)", abs, strerrorname_np(d.err)); break;
	case POL_HIDE: printf("%s: hide (looks as if it did not exist: ENOENT)", abs); break;
	case POL_REDIRECT:
	case POL_LIBRARY: printf("%s: %s to %s", abs, pol_action_name(d.action), d.target); break;
	case POL_DISCOVERED: break;   /* a marker: decide() answers CACHE for what it covers */
	}
	printf("\n  by rule: %s\n  from: %s\n", rule, d.rule->origin);
	return 0;
}
