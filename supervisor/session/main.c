/* main.c — collrun-session: for now a driver of the session stream (stream.h), started as
 * `mpiexec -n K collrun-session [options] PATH...`; rank 0 is the root. The root publishes
 * what it reads of each PATH (stat answer, link body, listing, bytes, or the errno) and
 * serves the receivers' requests; every receiver checks each entry against what it reads
 * itself. It becomes the session node supervisor later (issue 10). Exit status: 0 all
 * checks passed, 1 a check failed, 2 usage, 3 the session broke (a peer is gone). */
#include "member.h"
#include "stream.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int rank, nranks, failures;
static struct sess_stream *S;
static char **asks;
static int nask;
static const char *mark_dir;
static int lag_rank = -1;
static bool wait_forever;

/* One write per line: the lines of K ranks meet in mpiexec's output. */
static void line(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(const char *tag, const char *fmt, ...)
{
	char buf[8192];
	int n = snprintf(buf, sizeof buf, "rank %d: %s", rank, tag);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	fflush(stdout);
	(void)!write(1, buf, n);
}
#define say(...) line("", __VA_ARGS__)
#define bad(...) do { line("FAIL: ", __VA_ARGS__); failures++; } while (0)

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_seconds(void)   /* this process, all its threads (MPI's and UCX's too) */
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static void mark(const char *what);

/* One turn of the loop a node supervisor will run: sleep in poll() unless MPI has work. */
static void turn(int max_ms)
{
	int t = sess_timeout(S);
	if (max_ms >= 0 && (t < 0 || t > max_ms))
		t = max_ms;
	struct pollfd p = { sess_fd(S), POLLIN, 0 };
	poll(&p, 1, t);
	int rc = sess_progress(S);
	if (rc < 0) {
		if (rc == -EPIPE && sess_is_root(S))
			say("session broken: receiver rank %d is gone; a node supervisor would now read the file system itself", sess_lost_rank(S));
		else if (rc == -EPIPE)
			say("session broken: the root is gone; a node supervisor would now read the file system itself");
		else
			say("session broken: %s", strerror(-rc));
		if (mark_dir)   /* mpiexec may be gone already, and with it our stdout */
			mark("broken");
		sess_free(S);   /* closes our side channels: the others learn it from that */
		if (wait_forever)   /* as a node supervisor would: live on, on the file system */
			for (;;)
				pause();
		exit(3);
	}
}

/* ---------- root: describe a path as entries ---------- */

struct mapping { void *p; size_t n; };
static void unmap(void *ctx) { struct mapping *m = ctx; munmap(m->p, m->n); free(m); }

struct dent { char *name; uint64_t ino; uint8_t type; };
static int dent_cmp(const void *a, const void *b) { return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name); }

/* A directory's names (without . and ..), sorted: the same on every rank to compare. */
static int list_dir(const char *path, struct dent **out, size_t *n)
{
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	size_t cap = 16;
	*n = 0;
	*out = malloc(cap * sizeof **out);
	for (struct dirent *de; (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap)
			*out = realloc(*out, (cap *= 2) * sizeof **out);
		(*out)[(*n)++] = (struct dent){ strdup(de->d_name), de->d_ino, de->d_type };
	}
	closedir(d);
	qsort(*out, *n, sizeof **out, dent_cmp);
	return 0;
}

static void publish(uint16_t type, const char *key, int err, const void *body, uint64_t len,
                    void (*rel)(void *), void *ctx)
{
	int64_t seq = sess_publish(S, type, key, (uint32_t)strlen(key), err, body, len, rel, ctx);
	if (seq < 0) {
		bad("publish %s: %s", key, strerror((int)-seq));
		if (rel)
			rel(ctx);
	}
}

static void describe(const char *path)
{
	struct statx *sx = malloc(sizeof *sx);
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, sx) < 0) {
		publish(SESS_T_NEG, path, errno, NULL, 0, NULL, NULL);
		free(sx);
		return;
	}
	publish(SESS_T_STAT, path, 0, sx, sizeof *sx, free, sx);
	if (S_ISLNK(sx->stx_mode)) {
		char *buf = malloc(PATH_MAX);
		ssize_t n = readlink(path, buf, PATH_MAX);
		if (n < 0)
			publish(SESS_T_NEG, path, errno, NULL, 0, free, buf);
		else
			publish(SESS_T_LINK, path, 0, buf, (uint64_t)n, free, buf);
	} else if (S_ISDIR(sx->stx_mode)) {
		struct dent *d;
		size_t n, len = 0;
		if (list_dir(path, &d, &n) < 0) {
			publish(SESS_T_NEG, path, errno, NULL, 0, NULL, NULL);
			return;
		}
		for (size_t i = 0; i < n; i++)
			len += sess_list_put(NULL, &(struct sess_dirent){ d[i].ino, d[i].type, (uint16_t)strlen(d[i].name), d[i].name });
		uint8_t *body = malloc(len ? len : 1), *p = body;
		for (size_t i = 0; i < n; i++) {
			p += sess_list_put(p, &(struct sess_dirent){ d[i].ino, d[i].type, (uint16_t)strlen(d[i].name), d[i].name });
			free(d[i].name);
		}
		free(d);
		publish(SESS_T_LIST, path, 0, body, len, free, body);
	} else if (S_ISREG(sx->stx_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			publish(SESS_T_NEG, path, errno, NULL, 0, NULL, NULL);
			return;
		}
		struct stat st;
		fstat(fd, &st);
		if (!st.st_size) {
			publish(SESS_T_FILE, path, 0, NULL, 0, NULL, NULL);
		} else {
			/* Mapped, not copied: the stream reads it while broadcasting, then unmaps. */
			void *m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			struct mapping *ctx = malloc(sizeof *ctx);
			*ctx = (struct mapping){ m, (size_t)st.st_size };
			publish(SESS_T_FILE, path, 0, m, (uint64_t)st.st_size, unmap, ctx);
		}
		close(fd);
	}
}

/* ---------- receivers: check an entry against what this rank reads itself ---------- */

static int read_all(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	fstat(fd, &st);
	*buf = malloc(st.st_size ? st.st_size : 1);
	*len = 0;
	for (ssize_t k; *len < (size_t)st.st_size && (k = read(fd, *buf + *len, st.st_size - *len)) > 0;)
		*len += (size_t)k;
	close(fd);
	return 0;
}

static uint64_t n_entries, n_files, n_bytes;

static void check(const struct sess_entry *e)
{
	const char *path = (const char *)e->key;
	struct statx sx;
	int rc = statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0 ? errno : 0;
	n_entries++;
	switch (e->type) {
	case SESS_T_NEG:
		if (rc != e->err)   /* the driver publishes negatives only for failed look-ups */
			bad("%s: negative errno %d, here %d", path, e->err, rc);
		return;
	case SESS_T_STAT: {
		const struct statx *r = (const void *)e->body;
		if (rc || e->body_len != sizeof sx)
			bad("%s: stat entry of %llu bytes, here errno %d", path, (unsigned long long)e->body_len, rc);
		else if (r->stx_mode != sx.stx_mode || r->stx_size != sx.stx_size || r->stx_ino != sx.stx_ino ||
		         r->stx_dev_major != sx.stx_dev_major || r->stx_dev_minor != sx.stx_dev_minor ||
		         r->stx_nlink != sx.stx_nlink || r->stx_uid != sx.stx_uid || r->stx_gid != sx.stx_gid ||
		         r->stx_mtime.tv_sec != sx.stx_mtime.tv_sec || r->stx_mtime.tv_nsec != sx.stx_mtime.tv_nsec)
			bad("%s: stat entry differs from this rank's statx", path);
		return;
	}
	case SESS_T_LINK: {
		char buf[PATH_MAX];
		ssize_t n = readlink(path, buf, sizeof buf);
		if (n < 0 || (uint64_t)n != e->body_len || memcmp(buf, e->body, n))
			bad("%s: link body differs", path);
		return;
	}
	case SESS_T_LIST: {
		struct dent *d;
		size_t n, off = 0, i = 0;
		struct sess_dirent de;
		if (list_dir(path, &d, &n) < 0) {
			bad("%s: listing entry, cannot list here", path);
			return;
		}
		struct dent *got = calloc(n + 1, sizeof *got);
		while ((rc = sess_list_next(e->body, e->body_len, &off, &de)) == 1 && i <= n)
			got[i++] = (struct dent){ strndup(de.name, de.name_len), de.ino, de.type };
		qsort(got, i, sizeof *got, dent_cmp);
		bool same = rc == 0 && i == n;
		for (size_t j = 0; same && j < n; j++)
			same = !strcmp(got[j].name, d[j].name) && got[j].ino == d[j].ino && got[j].type == d[j].type;
		if (!same)
			bad("%s: listing differs (%zu names, here %zu)", path, i, n);
		for (size_t j = 0; j < n; j++)
			free(d[j].name);
		for (size_t j = 0; j < i; j++)
			free(got[j].name);
		free(d);
		free(got);
		return;
	}
	case SESS_T_FILE: {
		uint8_t *buf;
		size_t len;
		if (read_all(path, &buf, &len) < 0) {
			bad("%s: file entry, cannot read here", path);
			return;
		}
		if (len != e->body_len || (len && memcmp(buf, e->body, len)))
			bad("%s: bytes differ (%llu received, %zu here)", path, (unsigned long long)e->body_len, len);
		else
			say("file %s bytes=%zu fnv=%016llx", path, len, (unsigned long long)sess_hash(e->body, e->body_len));
		n_files++;
		n_bytes += len;
		free(buf);
		return;
	}
	}
}

static bool mark_exists(int r)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/done.%d", mark_dir, r);
	return access(p, F_OK) == 0;
}

static void mark(const char *what)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s.%d", mark_dir, what, rank);
	FILE *f = fopen(p, "w");
	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

static int receiver(void)
{
	int *answered = calloc(nask + 1, sizeof *answered);
	bool pushed = false, done_sent = false;
	if (rank == lag_rank) {
		/* Consume nothing until every other receiver has checked everything: the stream
		 * must carry on for them meanwhile (the loop still turns, nothing is read). */
		for (;;) {
			bool all = true;
			for (int r = 1; r < nranks; r++)
				all &= r == lag_rank || mark_exists(r);
			if (all)
				break;
			turn(20);
		}
		say("lag: queued=%zu entries unread while the other receivers finished", sess_queued(S));
	}
	for (;;) {
		/* Read the queue before sleeping: progress may have filled it while we lagged. */
		struct sess_entry *e;
		while (sess_next(S, &e) == 1) {
			if (e->type == SESS_T_NOTE) {
				if (!strcmp((char *)e->key, "@pushed")) {
					pushed = true;
					for (int i = 0; i < nask; i++)
						sess_request(S, asks[i], (uint32_t)strlen(asks[i]));
				}
			} else {
				check(e);
				for (int i = 0; i < nask; i++)
					if (!strcmp((char *)e->key, asks[i]) && (e->type == SESS_T_STAT || e->type == SESS_T_NEG))
						answered[i]++;
			}
			sess_entry_free(e);
		}
		bool all = pushed;
		for (int i = 0; all && i < nask; i++)
			all = answered[i] > 0;
		if (all && !done_sent) {
			if (mark_dir && rank != lag_rank)
				mark("done");
			char k[32];
			snprintf(k, sizeof k, "@done:%d", rank);
			sess_request(S, k, (uint32_t)strlen(k));
			done_sent = true;
		}
		if (sess_drained(S))
			break;
		turn(-1);
	}
	for (int i = 0; i < nask; i++)
		if (answered[i] != 1)
			bad("%s: answered %d times, want once", asks[i], answered[i]);
	struct sess_stats st;
	sess_get_stats(S, &st);
	say("%s entries=%llu files=%llu bytes=%llu asks=%d wakeups=%llu", failures ? "FAILED" : "ok",
	    (unsigned long long)n_entries, (unsigned long long)n_files, (unsigned long long)n_bytes, nask,
	    (unsigned long long)st.wakeups);
	free(answered);
	return failures ? 1 : 0;
}

static int root(char **paths, int npaths, bool hold)
{
	for (int i = 0; i < npaths; i++)
		describe(paths[i]);
	publish(SESS_T_NOTE, "@pushed", 0, NULL, 0, NULL, NULL);
	char **held = calloc(nranks * (nask + 1) + 1, sizeof *held);
	int nheld = 0, dones = 0, ask_pubs = 0;
	bool released = !hold;
	while (!sess_drained(S)) {
		turn(-1);
		struct sess_request rq;
		while (sess_take_request(S, &rq) == 1) {
			if (!strncmp((char *)rq.key, "@done:", 6)) {
				if (++dones == nranks - 1)
					sess_close(S);
			} else if (!released) {
				held[nheld++] = strdup((char *)rq.key);
			} else {
				describe((char *)rq.key);
				ask_pubs++;
			}
		}
		struct sess_stats st;
		sess_get_stats(S, &st);
		if (!released && st.requests >= (uint64_t)(nranks - 1) * nask) {
			/* Every receiver's requests are in before any is answered: they were concurrent. */
			released = true;
			for (int i = 0; i < nheld; i++) {
				describe(held[i]);
				ask_pubs++;
				free(held[i]);
			}
		}
	}
	struct sess_stats st;
	sess_get_stats(S, &st);
	say("%s published=%llu frames=%llu chunks=%llu bytes=%llu ask_requests=%llu coalesced=%llu ask_publications=%d bells=%llu",
	    failures ? "FAILED" : "ok", (unsigned long long)st.published, (unsigned long long)st.frames,
	    (unsigned long long)st.chunks, (unsigned long long)st.bytes,
	    (unsigned long long)(st.requests - dones),   /* less the @done notes */ (unsigned long long)st.coalesced, ask_pubs,
	    (unsigned long long)st.bells);
	free(held);
	return failures ? 1 : 0;
}

/* Idle: nothing is published for secs; every rank reports the CPU it used meanwhile. */
static int idle(double secs)
{
	double w0 = now(), c0 = cpu_seconds();
	if (rank == 0) {
		while (now() - w0 < secs)
			turn((int)((secs - (now() - w0)) * 1000) + 1);
		sess_close(S);
	}
	while (!sess_drained(S)) {
		turn(-1);
		struct sess_entry *e;
		while (sess_next(S, &e) == 1)
			sess_entry_free(e);
	}
	double wall = now() - w0, cpu = cpu_seconds() - c0;
	struct sess_stats st;
	sess_get_stats(S, &st);
	say("idle wall_s=%.3f cpu_s=%.4f cpu_pct=%.3f wakeups=%llu", wall, cpu, 100 * cpu / wall,
	    (unsigned long long)(rank ? st.wakeups : st.bells));
	return 0;
}

/* Bench: broadcast PATH's bytes (already in memory at the root) reps times. */
static int bench(const char *path, int reps)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t h = 0;
	if (rank == 0) {
		if (read_all(path, &buf, &len) < 0) {
			bad("cannot read %s", path);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
		h = sess_hash(buf, len);
	}
	MPI_Bcast(&h, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	MPI_Bcast(&len, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
	for (int i = -1; i < reps; i++) {   /* rep -1 warms up (MPI's buffers, page faults) */
		char key[32];
		snprintf(key, sizeof key, "bench:%d", i);
		MPI_Barrier(MPI_COMM_WORLD);   /* a blocking collective on another communicator: fine */
		double t0 = now();
		if (rank == 0) {
			publish(SESS_T_FILE, key, 0, buf, len, NULL, NULL);
			do
				turn(-1);
			while (sess_timeout(S) == 0);
		} else {
			struct sess_entry *e = NULL;
			while (!e) {
				turn(-1);
				sess_next(S, &e);
			}
			if (i == -1 && (e->body_len != len || sess_hash(e->body, e->body_len) != h))
				bad("bench: bytes differ");
			sess_entry_free(e);
		}
		double dt = now() - t0, mx;
		MPI_Reduce(&dt, &mx, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
		if (rank == 0)
			say("bench stream rep=%d bytes=%zu seconds=%.4f mib_s=%.1f", i, len, mx, len / 1048576.0 / mx);
	}
	if (rank == 0)
		sess_close(S);
	while (!sess_drained(S))
		turn(-1);
	free(buf);
	return failures ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: mpiexec -n K collrun-session [--chunk BYTES] [--window N] [--ask PATH]... [--hold]\n"
	        "                 [--lag-rank R --mark-dir DIR] [--wait] [--idle SECS] [--bench PATH [--reps N]] [PATH...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	/* collrun --start-session runs `collrun-session --serve ID [--virtual]`: a member. */
	if (argc >= 3 && strcmp(argv[1], "--serve") == 0) {
		int prov;
		MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &prov);
		return member_main(argv[2], argc >= 4 && strcmp(argv[3], "--virtual") == 0);
	}
	static const struct option lo[] = {
		{ "chunk", 1, 0, 'c' }, { "window", 1, 0, 'w' }, { "ask", 1, 0, 'a' }, { "hold", 0, 0, 'H' },
		{ "lag-rank", 1, 0, 'l' }, { "mark-dir", 1, 0, 'm' }, { "idle", 1, 0, 'i' },
		{ "bench", 1, 0, 'b' }, { "reps", 1, 0, 'r' }, { "wait", 0, 0, 'W' }, { 0 } };
	struct sess_opts o = { 0 };
	double idle_s = -1;
	const char *bench_path = NULL;
	int reps = 3, c;
	bool hold = false;
	asks = calloc(argc + 1, sizeof *asks);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o.chunk_size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'w': o.window = (unsigned)atoi(optarg); break;
		case 'a': asks[nask++] = optarg; break;
		case 'H': hold = true; break;
		case 'l': lag_rank = atoi(optarg); break;
		case 'm': mark_dir = optarg; break;
		case 'i': idle_s = atof(optarg); break;
		case 'b': bench_path = optarg; break;
		case 'r': reps = atoi(optarg); break;
		case 'W': wait_forever = true; break;
		default: usage();
		}
	}
	if ((lag_rank >= 0 || wait_forever) && !mark_dir)
		usage();
	int prov;
	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &prov);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	int rc = sess_open(&S, MPI_COMM_WORLD, 0, &o);
	if (rc < 0) {
		say("sess_open: %s", strerror(-rc));
		MPI_Finalize();
		return 3;
	}
	if (wait_forever) {          /* for the fault test: wait to be killed */
		mark("pid");
		for (;;)
			turn(-1);
	}
	if (bench_path)
		rc = bench(bench_path, reps);
	else if (idle_s >= 0)
		rc = idle(idle_s);
	else
		rc = rank == 0 ? root(argv + optind, argc - optind, hold) : receiver();
	sess_free(S);
	MPI_Finalize();
	return rc;
}
