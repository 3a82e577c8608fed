/* The user-space stack of a thread stopped under ptrace by the calling thread, walked with
 * libunwind (--audit --backtrace). Unwind information is cached per mapped object, so a
 * job's thousands of calls do not re-read the same ELF files. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

#define BT_MAX_FRAMES 32

struct bt_frame {
	uint64_t ip;          /* the frame's instruction pointer */
	uint64_t off;         /* ip - start of fn (0 when fn is unknown) */
	char fn[128];         /* function name, "" when unknown */
	char obj[256];        /* the mapped object's path, "" when unknown (anonymous/JIT) */
};

struct bt {
	int n;                /* frames, innermost first */
	struct bt_frame f[BT_MAX_FRAMES];
};

/* Load libunwind (once; it is not linked): 0, or -ENOENT with *why (if why) saying what is
 * missing. bt_collect calls it itself. */
int bt_available(const char **why);
/* Walk tid's stack. tid must be in a ptrace stop of the calling thread. 0 or -errno;
 * on error out->n holds the frames walked so far. */
int bt_collect(pid_t tid, struct bt *out);
/* A process has exec'd or exited: forget what was cached for it. */
void bt_forget(pid_t pid);
/* Forget everything: every process and every cached object (tests, and a clean exit under
 * a leak checker). */
void bt_clear(void);
