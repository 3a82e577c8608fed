/* Cache what a job reads and nobody writes while it runs: system trees, the executable's
 * own tree, the loader's and Python's search paths. Pass what changes: /proc, /sys, /dev,
 * /run, /tmp, the home folder's dotfiles. Order is most specific first (first match wins):
 * --cache dirs, volatile trees, this job's library and interpreter trees, $HOME, the
 * system trees. Anything unmatched is passed. */
#include "default_policy.h"
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const volatile_trees[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp" };
static const char *const system_trees[] = { "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin",
					    "/sbin", "/etc/ld.so.cache" };

/* Each absolute entry of a colon-separated list (LD_LIBRARY_PATH, PYTHONPATH). */
static int add_list(struct policy *p, const char *var)
{
	const char *v = getenv(var);
	if (!v)
		return 0;
	char *copy = strdup(v), *save = NULL;
	if (!copy)
		return -1;
	int err = 0;
	for (char *d = strtok_r(copy, ":", &save); d && !err; d = strtok_r(NULL, ":", &save))
		if (d[0] == '/' && strcmp(d, "/") != 0)
			err = policy_add(p, d, POL_CACHE, var);
	free(copy);
	return err;
}

static int add_env_dir(struct policy *p, const char *var, const char *suffix)
{
	const char *v = getenv(var);
	if (!v || v[0] != '/' || strcmp(v, "/") == 0)
		return 0;
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s%s", v, suffix);
	return policy_add(p, buf, POL_CACHE, var);
}

/* The tree an executable was installed into: /opt/app for /opt/app/bin/x, else its folder. */
static int add_exe_tree(struct policy *p, const char *exe)
{
	char real[PATH_MAX];
	if (!realpath(exe, real))
		return 0;
	char *dir = dirname(real);
	char tree[PATH_MAX];
	snprintf(tree, sizeof tree, "%s", dir);
	const char *base = strrchr(tree, '/');
	if (base && (strcmp(base, "/bin") == 0 || strcmp(base, "/sbin") == 0) && base != tree)
		tree[base - tree] = '\0';
	if (strcmp(tree, "/") == 0)
		return 0;
	return policy_add(p, tree, POL_CACHE, "executable's tree");
}

int default_policy(struct policy *p, const char *exe, const char **extra, int nextra)
{
	int err = 0;
	for (int i = 0; !err && i < nextra; i++)
		err = policy_add(p, extra[i], POL_CACHE, "--cache");
	for (size_t i = 0; !err && i < sizeof volatile_trees / sizeof *volatile_trees; i++)
		err = policy_add(p, volatile_trees[i], POL_PASS, "volatile tree");
	if (!err) err = add_exe_tree(p, exe);
	if (!err) err = add_list(p, "LD_LIBRARY_PATH");
	if (!err) err = add_list(p, "PYTHONPATH");
	if (!err) err = add_env_dir(p, "PYTHONHOME", "");
	if (!err) err = add_env_dir(p, "VIRTUAL_ENV", "");
	if (!err) err = add_env_dir(p, "CONDA_PREFIX", "");
	if (!err) err = add_env_dir(p, "PYENV_ROOT", "/versions");
	if (!err && !getenv("PYENV_ROOT")) err = add_env_dir(p, "HOME", "/.pyenv/versions");
	if (!err) err = add_env_dir(p, "HOME", "/.local/lib");       /* user site-packages */
	if (!err) err = add_env_dir(p, "HOME", "/.conda");
	if (!err) err = add_env_dir(p, "HOME", "/miniconda3");
	if (!err) err = add_env_dir(p, "HOME", "/anaconda3");
	{
		const char *home = getenv("HOME");
		if (!err && home && home[0] == '/' && strcmp(home, "/") != 0)
			err = policy_add(p, home, POL_PASS, "home folder");
	}
	for (size_t i = 0; !err && i < sizeof system_trees / sizeof *system_trees; i++)
		err = policy_add(p, system_trees[i], POL_CACHE, "system tree");
	return err;
}
