/* One trapped system call as the handlers see it, whatever backend delivered it, and the
 * verdict a handler returns. Handlers never talk to the kernel interface themselves: the
 * loop turns a verdict into the backend's answer. */
#pragma once
#include <stdint.h>
#include <sys/types.h>
#include <limits.h>

enum verdict_kind {
	V_CONTINUE,   /* let the kernel run the call as if nothing happened */
	V_RETURN,     /* the call returns val (>= 0) or fails with -val */
	V_ADDFD,      /* install fd in the caller and return its number */
};

enum outcome { OUT_PASS, OUT_HIT, OUT_FILL };

struct call {
	uint64_t id;           /* notification cookie */
	pid_t pid;             /* caller's thread id, in our pid namespace */
	int nr;                /* native syscall number */
	uint32_t arch;
	uint64_t args[6];
	int listener;
	/* Is the notification still pending (caller alive, same call)? Asked after reading
	 * the caller's memory and /proc entries, before acting on them. */
	int (*still_valid)(const struct call *c);
	/* filled in by the handler, for stats and -v */
	enum outcome outcome;
	char path[PATH_MAX * 2];   /* absolute path the call named, if resolved */
	char target[PATH_MAX * 2]; /* where a redirect or library rule sends it */
};

struct verdict {
	enum verdict_kind kind;
	int64_t val;
	int fd;                /* V_ADDFD: our descriptor, closed by the loop */
	unsigned fd_flags;     /* V_ADDFD: O_CLOEXEC or 0 */
};

static inline struct verdict verdict_continue(void) { return (struct verdict){ .kind = V_CONTINUE, .fd = -1 }; }
static inline struct verdict verdict_return(int64_t v) { return (struct verdict){ .kind = V_RETURN, .val = v, .fd = -1 }; }
