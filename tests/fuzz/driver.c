/* A standalone driver for LLVMFuzzerTestOneInput (tests/fuzz/policy_fuzz.c), for machines
 * without libFuzzer and for `make check`.
 *   driver [-T TIMEOUT] CORPUS...       run every file once (folders: every file in them),
 *                                       check for leaks after each; prints
 *                                       "PASS: fuzz/policy-corpus (N inputs)" or FAIL lines
 *   driver -t SECONDS [-s SEED] [-o DIR] [-m MAXLEN] CORPUS...
 *                                       the same, then random and mutated inputs for
 *                                       SECONDS; a failing input is saved in DIR (default .)
 * Every input has TIMEOUT seconds (default 10): a hang is a failure like a crash. Built
 * with -fsanitize=address,undefined a sanitizer report is a failure (exit non-zero). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sanitizer hooks, present only in sanitized builds. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
/* gcc links UBSan's runtime apart from ASan's, so ASan's death callback misses its
 * reports: make UBSan abort instead, which the SIGABRT handler reports. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "abort_on_error=1:print_stacktrace=1"; }

struct input { char *name; uint8_t *data; size_t size; };

static struct input *corpus;
static size_t ncorpus;

/* What runs now, for the failure report (read by signal handlers). */
static const char *volatile cur_name = "";
static const uint8_t *volatile cur_data;
static volatile size_t cur_size;
static char save_path[4096];   /* where a failing random input goes ("" in corpus mode) */
static int timeout_s = 10;

static void say(const char *s) { (void)!write(1, s, strlen(s)); }

/* Async-signal-safe: report which input failed (on stdout, where the PASS line goes) and
 * keep it. */
static void report_failure(const char *why)
{
	if (save_path[0]) {
		int fd = open(save_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, cur_data, cur_size) != (ssize_t)cur_size)
			save_path[0] = '\0';
		if (fd >= 0)
			close(fd);
	}
	say(save_path[0] ? "FAIL: fuzz/policy-random: " : "FAIL: fuzz/policy-corpus: ");
	say(cur_name);
	say(": ");
	say(why);
	if (save_path[0]) {
		say(" (input saved as ");
		say(save_path);
		say(")");
	}
	say("\n");
}

static void on_death(void) { report_failure("sanitizer error (report above)"); }

static void on_signal(int sig)
{
	report_failure(sig == SIGALRM ? "timed out (hang?)" : "crashed with a signal");
	signal(sig, SIG_DFL);
	if (sig == SIGALRM)
		_exit(1);
	raise(sig);
}

static void run(const char *name, const uint8_t *data, size_t size)
{
	cur_name = name;
	cur_data = data;
	cur_size = size;
	alarm(timeout_s);
	LLVMFuzzerTestOneInput(data, size);
	alarm(0);
}

static int leaked(void) { return __lsan_do_recoverable_leak_check ? __lsan_do_recoverable_leak_check() : 0; }

static void add_input(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	struct input in = { strdup(path), NULL, 0 };
	size_t cap = 0;
	for (;;) {
		if (in.size == cap && !(in.data = realloc(in.data, cap = cap * 2 + 4096)))
			exit(2);
		size_t r = fread(in.data + in.size, 1, cap - in.size, f);
		if (r == 0)
			break;
		in.size += r;
	}
	fclose(f);
	corpus = realloc(corpus, (ncorpus + 1) * sizeof *corpus);
	if (!corpus)
		exit(2);
	corpus[ncorpus++] = in;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct input *)a)->name, ((const struct input *)b)->name);
}

static void add_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_input(path);
		return;
	}
	DIR *d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char full[8192];
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
			add_input(full);
	}
	closedir(d);
}

/* ---- random inputs ---- */

static uint64_t rng;
static uint64_t rnd(void)   /* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}
static size_t below(size_t n) { return n ? rnd() % n : 0; }

static const char *const tokens[] = {
	"cache ", "pass ", "deny ", "redirect ", "library ", "hide ", "include ", "\n", "\r\n", " ", "\t",
	"#", "\"", "\\\"", "\\\\", "${", "}", ":-", "${HOME}", "${HOME:-}", "${UNSET:-}", "${UNSET}",
	"${LD_LIBRARY_PATH}", "${PYTHONPATH:-/p}", "${EMPTY:-}", "${LONG}", "${GLOB}", "${COLON}",
	"${QUOTE}", "${ERR}", "${NAME}", "/", "//", "/usr", "/usr/lib", "*", "**", "/**/", "?", "[a-z]",
	"[!x]", "[", "]", ":", ".", "..", "./", "../", "EACCES", "ENOENT", "EPERM", "EWOULDBLOCK", "EFOO",
	"libfoo.so.1", "input.policy", "fuzz/input.policy", "eacces.policy", "x.policy", "\0", "\x7f",
	"\xff", "\xc3\xa9",
};
#define NTOKENS (sizeof tokens / sizeof *tokens)

struct buf { uint8_t *d; size_t n, cap; };

static void put(struct buf *b, const void *s, size_t n)
{
	if (n == 0)
		return;
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		if (!(b->d = realloc(b->d, b->cap)))
			exit(2);
	}
	memcpy(b->d + b->n, s, n);
	b->n += n;
}

static void put_token(struct buf *b)
{
	size_t t = below(NTOKENS);
	put(b, tokens[t], tokens[t][0] ? strlen(tokens[t]) : 1);
}

/* A policy-shaped input: lines of directive words and tokens. */
static void generate(struct buf *b)
{
	int lines = 1 + below(12);
	for (int l = 0; l < lines; l++) {
		const char *dir = tokens[below(7)];
		put(b, dir, strlen(dir));
		int words = below(6);
		for (int w = 0; w < words; w++)
			put_token(b);
		put(b, "\n", 1);
	}
}

static void mutate(struct buf *b, size_t maxlen)
{
	int n = 1 + below(8);
	for (int k = 0; k < n; k++) {
		size_t at = below(b->n + 1);
		switch (below(9)) {
		case 0:   /* flip a bit */
			if (b->n)
				b->d[below(b->n)] ^= 1u << below(8);
			break;
		case 1: {   /* an interesting byte */
			static const char bytes[] = "\0\n\r\t \"\\${}:-/*?[]#\x7f\xff";
			if (b->n)
				b->d[below(b->n)] = bytes[below(sizeof bytes - 1)];
			break;
		}
		case 2:
		case 3: {   /* insert a token */
			struct buf t = { 0 };
			put_token(&t);
			struct buf o = { 0 };
			put(&o, b->d, at);
			put(&o, t.d, t.n);
			put(&o, b->d + at, b->n - at);
			free(t.d);
			free(b->d);
			*b = o;
			break;
		}
		case 4:   /* delete a range */
			if (b->n) {
				size_t len = 1 + below(b->n - at < 64 ? b->n - at : 64);
				if (at + len > b->n)
					len = b->n - at;
				memmove(b->d + at, b->d + at + len, b->n - at - len);
				b->n -= len;
			}
			break;
		case 5: {   /* duplicate a range */
			if (!b->n)
				break;
			size_t from = below(b->n), len = 1 + below(b->n - from);
			uint8_t *copy = malloc(len);
			memcpy(copy, b->d + from, len);
			struct buf o = { 0 };
			put(&o, b->d, at);
			put(&o, copy, len);
			put(&o, b->d + at, b->n - at);
			free(copy);
			free(b->d);
			*b = o;
			break;
		}
		case 6: {   /* a long run of one byte: line and word limits */
			static const char run_of[] = "a/ *${";
			size_t len = 1000 + below(5000);
			uint8_t *r = malloc(len);
			memset(r, run_of[below(sizeof run_of - 1)], len);
			struct buf o = { 0 };
			put(&o, b->d, at);
			put(&o, r, len);
			put(&o, b->d + at, b->n - at);
			free(r);
			free(b->d);
			*b = o;
			break;
		}
		case 7: {   /* splice in part of another corpus entry */
			const struct input *in = &corpus[below(ncorpus)];
			size_t from = below(in->size + 1), len = below(in->size - from + 1);
			struct buf o = { 0 };
			put(&o, b->d, at);
			put(&o, in->data + from, len);
			put(&o, b->d + at, b->n - at);
			free(b->d);
			*b = o;
			break;
		}
		default:   /* truncate */
			b->n = at;
		}
	}
	if (b->n > maxlen)
		b->n = maxlen;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = 0;
	uint64_t seed = 0;
	const char *outdir = ".";
	size_t maxlen = 16384;
	for (int c; (c = getopt(argc, argv, "t:s:o:m:T:")) != -1;) {
		switch (c) {
		case 't': seconds = atof(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'o': outdir = optarg; break;
		case 'm': maxlen = strtoul(optarg, NULL, 0); break;
		case 'T': timeout_s = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-t SECONDS [-s SEED] [-o DIR] [-m MAXLEN]] [-T TIMEOUT] CORPUS...\n", argv[0]);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		add_path(argv[i]);
	if (ncorpus == 0) {
		printf("FAIL: fuzz/policy-corpus: no inputs\n");
		return 1;
	}
	qsort(corpus, ncorpus, sizeof *corpus, by_name);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_death);
	signal(SIGALRM, on_signal);
	signal(SIGABRT, on_signal);
	if (!__sanitizer_set_death_callback) {   /* no ASan: catch the crashes ourselves */
		signal(SIGSEGV, on_signal);
		signal(SIGBUS, on_signal);
		signal(SIGFPE, on_signal);
	}

	/* 1. The corpus, each file once, leak-checked one by one. */
	for (size_t i = 0; i < ncorpus; i++) {
		run(corpus[i].name, corpus[i].data, corpus[i].size);
		if (leaked()) {
			printf("FAIL: fuzz/policy-corpus: %s: leaks memory (report above)\n", corpus[i].name);
			fflush(stdout);
			_exit(1);   /* not exit(): LeakSanitizer would report the same leak again */
		}
	}
	printf("PASS: fuzz/policy-corpus (%zu inputs)\n", ncorpus);
	fflush(stdout);
	if (seconds <= 0)
		return 0;

	/* 2. Random and mutated inputs until the time is up. */
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	rng = seed | 1;
	enum { BATCH = 64 };
	struct buf batch[BATCH] = { 0 };
	char name[128];
	double start = now(), last = start;
	unsigned long execs = 0;
	while (now() - start < seconds) {
		struct buf *b = &batch[execs % BATCH];
		b->n = 0;
		switch (below(8)) {
		case 0:   /* random bytes */
			for (size_t k = 0, len = below(512); k < len; k++) {
				uint8_t c = rnd();
				put(b, &c, 1);
			}
			break;
		case 1:
		case 2:
			generate(b);
			break;
		default: {
			const struct input *in = &corpus[below(ncorpus)];
			put(b, in->data, in->size);
		}
		}
		if (below(4) || b->n == 0)
			mutate(b, maxlen);
		snprintf(name, sizeof name, "random input %lu (seed %llu)", execs, (unsigned long long)seed);
		snprintf(save_path, sizeof save_path, "%s/crash-%llu-%lu", outdir, (unsigned long long)seed, execs);
		run(name, b->d ? b->d : (const uint8_t *)"", b->n);
		execs++;
		if (execs % BATCH == 0 && leaked()) {
			for (int k = 0; k < BATCH; k++) {
				snprintf(save_path, sizeof save_path, "%s/leak-%llu-%lu-%d", outdir, (unsigned long long)seed, execs, k);
				FILE *f = fopen(save_path, "wb");
				if (f) {
					fwrite(batch[k].d, 1, batch[k].n, f);
					fclose(f);
				}
			}
			printf("FAIL: fuzz/policy-random: a leak in inputs %lu-%lu, saved as %s/leak-%llu-%lu-*\n",
			       execs - BATCH, execs - 1, outdir, (unsigned long long)seed, execs);
			fflush(stdout);
			_exit(1);
		}
		if (now() - last >= 10) {
			last = now();
			fprintf(stderr, "fuzz: %lu inputs in %.0f s\n", execs, last - start);
		}
	}
	double took = now() - start;
	for (int k = 0; k < BATCH; k++)
		free(batch[k].d);
	printf("PASS: fuzz/policy-random (%lu inputs in %.0f s, %.0f/s, seed %llu)\n", execs, took, execs / took,
	       (unsigned long long)seed);
	for (size_t i = 0; i < ncorpus; i++) {
		free(corpus[i].name);
		free(corpus[i].data);
	}
	free(corpus);
	return 0;
}
