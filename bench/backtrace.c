/* Cost of one stack walk at a seccomp stop: bt_collect (our accessors, per-object cache)
 * against libunwind's _UPT accessors, on the probe's open() (8 frames: libc, inner, middle,
 * outer, main, libc start-up, _start). Prints median microseconds per walk:
 *   cold       bt_collect in a new process, nothing cached (bt_clear before)
 *   new-proc   bt_collect in a new process of the same program (objects cached, maps not)
 *   cached     bt_collect again at the same stop (everything cached)
 *   upt-fresh  _UPT_create + walk + unw_get_proc_name per frame + _UPT_destroy, per call
 *   upt-kept   one _UPT handle and address space (UNW_CACHE_GLOBAL) kept across calls
 * usage: backtrace HELPER [ROUNDS]   (HELPER: $(BUILD)/tests/helpers/bt_chain[_static]) */
#include <libunwind-ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "backtrace.h"
#include "bt_harness.h"
#include "timing.h"

static const char *probe = "/nonexistent-bt-chain-probe";

/* The _UPT way: what bt_collect replaces. Returns frames walked. */
static int upt_walk(unw_addr_space_t as, void *upt)
{
	unw_cursor_t c;
	if (unw_init_remote(&c, as, upt) < 0)
		return -1;
	int n = 0;
	do {
		char name[128];
		unw_word_t off;
		unw_get_proc_name(&c, name, sizeof name, &off);
		n++;
	} while (n < BT_MAX_FRAMES && unw_step(&c) > 0);
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s HELPER [ROUNDS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 200, procs = rounds / 10 > 5 ? rounds / 10 : 5;
	char *hargv[] = { argv[1], (char *)probe, NULL };
	double *v = calloc(rounds > procs ? rounds : procs, sizeof *v);
	struct bt b;
	int frames = 0;

	for (int pass = 0; pass < 2; pass++) {         /* 0: cold, 1: new process, warm objects */
		for (int i = 0; i < procs; i++) {
			pid_t pid = bt_spawn_at_open(hargv, probe);
			if (pid < 0) {
				fprintf(stderr, "%s never reached its openat\n", argv[1]);
				return 1;
			}
			if (pass == 0)
				bt_clear();
			double t = now_us();
			int r = bt_collect(pid, &b);
			v[i] = now_us() - t;
			frames = b.n;
			bt_kill(pid);
			bt_forget(pid);
			if (r < 0)
				return 1;
		}
		printf("%-10s %8.1f us  (%d frames, median of %d)\n", pass ? "new-proc" : "cold",
		       median(v, procs), frames, procs);
	}

	pid_t pid = bt_spawn_at_open(hargv, probe);
	if (pid < 0)
		return 1;
	bt_collect(pid, &b);
	for (int i = 0; i < rounds; i++) {
		double t = now_us();
		bt_collect(pid, &b);
		v[i] = now_us() - t;
	}
	printf("%-10s %8.1f us  (%d frames, median of %d)\n", "cached", median(v, rounds), b.n, rounds);

	unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
	int n = 0;
	for (int i = 0; i < rounds; i++) {
		double t = now_us();
		void *upt = _UPT_create(pid);
		n = upt_walk(as, upt);
		_UPT_destroy(upt);
		v[i] = now_us() - t;
	}
	printf("%-10s %8.1f us  (%d frames, median of %d)\n", "upt-fresh", median(v, rounds), n, rounds);
	unw_destroy_addr_space(as);

	as = unw_create_addr_space(&_UPT_accessors, 0);
	unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
	void *upt = _UPT_create(pid);
	for (int i = 0; i < rounds; i++) {
		double t = now_us();
		n = upt_walk(as, upt);
		v[i] = now_us() - t;
	}
	printf("%-10s %8.1f us  (%d frames, median of %d)\n", "upt-kept", median(v, rounds), n, rounds);
	_UPT_destroy(upt);
	unw_destroy_addr_space(as);

	bt_kill(pid);
	bt_clear();
	free(v);
	return 0;
}
