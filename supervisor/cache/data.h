/* Data objects: one sealed memfd per real file (dev, ino) holding its bytes. A served open
 * gets a fresh open file description of it, so offsets are never shared between opens,
 * and the loader's (st_dev, st_ino) identity check still sees one object per file. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct data_obj {
	struct data_obj *next;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int memfd;
	char fdname[16];   /* decimal memfd number, for openat(/proc/self/fd, ...) */
};

struct data_store {
	struct data_obj **buckets;
	size_t nbuckets;
	uint64_t files, bytes;
	int proc_self_fd;       /* O_PATH dirfd of /proc/self/fd */
	off_t max_file_size;    /* larger files are passed through */
};

int data_init(struct data_store *d);
/* The object for the regular file open (any mode, O_PATH included) at srcfd whose fstat is
 * st; filled from the file on first use. *fsops counts file-system operations made.
 * -EFBIG if over max_file_size, -EACCES if not readable, other -errno on failure. */
int data_get(struct data_store *d, int srcfd, const struct stat *st, const char *path,
	     struct data_obj **out, uint64_t *fsops);
/* A new descriptor (own offset) reading the object; flags may carry O_NONBLOCK. */
int data_open(struct data_store *d, const struct data_obj *o, int flags);
void data_free(struct data_store *d);

/* Inodes the job has opened for writing: never cached while the job runs. */
struct inode_set {
	struct { dev_t dev; ino_t ino; } *items;
	size_t n, cap;
};
int inode_set_add(struct inode_set *s, dev_t dev, ino_t ino);
int inode_set_has(const struct inode_set *s, dev_t dev, ino_t ino);
