/* Where the collruns of one job on one node meet: a directory only the user can enter,
 * holding job-HASH.sock (the node supervisor's socket) and job-HASH.lock (whose flock
 * makes the election race-free). HASH is of the job key (jobid.h); the full key is checked
 * in the hand-shake (share.h), so two keys that collide never share. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "jobid.h"

struct rendezvous {
	int dirfd;               /* O_PATH of the directory, checked; -1 when closed */
	char dir[128];           /* its path (a socket path must fit in sun_path) */
	char sock_name[40], lock_name[40];
	char key[256];
};

/* A directory fit for a rendezvous: a real directory (not a symbolic link) owned by uid
 * and closed to everyone else (no group or other bits). 0; -ENOTDIR (not a directory),
 * -ELOOP (a symbolic link), -EPERM (another owner), -EACCES (group or other may enter),
 * or -errno of lstat. */
int rundir_check(const char *path, uid_t uid);
/* The same checks on an open descriptor (no race with a rename). */
int rundir_check_fd(int fd, uid_t uid);
/* Choose the directory: COLLRUN_RUNTIME_DIR if set, else $XDG_RUNTIME_DIR/collrun when
 * $XDG_RUNTIME_DIR is ours and private, else /dev/shm/collrun-UID, else /tmp/collrun-UID.
 * Into out. 0 or -ENAMETOOLONG. */
int rundir_pick(jobid_getenv_fn env, uid_t uid, char *out, size_t size);
/* Create path (0700) if missing, open it and check it. fd, or -errno as rundir_check
 * (a symbolic link: -ELOOP). */
int rundir_open(const char *path, uid_t uid);

/* Fill r for key in the directory dir (opened and checked). 0 or -errno. */
int rendezvous_init(struct rendezvous *r, const char *dir, const char *key);
void rendezvous_close(struct rendezvous *r);
/* Take the job's lock (blocking: held only around a connect, or a supervisor's last look
 * for late comers). The file may be unlinked by a leaving supervisor while we wait: then
 * try again on the new one. The locked fd, or -errno. */
int rendezvous_lock(const struct rendezvous *r);
/* Release and remove the lock file (the caller holds it): nothing left behind. */
void rendezvous_unlock_remove(const struct rendezvous *r, int lockfd);
void rendezvous_unlock(int lockfd);
/* Connect to the job's socket: the fd, or -errno (-ENOENT / -ECONNREFUSED: nobody serves). */
int rendezvous_connect(const struct rendezvous *r);
/* Bind and listen on the job's socket (removing a stale one, under the lock). fd or -errno. */
int rendezvous_listen(const struct rendezvous *r);
/* Remove the socket file (under the lock). */
void rendezvous_remove_socket(const struct rendezvous *r);
