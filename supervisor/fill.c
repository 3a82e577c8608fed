/* Kernel calls of a fill. One look-up is one openat(O_PATH|O_NOFOLLOW) of one name from
 * its directory: exactly the step the kernel's own walk makes for that component, with the
 * same permission check (search on the directory) and the same mount crossing. Identity
 * comes from statx with AT_STATX_DONT_SYNC: the attributes the look-up just brought in,
 * without a second request to a server. On a local file system, where a descriptor of a
 * plain file is rarely used again, the look-up is that statx of the name alone: one system
 * call instead of three (fill_lookup_nofd). */
#include "fill.h"
#include "arch.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef FS_CASEFOLD_FL
#define FS_CASEFOLD_FL 0x40000000
#endif

static int ident_from(const struct statx *sx, struct found *f)
{
	if (!(sx->stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;   /* Linux < 5.8: no way to tell mounts apart */
	f->id = (struct ident){ sx->stx_mnt_id, makedev(sx->stx_dev_major, sx->stx_dev_minor), sx->stx_ino };
	f->mode = sx->stx_mode;
	f->ctime = (struct timespec){ sx->stx_ctime.tv_sec, sx->stx_ctime.tv_nsec };
	/* The same kstat the kernel's stat would copy out, field by field. */
	memset(&f->st, 0, sizeof f->st);
	f->st.st_dev = f->id.dev;
	f->st.st_ino = sx->stx_ino;
	f->st.st_nlink = sx->stx_nlink;
	f->st.st_mode = sx->stx_mode;
	f->st.st_uid = sx->stx_uid;
	f->st.st_gid = sx->stx_gid;
	f->st.st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
	f->st.st_size = sx->stx_size;
	f->st.st_blksize = sx->stx_blksize;
	f->st.st_blocks = sx->stx_blocks;
	f->st.st_atim = (struct timespec){ sx->stx_atime.tv_sec, sx->stx_atime.tv_nsec };
	f->st.st_mtim = (struct timespec){ sx->stx_mtime.tv_sec, sx->stx_mtime.tv_nsec };
	f->st.st_ctim = f->ctime;
	f->basic = (sx->stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS;
	return 0;
}

int fill_ident(int fd, struct found *f)
{
	struct statx sx;
	f->fresh = false;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
		  STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	return ident_from(&sx, f);
}

int fill_lookup(int dfd, const char *name, size_t len, struct found *f, uint64_t *fsops)
{
	char buf[PATH_MAX];
	*f = (struct found){ 0 };
	if (len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, name, len);
	buf[len] = '\0';
	int fd = openat(dfd, buf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	(*fsops)++;
	if (fd < 0)
		return -errno;
	int err = fill_ident(fd, f);
	f->fresh = !err;
	if (!err && S_ISLNK(f->mode)) {
		char body[PATH_MAX];
		ssize_t n = readlinkat(fd, "", body, sizeof body);
		(*fsops)++;
		if (n < 0)
			err = -errno;
		else if (!(f->target = malloc(n + 1)))
			err = -ENOMEM;
		else {
			memcpy(f->target, body, n);
			f->target[n] = '\0';
			f->tlen = n;
		}
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int fill_lookup_nofd(int dfd, const char *name, size_t len, uint64_t mnt, struct found *f, uint64_t *fsops)
{
	char buf[PATH_MAX];
	struct statx sx;
	*f = (struct found){ 0 };
	if (len >= sizeof buf)
		return -ENAMETOOLONG;
	memcpy(buf, name, len);
	buf[len] = '\0';
	/* AT_NO_AUTOMOUNT: an O_PATH open does not trigger one either. */
	int r = statx(dfd, buf, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC,
		      STATX_BASIC_STATS | STATX_MNT_ID, &sx);
	(*fsops)++;
	if (r < 0)
		return -errno;
	int err = ident_from(&sx, f);
	if (err)
		return err;
	if (S_ISDIR(f->mode) || S_ISLNK(f->mode) || f->id.mnt != mnt) {
		/* A directory's descriptor is kept, a link's body read through it, and a mount
		 * crossed here may be of another kind: the look-up that holds the file. */
		return fill_lookup(dfd, name, len, f, fsops);
	}
	f->fresh = true;
	return FILL_NOFD;
}

int fill_reopen(int rootfd, const char *phys, const struct ident *want, uint64_t *fsops)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_MAGICLINKS | (rootfd >= 0 ? RESOLVE_IN_ROOT : 0) };
	int fd = syscall(SYS_openat2, rootfd >= 0 ? rootfd : AT_FDCWD, phys, &how, sizeof how);
	(*fsops)++;
	if (fd < 0)
		return -errno;
	struct found f;
	if (fill_ident(fd, &f) < 0 || f.id.mnt != want->mnt || f.id.dev != want->dev || f.id.ino != want->ino) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

#define MAX_LISTING 200000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Append one record to d (its padding zeroed). */
static int dents_add(struct dents *d, size_t *cap, size_t *bcap, const struct dirent64 *e)
{
	if (d->n == *cap) {
		size_t *w = realloc(d->at, (*cap = *cap ? *cap * 2 : 64) * sizeof *w);
		if (!w)
			return -ENOMEM;
		d->at = w;
	}
	if (d->bytes + e->d_reclen > *bcap) {
		size_t nb = *bcap ? *bcap : 4096;
		while (nb < d->bytes + e->d_reclen)
			nb *= 2;
		char *w = realloc(d->buf, nb);
		if (!w)
			return -ENOMEM;
		d->buf = w;
		*bcap = nb;
	}
	char *r = d->buf + d->bytes;
	size_t used = offsetof(struct dirent64, d_name) + strlen(e->d_name) + 1;
	memcpy(r, e, used);
	memset(r + used, 0, e->d_reclen - used);
	d->at[d->n++] = d->bytes;
	d->bytes += e->d_reclen;
	return 0;
}

/* A listing can be served only if each position (d_off) names one place: nonzero (0 is the
 * start) and unique. */
static bool dents_servable(const struct dents *d)
{
	uint64_t *v = malloc((d->n + 1) * sizeof *v);
	if (!v)
		return false;
	for (size_t i = 0; i < d->n; i++)
		v[i] = (uint64_t)((const struct dirent64 *)(d->buf + d->at[i]))->d_off;
	qsort(v, d->n, sizeof *v, cmp_u64);
	bool ok = true;
	for (size_t i = 0; i < d->n && ok; i++)
		ok = v[i] != 0 && (i == 0 || v[i] != v[i - 1]);
	free(v);
	return ok;
}

/* A listing being built from getdents64 records: the names (without "." and ".."), and
 * the raw records when d is set. Shared by the kernel's records and a session root's. */
struct collect {
	char **v;
	size_t cap, n;
	struct dents *d;
	size_t dcap, bcap;
};

static int collect_start(struct collect *c, bool raw)
{
	*c = (struct collect){ .cap = 64 };
	c->v = malloc(c->cap * sizeof *c->v);
	c->d = raw ? calloc(1, sizeof *c->d) : NULL;
	return c->v && (c->d || !raw) ? 0 : -ENOMEM;
}

static int collect_one(struct collect *c, const struct dirent64 *e)
{
	if (c->d && c->d->n < MAX_LISTING + 2) {
		int err = dents_add(c->d, &c->dcap, &c->bcap, e);
		if (err)
			return err;
	}
	if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
		return 0;
	if (c->n == MAX_LISTING)
		return -E2BIG;
	if (c->n == c->cap) {
		char **w = realloc(c->v, (c->cap *= 2) * sizeof *w);
		if (!w)
			return -ENOMEM;
		c->v = w;
	}
	if (!(c->v[c->n] = strdup(e->d_name)))
		return -ENOMEM;
	c->n++;
	return 0;
}

/* Hand the listing over (raw entries only if every position is usable), or free it on err. */
static int collect_end(struct collect *c, int err, char ***names, size_t *n, struct dents **raw)
{
	if (err) {
		free_names(c->v, c->n);
		dents_free(c->d);
		return err;
	}
	*names = c->v;
	*n = c->n;
	if (c->d && dents_servable(c->d))
		*raw = c->d;
	else
		dents_free(c->d);
	return 0;
}

int fill_listing(int dfd, long fstype, char ***names, size_t *n, struct dents **raw, uint64_t *fsops)
{
	*names = NULL;
	*n = 0;
	if (raw)
		*raw = NULL;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	(*fsops)++;
	if (fd < 0)
		return -errno;
	/* ext4 and f2fs directories may fold case: then "LIBX.SO" is found as "libx.so". */
	if (fstype == 0xEF53 || fstype == (long)0xF2F52010) {
		int fl = 0;
		if (ioctl(fd, FS_IOC_GETFLAGS, &fl) == 0 && (fl & FS_CASEFOLD_FL)) {
			close(fd);
			return -EOPNOTSUPP;
		}
	}
	struct collect c;
	int err = collect_start(&c, raw != NULL);
	char buf[32768];
	while (!err) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
		(*fsops)++;
		if (got < 0) {
			err = -errno;
			break;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got && !err;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			err = collect_one(&c, e);
		}
	}
	close(fd);
	return collect_end(&c, err, names, n, raw);
}

/* Allow-list: only file systems whose answers depend on nothing but their contents.
 * Never here: proc, sysfs, cgroup, debugfs, tracefs, securityfs, bpf, nsfs, devpts,
 * autofs (a look-up must trigger the mount), binfmt_misc, configfs, mqueue, efivarfs,
 * hugetlbfs, pstore, fusectl... */
bool fs_cacheable(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53:       /* ext2/3/4 */
	case 0x58465342:   /* xfs */
	case 0x9123683E:   /* btrfs */
	case 0x01021994:   /* tmpfs */
	case 0x858458F6:   /* ramfs */
	case 0x794C7630:   /* overlayfs */
	case 0x73717368:   /* squashfs */
	case 0xE0F5E1E2:   /* erofs */
	case 0xF2F52010:   /* f2fs */
	case 0x2FC12FC1:   /* zfs */
	case 0x9660:       /* iso9660 */
	case 0x6969:       /* nfs */
	case 0x0BD00BD0:   /* lustre */
	case 0x47504653:   /* gpfs */
	case 0x19830326:   /* beegfs */
	case 0x00C36400:   /* ceph */
	case 0x65735546:   /* fuse */
	case 0x01021997:   /* 9p */
	case 0x7461636F:   /* ocfs2 */
	case 0x20030528:   /* orangefs */
	case 0xFF534D42:   /* cifs */
	case 0xFE534D42:   /* smb2 */
		return true;
	}
	return false;
}

bool fs_listable(long type)
{
	/* SMB servers usually fold case: a listing does not say what a look-up finds. */
	return fs_cacheable(type) && (unsigned long)type != 0xFF534D42 && (unsigned long)type != 0xFE534D42;
}

bool fs_is_local(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: case 0x58465342: case 0x9123683E: case 0x01021994: case 0x858458F6:
	case 0x794C7630: case 0x73717368: case 0xE0F5E1E2: case 0xF2F52010: case 0x2FC12FC1:
	case 0x9660:
		return true;
	}
	return false;
}

int dents_from_records(const void *records, size_t len, char ***names, size_t *n, struct dents **raw)
{
	*names = NULL;
	*n = 0;
	*raw = NULL;
	struct collect c;
	int err = collect_start(&c, true);
	const size_t head = offsetof(struct dirent64, d_name);
	for (size_t off = 0; off < len && !err;) {
		const struct dirent64 *e = (const struct dirent64 *)((const char *)records + off);
		/* Another process wrote these: every record whole, its name ending inside it. */
		if (len - off < head + 1 || e->d_reclen < head + 1 || e->d_reclen > len - off ||
		    strnlen(e->d_name, e->d_reclen - head) == e->d_reclen - head || off % 8) {
			err = -EBADMSG;
			break;
		}
		off += e->d_reclen;
		err = collect_one(&c, e);
	}
	return collect_end(&c, err, names, n, raw);
}
