/* File copies: one sealed memfd per version of a real file (dev, ino, size, mtime, ctime),
 * for files on shared and network file systems (NFS, Lustre, GPFS, FUSE...), where every
 * open and read of every rank would otherwise reach a server. A served open gets a fresh
 * open file description of the memfd, so offsets are never shared between opens, and the
 * loader's (st_dev, st_ino) identity check sees one object per file. Files on local file
 * systems are not copied: their page cache already is the node's one copy, and the kernel
 * opens them itself (exactly as natively).
 * Bounded: total bytes (--max-cache, least recently served copies go first) and size per
 * file (--max-file-size, larger files are passed). Copies handed out stay valid after
 * eviction: the caller's descriptor holds its own reference. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct data_obj {
	struct data_obj *next;             /* hash chain */
	struct data_obj *lru_prev, *lru_next;
	dev_t dev;
	ino_t ino;
	off_t size;                        /* bytes copied (what the memfd holds) */
	struct timespec mtime, ctime;      /* version of the original */
	int fd;                            /* the memfd */
	char fdname[16];                   /* decimal fd number, for reopening */
};

/* --data: which files are copied. */
enum data_mode { DATA_AUTO, DATA_ALWAYS_MEMFD, DATA_ALWAYS_DIRECT };

struct data_store {
	struct data_obj **buckets;
	size_t nbuckets, nobjs;
	struct data_obj *lru_head, *lru_tail;
	uint64_t files, bytes;    /* copies held now */
	uint64_t evicted;
	int proc_self_fd;         /* O_PATH dirfd of /proc/self/fd (reopened after fork) */
	off_t max_file_size;
	uint64_t max_bytes;
	enum data_mode mode;
};

int data_init(struct data_store *d);
/* After fork: this process's own /proc/self/fd. */
int data_after_fork(struct data_store *d);
/* Should a file on this file system be copied (else the kernel opens it)? */
bool data_wants_copy(const struct data_store *d, bool local_fs);

/* Node lock held: the copy of exactly this version, or NULL. Touches it (LRU). */
struct data_obj *data_find(struct data_store *d, const struct stat *st);
/* No lock: copy the file open (any mode, O_PATH included) at srcfd, whose stat before the
 * copy was st. Reopens it for reading (the permission check a native open makes), copies
 * until end of file whatever st_size says, keeps holes, and checks nothing changed while
 * copying (and that it had not changed since `since`). *out is not in the store yet.
 * -EFBIG over max_file_size, -EACCES not readable, -EAGAIN changed under us, -EPERM cannot
 * be served from a copy here (no executable memfd allowed, or owner cannot read), other
 * -errno. *fsops counts file-system operations. */
int data_copy(struct data_store *d, int srcfd, const struct stat *st, const char *name,
	      const struct timespec *since, struct data_obj **out, uint64_t *fsops);
/* No lock: a copy made from bytes read elsewhere (the session root), for the file whose
 * stat is st: as data_copy's result, without reading any file. 0 or -errno. */
int data_from_bytes(struct data_store *d, const struct stat *st, const char *name, const void *bytes,
		    size_t len, struct data_obj **out);
/* Node lock held: add a copy (dropping older versions of the file, and least recently
 * served copies beyond max_bytes). Returns the stored object (an equal one may exist), or
 * NULL if o alone is bigger than max_bytes (o is then still the caller's). */
struct data_obj *data_insert(struct data_store *d, struct data_obj *o);
void data_release(struct data_obj *o);   /* an object data_insert did not take */
/* Node lock held: forget every copy of (dev, ino): the job writes it. */
void data_drop(struct data_store *d, dev_t dev, ino_t ino);
/* Node lock held: a new descriptor (own offset) reading the copy; flags may carry O_NONBLOCK. */
int data_open(struct data_store *d, const struct data_obj *o, int flags);
void data_free(struct data_store *d);

/* Inodes the job has opened for writing: never cached while the job runs. Hash set. */
struct inode_set {
	struct { dev_t dev; ino_t ino; } *items;
	size_t n, cap;
};
int inode_set_add(struct inode_set *s, dev_t dev, ino_t ino);
bool inode_set_has(const struct inode_set *s, dev_t dev, ino_t ino);
