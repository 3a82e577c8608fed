/* Replica directories (see replica.h). They live in "replicas-PID" under the rendezvous
 * directory (private to the user, node-local, where the node supervisor's socket is), held
 * by an flock on that folder: the lock goes with the last process holding it (also on
 * SIGKILL), so the next supervisor that makes a replica removes folders whose lock is free.
 * A replica is named by a number and is never listed by anyone: its entries are served. */
#include "replica.h"
#include "fill.h"
#include "handlers/common.h"
#include "log.h"
#include "node.h"
#include "procfs.h"
#include "rendezvous.h"
#include "supervisor.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

bool replica_disabled;

#define NBUCKETS 1024
static struct obj *table[NBUCKETS];
static int base_fd = -1;        /* O_PATH: the rendezvous directory */
static int dir_fd = -1;         /* O_RDONLY, flocked: our replicas-PID folder */
static bool any_made;           /* sticky: a replica was made (replicas_made) */
static char dir_name[64];
static uint64_t dir_mnt;        /* the mount our replicas are on */
static unsigned next_no = 1;
static pid_t owner;
static bool failed;

static const char *env(const char *name) { return getenv(name); }

/* Remove the (empty) replicas inside folder fd. */
static void empty_folder(int fd)
{
	int rd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rd >= 0 ? fdopendir(rd) : NULL;
	if (!d) {
		if (rd >= 0)
			close(rd);
		return;
	}
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			unlinkat(fd, e->d_name, AT_REMOVEDIR);
	closedir(d);
}

/* Folders of supervisors that are gone: nobody holds their lock. */
static void remove_stale(void)
{
	int rd = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = rd >= 0 ? fdopendir(rd) : NULL;
	if (!d) {
		if (rd >= 0)
			close(rd);
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, "replicas-", 9) || !strcmp(e->d_name, dir_name))
			continue;
		int fd = openat(base_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			empty_folder(fd);
			unlinkat(base_fd, e->d_name, AT_REMOVEDIR);
		}
		close(fd);
	}
	closedir(d);
}

static int setup(void)
{
	if (failed)
		return -ENOTSUP;
	if (dir_fd >= 0)
		return 0;
	failed = true;   /* one attempt per supervisor */
	char path[4096];
	int err = rundir_pick(env, getuid(), path, sizeof path);
	if (err || (base_fd = rundir_open(path, getuid())) < 0) {
		log_trace(1, "no replica directories (%s): directory opens go to the file system", path);
		return -ENOTSUP;
	}
	owner = getpid();
	snprintf(dir_name, sizeof dir_name, "replicas-%d", (int)owner);
	if (mkdirat(base_fd, dir_name, 0700) < 0 && errno != EEXIST)
		return -errno;
	dir_fd = openat(base_fd, dir_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statx sx;
	if (dir_fd < 0 || flock(dir_fd, LOCK_EX | LOCK_NB) < 0 ||
	    statx(dir_fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID)) {
		err = -errno;
		if (dir_fd >= 0)
			close(dir_fd);
		dir_fd = -1;
		unlinkat(base_fd, dir_name, AT_REMOVEDIR);
		return err ? err : -ENOTSUP;
	}
	empty_folder(dir_fd);   /* a folder of a dead supervisor with our pid */
	dir_mnt = sx.stx_mnt_id;
	atexit(replicas_leave);
	remove_stale();
	failed = false;
	return 0;
}

static int make(struct obj *o)
{
	char name[16];
	unsigned no = next_no++;
	snprintf(name, sizeof name, "%u", no);
	if (mkdirat(dir_fd, name, 0700) < 0)
		return -errno;
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = -errno;
		if (fd >= 0)
			close(fd);
		unlinkat(dir_fd, name, AT_REMOVEDIR);
		return err;
	}
	/* What fstat of the descriptor can show of the original: owner (as root), permission
	 * bits, access and modification times. */
	if (geteuid() == 0 && (o->flags & OBJ_STAT_EXACT))
		(void)!fchown(fd, o->st.st_uid, o->st.st_gid);
	fchmod(fd, (o->mode & 07777) | S_IRUSR | S_IXUSR);
	if (o->flags & OBJ_STAT_EXACT) {
		struct timespec t[2] = { o->st.st_atim, o->st.st_mtim };
		futimens(fd, t);
	}
	close(fd);
	__atomic_store_n(&any_made, true, __ATOMIC_RELEASE);
	o->replica_no = no;
	o->replica_ino = st.st_ino;
	o->rnext = table[st.st_ino % NBUCKETS];
	table[st.st_ino % NBUCKETS] = o;
	return 0;
}

int replica_open(struct node *n, struct obj *o, int flags)
{
	(void)n;
	if (replica_disabled)
		return -ENOTSUP;
	int err = setup();
	if (!err && !o->replica_ino)
		err = make(o);
	if (err)
		return err;
	char name[16];
	snprintf(name, sizeof name, "%u", o->replica_no);
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | (flags & O_NONBLOCK));
	return fd < 0 ? -errno : fd;
}

bool replicas_made(void)
{
	return __atomic_load_n(&any_made, __ATOMIC_ACQUIRE);
}

struct obj *replica_original(uint64_t mnt, uint64_t ino)
{
	if (mnt != dir_mnt || dir_fd < 0)
		return NULL;
	for (struct obj *o = table[ino % NBUCKETS]; o; o = o->rnext)
		if (o->replica_ino == ino)
			return o;
	return NULL;
}

int fdinfo_of(pid_t pid, int fd, struct fdinfo *fi)
{
	char name[40], buf[1024];
	snprintf(name, sizeof name, "fdinfo/%d", fd);
	int n = proc_read(pid, name, buf, sizeof buf);
	if (n < 0)
		return n;
	const char *p = strstr(buf, "pos:"), *f = strstr(buf, "flags:"), *m = strstr(buf, "mnt_id:"),
		   *i = strstr(buf, "\nino:");
	if (!p || !f || !m || !i)
		return -EOPNOTSUPP;
	fi->pos = strtoll(p + 4, NULL, 10);
	fi->flags = (int)strtol(f + 6, NULL, 8);
	fi->mnt = strtoull(m + 7, NULL, 10);
	fi->ino = strtoull(i + 5, NULL, 10);
	return 0;
}

struct obj *replica_of_fd(struct call *c, int fd)
{
	struct fdinfo fi;
	if (dir_fd < 0 || fd < 0 || fdinfo_of(c->pid, fd, &fi) < 0 || fi.mnt != dir_mnt)
		return NULL;
	node_lock(c->node);
	struct obj *o = replica_original(fi.mnt, fi.ino);
	node_unlock(c->node);
	return o;
}

int replica_swap(struct call *c)
{
	struct node *n = c->node;
	struct obj *o = c->swap_obj;
	struct fdinfo fi;
	int err = fdinfo_of(c->pid, c->swap_fd, &fi);
	if (err)
		return err;
	if (fi.mnt != dir_mnt || fi.ino != o->replica_ino)
		return -ESTALE;   /* closed and reused meanwhile (another thread): nothing to do */
	node_lock(n);
	int pfd = dc_get_fd(&n->dc, o);
	pfd = pfd >= 0 ? fcntl(pfd, F_DUPFD_CLOEXEC, 0) : -1;
	char *phys = pfd < 0 && o->phys[0] ? strdup(o->phys) : NULL;
	struct ident id = o->id;
	node_unlock(n);
	uint64_t ops = 0;
	if (pfd < 0 && phys)
		pfd = fill_reopen(-1, phys, &id, &ops);
	free(phys);
	if (pfd < 0) {
		STAT_ADD(n->fsops, ops);
		return pfd == -1 ? -ESTALE : pfd;
	}
	/* The caller's own open of the original, made now: the same access mode and status
	 * flags, and the position the replica had (0, or a d_off of the original's: exact). */
	int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | (fi.flags & O_NONBLOCK));
	err = fd < 0 ? -errno : 0;
	close(pfd);
	STAT_ADD(n->fsops, ops + 1);
	if (err)
		return err;
	if (fi.pos && lseek(fd, fi.pos, SEEK_SET) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	struct seccomp_notif_addfd add = { .id = c->id, .srcfd = fd, .newfd = c->swap_fd,
					   .newfd_flags = fi.flags & O_CLOEXEC, .flags = SECCOMP_ADDFD_FLAG_SETFD };
	int r = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
	err = r < 0 ? -errno : 0;
	close(fd);
	return err;
}

void replicas_leave(void)
{
	if (dir_fd < 0 || getpid() != owner)
		return;
	empty_folder(dir_fd);
	unlinkat(base_fd, dir_name, AT_REMOVEDIR);
	close(dir_fd);
	dir_fd = -1;
}

void replicas_after_fork(bool in_child)
{
	if (dir_fd >= 0)
		owner = in_child ? getpid() : 0;   /* only the lingering copy forks while serving */
}

void replicas_remove_stale(void)
{
	char path[4096];
	if (base_fd < 0 && (rundir_pick(env, getuid(), path, sizeof path) < 0 || (base_fd = rundir_open(path, getuid())) < 0)) {
		base_fd = -1;
		return;
	}
	remove_stale();
}
