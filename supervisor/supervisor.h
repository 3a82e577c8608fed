/* The supervisor's state, shared by the loop and the handlers: policy, cache, data
 * objects, and what is known about the callers. One supervisor serves one job tree. */
#pragma once
#include "cache/cache.h"
#include "cache/data.h"
#include "policy.h"
#include "stats.h"
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

struct supervisor {
	struct policy policy;
	struct cache cache;
	struct data_store data;
	struct inode_set written;     /* inodes the job opened for writing */
	struct stats stats;
	int listener;                 /* seccomp notify fd, -1 when nested */
	pid_t child;
	bool passthrough;             /* --passthrough: trap and count, serve nothing */
	/* Until a caller changes credentials, root or mounts, every caller has ours: checks
	 * are skipped. After, each call is checked against what we captured at start. */
	bool creds_changed;
	bool ns_changed;
	char creds[1024];             /* our Uid/Gid/Groups/Cap lines from /proc/self/status */
	ino_t mnt_ns;
	/* Coarse clock at start: a file whose ctime is not older changed during the job (the
	 * kernel stamps ctime from the same coarse clock, so nothing created after us is older). */
	struct timespec start;
	/* Paths the job is creating (O_CREAT of a missing file): their inodes join `written`
	 * once they exist, so a clock difference with a file server cannot let them be cached. */
	struct { char *path; int tries; } created[32];
	int ncreated;
};

extern struct supervisor sup;

int supervisor_init(struct supervisor *s);
/* Does this caller see the file system exactly as we do (creds, root, mounts)? */
bool caller_is_like_us(pid_t pid);
/* Must this object be answered by the kernel every time? Yes if the job opened it for
 * writing, or if it changed since the job started (created, written, chmod-ed...). */
bool changes_during_job(const struct stat *st);
/* Remember a path the job is creating; settle_created() looks for its inode on each later
 * call (cheap while nothing is pending). */
void note_created(const char *path);
void settle_created(void);
/* The job may have changed the name space: forget every cached path. */
void invalidate_all(const char *why);
