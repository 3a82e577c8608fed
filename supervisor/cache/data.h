/* Data objects: one per real file (dev, ino). A served open gets a fresh open file
 * description of it, so offsets are never shared between opens, and the loader's
 * (st_dev, st_ino) identity check sees one object per file. Two kinds:
 *  - MEMFD: a sealed memfd holding the file's bytes, read once from the file system. For
 *    shared and network file systems (NFS, Lustre, GPFS, FUSE...), where every open and
 *    read of every rank would otherwise reach a server.
 *  - DIRECT: the file itself, reopened through a kept O_PATH descriptor (no path walk).
 *    For local disk and memory file systems, whose page cache already is the node's one
 *    in-memory copy: no second copy, and fstat, /proc/self/fd and later writes all look
 *    exactly as natively. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct data_obj {
	struct data_obj *next;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	enum data_kind { DATA_MEMFD, DATA_DIRECT } kind;
	int fd;            /* the memfd, or an O_PATH descriptor of the file */
	char fdname[16];   /* decimal fd number, for openat(/proc/self/fd, ...) */
};

/* --data: which kind a file gets. */
enum data_mode { DATA_AUTO, DATA_ALWAYS_MEMFD, DATA_ALWAYS_DIRECT };

struct data_store {
	struct data_obj **buckets;
	size_t nbuckets;
	uint64_t files, bytes;
	int proc_self_fd;       /* O_PATH dirfd of /proc/self/fd */
	off_t max_file_size;    /* larger files are passed through (memfd copies only) */
	enum data_mode mode;
};

int data_init(struct data_store *d);
/* The object for the regular file open (any mode, O_PATH included) at srcfd whose fstat is
 * st, on a file system of type fstype (statfs f_type); filled on first use. *fsops counts
 * file-system operations made. -EFBIG if over max_file_size, -EACCES if not readable,
 * other -errno on failure. */
int data_get(struct data_store *d, int srcfd, const struct stat *st, long fstype, const char *path,
	     struct data_obj **out, uint64_t *fsops);
/* Is this a local disk or memory file system (DIRECT under --data=auto)? */
bool data_fs_is_local(long fstype);
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
