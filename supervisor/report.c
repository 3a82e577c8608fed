/* collrun report FILE... [--plot OUT.png]: where a job's look-ups and their time went, read
 * from --audit files in jsonl (one per rank, or one merged). Prints top paths and folders
 * by count and by time, ENOENT storms (one missing path asked again and again, and the
 * loader's pattern: one file name missing in many folders), look-up time per process, and
 * the cache rules (collrun-policy(5)) that would serve what was passed. */
#include "report.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum { RPT_OK = 0, RPT_INPUT = 1, RPT_USAGE = 2, RPT_PLOT = 125 };
#define TOP 10
#define STORM_MIN 3   /* look-ups of one missing path, or folders missing one name */

static const char usage[] =
	"Usage: collrun report [--top N] [--plot OUT.png] AUDIT.jsonl...\n"
	"Summarise audit files written by collrun --audit=FILE --audit-format=jsonl (one per\n"
	"rank, or one merged file): top paths and folders by count and time, ENOENT storms,\n"
	"look-up time per process, and cache rules that would serve the passed look-ups.\n"
	"  --top N          show N entries per table (default 10)\n"
	"  --plot OUT.png   also draw look-ups over time with gnuplot\n"
	"Exit status: 0 done; 1 an audit file cannot be read or is not jsonl; 2 usage error;\n"
	"125 --plot failed (gnuplot missing or failing). See collrun(1).\n";

static const char *const *g_names;   /* audit file names, for labels */
static int g_nfiles;

static const char *const lookups[] = { "open", "openat", "openat2", "stat", "lstat", "newfstatat", "statx",
				       "access", "faccessat", "faccessat2", "readlink", "readlinkat", NULL };

static bool is_lookup(const struct rec *r)
{
	for (const char *const *l = lookups; *l; l++)
		if (!strcmp(*l, r->syscall))
			return true;
	return false;
}

static bool is_enoent(const struct rec *r) { return r->known && r->result < 0 && !strcmp(r->err, "ENOENT"); }

static const char *label(const struct rec *r, char *buf, size_t size)
{
	if (g_nfiles > 1)
		snprintf(buf, size, "%s:%d", g_names[r->file], r->pid);
	else
		snprintf(buf, size, "pid %d", r->pid);
	return buf;
}

static int by_ts(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->file != y->file ? x->file - y->file : x->pid - y->pid;
}

/* ---- groups: records keyed by a string, counted and timed ---- */
struct item {
	char *key;             /* owned */
	const struct rec *r;
};
struct group {
	const char *key;
	size_t n, enoent, procs;
	uint64_t lat;
	const char *extra;     /* storms: folders; rules: nothing */
};

static int by_key(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c)
		return c;
	/* then by process: counting distinct processes of a key is then one pass */
	return x->r->file != y->r->file ? x->r->file - y->r->file : x->r->pid - y->r->pid;
}

/* Group items (sorted here) by key; groups point into items. */
static size_t group(struct item *it, size_t n, struct group *g)
{
	qsort(it, n, sizeof *it, by_key);
	size_t ng = 0;
	for (size_t i = 0; i < n; i++) {
		if (!ng || strcmp(g[ng - 1].key, it[i].key))
			g[ng++] = (struct group){ .key = it[i].key };
		struct group *x = &g[ng - 1];
		if (!x->n || it[i].r->pid != it[i - 1].r->pid || it[i].r->file != it[i - 1].r->file)
			x->procs++;
		x->n++;
		x->lat += it[i].r->lat;
		x->enoent += is_enoent(it[i].r);
	}
	return ng;
}

static int by_count(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return x->n != y->n ? (x->n < y->n ? 1 : -1) : strcmp(x->key, y->key);
}

static int by_time(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	return x->lat != y->lat ? (x->lat < y->lat ? 1 : -1) : strcmp(x->key, y->key);
}

static void free_items(struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(it[i].key);
	free(it);
}

static void table(const char *title, struct group *g, size_t ng, int (*cmp)(const void *, const void *), int top)
{
	qsort(g, ng, sizeof *g, cmp);
	printf("\n%s\n", title);
	printf("  %8s %12s %7s  %s\n", "calls", "time_us", "ENOENT", "path");
	for (size_t i = 0; i < ng && (int)i < top; i++)
		printf("  %8zu %12llu %7zu  %s\n", g[i].n, (unsigned long long)g[i].lat, g[i].enoent, g[i].key);
}

static char *dir_of(const char *p)
{
	const char *s = strrchr(p, '/');
	return s == p ? strdup("/") : strndup(p, s ? (size_t)(s - p) : 0);
}

/* Top paths and folders, by count and by time. */
static void tops(const struct recs *rs, int top)
{
	struct item *it = calloc(rs->n + 1, sizeof *it), *dt = calloc(rs->n + 1, sizeof *dt);
	struct group *g = calloc(rs->n + 1, sizeof *g);
	size_t n = 0;
	for (size_t i = 0; it && dt && g && i < rs->n; i++) {
		if (!rs->r[i].path)
			continue;
		it[n] = (struct item){ strdup(rs->r[i].path), &rs->r[i] };
		dt[n] = (struct item){ dir_of(rs->r[i].path), &rs->r[i] };
		n++;
	}
	if (it && dt && g) {
		size_t ng = group(it, n, g);
		table("Top paths by look-ups:", g, ng, by_count, top);
		table("Top paths by time (latency, µs):", g, ng, by_time, top);
		ng = group(dt, n, g);
		table("Top folders by look-ups:", g, ng, by_count, top);
		table("Top folders by time (latency, µs):", g, ng, by_time, top);
	}
	free_items(it, n);
	free_items(dt, n);
	free(g);
}

/* ENOENT storms: a missing path looked up again and again (or by several processes), and
 * one file name missing in many folders (a loader or an interpreter probing its search
 * path), with the folder where it was finally found, if it was. */
static void storms(const struct recs *rs, int top)
{
	struct item *it = calloc(rs->n + 1, sizeof *it);
	struct group *g = calloc(rs->n + 1, sizeof *g);
	size_t n = 0, shown = 0;
	for (size_t i = 0; it && g && i < rs->n; i++)
		if (rs->r[i].path && is_enoent(&rs->r[i]))
			it[n++] = (struct item){ strdup(rs->r[i].path), &rs->r[i] };
	printf("\nENOENT storms:\n");
	if (!it || !g)
		goto out;
	size_t ng = group(it, n, g);
	qsort(g, ng, sizeof *g, by_count);
	for (size_t i = 0; i < ng && (int)shown < top; i++)
		if (g[i].n >= STORM_MIN || g[i].procs >= 2) {
			printf("  missing path: %s looked up %zu times by %zu process%s (%llu µs)\n", g[i].key, g[i].n,
			       g[i].procs, g[i].procs == 1 ? "" : "es", (unsigned long long)g[i].lat);
			shown++;
		}
	/* The loader's pattern: by file name, the distinct folders it was missing in. */
	for (size_t i = 0; i < n; i++) {
		const char *p = it[i].r->path, *base = strrchr(p, '/') ? strrchr(p, '/') + 1 : p;
		char *key = malloc(strlen(p) + 2);
		if (!key)
			goto out;
		/* "name\x01dir": sorts by name, then folder */
		sprintf(key, "%s\x01%.*s", base, (int)(base - p > 1 ? base - p - 1 : base - p), p);
		free(it[i].key);
		it[i].key = key;
	}
	qsort(it, n, sizeof *it, by_key);
	for (size_t i = 0; i < n;) {
		const char *sep = strchr(it[i].key, '\x01');
		size_t blen = (size_t)(sep - it[i].key), j = i, dirs = 0, calls = 0;
		uint64_t lat = 0;
		for (; j < n && !strncmp(it[j].key, it[i].key, blen + 1); j++) {
			if (j == i || strcmp(it[j].key, it[j - 1].key))
				dirs++;
			calls++;
			lat += it[j].r->lat;
		}
		if (dirs >= STORM_MIN) {
			printf("  loader storm: %.*s missing in %zu folders (%zu look-ups, %llu µs):\n", (int)blen,
			       it[i].key, dirs, calls, (unsigned long long)lat);
			for (size_t k = i; k < j; k++)
				if (k == i || strcmp(it[k].key, it[k - 1].key))
					printf("      %s\n", strchr(it[k].key, '\x01') + 1);
			/* where it was found, if it was */
			for (size_t r = 0; r < rs->n; r++) {
				const char *p = rs->r[r].path, *b = p && strrchr(p, '/') ? strrchr(p, '/') + 1 : NULL;
				if (b && rs->r[r].known && rs->r[r].result >= 0 && strlen(b) == blen &&
				    !strncmp(b, it[i].key, blen)) {
					printf("    found at %s\n", p);
					break;
				}
			}
			shown++;
		}
		i = j;
	}
	if (!shown)
		printf("  none (no missing path looked up %d times or by several processes, no name missing "
		       "in %d folders)\n", STORM_MIN, STORM_MIN);
out:
	free_items(it, n);
	free(g);
}

/* Look-up time per process (per rank file and pid). */
static void per_process(const struct recs *rs, int top)
{
	struct item *it = calloc(rs->n + 1, sizeof *it);
	struct group *g = calloc(rs->n + 1, sizeof *g);
	size_t n = 0;
	char buf[4200];
	for (size_t i = 0; it && g && i < rs->n; i++)
		it[n++] = (struct item){ strdup(label(&rs->r[i], buf, sizeof buf)), &rs->r[i] };
	if (it && g) {
		size_t ng = group(it, n, g);
		qsort(g, ng, sizeof *g, by_time);
		printf("\nLook-up time per process:\n  %8s %12s %7s  %s\n", "calls", "time_us", "ENOENT", "process");
		for (size_t i = 0; i < ng && (int)i < top; i++)
			printf("  %8zu %12llu %7zu  %s\n", g[i].n, (unsigned long long)g[i].lat, g[i].enoent, g[i].key);
		if (ng > (size_t)top)
			printf("  ... and %zu more\n", ng - (size_t)top);
	}
	free_items(it, n);
	free(g);
}

/* Never suggested: what the default policy passes on purpose (collrun(1), WHAT IS CACHED). */
static bool volatile_path(const char *p)
{
	static const char *const pass[] = { "/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", NULL };
	for (const char *const *v = pass; *v; v++) {
		size_t l = strlen(*v);
		if (!strncmp(p, *v, l) && (p[l] == '/' || !p[l]))
			return true;
	}
	const char *home = getenv("HOME");
	size_t l = home ? strlen(home) : 0;
	if (l > 1 && !strncmp(p, home, l) && p[l] == '/' && p[l + 1] == '.')
		return true;   /* dotfiles and dot-folders of $HOME: configs and caches */
	return false;
}

static bool under(const char *p, const char *dir)
{
	size_t l = strlen(dir);
	return !strcmp(dir, "/") || (!strncmp(p, dir, l) && (p[l] == '/' || !p[l]));
}

/* Cache rules for what was passed: the folders of passed read-only look-ups, the deeper
 * ones folded into a listed ancestor, siblings into their parent. */
static void rules(const struct recs *rs, int top)
{
	struct item *it = calloc(rs->n + 1, sizeof *it);
	struct group *g = calloc(rs->n + 1, sizeof *g);
	size_t n = 0;
	printf("\nCache rules for passed look-ups (collrun-policy(5); check each is never written "
	       "during the job):\n");
	for (size_t i = 0; it && g && i < rs->n; i++) {
		const struct rec *r = &rs->r[i];
		if (r->path && r->path[0] == '/' && !strcmp(r->disp, "passed") && is_lookup(r) && !r->writes &&
		    !volatile_path(r->path))
			it[n++] = (struct item){ dir_of(r->path), r };
	}
	size_t ng = it && g ? group(it, n, g) : 0;
	/* Fold siblings into their parent (one level, and never into "/" or a top folder), then
	 * anything under a listed folder into it. Items are sorted by key, groups in the same
	 * order: the first pass decides per group, the second renames the group's items. */
	char **nk = calloc(ng + 1, sizeof *nk);
	for (size_t i = 0; nk && i < ng; i++) {
		char *parent = dir_of(g[i].key);
		size_t sib = 0;
		for (size_t k = 0; k < ng; k++) {
			char *pk = dir_of(g[k].key);
			sib += !strcmp(pk, parent);
			free(pk);
		}
		if (sib >= 2 && strcmp(parent, "/") && strchr(parent + 1, '/'))
			nk[i] = parent;
		else
			free(parent);
	}
	char *prev = NULL;   /* the previous item's key before renaming */
	for (size_t k = 0, gi = 0; nk && k < n; k++) {
		if (prev && strcmp(it[k].key, prev))
			gi++;
		free(prev);
		prev = strdup(it[k].key);
		if (nk[gi]) {
			free(it[k].key);
			it[k].key = strdup(nk[gi]);
		}
	}
	free(prev);
	for (size_t i = 0; nk && i < ng; i++)
		free(nk[i]);
	free(nk);
	ng = it && g ? group(it, n, g) : 0;
	size_t shown = 0;
	for (size_t i = 0; i < ng && (int)shown < top; i++) {
		bool covered = false;
		for (size_t k = 0; k < i && !covered; k++)
			covered = g[k].n && under(g[i].key, g[k].key);
		if (covered) {
			g[i].n = 0;
			continue;
		}
		size_t calls = 0;
		for (size_t k = i; k < ng; k++)
			if (under(g[k].key, g[i].key))
				calls += g[k].n;
		bool quote = strpbrk(g[i].key, " \t#\"\\") != NULL;
		printf("  cache %s%s%s   # %zu passed look-up%s\n", quote ? "\"" : "", g[i].key, quote ? "\"" : "",
		       calls, calls == 1 ? "" : "s");
		shown++;
	}
	if (!shown)
		printf("  none: no read-only look-up outside the volatile folders was passed\n");
	free_items(it, n);
	free(g);
}

/* gnuplot on PATH? */
static bool have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];
	for (const char *p = path ? path : "/usr/bin:/bin"; p; p = strchr(p, ':') ? strchr(p, ':') + 1 : NULL) {
		size_t l = strcspn(p, ":");
		snprintf(buf, sizeof buf, "%.*s/gnuplot", (int)l, p);
		if (access(buf, X_OK) == 0)
			return true;
	}
	return false;
}

/* Cumulative look-ups over time, one line per audit file (or per process for one file),
 * and the ENOENTs among them. */
static int plot(const struct recs *rs, const char *out)
{
	if (!have_gnuplot()) {
		fprintf(stderr, "collrun report: --plot needs gnuplot, which is not on PATH (Debian: apt install "
			"gnuplot-nox)\n");
		return RPT_PLOT;
	}
	int pfd[2];
	if (pipe(pfd) < 0)
		return perror("collrun report: pipe"), RPT_PLOT;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[0], 0);
		close(pfd[0]);
		close(pfd[1]);
		execlp("gnuplot", "gnuplot", (char *)NULL);
		_exit(127);
	}
	close(pfd[0]);
	FILE *g = pid > 0 ? fdopen(pfd[1], "w") : NULL;
	if (!g) {
		close(pfd[1]);
		return perror("collrun report: gnuplot"), RPT_PLOT;
	}
	double t0 = rs->n ? rs->r[0].ts : 0;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].ts < t0)
			t0 = rs->r[i].ts;
	int series = g_nfiles > 1 ? g_nfiles : 1;
	/* One data block per series, in time order (records of one file are in order). */
	for (int s = 0; s < series; s++) {
		fprintf(g, "$s%d << EOD\n0 0\n", s);
		size_t k = 0;
		for (size_t i = 0; i < rs->n; i++)
			if (series == 1 || rs->r[i].file == s)
				fprintf(g, "%.6f %zu\n", rs->r[i].ts - t0, ++k);
		fprintf(g, "EOD\n");
	}
	fprintf(g, "$enoent << EOD\n0 0\n");
	size_t k = 0;
	for (size_t i = 0; i < rs->n; i++)
		if (is_enoent(&rs->r[i]))
			fprintf(g, "%.6f %zu\n", rs->r[i].ts - t0, ++k);
	fprintf(g, "EOD\n");
	fprintf(g, "set terminal png size 1000,600\nset output '");
	for (const char *p = out; *p; p++)
		fputs(*p == '\'' ? "''" : (char[]){ *p, 0 }, g);   /* gnuplot's quote in '...' */
	fprintf(g, "'\nset title 'collrun: trapped look-ups over time'\nset xlabel 'seconds since the first call'\n"
		   "set ylabel 'calls (cumulative)'\nset key left top\nplot ");
	for (int s = 0; s < series; s++) {
		fprintf(g, "$s%d with steps title '", s);
		const char *name = series > 1 ? g_names[s] : "all calls";
		for (const char *p = name; *p; p++)
			fputs(*p == '\'' ? "''" : (char[]){ *p, 0 }, g);
		fprintf(g, "', ");
	}
	fprintf(g, "$enoent with steps title 'ENOENT'\n");
	fclose(g);
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "collrun report: gnuplot failed drawing %s\n", out);
		return RPT_PLOT;
	}
	struct stat sb;
	if (stat(out, &sb) < 0 || sb.st_size == 0) {
		fprintf(stderr, "collrun report: gnuplot wrote no %s\n", out);
		return RPT_PLOT;
	}
	printf("\nPlot: %s\n", out);
	return RPT_OK;
}

int report_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "plot", required_argument, NULL, 'P' }, { "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *plot_out = NULL;
	int top = TOP, c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P': plot_out = optarg; break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1000000) {
				fprintf(stderr, "collrun report: --top %s: expected a number from 1\n", optarg);
				return RPT_USAGE;
			}
			top = (int)v;
			break;
		}
		case 'h': fputs(usage, stdout); return RPT_OK;
		case ':':
			fprintf(stderr, "collrun report: option '%s' needs an argument (see collrun report --help)\n",
				argv[optind - 1]);
			return RPT_USAGE;
		default:
			fprintf(stderr, "collrun report: unknown option '%s' (see collrun report --help)\n",
				argv[optind - 1]);
			return RPT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "collrun report: no audit file (usage: collrun report [--plot OUT.png] AUDIT.jsonl...)\n");
		return RPT_USAGE;
	}
	struct recs rs = { 0 };
	g_names = (const char *const *)argv + optind;
	g_nfiles = argc - optind;
	for (int i = 0; i < g_nfiles; i++) {
		char msg[4200] = "";
		int err = report_read(g_names[i], i, &rs, msg, sizeof msg);
		if (err) {
			if (msg[0])
				fprintf(stderr, "collrun report: %s\n", msg);
			else
				fprintf(stderr, "collrun report: %s: %s\n", g_names[i], strerror(-err));
			report_free(&rs);
			return RPT_INPUT;
		}
	}
	/* Lines are written as calls are answered: put them in the order they were made. */
	qsort(rs.r, rs.n, sizeof *rs.r, by_ts);
	size_t known = 0, enoent = 0;
	uint64_t lat = 0;
	double t0 = 0, t1 = 0;
	for (size_t i = 0; i < rs.n; i++) {
		known += rs.r[i].known;
		enoent += is_enoent(&rs.r[i]);
		lat += rs.r[i].lat;
		if (!i || rs.r[i].ts < t0)
			t0 = rs.r[i].ts;
		if (!i || rs.r[i].ts > t1)
			t1 = rs.r[i].ts;
	}
	printf("collrun report: %zu calls in %d file%s", rs.n, g_nfiles, g_nfiles == 1 ? "" : "s");
	for (int i = 0; i < g_nfiles; i++)
		printf("%s%s", i ? ", " : " (", g_names[i]);
	printf(")\n  over %.3f s; %llu µs answering; %zu results known (%zu ENOENT), %zu passed with the result "
	       "unknown (?)\n", rs.n ? t1 - t0 : 0.0, (unsigned long long)lat, known, enoent, rs.n - known);
	tops(&rs, top);
	storms(&rs, top);
	per_process(&rs, top);
	rules(&rs, top);
	int rc = plot_out ? plot(&rs, plot_out) : RPT_OK;
	report_free(&rs);
	fflush(stdout);
	return rc;
}
