/* Fuzz target of the policy parser and matcher: LLVMFuzzerTestOneInput parses arbitrary
 * bytes with a fixed fake environment whose `load` callback serves the input itself (up
 * to MAX_LOADS times per run: includes, cycles and the depth limit), then decides a set of fixed paths, paths
 * made from the rules' own patterns and one path taken from the input, and formats every
 * rule. It must never crash, leak, hang or trip a sanitizer. Built with libFuzzer
 * (clang -fsanitize=fuzzer) or with tests/fuzz/driver.c (corpus runner, random mode). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Includes served with the input itself: enough to pass the depth limit, few enough to
 * bound the work; later ones fail with ENOENT. */
#define MAX_LOADS 20

struct fuzz_ctx {
	const uint8_t *data;
	size_t size;
	int loads;
};

static char long_value[5001];

static const char *getvar(void *ctx, const char *name)
{
	(void)ctx;
	static const char *const vars[][2] = {
		{ "HOME", "/home/user" },
		{ "LD_LIBRARY_PATH", "/opt/lib:rel::/usr/local/lib:/:./x" },
		{ "PYTHONPATH", "/srv/py:src" },
		{ "DATA", "/data" },
		{ "EMPTY", "" },
		{ "GLOB", "/g/**/x*/[a-c]?" },
		{ "COLON", ":::" },
		{ "QUOTE", "\"/q\" \\ ${HOME}" },
		{ "ERR", "EACCES" },
		{ "NAME", "libfoo.so.1" },
	};
	if (strcmp(name, "LONG") == 0) {
		if (!long_value[0]) {
			memset(long_value, 'L', sizeof long_value - 1);
			long_value[0] = '/';
		}
		return long_value;
	}
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

static int load(void *vctx, const char *path, char **text, size_t *len, char **canon)
{
	struct fuzz_ctx *ctx = vctx;
	if (strstr(path, "eacces"))
		return -EACCES;
	if (ctx->loads >= MAX_LOADS)
		return -ENOENT;
	ctx->loads++;
	*text = malloc(ctx->size + 1);
	*canon = strdup(path);   /* the name as asked: "a" twice is a cycle, "./a" is not */
	if (!*text || !*canon) {
		free(*text);
		free(*canon);
		return -ENOMEM;
	}
	memcpy(*text, ctx->data, ctx->size);
	(*text)[ctx->size] = '\0';
	*len = ctx->size;
	return 0;
}

static void decide(const struct policy *p, const char *path)
{
	char buf[512];
	struct pol_decision d;
	enum pol_action a = policy_decide(p, path, &d, buf, sizeof buf);
	if (a != d.action)
		abort();
	if (d.rule && (d.rule < p->rules || d.rule >= p->rules + p->n))
		abort();
	if (!d.rule && a != POL_PASS)
		abort();
	if ((a == POL_REDIRECT || a == POL_LIBRARY) && (!d.target || d.target[0] != '/'))
		abort();
	if (a == POL_REDIRECT && strlen(d.target) >= sizeof buf)
		abort();
	(void)pol_action_name(a);
}

static const char *const paths[] = {
	"/", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib64/ld.so", "/proc/self/maps", "/tmp/x",
	"/home/user/.local/lib/python3.11/site-packages/numpy/__init__.py", "/home/user/.bashrc",
	"/opt/lib/libfoo.so.1", "/data/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z",
	"/g/a/b/x1/b7", "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b",
	"/srv/.hidden/x", "/etc/ld.so.cache", "//double//slash//", "/x/[abc]/*?", "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx ctx = { data, size, 0 };
	struct pol_env env = { getvar, load, &ctx };
	struct policy p = { 0 };
	char msg[512] = "";
	/* As text with a name (the built-in default's way) ... */
	int r = policy_parse(&p, (const char *)data, size, "fuzz/input.policy", &env, msg, sizeof msg);
	if (r < 0 && !memchr(msg, '\0', sizeof msg))
		abort();
	/* ... and as a file through the loader (policy_load's way), appending to the same rules. */
	ctx.loads = 0;
	msg[0] = '\0';
	r = policy_load(&p, "fuzz/input.policy", &env, msg, sizeof msg);
	if (r < 0 && !memchr(msg, '\0', sizeof msg))
		abort();

	for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
		decide(&p, paths[i]);
	/* Paths made from the rules: the pattern itself (globs and all), and below it. */
	char path[8192], rule[8192];
	size_t n = p.n < 64 ? p.n : 64;
	for (size_t i = 0; i < n; i++) {
		const struct pol_rule *rl = &p.rules[i];
		if (strlen(rl->pattern) != rl->len || rl->fixed > rl->len)
			abort();
		snprintf(path, sizeof path, "%s%s", rl->pattern[0] == '/' ? "" : "/x/", rl->pattern);
		decide(&p, path);
		snprintf(path, sizeof path, "%s/below/%s", rl->pattern, rl->target ? rl->target : "t");
		decide(&p, path);
		size_t need = rl->len + (rl->target ? strlen(rl->target) : 0) + 32;
		if (policy_format_rule(rl, rule, sizeof rule) < 0 && need < sizeof rule)
			abort();
		char tiny[8];
		policy_format_rule(rl, tiny, sizeof tiny);
	}
	/* The input's first line as a path: arbitrary bytes reach the matcher too. */
	size_t l = 0;
	while (l < size && l < sizeof path - 2 && data[l] != '\n' && data[l] != '\0')
		l++;
	path[0] = '/';
	memcpy(path + 1, data, l);
	path[l + 1] = '\0';
	decide(&p, path);
	decide(&p, path + 1);
	policy_free(&p);
	return 0;
}
