/* bench/decide: the cost of one policy_decide() on a large policy. Builds a 200-rule policy:
 * a site's own rules (prefixes, globs, redirects, denies, library/hide file-name rules)
 * followed by the default policy (policy/default.policy, with a typical environment), and
 * decides a few thousand realistic paths (loader, Python imports, compiler headers, /proc,
 * home dotfiles, the site's trees). Most of them fall through to the default rules at the
 * end, as in a real job: the near-worst case of a first-match scan.
 * Prints one line scripts parse:
 *   decide: rules=R default_rules=D paths=P by_default=B calls=C ns_per_call=X default_only_ns=Y
 * (B paths were decided by the default rules at the end; default_only_ns: the same paths
 * against the default policy alone.) Decision counts go to stderr; -v lists each path.
 * Usage: decide [-d DEFAULT.policy] [-p PATHS-FILE] [-r REPS] [-v] */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "policy.h"
#include "timing.h"

static const char *const env_vars[][2] = {
	{ "HOME", "/home/user" },
	{ "LD_LIBRARY_PATH", "/opt/intel/lib:/opt/cuda/lib64" },
	{ "PYTHONPATH", "/home/user/src/proj:src" },
	{ "COLLRUN_EXE_TREE", "/usr" },
	{ "VIRTUAL_ENV", "/home/user/venvs/ml" },
};

static const char *getvar(void *ctx, const char *name)
{
	(void)ctx;
	for (size_t i = 0; i < sizeof env_vars / sizeof *env_vars; i++)
		if (strcmp(env_vars[i][0], name) == 0)
			return env_vars[i][1];
	return NULL;
}

static int load(void *ctx, const char *path, char **text, size_t *len, char **canon)
{
	(void)ctx;
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	char *buf = malloc(1 << 20);
	size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	buf[n] = '\0';
	*text = buf;
	*len = n;
	*canon = strdup(path);
	return 0;
}

/* The site's rules: realistic shapes, the count made up to `want` rules. */
static char *site_rules(int want)
{
	static const char *const projects[] = { "atlas", "borealis", "cobalt", "delta", "ember", "fjord",
						"granite", "harbor", "indigo", "juniper", "kestrel", "lumen" };
	size_t cap = 1 << 16, n = 0;
	char *t = malloc(cap);
	int rules = 0;
#define ADD(...) (n += snprintf(t + n, cap - n, __VA_ARGS__), rules++)
	for (int i = 0; i < 6; i++) {
		ADD("library libmkl_core%d.so.2 /opt/intel/oneapi/mkl/lib/libmkl_core%d.so.2\n", i, i);
		ADD("hide libcuda_stub%d.so\n", i);
	}
	ADD("hide *.pyc.tmp\n");
	ADD("hide libjemalloc.so.?\n");
	for (size_t i = 0; i < sizeof projects / sizeof *projects && rules < want; i++) {
		ADD("pass /srv/projects/%s/output\n", projects[i]);
		ADD("cache /srv/projects/%s\n", projects[i]);
		ADD("redirect /data/legacy/%s /srv/archive/%s\n", projects[i], projects[i]);
		ADD("deny /srv/projects/%s/secrets EACCES\n", projects[i]);
		ADD("cache /srv/projects/%s/**/site-packages\n", projects[i]);
	}
	for (int i = 0; i < 40 && rules < want; i++) {
		ADD("cache /opt/tools/tool%02d-%d.%d\n", i, i % 3, i % 7);
		ADD("pass /scratch/group%02d/*/tmp\n", i);
	}
	for (int i = 0; rules < want; i++) {
		switch (i % 4) {
		case 0: ADD("cache /nix/store/%08x%08x-pkg%d\n", i * 2654435761u, i * 40503u, i); break;
		case 1: ADD("pass /mnt/nfs%d/home/*/.cache\n", i); break;
		case 2: ADD("cache /cvmfs/sw%d.example.org/lib/python3.?/site-packages\n", i); break;
		default: ADD("deny /etc/secret%d.d EPERM\n", i);
		}
	}
#undef ADD
	return t;
}

/* ---- paths ---- */

static char **paths;
static size_t npaths, cappaths;

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (npaths == cappaths && !(paths = realloc(paths, (cappaths = cappaths * 2 + 1024) * sizeof *paths)))
		exit(1);
	paths[npaths++] = strdup(buf);
}

static void make_paths(void)
{
	static const char *const libs[] = { "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "libz.so.1",
					    "libstdc++.so.6", "libgcc_s.so.1", "libssl.so.3", "libcrypto.so.3",
					    "libffi.so.8", "libbz2.so.1.0", "liblzma.so.5", "libexpat.so.1",
					    "libopenblas.so.0", "libgfortran.so.5", "libquadmath.so.0" };
	static const char *const libdirs[] = { "/opt/intel/lib", "/opt/cuda/lib64", "/lib/x86_64-linux-gnu/tls",
					       "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu" };
	for (size_t d = 0; d < 5; d++)   /* the loader's search, as ld.so walks it */
		for (size_t l = 0; l < sizeof libs / sizeof *libs; l++)
			add("%s/%s", libdirs[d], libs[l]);
	add("/etc/ld.so.cache");
	add("/etc/ld.so.preload");
	add("/lib64/ld-linux-x86-64.so.2");
	static const char *const mods[] = { "os", "re", "abc", "io", "stat", "codecs", "encodings", "posixpath",
					    "genericpath", "_collections_abc", "site", "sitecustomize", "types",
					    "functools", "collections", "keyword", "operator", "reprlib", "heapq",
					    "itertools", "enum", "sre_compile", "sre_parse", "sre_constants", "copyreg",
					    "warnings", "weakref", "contextlib", "typing", "numbers", "json", "decimal",
					    "datetime", "pathlib", "fnmatch", "ntpath", "urllib", "string", "random",
					    "math", "bisect", "hashlib", "struct", "threading", "traceback", "linecache",
					    "tokenize", "token", "inspect", "dis", "opcode", "ast", "dataclasses", "copy",
					    "pickle", "shutil", "tempfile", "subprocess", "signal", "selectors", "locale" };
	static const char *const pydirs[] = { "/home/user/src/proj", "/usr/lib/python311.zip", "/usr/lib/python3.11",
					      "/usr/lib/python3.11/lib-dynload", "/home/user/venvs/ml/lib/python3.11/site-packages",
					      "/home/user/.local/lib/python3.11/site-packages",
					      "/usr/local/lib/python3.11/dist-packages", "/usr/lib/python3/dist-packages" };
	for (size_t m = 0; m < sizeof mods / sizeof *mods; m++)
		for (size_t d = 0; d < sizeof pydirs / sizeof *pydirs; d++) {   /* Python's import scan */
			add("%s/%s", pydirs[d], mods[m]);
			add("%s/%s.cpython-311-x86_64-linux-gnu.so", pydirs[d], mods[m]);
			add("%s/%s.py", pydirs[d], mods[m]);
			if (d == 2)
				add("%s/__pycache__/%s.cpython-311.pyc", pydirs[d], mods[m]);
		}
	static const char *const np[] = { "__init__.py", "core/__init__.py", "core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
					  "core/numeric.py", "core/fromnumeric.py", "linalg/__init__.py", "linalg/linalg.py",
					  "fft/_pocketfft.py", "random/_generator.cpython-311-x86_64-linux-gnu.so",
					  "lib/function_base.py", "_globals.py", "version.py", "compat/py3k.py" };
	for (int rep = 0; rep < 4; rep++)
		for (size_t i = 0; i < sizeof np / sizeof *np; i++) {
			add("/home/user/venvs/ml/lib/python3.11/site-packages/numpy/%s", np[i]);
			add("/usr/lib/python3/dist-packages/numpy/%s", np[i]);
		}
	static const char *const hdrs[] = { "stdio.h", "stdlib.h", "string.h", "stddef.h", "stdarg.h", "errno.h",
					    "bits/types.h", "bits/wordsize.h", "sys/cdefs.h", "features.h", "gnu/stubs.h",
					    "bits/libc-header-start.h", "unistd.h", "fcntl.h", "sys/stat.h", "time.h" };
	static const char *const incdirs[] = { "/usr/lib/gcc/x86_64-linux-gnu/12/include", "/usr/local/include",
					       "/usr/include/x86_64-linux-gnu", "/usr/include", "/home/user/src/proj/include" };
	for (size_t h = 0; h < sizeof hdrs / sizeof *hdrs; h++)   /* the compiler's include scan */
		for (size_t d = 0; d < sizeof incdirs / sizeof *incdirs; d++)
			add("%s/%s", incdirs[d], hdrs[h]);
	for (int i = 0; i < 60; i++) {
		add("/proc/self/fd/%d", i % 10);
		add("/proc/%d/stat", 1000 + i);
		add("/sys/devices/system/cpu/cpu%d/topology/core_id", i % 8);
		add("/dev/%s", i % 2 ? "null" : "urandom");
		add("/tmp/tmp%05x/build/obj%d.o", i * 7919, i);
		add("/home/user/.cache/pip/http/%x/%x", i * 31, i * 17);
		add("/home/user/.config/app%d/settings.json", i % 5);
		add("/etc/%s", (const char *[]){ "passwd", "group", "localtime", "hosts", "nsswitch.conf", "resolv.conf" }[i % 6]);
		add("/run/user/1000/bus%d", i % 3);
		add("/var/tmp/cache%d", i);
	}
	static const char *const projects[] = { "atlas", "cobalt", "ember", "juniper", "lumen" };
	for (int i = 0; i < 40; i++) {   /* the site's own trees */
		const char *p = projects[i % 5];
		add("/srv/projects/%s/src/module%d.py", p, i);
		add("/srv/projects/%s/output/run%d/log.txt", p, i);
		add("/srv/projects/%s/env/lib/python3.11/site-packages/pkg%d/__init__.py", p, i);
		add("/data/legacy/%s/input%d.csv", p, i);
		add("/opt/tools/tool%02d-%d.%d/bin/run", i, i % 3, i % 7);
		add("/scratch/group%02d/user/tmp/f%d", i % 40, i);
		add("/opt/intel/oneapi/mkl/lib/libmkl_core%d.so.2", i % 6);
		add("/opt/cuda/lib64/libcuda_stub%d.so", i % 6);
		add("/home/user/src/proj/data/sample%d.npy", i);
	}
	for (int i = 0; i < 200; i++)   /* bin lookups along PATH */
		add("%s/%s", (const char *[]){ "/home/user/.local/bin", "/usr/local/bin", "/usr/bin", "/bin" }[i % 4],
		    (const char *[]){ "python3", "gcc", "cc1", "as", "ld", "git", "sh", "make" }[i / 4 % 8]);
}

static void read_paths(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		exit(1);
	}
	char line[4096];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '/')
			add("%s", line);
	}
	fclose(f);
}

static volatile unsigned sink;

/* Median over reps of ns per call; each rep is whole passes over the paths, >= ~0.2 s. */
static double time_policy(const struct policy *p, int reps, long *calls)
{
	char buf[4096];
	struct pol_decision d;
	long passes = 1;
	for (;;) {   /* calibrate */
		double t0 = now_ns();
		for (long k = 0; k < passes; k++)
			for (size_t i = 0; i < npaths; i++)
				sink += policy_decide(p, paths[i], &d, buf, sizeof buf);
		if (now_ns() - t0 > 2e8)
			break;
		passes *= 2;
	}
	double r[64];
	if (reps > 64)
		reps = 64;
	for (int k = 0; k < reps; k++) {
		double t0 = now_ns();
		for (long q = 0; q < passes; q++)
			for (size_t i = 0; i < npaths; i++)
				sink += policy_decide(p, paths[i], &d, buf, sizeof buf);
		r[k] = (now_ns() - t0) / (passes * (double)npaths);
	}
	*calls = passes * (long)npaths * reps;
	return median(r, reps);
}

static void parse_or_die(struct policy *p, const char *text, const char *name, const struct pol_env *env)
{
	char msg[1024];
	if (policy_parse(p, text, strlen(text), name, env, msg, sizeof msg) < 0) {
		fprintf(stderr, "decide: %s\n", msg);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *default_file = "policy/default.policy", *paths_file = NULL;
	int reps = 7, verbose = 0;
	for (int c; (c = getopt(argc, argv, "d:p:r:v")) != -1;) {
		switch (c) {
		case 'd': default_file = optarg; break;
		case 'p': paths_file = optarg; break;
		case 'r': reps = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: %s [-d DEFAULT.policy] [-p PATHS-FILE] [-r REPS] [-v]\n", argv[0]);
			return 2;
		}
	}
	struct pol_env env = { getvar, load, NULL };
	struct policy dflt = { 0 }, big = { 0 };
	char msg[1024];
	if (policy_load(&dflt, default_file, &env, msg, sizeof msg) < 0) {
		fprintf(stderr, "decide: %s\n", msg);
		return 1;
	}
	char *site = site_rules(200 - (int)dflt.n);
	parse_or_die(&big, site, "site.policy", &env);
	free(site);
	if (policy_load(&big, default_file, &env, msg, sizeof msg) < 0) {
		fprintf(stderr, "decide: %s\n", msg);
		return 1;
	}
	if (paths_file)
		read_paths(paths_file);
	else
		make_paths();

	long counts[POL_HIDE + 1] = { 0 }, by_default = 0;
	char buf[4096];
	for (size_t i = 0; i < npaths; i++) {
		struct pol_decision d;
		policy_decide(&big, paths[i], &d, buf, sizeof buf);
		counts[d.action]++;
		by_default += d.rule && d.rule - big.rules >= (long)(big.n - dflt.n);
		if (verbose)
			printf("%s -> %s %s\n", paths[i], pol_action_name(d.action), d.rule ? d.rule->origin : "-");
	}
	long calls, calls0;
	double ns = time_policy(&big, reps, &calls);
	double ns0 = time_policy(&dflt, reps, &calls0);
	fprintf(stderr, "decide: decisions: cache %ld, pass %ld, deny %ld, redirect %ld, library %ld, hide %ld; "
		"%ld of %zu decided by the default rules at the end\n", counts[POL_CACHE], counts[POL_PASS],
		counts[POL_DENY], counts[POL_REDIRECT], counts[POL_LIBRARY], counts[POL_HIDE], by_default, npaths);
	printf("decide: rules=%zu default_rules=%zu paths=%zu by_default=%ld calls=%ld ns_per_call=%.1f default_only_ns=%.1f\n",
	       big.n, dflt.n, npaths, by_default, calls, ns, ns0);
	policy_free(&big);
	policy_free(&dflt);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	return 0;
}
