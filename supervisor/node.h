/* Node state: what one supervisor knows about the file systems of its node, shared by every
 * job (and, with issue 10, every rank) it serves — the look-up cache, file copies, what each
 * mount is, and the workers that fill. One lock guards it all; nothing that may wait on a
 * file system runs under it (workers drop it around every kernel call that touches one). */
#pragma once
#include "cache/data.h"
#include "cache/dcache.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct call;

/* One mounted file system as seen through one mount id. */
struct fsinfo {
	uint64_t mnt;
	long type;         /* statfs f_type */
	long namelen;      /* statfs f_namelen: longer names fail ENAMETOOLONG, never ENOENT */
	bool cacheable;    /* on the allow-list, and not mounted by the job */
	bool listable;     /* a listing tells every missing name (no case folding, no hiding) */
	bool guessed;      /* from mountinfo only: namelen unknown until a worker's statfs */
};

struct pool {
	pthread_cond_t cond;
	struct call *head, *tail;   /* calls waiting for a worker */
	int nthreads, idle, max;
	bool stopping;
};

struct node {
	pthread_mutex_t lock;
	struct dcache dc;
	struct data_store *data;   /* &data_store */
	struct data_store data_store;
	struct fsinfo *fs;         /* open-addressed by mnt */
	size_t fs_cap, fs_n;
	/* Some file system of fs is one whose listings are served (network, FUSE): until then
	 * a listing call cannot be ours to serve and goes to the kernel unexamined. Set once. */
	bool remote_listable;
	/* Mount ids that existed when the job first mounted something: file systems mounted
	 * later may be served by the job itself (a FUSE server) and are never filled. NULL
	 * until the job mounts. */
	uint64_t *mounts_before;
	size_t n_mounts_before;
	/* Bumped by every mutation the kernel performs after our answer: a fill that started
	 * before the bump may have seen the old state and is used once, never kept. */
	uint64_t mut_epoch;
	struct pool pool;
	struct call *free_calls;   /* recycled call buffers */
	uint64_t fsops;            /* file-system operations made to fill */
	struct ident root;         /* our own root: every caller's until the job changes roots */
	struct obj *root_obj;
};

extern struct node node;

int node_init(struct node *n);
static inline void node_lock(struct node *n) { pthread_mutex_lock(&n->lock); }
static inline void node_unlock(struct node *n) { pthread_mutex_unlock(&n->lock); }

/* Under the lock: the fsinfo of a mount, or NULL (then fs_learn it from a descriptor). */
struct fsinfo *node_fs(struct node *n, uint64_t mnt);
/* Without the lock: fstatfs(fd) (one file-system operation, once per mount) and record
 * (also over what node_fs_guess recorded). */
int node_fs_learn(struct node *n, int fd, uint64_t mnt);
/* Was this mount made after the job first mounted something (then it may be the job's own
 * FUSE server: never ask it anything, not even statfs)? */
bool node_mounted_by_job(const struct node *n, uint64_t mnt);
/* Without any file-system request (the loop thread may not wait on one): the mount's type
 * from /proc/PID/mountinfo. 0, or -errno. */
int node_fs_guess(struct node *n, pid_t pid, uint64_t mnt);
/* May the loop thread fill from this obj itself? Only on a local file system (which cannot
 * hang on a server), never on one the job mounted. Elsewhere a worker fills. */
bool node_fill_here(struct node *n, const struct obj *o);
/* The job mounts something: remember the mounts that exist now (call before the kernel acts). */
void node_snapshot_mounts(struct node *n);

/* Workers. Queue a call for a worker (under the lock or not: takes it). */
void pool_submit(struct node *n, struct call *c);
/* Start the first worker now, while the program is being started: every program's execve
 * needs one (to read the new binary), and creating it then cost 0.15-0.25 ms of the
 * program's start-up. */
void pool_prestart(struct node *n);
/* Under the lock: move the waiters of a slot back to the queue. */
void pool_requeue_locked(struct node *n, struct call **waiters);
/* Stop taking work (fork of the lingering copy, exit). */
void pool_prepare_fork(struct node *n);
void pool_after_fork(struct node *n, bool in_child);
