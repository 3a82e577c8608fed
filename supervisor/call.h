/* One trapped system call as the handlers see it, whatever backend delivered it, and the
 * verdict a handler returns. Handlers never talk to the kernel interface themselves: the
 * loop turns a verdict into the backend's answer.
 * A call lives until it is answered: the loop thread runs its handler first, without
 * touching any file system; if the answer needs a fill, the handler says V_DEFER and a
 * worker runs it again, this time allowed to fill. A worker that finds the answer being
 * filled by another parks the call on that slot (V_PARKED); the filler requeues it. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/stat.h>
#include "cache/dcache.h"

struct pol_rule;

enum verdict_kind {
	V_CONTINUE,   /* let the kernel run the call as if nothing happened */
	V_RETURN,     /* the call returns val (>= 0) or fails with -val */
	V_ADDFD,      /* install fd in the caller and return its number */
	V_DEFER,      /* (loop thread) a worker must finish this call */
	V_PARKED,     /* (worker) waiting on a slot another worker fills; requeued then */
};

/* OUT_KERNEL: the cache walked the path, and the kernel performs the call on the same file
 * (a local file's open under --data=auto): passed, counted apart in --stats. */
enum outcome { OUT_PASS, OUT_HIT, OUT_FILL, OUT_KERNEL };

enum route_how {
	ROUTE_KERNEL,   /* let the kernel answer the call as made */
	ROUTE_CACHE,    /* answer from the cache, walking from route.start */
	ROUTE_LIVE,     /* a redirect outside cached trees: compute now on the target, keep nothing */
	ROUTE_DENY,     /* fail with route.err */
};

struct job;
struct node;
struct syscall_desc;

/* Where a walk starts: the caller's root (absolute paths) or its cwd or dirfd. */
struct start {
	struct ident root;     /* the caller's root */
	struct ident dir;      /* the start directory (== root for absolute paths) */
	int dir_fd;            /* O_PATH descriptor of the start directory, ours, or -1 */
	int root_fd;           /* O_PATH descriptor of a foreign root, or -1 (ours: node root) */
	bool foreign_root;     /* the caller's root is not ours */
};

struct verdict {
	enum verdict_kind kind;
	int64_t val;
	int fd;                /* V_ADDFD: our descriptor, closed by the loop */
	unsigned fd_flags;     /* V_ADDFD: O_CLOEXEC or 0 */
	/* V_ADDFD: the descriptor is the file itself (not a memfd copy): close ours before the
	 * caller runs, so that its close is the last one, as natively (release-time work: a
	 * flush, lock and lease release, ext4's allocation on close, NFS close-to-open). */
	bool last_close_theirs;
};

struct call {
	struct call *next;     /* queue or waiter list */
	struct call *rnext;    /* the list of calls workers are running (notify.c) */
	uint64_t id;           /* notification cookie */
	uint64_t t_recv;       /* CLOCK_MONOTONIC ns when the call was received (--audit latency) */
	uint64_t t_answer;     /* ... and when its answer went to the kernel (0: not yet) */
	pid_t pid;             /* caller's thread id, in our pid namespace */
	int nr;                /* native syscall number (of the native twin, for i386/x32) */
	int sysno;             /* the number as the caller made it */
	bool foreign;          /* made through the i386 or x32 ABI */
	uint32_t arch;
	uint64_t args[6];
	int listener;          /* user-notify listener, or -1 under ptrace */
	bool traced;           /* delivered by the ptrace backend (tracer.c) */
	struct job *job;
	struct node *node;
	const struct syscall_desc *desc;
	bool in_worker;        /* this run may fill */
	bool prepared;         /* routed, or found unroutable (done once per call) */
	bool have_start;       /* raw read and start opened */
	int8_t routed;         /* route_call's answer once prepared: 1 or -1 */
	bool no_rule;          /* routed to the kernel because no policy rule covers the path */
	const struct pol_rule *rule;   /* the rule that decided the path (NULL: none) */
	uint64_t epoch;        /* node mut_epoch when a fill began */
	/* Is the notification still pending (caller alive, same call)? Asked after reading
	 * the caller's memory and /proc entries, before acting on them. */
	int (*still_valid)(const struct call *c);
	/* filled in by the handler, for stats and -v */
	enum outcome outcome;
	enum route_how how;
	int route_err;
	struct start start;
	const char *lookup;        /* raw (the walk from start), or target for redirects */
	char raw[PATH_MAX];        /* the path argument as the caller wrote it */
	char path[PATH_MAX * 2];   /* absolute form for policy and -v (never walked) */
	char target[PATH_MAX * 2]; /* where a redirect or library rule sends it */
	union {                    /* an answer copied out of the cache under the lock */
		struct stat st;
		struct statx sx;
		char link[PATH_MAX];
	} ans;
	size_t ans_len;
	struct exec_note *exec;    /* execve: what the new program's environment says */
	/* A descriptor argument of the caller that is one of our replica directories
	 * (replica.h), and its original: if the call is passed to the kernel, the caller's
	 * descriptor is swapped for the original first. -1: none. */
	int swap_fd;
	struct obj *swap_obj;
	/* ptrace: the verdict a worker queued (by next) for the tracer thread (tracer.c). */
	struct verdict traced_v;
};


static inline struct verdict verdict_continue(void) { return (struct verdict){ .kind = V_CONTINUE, .fd = -1 }; }
static inline struct verdict verdict_return(int64_t v) { return (struct verdict){ .kind = V_RETURN, .val = v, .fd = -1 }; }
static inline struct verdict verdict_defer(void) { return (struct verdict){ .kind = V_DEFER, .fd = -1 }; }
static inline struct verdict verdict_parked(void) { return (struct verdict){ .kind = V_PARKED, .fd = -1 }; }
static inline struct verdict verdict_addfd(int fd, unsigned flags) { return (struct verdict){ .kind = V_ADDFD, .fd = fd, .fd_flags = flags }; }
