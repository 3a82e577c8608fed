/* policy parsing, driven by golden files in tests/unit/policy-golden/ (README.md there has
 * the format). Each case is parsed with a fixed fake environment and an in-memory `load`
 * callback, then checked against NAME.decisions (policy_decide of each PATH), NAME.rules
 * (every rule, formatted) or NAME.error (the exact message). Adding a case is adding
 * files: the cases are enumerated at run time from $SRC (default ".").
 * Also: the default policy (policy/default.policy) parses with every variable unset and
 * with all set, and decides as the old built-in default (supervisor/default_policy.c) did. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "policy.h"

/* ---------------------------------------------------------------- helpers */

static const char *src_dir(void)
{
	const char *s = getenv("SRC");
	return s && *s ? s : ".";
}

static char *golden_dir(void)
{
	static char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/unit/policy-golden", src_dir());
	return dir;
}

/* Whole file, NUL-terminated (it may hold NULs: *len is the real length). NULL if absent. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t r; buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += r;
		if (cap - n - 1 == 0) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	fclose(f);
	cr_assert_not_null(buf, "out of memory reading %s", path);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* ---------------------------------------------------------------- fake environment */

struct var { const char *name, *value; };

static char long_value[4001];   /* "/aaa…": 4000 bytes, for the expansion-length limits */

static const struct var golden_vars[] = {
	{ "HOME", "/home/user" },
	{ "LD_LIBRARY_PATH", "/opt/lib:lib/rel::/usr/local/lib:/:./x" },
	{ "PYTHONPATH", "/srv/py:src:/srv/site" },
	{ "REL", "src:lib:." },
	{ "COLLRUN_EXE_TREE", "/opt/app" },
	{ "DATA", "/data" },
	{ "TREE", "/srv/tree" },
	{ "EMPTY", "" },
	{ "SPACED", "/srv/with space" },
	{ "ERR", "EACCES" },
	{ "LIBNAME", "libfoo.so.1" },
	{ "LONG", long_value },
	{ NULL, NULL },
};

/* One virtual file for the fake loader. err != 0: loading it fails with -err. */
struct vfile { char *name, *text; size_t len; int err; };

struct fake {
	const struct var *vars;
	struct vfile files[64];
	int nfiles;
	int loads;
};

static const char *fake_getvar(void *ctx, const char *name)
{
	struct fake *f = ctx;
	for (const struct var *v = f->vars; v && v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v->value;
	return NULL;
}

/* "a//b/./c/../d" -> "a/b/d" (keeps a leading '/'; ".." above the top is dropped). */
static void normalize(const char *in, char *out, size_t size)
{
	char tmp[8192];
	snprintf(tmp, sizeof tmp, "%s", in);
	const char *parts[512];
	int n = 0;
	char *save = NULL;
	for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			if (n)
				n--;
			continue;
		}
		if (n < 512)
			parts[n++] = c;
	}
	size_t o = 0;
	out[0] = '\0';
	if (in[0] == '/')
		o += snprintf(out + o, size - o, "/");
	for (int i = 0; i < n && o < size; i++)
		o += snprintf(out + o, size - o, "%s%s", i ? "/" : "", parts[i]);
}

static int fake_load(void *ctx, const char *path, char **text, size_t *len, char **canon)
{
	struct fake *f = ctx;
	char name[8192];
	normalize(path, name, sizeof name);
	f->loads++;
	for (int i = 0; i < f->nfiles; i++) {
		if (strcmp(f->files[i].name, name) != 0)
			continue;
		if (f->files[i].err)
			return -f->files[i].err;
		*text = malloc(f->files[i].len + 1);
		*canon = strdup(name);
		cr_assert(*text && *canon);
		memcpy(*text, f->files[i].text, f->files[i].len + 1);
		*len = f->files[i].len;
		return 0;
	}
	return -ENOENT;
}

static void fake_add(struct fake *f, const char *name, char *text, size_t len, int err)
{
	cr_assert_lt(f->nfiles, 64, "too many files in one golden case");
	f->files[f->nfiles++] = (struct vfile){ strdup(name), text, len, err };
}

static void fake_free(struct fake *f)
{
	for (int i = 0; i < f->nfiles; i++) {
		free(f->files[i].name);
		free(f->files[i].text);
	}
	f->nfiles = 0;
}

static void init_long_value(void)
{
	long_value[0] = '/';
	memset(long_value + 1, 'a', sizeof long_value - 2);
	long_value[sizeof long_value - 1] = '\0';
}

/* Every file under dir (recursively), named by its path below dir; files under "root/"
 * are served by absolute path ("root/etc/x" is "/etc/x"); "X.errno" holding an errno name
 * makes loading X fail with that errno. */
static void add_tree(struct fake *f, const char *dir, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	cr_assert_not_null(d, "cannot open %s", path);
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char sub[4096], full[8192];
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof full, "%s/%s", dir, sub);
		struct stat st;
		cr_assert_eq(stat(full, &st), 0, "%s", full);
		if (S_ISDIR(st.st_mode)) {
			add_tree(f, dir, sub);
			continue;
		}
		size_t len;
		char *text = slurp(full, &len);
		const char *name = strncmp(sub, "root/", 5) == 0 ? sub + 4 : sub;
		size_t nl = strlen(name);
		if (nl > 6 && strcmp(name + nl - 6, ".errno") == 0) {
			char target[4096];
			snprintf(target, sizeof target, "%.*s", (int)(nl - 6), name);
			text[strcspn(text, " \r\n")] = '\0';
			int err = pol_errno_from_name(text);
			cr_assert_gt(err, 0, "%s: unknown errno name '%s'", full, text);
			free(text);
			fake_add(f, target, NULL, 0, err);
		} else {
			fake_add(f, name, text, len, 0);
		}
	}
	closedir(d);
}

/* ---------------------------------------------------------------- formatting results */

static void format_decision(const char *path, const struct pol_decision *d, char *out, size_t size)
{
	int n = snprintf(out, size, "%s -> %s", path, pol_action_name(d->action));
	if (d->action == POL_DENY)
		n += snprintf(out + n, size - n, " %s", strerrorname_np(d->err));
	else if (d->action == POL_REDIRECT || d->action == POL_LIBRARY)
		n += snprintf(out + n, size - n, " %s", d->target);
	snprintf(out + n, size - n, " @%s", d->rule ? d->rule->origin : "-");
}

/* Collapse blanks, trim; "@N" becomes "@MAIN:N". */
static void normalize_expected(const char *line, const char *main_name, char *out, size_t size)
{
	size_t o = 0;
	bool blank = false;
	for (const char *s = line; *s && o + 1 < size; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\r') {
			blank = o > 0;
			continue;
		}
		if (blank && o + 1 < size)
			out[o++] = ' ';
		blank = false;
		out[o++] = *s;
	}
	out[o] = '\0';
	char *at = strrchr(out, '@');
	if (at && at[1] && strspn(at + 1, "0123456789") == strlen(at + 1)) {
		char num[32];
		snprintf(num, sizeof num, "%s", at + 1);
		snprintf(at, size - (at - out), "@%s:%s", main_name, num);
	}
}

/* Next line of text (without its newline) into line; false at the end. */
static bool next_line(char **cursor, char *line, size_t size)
{
	char *s = *cursor;
	if (!*s)
		return false;
	size_t n = strcspn(s, "\n");
	snprintf(line, size, "%.*s", (int)n, s);
	*cursor = s + n + (s[n] == '\n');
	return true;
}

static bool skip_line(const char *line)
{
	size_t i = strspn(line, " \t\r");
	return line[i] == '\0' || line[i] == '#';
}

/* ---------------------------------------------------------------- the golden cases */

struct gcase { char name[256]; bool is_dir; };

static void free_cases(struct criterion_test_params *crp) { cr_free(crp->params); }

static int cmp_case(const void *a, const void *b)
{
	return strcmp(((const struct gcase *)a)->name, ((const struct gcase *)b)->name);
}

ParameterizedTestParameters(policy_golden, golden)
{
	DIR *d = opendir(golden_dir());
	size_t n = 0, cap = 512;
	struct gcase *cases = cr_malloc(cap * sizeof *cases);
	for (struct dirent *e; d && cases && (e = readdir(d));) {
		size_t nl = strlen(e->d_name);
		char full[8192];
		snprintf(full, sizeof full, "%s/%s", golden_dir(), e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || stat(full, &st) != 0 || nl >= sizeof cases->name || n == cap)
			continue;
		if (S_ISDIR(st.st_mode)) {
			snprintf(cases[n].name, sizeof cases[n].name, "%s", e->d_name);
			cases[n++].is_dir = true;
		} else if (nl > 7 && strcmp(e->d_name + nl - 7, ".policy") == 0) {
			snprintf(cases[n].name, sizeof cases[n].name, "%.*s", (int)(nl - 7), e->d_name);
			cases[n++].is_dir = false;
		}
	}
	if (d)
		closedir(d);
	qsort(cases, n, sizeof *cases, cmp_case);
	return cr_make_param_array(struct gcase, cases, n, free_cases);
}

ParameterizedTest(struct gcase *c, policy_golden, golden)
{
	init_long_value();
	char base[8192], main_name[512], path[8192 + 512];
	struct fake f = { .vars = golden_vars };
	if (c->is_dir) {
		snprintf(base, sizeof base, "%s/%s/main", golden_dir(), c->name);
		snprintf(main_name, sizeof main_name, "main.policy");
		snprintf(path, sizeof path, "%s/%s", golden_dir(), c->name);
		add_tree(&f, path, "");
	} else {
		snprintf(base, sizeof base, "%s/%s", golden_dir(), c->name);
		snprintf(main_name, sizeof main_name, "%s.policy", c->name);
		snprintf(path, sizeof path, "%s.policy", base);
		size_t len;
		char *text = slurp(path, &len);
		cr_assert_not_null(text, "%s: cannot read %s", c->name, path);
		fake_add(&f, main_name, text, len, 0);
	}
	char file[8192 + 16];
	snprintf(file, sizeof file, "%s.error", base);
	char *error = slurp(file, NULL);
	snprintf(file, sizeof file, "%s.decisions", base);
	char *decisions = slurp(file, NULL);
	snprintf(file, sizeof file, "%s.rules", base);
	char *rules = slurp(file, NULL);
	cr_assert(error || decisions || rules, "golden case %s has no .error, .decisions or .rules file", c->name);
	cr_assert(!(error && decisions), "golden case %s has both .error and .decisions", c->name);

	struct pol_env env = { fake_getvar, fake_load, &f };
	struct policy p = { 0 };
	char msg[1024] = "";
	int r = policy_load(&p, main_name, &env, msg, sizeof msg);

	char line[8192], want[8192], got[20000];
	if (error) {
		/* line 1: the message; optional "return: -ENAME" line: policy_load's result */
		char *cur = error;
		next_line(&cur, line, sizeof line);
		line[strcspn(line, "\r")] = '\0';
		cr_expect_lt(r, 0, "golden %s: parse succeeded, expected error: %s", c->name, line);
		cr_expect_str_eq(msg, line, "golden %s: error message\n  got:  %s\n  want: %s", c->name, msg, line);
		while (next_line(&cur, line, sizeof line)) {
			char ename[64];
			if (sscanf(line, "return: -%63s", ename) == 1) {
				int e = pol_errno_from_name(ename);
				cr_expect_eq(r, -e, "golden %s: returned %d (%s), want -%s", c->name, r,
					     r < 0 ? strerrorname_np(-r) : "0", ename);
			}
		}
	} else {
		cr_expect_eq(r, 0, "golden %s: unexpected parse error %d: %s", c->name, r, msg);
	}
	if (rules) {
		size_t i = 0;
		char *cur = rules;
		while (next_line(&cur, line, sizeof line)) {
			if (skip_line(line))
				continue;
			normalize_expected(line, main_name, want, sizeof want);
			if (i >= p.n) {
				cr_expect_fail("golden %s.rules: missing rule, want: %s", c->name, want);
				i++;
				continue;
			}
			char rule[8192];
			cr_assert_geq(policy_format_rule(&p.rules[i], rule, sizeof rule), 0);
			snprintf(got, sizeof got, "%s @%s", rule, p.rules[i].origin);
			cr_expect_str_eq(got, want, "golden %s.rules: rule %zu\n  got:  %s\n  want: %s", c->name, i + 1, got, want);
			i++;
		}
		for (; i < p.n; i++) {
			char rule[8192];
			policy_format_rule(&p.rules[i], rule, sizeof rule);
			cr_expect_fail("golden %s.rules: extra rule %zu: %s @%s", c->name, i + 1, rule, p.rules[i].origin);
		}
	}
	if (decisions) {
		char *cur = decisions;
		for (int lineno = 1; next_line(&cur, line, sizeof line); lineno++) {
			if (skip_line(line))
				continue;
			normalize_expected(line, main_name, want, sizeof want);
			char *arrow = strstr(want, " -> ");
			cr_assert_not_null(arrow, "golden %s.decisions:%d: no ' -> ' in '%s'", c->name, lineno, line);
			*arrow = '\0';
			char target[8192];
			struct pol_decision d;
			policy_decide(&p, want, &d, target, sizeof target);
			format_decision(want, &d, got, sizeof got);
			*arrow = ' ';
			cr_expect_str_eq(got, want, "golden %s.decisions:%d\n  got:  %s\n  want: %s", c->name, lineno, got, want);
		}
	}
	policy_free(&p);
	fake_free(&f);
	free(error);
	free(decisions);
	free(rules);
}

/* The golden folder must be found: a missing one must not look like success. */
Test(policy_golden, folder_has_cases)
{
	DIR *d = opendir(golden_dir());
	cr_assert_not_null(d, "no golden folder %s (set SRC to the repository root)", golden_dir());
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".policy") != NULL || (e->d_name[0] != '.' && e->d_type == DT_DIR);
	closedir(d);
	cr_assert_geq(n, 40, "only %d golden cases in %s", n, golden_dir());
}

/* ---------------------------------------------------------------- cases a golden file cannot express */

Test(policy_parse, include_without_a_loader_is_an_error)
{
	struct policy p = { 0 };
	char msg[256];
	struct pol_env env = { fake_getvar, NULL, NULL };
	const char *text = "cache /a\n  include other.policy\n";
	cr_assert_eq(policy_parse(&p, text, strlen(text), "t.policy", &env, msg, sizeof msg), -EINVAL);
	cr_assert_str_eq(msg, "t.policy:2:11: include is not available here");
	cr_assert_eq(p.n, 1);
	policy_free(&p);
	cr_assert_eq(policy_load(&p, "x.policy", &env, msg, sizeof msg), -ENOSYS);
	cr_assert_eq(policy_load(&p, "x.policy", NULL, msg, sizeof msg), -ENOSYS);
}

Test(policy_parse, no_environment_at_all)
{
	struct policy p = { 0 };
	char msg[256] = "";
	const char *text = "cache ${HOME:-/fallback}\npass ${HOME:-}\n";
	cr_assert_eq(policy_parse(&p, text, strlen(text), "t", NULL, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(p.n, 1);
	cr_assert_str_eq(p.rules[0].pattern, "/fallback");
	text = "cache ${HOME}\n";
	cr_assert_eq(policy_parse(&p, text, strlen(text), "t", NULL, msg, sizeof msg), -EINVAL);
	cr_assert_str_eq(msg, "t:1:7: undefined variable HOME (write ${HOME:-} to allow it unset)");
	policy_free(&p);
}

Test(policy_parse, missing_top_level_file)
{
	struct fake f = { .vars = golden_vars };
	struct pol_env env = { fake_getvar, fake_load, &f };
	struct policy p = { 0 };
	char msg[256];
	cr_assert_eq(policy_load(&p, "nowhere.policy", &env, msg, sizeof msg), -ENOENT);
	cr_assert_str_eq(msg, "nowhere.policy: No such file or directory");
	cr_assert_eq(p.n, 0);
}

Test(policy_parse, small_message_buffers_are_truncated_not_overrun)
{
	struct policy p = { 0 };
	char msg[16];
	memset(msg, 'x', sizeof msg);
	const char *text = "bogus /a\n";
	cr_assert_eq(policy_parse(&p, text, strlen(text), "some-long-name.policy", NULL, msg, 8), -EINVAL);
	cr_assert_str_eq(msg, "some-lo");
	cr_assert_eq(msg[8], 'x');
	cr_assert_eq(policy_parse(&p, text, strlen(text), "n", NULL, msg, 1), -EINVAL);
	cr_assert_str_eq(msg, "");
	cr_assert_eq(policy_parse(&p, text, strlen(text), "n", NULL, NULL, 0), -EINVAL);
}

Test(policy_parse, length_is_honoured_not_the_nul)
{
	struct policy p = { 0 };
	char msg[256];
	const char text[] = "cache /a\ncache /b";   /* parse only the first line */
	cr_assert_eq(policy_parse(&p, text, 9, "t", NULL, msg, sizeof msg), 0);
	cr_assert_eq(p.n, 1);
	cr_assert_eq(policy_parse(&p, text, 0, "t", NULL, msg, sizeof msg), 0);
	cr_assert_eq(p.n, 1);
	policy_free(&p);
}

Test(policy_parse, redirect_too_long_for_the_buffer_passes)
{
	struct policy p = { 0 };
	char msg[256], small[16];
	const char *text = "redirect /old /a/much/longer/target\n";
	struct pol_decision d;
	cr_assert_eq(policy_parse(&p, text, strlen(text), "t", NULL, msg, sizeof msg), 0);
	cr_assert_eq(policy_decide(&p, "/old/file", &d, small, sizeof small), POL_PASS);
	cr_assert_eq(d.action, POL_PASS);
	policy_free(&p);
}

Test(policy_parse, errno_names)
{
	cr_assert_eq(pol_errno_from_name("EACCES"), EACCES);
	cr_assert_eq(pol_errno_from_name("ENOENT"), ENOENT);
	cr_assert_eq(pol_errno_from_name("EWOULDBLOCK"), EWOULDBLOCK);
	cr_assert_eq(pol_errno_from_name("ENOTSUP"), ENOTSUP);
	cr_assert_eq(pol_errno_from_name("EDEADLOCK"), EDEADLOCK);
	cr_assert_eq(pol_errno_from_name("eacces"), -1);
	cr_assert_eq(pol_errno_from_name(""), -1);
	cr_assert_eq(pol_errno_from_name("E"), -1);
}

/* ---------------------------------------------------------------- the default policy */

extern const char collrun_default_policy[];   /* build/gen/default_policy.c, in libcollrun.a */

static char *default_text(size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/policy/default.policy", src_dir());
	char *text = slurp(path, len);
	cr_assert_not_null(text, "cannot read %s (set SRC to the repository root)", path);
	return text;
}

static int parse_default(struct policy *p, const struct var *vars, char *msg, size_t size)
{
	size_t len;
	char *text = default_text(&len);
	struct fake f = { .vars = vars };
	struct pol_env env = { fake_getvar, fake_load, &f };
	int r = policy_parse(p, text, len, "default.policy", &env, msg, size);
	free(text);
	cr_assert_eq(f.loads, 0, "the default policy includes nothing");
	return r;
}

static const struct var no_vars[] = { { NULL, NULL } };
static const struct var all_vars[] = {
	{ "COLLRUN_EXE_TREE", "/opt/app" }, { "LD_LIBRARY_PATH", "/l1:/l2" }, { "PYTHONPATH", "/p1:rel" },
	{ "PYTHONHOME", "/ph" }, { "VIRTUAL_ENV", "/venv" }, { "CONDA_PREFIX", "/conda" },
	{ "PYENV_ROOT", "/pyenv" }, { "HOME", "/home/u" }, { NULL, NULL },
};

Test(default_policy, is_the_text_compiled_into_collrun)
{
	size_t len;
	char *text = default_text(&len);
	cr_assert_eq(strlen(collrun_default_policy), len);
	cr_assert(memcmp(collrun_default_policy, text, len) == 0, "build/gen/default_policy.c is stale");
	free(text);
}

Test(default_policy, parses_with_every_variable_unset)
{
	struct policy p = { 0 };
	char msg[1024] = "";
	cr_assert_eq(parse_default(&p, no_vars, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(p.n, 15, "6 volatile trees + the discovered marker + 8 system trees, got %zu rules", p.n);
	struct pol_decision d;
	char buf[4096];
	cr_assert_eq(policy_decide(&p, "/usr/lib/libc.so.6", &d, buf, sizeof buf), POL_CACHE);
	cr_assert_eq(policy_decide(&p, "/home/u/.bashrc", &d, buf, sizeof buf), POL_PASS);
	cr_assert_null(d.rule);
	policy_free(&p);
}

Test(default_policy, parses_with_every_variable_set)
{
	struct policy p = { 0 };
	char msg[1024] = "";
	cr_assert_eq(parse_default(&p, all_vars, msg, sizeof msg), 0, "%s", msg);
	/* 6 pass, exe tree, 2 LD_LIBRARY_PATH, 1 PYTHONPATH (rel dropped), PYTHONHOME, VIRTUAL_ENV,
	 * CONDA_PREFIX, PYENV_ROOT/versions, 5 under HOME, the discovered marker, pass HOME,
	 * 8 system trees: 29 */
	cr_assert_eq(p.n, 29, "got %zu rules", p.n);
	struct pol_decision d;
	char buf[4096];
	static const struct { const char *path; enum pol_action a; } want[] = {
		{ "/opt/app/lib/x.so", POL_CACHE }, { "/l2/libz.so", POL_CACHE }, { "/p1/mod.py", POL_CACHE },
		{ "/ph/lib/os.py", POL_CACHE }, { "/venv/lib/site.py", POL_CACHE }, { "/conda/lib/x", POL_CACHE },
		{ "/pyenv/versions/3.11/lib", POL_CACHE }, { "/pyenv/shims/python", POL_PASS },
		{ "/home/u/.local/lib/python3/site-packages/a.py", POL_CACHE }, { "/home/u/.conda/x", POL_CACHE },
		{ "/home/u/miniconda3/x", POL_CACHE }, { "/home/u/anaconda3/x", POL_CACHE },
		{ "/home/u/.pyenv/versions/3.11", POL_CACHE }, { "/home/u/.cache/pip", POL_PASS },
		{ "/rel/x", POL_PASS }, { "/tmp/x", POL_PASS },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		cr_expect_eq(policy_decide(&p, want[i].path, &d, buf, sizeof buf), want[i].a, "%s: got %s",
			     want[i].path, pol_action_name(d.action));
	policy_free(&p);
}

/* The old built-in default (git show 5f8c209~1:supervisor/default_policy.c), with the
 * executable's tree taken from COLLRUN_EXE_TREE: the reference the text must agree with. */
static const char *var_of(const struct var *vars, const char *name)
{
	for (const struct var *v = vars; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v->value;
	return NULL;
}

static void old_list(struct policy *p, const struct var *vars, const char *var)
{
	const char *v = var_of(vars, var);
	if (!v)
		return;
	char *copy = strdup(v), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (d[0] == '/' && strcmp(d, "/") != 0)
			policy_add(p, POL_CACHE, d, NULL, 0, var);
	free(copy);
}

static void old_dir(struct policy *p, const struct var *vars, const char *var, const char *suffix)
{
	const char *v = var_of(vars, var);
	if (!v || v[0] != '/' || strcmp(v, "/") == 0)
		return;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s%s", v, suffix);
	policy_add(p, POL_CACHE, buf, NULL, 0, var);
}

static void old_default(struct policy *p, const struct var *vars)
{
	static const char *const volatile_trees[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp" };
	static const char *const system_trees[] = { "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin",
						    "/sbin", "/etc/ld.so.cache" };
	for (size_t i = 0; i < 6; i++)
		policy_add(p, POL_PASS, volatile_trees[i], NULL, 0, "volatile tree");
	old_dir(p, vars, "COLLRUN_EXE_TREE", "");
	old_list(p, vars, "LD_LIBRARY_PATH");
	old_list(p, vars, "PYTHONPATH");
	old_dir(p, vars, "PYTHONHOME", "");
	old_dir(p, vars, "VIRTUAL_ENV", "");
	old_dir(p, vars, "CONDA_PREFIX", "");
	old_dir(p, vars, "PYENV_ROOT", "/versions");
	if (!var_of(vars, "PYENV_ROOT"))
		old_dir(p, vars, "HOME", "/.pyenv/versions");
	old_dir(p, vars, "HOME", "/.local/lib");
	old_dir(p, vars, "HOME", "/.conda");
	old_dir(p, vars, "HOME", "/miniconda3");
	old_dir(p, vars, "HOME", "/anaconda3");
	policy_add_marker(p, POL_SRC_ALL, "discovered");   /* decides nothing without a discovery hook */
	const char *home = var_of(vars, "HOME");
	if (home && home[0] == '/' && strcmp(home, "/") != 0)
		policy_add(p, POL_PASS, home, NULL, 0, "home folder");
	for (size_t i = 0; i < 8; i++)
		policy_add(p, POL_CACHE, system_trees[i], NULL, 0, "system tree");
}

static const char *const probe_paths[] = {
	"/", "/proc/self/maps", "/proc", "/sys/devices/system/cpu/online", "/dev/null", "/dev/shm/x",
	"/run/user/1000/bus", "/tmp/x.c", "/tmp", "/var/tmp/y", "/var/lib/dpkg/status", "/var/tmpfoo",
	"/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr", "/usr/bin/python3", "/usrx/lib", "/lib/ld-linux.so.2",
	"/lib64/ld-linux-x86-64.so.2", "/lib32/x", "/libx32/y", "/bin/sh", "/sbin/ldconfig",
	"/etc/ld.so.cache", "/etc/ld.so.cache.tmp", "/etc/ld.so.conf", "/etc/passwd",
	"/opt/lib/libz.so", "/opt/libx/y", "/usr/local/lib/libq.so", "/srv/py/pkg/__init__.py",
	"/srv/site/mod.py", "/srv/pyx", "/home/user", "/home/user/.bashrc", "/home/user/.local/lib/python3.11/x.py",
	"/home/user/.local/share/x", "/home/user/.pyenv/versions/3.12.1/bin/python", "/home/user/.conda/pkgs",
	"/home/user/miniconda3/lib", "/home/user/anaconda3", "/home/user2/x", "/opt/app/bin/prog",
	"/opt/app/share/data", "/opt/application", "/l1/a", "/l2", "/p1/m.py", "/rel/x", "/ph/x", "/venv/bin/py",
	"/conda/x", "/pyenv/versions/3.9/lib", "/home/u/.pyenv/versions/x", "/home/u/x", "/home/u/.local/lib/y",
};

static void compare_with_old(const struct var *vars, const char *label)
{
	struct policy now = { 0 }, old = { 0 };
	char msg[1024] = "", b1[4096], b2[4096];
	cr_assert_eq(parse_default(&now, vars, msg, sizeof msg), 0, "%s: %s", label, msg);
	old_default(&old, vars);
	cr_expect_eq(now.n, old.n, "%s: %zu rules, the old default made %zu", label, now.n, old.n);
	for (size_t i = 0; i < sizeof probe_paths / sizeof *probe_paths; i++) {
		struct pol_decision a, b;
		policy_decide(&now, probe_paths[i], &a, b1, sizeof b1);
		policy_decide(&old, probe_paths[i], &b, b2, sizeof b2);
		cr_expect_eq(a.action, b.action, "%s: %s: %s, the old default said %s", label, probe_paths[i],
			     pol_action_name(a.action), pol_action_name(b.action));
	}
	policy_free(&now);
	policy_free(&old);
}

Test(default_policy, decides_as_the_old_built_in_default)
{
	init_long_value();
	compare_with_old(golden_vars, "golden environment");
	compare_with_old(no_vars, "empty environment");
	static const struct var most[] = {   /* all_vars without PYENV_ROOT */
		{ "COLLRUN_EXE_TREE", "/opt/app" }, { "LD_LIBRARY_PATH", "/l1:/l2" }, { "PYTHONPATH", "/p1:rel" },
		{ "PYTHONHOME", "/ph" }, { "VIRTUAL_ENV", "/venv" }, { "CONDA_PREFIX", "/conda" },
		{ "HOME", "/home/u" }, { NULL, NULL },
	};
	compare_with_old(most, "all but PYENV_ROOT");
	static const struct var odd[] = {   /* relative and "/" values add no rule, old and new */
		{ "COLLRUN_EXE_TREE", "" }, { "LD_LIBRARY_PATH", "::/:." }, { "PYTHONPATH", "" },
		{ "PYTHONHOME", "rel" }, { "VIRTUAL_ENV", "/" }, { "HOME", "/home/u/" }, { NULL, NULL },
	};
	compare_with_old(odd, "odd values");
}

/* The one intended change: with PYENV_ROOT set, ~/.pyenv/versions is still cached. */
Test(default_policy, pyenv_root_set_still_caches_home_pyenv)
{
	struct policy p = { 0 };
	char msg[1024] = "", buf[4096];
	struct pol_decision d;
	cr_assert_eq(parse_default(&p, all_vars, msg, sizeof msg), 0, "%s", msg);
	cr_assert_eq(policy_decide(&p, "/home/u/.pyenv/versions/3.11/lib", &d, buf, sizeof buf), POL_CACHE);
	policy_free(&p);
}

/* With the golden environment: the decisions the old built-in default gave, spelled out. */
Test(default_policy, golden_environment_decisions)
{
	init_long_value();
	struct policy p = { 0 };
	char msg[1024] = "", buf[4096];
	cr_assert_eq(parse_default(&p, golden_vars, msg, sizeof msg), 0, "%s", msg);
	static const struct { const char *path; enum pol_action a; } want[] = {
		{ "/proc/1/status", POL_PASS }, { "/sys/kernel", POL_PASS }, { "/dev/null", POL_PASS },
		{ "/run/lock", POL_PASS }, { "/tmp/a", POL_PASS }, { "/var/tmp/b", POL_PASS },
		{ "/opt/lib/libx.so", POL_CACHE }, { "/usr/local/lib/liby.so", POL_CACHE },   /* LD_LIBRARY_PATH */
		{ "/srv/py/m.py", POL_CACHE }, { "/srv/site/n.py", POL_CACHE },                 /* PYTHONPATH */
		{ "/opt/app/bin/prog", POL_CACHE },                                              /* exe tree */
		{ "/home/user/.local/lib/python3.11/site-packages/a.py", POL_CACHE },
		{ "/home/user/.pyenv/versions/3.12/bin/python3", POL_CACHE },
		{ "/home/user/.config/x", POL_PASS }, { "/home/user", POL_PASS },                 /* HOME */
		{ "/usr/lib/python3.11/os.py", POL_CACHE }, { "/lib/x86_64-linux-gnu/libc.so.6", POL_CACHE },
		{ "/lib64/ld-linux-x86-64.so.2", POL_CACHE }, { "/lib32/a", POL_CACHE }, { "/libx32/b", POL_CACHE },
		{ "/bin/sh", POL_CACHE }, { "/sbin/ldconfig", POL_CACHE }, { "/etc/ld.so.cache", POL_CACHE },
		{ "/etc/ld.so.conf", POL_PASS }, { "/var/lib/x", POL_PASS }, { "/src/x", POL_PASS },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
		struct pol_decision d;
		cr_expect_eq(policy_decide(&p, want[i].path, &d, buf, sizeof buf), want[i].a, "%s: got %s (%s)",
			     want[i].path, pol_action_name(d.action), d.rule ? d.rule->origin : "no rule");
		if (want[i].a == POL_PASS && strncmp(want[i].path, "/home/user", 10) == 0)
			cr_expect(d.rule && strcmp(d.rule->pattern, "/home/user") == 0, "%s: passed by the HOME rule", want[i].path);
	}
	policy_free(&p);
}
