/* getdents64, getdents, fchdir: the calls that read or enter an open directory.
 * getdents64 of a cached directory on a network or FUSE file system is served from the
 * entries the cache holds (struct dents: the file system's own records, d_ino, d_type and
 * d_off as it gave them). The listing's position is the caller's file position itself,
 * and it takes the file system's own values: 0 at the start, after a record that record's
 * d_off. So a position the kernel reached (a descriptor it read) and one we set mean the
 * same place, telldir() gives native values, and a descriptor handed to the kernel later
 * (replica_swap) carries on exactly. We set it through a duplicate of the caller's
 * descriptor (pidfd_getfd shares the open file description), after writing the records
 * and before answering.
 * Our replica directories (replica.h) are empty: whatever cannot be served on one — a
 * position we do not know, a directory the job changed — goes to the kernel after the
 * caller's descriptor is swapped for its original; so does fchdir, and the old getdents. */
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "arch.h"
#include "fill.h"
#include "replica.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif

/* Index of the record at position pos, n at the end, or -1 for a position that is none of
 * ours. */
static long index_at(const struct dents *d, long long pos)
{
	if (pos == 0)
		return 0;
	for (size_t i = 0; i < d->n; i++)
		if (((const struct dirent64 *)(d->buf + d->at[i]))->d_off == pos)
			return (long)i + 1;
	return -1;
}

/* The obj of a descriptor that is not a replica, or NULL; only on file systems whose
 * listings we serve. Lock held (dropped to look). */
static struct obj *obj_of_fd(struct call *c, int fd, const struct fdinfo *fi)
{
	struct node *n = c->node;
	struct fsinfo *fs = node_fs(n, fi->mnt);
	if (!fs || !fs->listable || fs_is_local(fs->type))
		return NULL;
	node_unlock(n);
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)c->pid, fd);
	struct statx sx;
	/* DONT_SYNC: what the kernel holds, no request to the server. */
	int r = statx(AT_FDCWD, p, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO | STATX_MNT_ID, &sx);
	node_lock(n);
	if (r < 0 || !(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != fi->mnt || sx.stx_ino != fi->ino)
		return NULL;
	struct ident id = { sx.stx_mnt_id, makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino };
	return dc_obj_find(&n->dc, &id);
}

/* Lock held: may o's cached entries answer a listing now? */
static bool servable(struct call *c, struct obj *o)
{
	if (!S_ISDIR(o->mode) || o->list_slot.state != SLOT_OK || !o->ents || (o->flags & (OBJ_VOLATILE | OBJ_NOCACHE)) ||
	    !o->phys[0] || c->job->pass_all)
		return false;
	/* Our listing is what the file system told us: a FUSE server may list by caller. */
	if (!caller_is_like_us(c->job, c->pid))
		return false;
	struct fsinfo *fs = node_fs(c->node, o->id.mnt);
	if (!fs || !fs->listable || fs_is_local(fs->type))
		return false;
	struct pol_decision d;
	char buf[8];
	return policy_decide(&c->job->policy, o->phys, &d, buf, sizeof buf) == POL_CACHE;
}

/* Move the caller's file position (its open file description: a duplicate shares it). */
static int set_pos(struct call *c, int fd, const struct fdinfo *fi, long long pos)
{
	int pfd = syscall(SYS_pidfd_open, c->pid, PIDFD_THREAD);
	if (pfd < 0)
		return -errno;
	int dup = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	int err = dup < 0 ? -errno : 0;
	close(pfd);
	if (err)
		return err;
	struct stat st;
	if (fstat(dup, &st) < 0 || st.st_ino != fi->ino)
		err = -ESTALE;   /* closed and reused meanwhile */
	else if (lseek(dup, pos, SEEK_SET) < 0)
		err = -errno;
	close(dup);
	return err;
}

/* Answer from o's entries: the whole records from the position on that fit in count. */
static struct verdict serve(struct call *c, struct obj *o, int fd, const struct fdinfo *fi, bool *served)
{
	struct node *n = c->node;
	uint64_t addr = c->args[1];
	size_t count = (unsigned)c->args[2];
	*served = false;
	long i = index_at(o->ents, fi->pos);
	if (i < 0)
		return verdict_continue();
	const struct dents *d = o->ents;
	size_t from = i < (long)d->n ? d->at[i] : d->bytes, to = from;
	long j = i;
	while (j < (long)d->n && d->at[j] + ((const struct dirent64 *)(d->buf + d->at[j]))->d_reclen - from <= count) {
		to = d->at[j] + ((const struct dirent64 *)(d->buf + d->at[j]))->d_reclen;
		j++;
	}
	*served = true;
	c->outcome = OUT_HIT;
	if (i == (long)d->n)
		return verdict_return(0);     /* the end: the position stays */
	if (j == i)
		return verdict_return(-EINVAL);   /* not even one record fits, as the kernel says */
	long long pos = ((const struct dirent64 *)(d->buf + d->at[j - 1]))->d_off;
	size_t len = to - from;
	char *copy = malloc(len);
	if (!copy) {
		*served = false;
		return verdict_continue();
	}
	memcpy(copy, d->buf + from, len);   /* entries are never freed, but copy out of the lock */
	node_unlock(n);
	int err = write_answer(c, addr, copy, len);
	free(copy);
	if (!err)
		err = set_pos(c, fd, fi, pos);
	node_lock(n);
	if (err == -EFAULT)
		return verdict_return(-EFAULT);
	if (err) {
		*served = false;
		return verdict_continue();
	}
	return verdict_return((int64_t)len);
}

struct verdict h_getdents64(struct call *c)
{
	int fd = (int)c->args[0];
	/* Only a replica, or a directory of a network or FUSE file system, is ours to list:
	 * before either exists, the descriptor need not be looked up (an open and a read of
	 * /proc/PID/fdinfo on every listing call of a local directory). */
	if (!replicas_made() && !__atomic_load_n(&c->node->remote_listable, __ATOMIC_ACQUIRE))
		return verdict_continue();
	struct fdinfo fi;
	if (fd < 0 || fdinfo_of(c->pid, fd, &fi) < 0 || (fi.flags & O_PATH))
		return verdict_continue();   /* EBADF and the like: the kernel's */
	struct node *n = c->node;
	node_lock(n);
	struct obj *o = replica_original(fi.mnt, fi.ino);
	bool replica = o != NULL;
	if (!o)
		o = obj_of_fd(c, fd, &fi);
	struct verdict v = verdict_continue();
	bool served = false;
	if (o && servable(c, o))
		v = serve(c, o, fd, &fi, &served);
	node_unlock(n);
	if (!served && replica) {
		/* An empty replica cannot be read by the kernel: the original can. */
		c->swap_fd = fd;
		c->swap_obj = o;
	}
	return v;
}

/* The old getdents (struct linux_dirent), and fchdir: never served; on a replica the
 * kernel is given its original (getcwd then names the real directory). */
static struct verdict to_original(struct call *c)
{
	int fd = (int)c->args[0];
	if (!replicas_made())
		return verdict_continue();
	struct obj *o = replica_of_fd(c, fd);
	if (o) {
		c->swap_fd = fd;
		c->swap_obj = o;
	}
	return verdict_continue();
}

struct verdict h_getdents(struct call *c) { return to_original(c); }
struct verdict h_fchdir(struct call *c) { return to_original(c); }
