/* Job state: what belongs to one job tree (one program and everything it starts): its
 * listener, policy, counters, the credentials and namespaces its callers must share with
 * us to be served, what it wrote, and the mutations of its that the kernel may still be
 * performing. Node state (the cache itself) is in node.h. Both travel with every call
 * (struct call's job and node); `sup` is the one job this process serves today. */
#pragma once
#include <limits.h>
#include "cache/data.h"
#include "discover.h"
#include "policy.h"
#include "stats.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* A mutation passed to the kernel whose completion we have not seen yet: until its thread
 * is seen elsewhere, fills may have read the old state and are not kept. */
struct inflight {
	pid_t tid;
	int nr;
	uint64_t args[6];
};

struct job {
	struct policy policy;
	int listener;                 /* seccomp notify fd, -1 when nested */
	pid_t child;
	bool passthrough;             /* --passthrough: trap and count, serve nothing */
	int data_mode;                /* enum data_mode */
	struct stats stats;           /* updated with atomics: loop and workers both count */
	/* Until a caller changes credentials, root or mounts, every caller has ours: checks
	 * are skipped. After, each call is checked against what we captured at start. Sticky. */
	bool creds_changed;
	bool ns_changed;
	bool mounted;                 /* the job made a mount: later mounts are never filled */
	/* Something no /proc file shows changed what callers may open (Landlock): from then
	 * on every call goes to the kernel. Sticky. */
	bool pass_all;
	char creds[1536];             /* our Uid/Gid/Groups/Cap lines, user ns, LSM label */
	/* Coarse clock at start: a file whose ctime is not older changed during the job (the
	 * kernel stamps ctime from the same coarse clock, so nothing created after us is older). */
	struct timespec start;
	struct inode_set written;     /* inodes the job opened for writing (guarded by node lock) */
	struct discovered disc;       /* trees learned while the job runs (discover.h) */
	/* The program collrun starts was learned before its execve (exec_prelearn): that
	 * execve, by this pid of this path, is passed at once. Cleared when it comes. */
	pid_t prelearned_pid;
	char prelearned[PATH_MAX];
	struct inflight *inflight;    /* guarded by node lock */
	size_t ninflight, capinflight;
};

extern struct job sup;

/* Before the policy is built: the discovered trees the policy's `discovered` rule asks. */
int job_discovery_init(struct job *j);
/* Add a discovered tree, with -v saying so (handlers/exec.c). */
/* Add a discovered tree (if the policy learns from source) and log it with -v: whether it
 * is new. */
bool discover_add_logged(struct job *j, unsigned source, const char *dir, const char *why);
/* Learn PROGRAM (an absolute path) and what its environment envp names, as the execve
 * handler would, before it runs (handlers/exec.c): collrun does it while the keeper and the
 * program's setup run, instead of holding the program's execve for it. pid is the process
 * that will make that execve. */
void exec_prelearn(struct job *j, pid_t pid, const char *program, char *const envp[]);
/* Sets up the job and the node (node.h) it is served by. */
int supervisor_init(struct job *j);
/* Once, after the program's exec: if it does not have our credentials, capabilities and
 * label (an exec may change them), check every caller from now on. */
void job_check_program(struct job *j, pid_t pid);
/* Does this caller see the file system exactly as we do (creds, user namespace, label)? */
bool caller_is_like_us(struct job *j, pid_t pid);
/* Changed during the job (ctime not older than its start)? */
bool changed_during_job(const struct job *j, const struct timespec *ctime);

/* Under the node lock. A CONTINUEd mutation of tid: record it (and bump the epoch). */
void inflight_add(struct job *j, pid_t tid, int nr, const uint64_t args[6]);
/* Under the node lock: tid made a new call, so its previous one has finished. */
void inflight_settle_tid(struct job *j, pid_t tid);
/* Under the node lock: drop entries whose thread is gone or is blocked in another call
 * (/proc/TID/syscall). True if none is left. */
bool inflight_settled(struct job *j);

/* Counters, from any thread. */
#define STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)
