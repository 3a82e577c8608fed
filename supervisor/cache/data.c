/* File copies. Filled with sendfile (no mapping in the supervisor, so its resident memory
 * does not grow with the cache), then mode and times made to match the original and the
 * contents sealed against writes, growth and shrinking. A copy is checked against the
 * file's stat after copying: a file rewritten while we copied is never sealed torn. */
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
	d->max_file_size = (off_t)64 << 20;
	d->max_bytes = (uint64_t)4 << 30;
	d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
	if (!d->buckets)
		return -ENOMEM;
	d->proc_self_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return d->proc_self_fd < 0 ? -errno : 0;
}

int data_after_fork(struct data_store *d)
{
	int fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (d->proc_self_fd >= 0)
		close(d->proc_self_fd);
	d->proc_self_fd = fd;
	return 0;
}

bool data_wants_copy(const struct data_store *d, bool local_fs)
{
	return d->mode == DATA_ALWAYS_MEMFD || (d->mode == DATA_AUTO && !local_fs);
}

static size_t bucket(const struct data_store *d, dev_t dev, ino_t ino)
{
	return ((uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev) & (d->nbuckets - 1);
}

static bool same_version(const struct data_obj *o, const struct stat *st)
{
	return o->mtime.tv_sec == st->st_mtim.tv_sec && o->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       o->ctime.tv_sec == st->st_ctim.tv_sec && o->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static void lru_unlink(struct data_store *d, struct data_obj *o)
{
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else if (d->lru_head == o)
		d->lru_head = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else if (d->lru_tail == o)
		d->lru_tail = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
}

static void lru_front(struct data_store *d, struct data_obj *o)
{
	o->lru_next = d->lru_head;
	if (d->lru_head)
		d->lru_head->lru_prev = o;
	d->lru_head = o;
	if (!d->lru_tail)
		d->lru_tail = o;
}

struct data_obj *data_find(struct data_store *d, const struct stat *st)
{
	for (struct data_obj *o = d->buckets[bucket(d, st->st_dev, st->st_ino)]; o; o = o->next)
		if (o->dev == st->st_dev && o->ino == st->st_ino && same_version(o, st)) {
			if (d->lru_head != o) {
				lru_unlink(d, o);
				lru_front(d, o);
			}
			return o;
		}
	return NULL;
}

static int new_memfd(const char *name)
{
	char buf[250];
	snprintf(buf, sizeof buf, "collrun:%s", name);
	int fd = memfd_create(buf, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
	if (fd < 0 && errno == EINVAL)   /* kernel before 6.3 */
		fd = memfd_create(buf, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	/* vm.memfd_noexec=2 refuses MFD_EXEC with EACCES: that is not the file's own error. */
	return fd >= 0 ? fd : errno == EACCES ? -EPERM : -errno;
}

/* Copy [off, end) with sendfile (no bytes through our memory). -errno, or bytes copied. */
static off_t copy_range(int dst, int src, off_t off, off_t end, uint64_t *fsops)
{
	off_t start = off;
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
			return -EAGAIN;   /* shorter than it said: it changed, or lies */
	}
	return off - start;
}

/* Whatever lies beyond off, read as a program reads it: read(2), not sendfile, which stops
 * at the size the inode reports (0 for generated files on FUSE and /proc-like file
 * systems, whose reads go to the server whatever the size says). -errno, or bytes. */
static off_t copy_tail(int dst, int src, off_t off, off_t limit, uint64_t *fsops)
{
	char buf[65536];
	off_t start = off;
	for (;;) {
		ssize_t n = pread(src, buf, sizeof buf, off);
		(*fsops)++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return off - start;
		if (off + n > limit)
			return -EFBIG;
		for (ssize_t w = 0; w < n;) {
			ssize_t k = pwrite(dst, buf + w, n - w, off + w);
			if (k < 0)
				return -errno;
			w += k;
		}
		off += n;
	}
}

/* The data extents up to size, so holes stay holes (SEEK_DATA/SEEK_HOLE on a served
 * descriptor answer as on the file, and a sparse file costs no memory for its holes);
 * then whatever lies beyond size (a file system that reports 0 for generated files). */
static int copy_all(int dst, int src, off_t size, off_t limit, off_t *copied, uint64_t *fsops)
{
	off_t off = 0;
	while (off < size) {
		off_t data = lseek(src, off, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;   /* only a hole remains */
		if (data < 0) {   /* no hole support: copy it all */
			off_t r = copy_range(dst, src, off, size, fsops);
			if (r < 0)
				return r;
			break;
		}
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		off_t r = copy_range(dst, src, data, hole, fsops);
		if (r < 0)
			return r;
		off = hole;
	}
	if (ftruncate(dst, size) < 0)
		return -errno;
	off_t r = copy_tail(dst, src, size, limit, fsops);
	if (r < 0)
		return r;
	*copied = size + r;
	return 0;
}

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec && a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

static bool newer(const struct timespec *t, const struct timespec *since)
{
	return t->tv_sec > since->tv_sec || (t->tv_sec == since->tv_sec && t->tv_nsec >= since->tv_nsec);
}

/* A filled memfd (unless err): the file's mode and times, sealed, as a data_obj of size
 * bytes. The memfd is ours: if its owner bits do not let us read it, every served open (a
 * reopen through /proc/self/fd) would fail, unless we may override permissions. Such a copy
 * shows owner read permission in fstat (listed in collrun(1)). Closes mfd on failure. */
static int finish_copy(int mfd, const struct stat *st, off_t size, int err, struct data_obj **out)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	mode_t mode = st->st_mode & 07777;
	if (!(mode & S_IRUSR) && geteuid() != 0)
		mode |= S_IRUSR;
	if (!err && (fchmod(mfd, mode) < 0 || futimens(mfd, times) < 0))
		err = -errno;
	if (!err && fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
		err = -errno;
	struct data_obj *o = err ? NULL : calloc(1, sizeof *o);
	if (!o) {
		close(mfd);
		return err ? err : -ENOMEM;
	}
	*o = (struct data_obj){ .dev = st->st_dev, .ino = st->st_ino, .size = size, .mtime = st->st_mtim,
				.ctime = st->st_ctim, .fd = mfd };
	snprintf(o->fdname, sizeof o->fdname, "%d", mfd);
	*out = o;
	return 0;
}

int data_copy(struct data_store *d, int srcfd, const struct stat *st, const char *name,
	      const struct timespec *since, struct data_obj **out, uint64_t *fsops)
{
	if (st->st_size > d->max_file_size)
		return -EFBIG;
	char fdname[16];
	snprintf(fdname, sizeof fdname, "%d", srcfd);
	/* Reopen for reading: srcfd may be O_PATH, and this open performs the permission
	 * check a native open would. */
	int rfd = openat(d->proc_self_fd, fdname, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	(*fsops)++;
	if (rfd < 0)
		return -errno;
	int mfd = new_memfd(name);
	if (mfd < 0) {
		close(rfd);
		return mfd;
	}
	off_t copied = 0;
	struct stat after;
	int err = copy_all(mfd, rfd, st->st_size, d->max_file_size + 1, &copied, fsops);
	if (!err && fstat(rfd, &after) < 0)
		err = -errno;
	(*fsops)++;
	if (!err && (!same_stat(st, &after) || newer(&after.st_ctim, since)))
		err = -EAGAIN;   /* rewritten while we copied */
	close(rfd);
	return finish_copy(mfd, st, copied, err, out);
}

int data_from_bytes(struct data_store *d, const struct stat *st, const char *name, const void *bytes,
		    size_t len, struct data_obj **out)
{
	if ((off_t)len > d->max_file_size)
		return -EFBIG;
	int mfd = new_memfd(name);
	if (mfd < 0)
		return mfd;
	int err = 0;
	for (size_t off = 0; off < len && !err;) {
		ssize_t k = pwrite(mfd, (const char *)bytes + off, len - off, off);
		if (k < 0 && errno != EINTR)
			err = -errno;
		else if (k > 0)
			off += k;
	}
	return finish_copy(mfd, st, (off_t)len, err, out);
}

void data_release(struct data_obj *o)
{
	if (o) {
		close(o->fd);
		free(o);
	}
}

static void unlink_obj(struct data_store *d, struct data_obj *o)
{
	for (struct data_obj **p = &d->buckets[bucket(d, o->dev, o->ino)]; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			break;
		}
	lru_unlink(d, o);
	d->files--;
	d->bytes -= o->size;
	d->nobjs--;
	data_release(o);
}

struct data_obj *data_insert(struct data_store *d, struct data_obj *o)
{
	struct stat st = { .st_dev = o->dev, .st_ino = o->ino, .st_mtim = o->mtime, .st_ctim = o->ctime };
	struct data_obj *have = data_find(d, &st);
	if (have) {
		data_release(o);
		return have;
	}
	data_drop(d, o->dev, o->ino);   /* older versions: handed-out descriptors keep theirs */
	if ((uint64_t)o->size > d->max_bytes)
		return NULL;   /* bigger than the whole cache: serve it once, keep nothing */
	while (d->lru_tail && d->bytes + o->size > d->max_bytes) {
		unlink_obj(d, d->lru_tail);
		d->evicted++;
	}
	size_t b = bucket(d, o->dev, o->ino);
	o->next = d->buckets[b];
	d->buckets[b] = o;
	lru_front(d, o);
	d->files++;
	d->bytes += o->size;
	d->nobjs++;
	return o;
}

void data_drop(struct data_store *d, dev_t dev, ino_t ino)
{
	for (struct data_obj *o = d->buckets[bucket(d, dev, ino)], *next; o; o = next) {
		next = o->next;
		if (o->dev == dev && o->ino == ino)
			unlink_obj(d, o);
	}
}

int data_open(struct data_store *d, const struct data_obj *o, int flags)
{
	int fd = openat(d->proc_self_fd, o->fdname, O_RDONLY | O_CLOEXEC | O_NOCTTY | (flags & O_NONBLOCK));
	return fd < 0 ? -errno : fd;
}

void data_free(struct data_store *d)
{
	for (size_t i = 0; d->buckets && i < d->nbuckets; i++)
		for (struct data_obj *o = d->buckets[i], *n; o; o = n) {
			n = o->next;
			data_release(o);
		}
	free(d->buckets);
	if (d->proc_self_fd >= 0)
		close(d->proc_self_fd);
	*d = (struct data_store){ .proc_self_fd = -1 };
}

static size_t iset_slot(const struct inode_set *s, dev_t dev, ino_t ino)
{
	return ((uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 31) & (s->cap - 1);
}

bool inode_set_has(const struct inode_set *s, dev_t dev, ino_t ino)
{
	if (!s->cap)
		return false;
	for (size_t i = iset_slot(s, dev, ino);; i = (i + 1) & (s->cap - 1)) {
		if (s->items[i].ino == 0 && s->items[i].dev == 0)
			return false;
		if (s->items[i].dev == dev && s->items[i].ino == ino)
			return true;
	}
}

int inode_set_add(struct inode_set *s, dev_t dev, ino_t ino)
{
	if (inode_set_has(s, dev, ino))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		struct inode_set bigger = { .cap = s->cap ? s->cap * 2 : 64 };
		bigger.items = calloc(bigger.cap, sizeof *bigger.items);
		if (!bigger.items)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->items[i].ino || s->items[i].dev)
				inode_set_add(&bigger, s->items[i].dev, s->items[i].ino);
		free(s->items);
		*s = bigger;
	}
	size_t i = iset_slot(s, dev, ino);
	while (s->items[i].ino || s->items[i].dev)
		i = (i + 1) & (s->cap - 1);
	s->items[i].dev = dev;
	s->items[i].ino = ino;
	s->n++;
	return 0;
}
