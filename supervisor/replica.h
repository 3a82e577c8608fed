/* Replica directories: an open of a cached directory on a network or FUSE file system is
 * answered with a descriptor of an EMPTY directory that the supervisor made in its own
 * private folder (under the rendezvous directory, node-local), one per original. The file
 * system then sees no OPENDIR or RELEASEDIR; getdents64 on it is always served from the
 * original's cached entries (handlers/dirents.c), and every call that would let the kernel
 * act on it (a dirfd, fchdir, fchmod...) is first given a real descriptor of the original
 * instead (replica_swap). Node state: everything here runs under the node lock unless
 * said otherwise. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct call;
struct node;
struct obj;

/* --no-dir-replica: never hand out replicas. */
extern bool replica_disabled;

/* Lock held. A fresh O_RDONLY|O_DIRECTORY|O_CLOEXEC descriptor of o's replica (plus flags,
 * such as O_NONBLOCK), made on first use with o's permission bits and times; -errno if
 * none can be made (then the caller opens the original). No file-system request. */
int replica_open(struct node *n, struct obj *o, int flags);
/* Has any replica been made (by this process or the one it was forked from)? Until one
 * is, no descriptor of any caller can be a replica. No lock needed. */
bool replicas_made(void);
/* Lock held. The original of the replica with this identity, or NULL. */
struct obj *replica_original(uint64_t mnt, uint64_t ino);
/* What /proc/PID/fdinfo/FD says of a caller's descriptor (no file-system request). */
struct fdinfo {
	long long pos;
	int flags;        /* open flags, with O_CLOEXEC for close-on-exec */
	uint64_t mnt, ino;
};
int fdinfo_of(pid_t pid, int fd, struct fdinfo *fi);
/* The original obj behind the caller's descriptor fd if it is one of our replicas (NULL
 * otherwise). Takes the lock. */
struct obj *replica_of_fd(struct call *c, int fd);

/* Worker: give the caller's descriptor c->swap_fd (a replica) a real descriptor of its
 * original instead, on the same number, with the same close-on-exec flag, status flags and
 * position, so that the kernel's call that follows acts on the real directory. 0 or -errno
 * (then the caller keeps the replica). */
int replica_swap(struct call *c);

/* Remove our replicas (the process that made them, or the lingering copy that took them
 * over); idempotent. The first replica of a supervisor also removes those of supervisors
 * that died (their folder's lock is free). */
void replicas_leave(void);
/* Remove the replicas of supervisors that are gone (a rank whose node supervisor died). */
void replicas_remove_stale(void);
/* After fork: the child (the lingering copy) owns the replicas now. */
void replicas_after_fork(bool in_child);
