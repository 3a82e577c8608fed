/* Data objects. memfd copies are filled with sendfile (no mapping in the supervisor, so its
 * resident memory does not grow with the cache), then mode and times made to match the
 * original and the contents sealed against writes, growth and shrinking. Direct objects
 * keep an O_PATH descriptor of the file and reopen it per served open. */
#include "data.h"
#include "arch.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

int data_init(struct data_store *d)
{
	*d = (struct data_store){ 0 };
	d->nbuckets = 1024;
	d->max_file_size = (off_t)1 << 30;
	d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
	if (!d->buckets)
		return -ENOMEM;
	d->proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return d->proc_self_fd < 0 ? -errno : 0;
}

static size_t bucket(const struct data_store *d, dev_t dev, ino_t ino)
{
	return ((uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev) & (d->nbuckets - 1);
}

static int same_version(const struct data_obj *o, const struct stat *st)
{
	return o->size == st->st_size &&
	       o->mtime.tv_sec == st->st_mtim.tv_sec && o->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       o->ctime.tv_sec == st->st_ctim.tv_sec && o->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static int new_memfd(const char *path)
{
	char name[250];
	snprintf(name, sizeof name, "collrun:%s", path);
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)   /* kernel before 6.3 */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	/* vm.memfd_noexec=2 refuses MFD_EXEC with EACCES: that is not the file's own error. */
	return fd >= 0 ? fd : errno == EACCES ? -EPERM : -errno;
}

static int copy_range(int dst, int src, off_t off, off_t end, uint64_t *fsops)
{
	if (lseek(dst, off, SEEK_SET) < 0)
		return -errno;
	while (off < end) {
		ssize_t n = sendfile(dst, src, &off, end - off);
		(*fsops)++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;   /* file shrank under us: don't serve a torn copy */
	}
	return 0;
}

/* Copy only the data extents, so holes stay holes: SEEK_DATA/SEEK_HOLE on a served
 * descriptor answer as on the file, and a sparse file costs no memory for its holes. */
static int copy_all(int dst, int src, off_t size, uint64_t *fsops)
{
	off_t off = 0;
	while (off < size) {
		off_t data = lseek(src, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;   /* only a hole remains */
		if (data < 0)
			return copy_range(dst, src, off, size, fsops);   /* no hole support: copy all */
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		int err = copy_range(dst, src, data, hole, fsops);
		if (err)
			return err;
		off = hole;
	}
	return ftruncate(dst, size) < 0 ? -errno : 0;
}

bool data_fs_is_local(long t)
{
	switch ((unsigned long)t) {
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
		return true;
	}
	return false;
}

static int fill(struct data_store *d, int srcfd, const struct stat *st, bool copy, const char *path,
		struct data_obj *o, uint64_t *fsops)
{
	char name[16];
	snprintf(name, sizeof name, "%d", srcfd);
	/* Reopen for reading: srcfd may be O_PATH, and this open performs the permission
	 * check a native open would. */
	int rfd = openat(d->proc_self_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	(*fsops)++;
	if (rfd < 0)
		return -errno;
	if (!copy) {
		close(rfd);
		o->kind = DATA_DIRECT;
		o->fd = fcntl(srcfd, F_DUPFD_CLOEXEC, 0);
		if (o->fd < 0)
			return -errno;
		snprintf(o->fdname, sizeof o->fdname, "%d", o->fd);
		return 0;
	}
	int mfd = new_memfd(path);
	if (mfd < 0) {
		close(rfd);
		return mfd;
	}
	int err = copy_all(mfd, rfd, st->st_size, fsops);
	close(rfd);
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	if (!err && (fchmod(mfd, st->st_mode & 07777) < 0 || futimens(mfd, times) < 0))
		err = -errno;
	if (!err && fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		err = -errno;
	if (err) {
		close(mfd);
		return err;
	}
	o->kind = DATA_MEMFD;
	o->fd = mfd;
	snprintf(o->fdname, sizeof o->fdname, "%d", mfd);
	return 0;
}

int data_get(struct data_store *d, int srcfd, const struct stat *st, long fstype, const char *path,
	     struct data_obj **out, uint64_t *fsops)
{
	bool copy = d->mode == DATA_ALWAYS_MEMFD || (d->mode == DATA_AUTO && !data_fs_is_local(fstype));
	if (copy && st->st_size > d->max_file_size)
		return -EFBIG;
	size_t b = bucket(d, st->st_dev, st->st_ino);
	for (struct data_obj *o = d->buckets[b]; o; o = o->next) {
		if (o->dev == st->st_dev && o->ino == st->st_ino && same_version(o, st)) {
			*out = o;
			return 0;
		}
	}
	struct data_obj *o = calloc(1, sizeof *o);
	if (!o)
		return -ENOMEM;
	int err = fill(d, srcfd, st, copy, path, o, fsops);
	if (err == -EPERM && copy) {
		/* No memfd may be made executable here (vm.memfd_noexec=2): serve the file
		 * itself rather than nothing. */
		copy = false;
		err = fill(d, srcfd, st, copy, path, o, fsops);
	}
	if (err) {
		free(o);
		return err;
	}
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->size = st->st_size;
	o->mtime = st->st_mtim;
	o->ctime = st->st_ctim;
	/* An older version stays in the chain: descriptors already handed out keep it valid. */
	o->next = d->buckets[b];
	d->buckets[b] = o;
	d->files++;
	if (copy)
		d->bytes += st->st_size;
	*out = o;
	return 0;
}

int data_open(struct data_store *d, const struct data_obj *o, int flags)
{
	int fd = openat(d->proc_self_fd, o->fdname, O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & O_NONBLOCK));
	return fd < 0 ? -errno : fd;
}

void data_free(struct data_store *d)
{
	for (size_t i = 0; i < d->nbuckets; i++) {
		for (struct data_obj *o = d->buckets[i], *n; o; o = n) {
			n = o->next;
			close(o->fd);
			free(o);
		}
	}
	free(d->buckets);
	if (d->proc_self_fd >= 0)
		close(d->proc_self_fd);
	*d = (struct data_store){ .proc_self_fd = -1 };
}

int inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
	if (inode_set_has(s, dev, ino))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *p = realloc(s->items, cap * sizeof *s->items);
		if (!p)
			return -ENOMEM;
		s->items = p;
		s->cap = cap;
	}
	s->items[s->n].dev = dev;
	s->items[s->n].ino = ino;
	s->n++;
	return 0;
}

int inode_set_has(const struct inode_set *s, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].dev == dev && s->items[i].ino == ino)
			return 1;
	return 0;
}
