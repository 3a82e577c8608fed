/* The rendezvous directory and the election's lock and socket (rendezvous.h). */
#include "rendezvous.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int check_stat(const struct stat *st, uid_t uid)
{
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISDIR(st->st_mode))
		return -ENOTDIR;
	if (st->st_uid != uid)
		return -EPERM;
	if (st->st_mode & 077)
		return -EACCES;
	return 0;
}

int rundir_check(const char *path, uid_t uid)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	return check_stat(&st, uid);
}

int rundir_check_fd(int fd, uid_t uid)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return check_stat(&st, uid);
}

int rundir_pick(jobid_getenv_fn env, uid_t uid, char *out, size_t size)
{
	const char *v = env("COLLRUN_RUNTIME_DIR");
	int n;
	if (v && v[0]) {
		n = snprintf(out, size, "%s", v);
	} else if ((v = env("XDG_RUNTIME_DIR")) && v[0] == '/' && rundir_check(v, uid) == 0) {
		n = snprintf(out, size, "%s/collrun", v);
	} else {
		struct stat st;
		/* /dev/shm: memory, and cleaned at boot, like the runtime directory. */
		bool shm = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode);
		n = snprintf(out, size, "%s/collrun-%u", shm ? "/dev/shm" : "/tmp", (unsigned)uid);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int rundir_open(const char *path, uid_t uid)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	int err = rundir_check(path, uid);   /* names a link as such, before open follows none */
	if (err)
		return err;
	int fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((err = rundir_check_fd(fd, uid))) {   /* what we hold is what we checked */
		close(fd);
		return err;
	}
	return fd;
}

/* FNV-1a, 64 bits: a short file name for a key of any length. */
static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int rendezvous_init(struct rendezvous *r, const char *dir, const char *key)
{
	*r = (struct rendezvous){ .dirfd = -1 };
	struct sockaddr_un a;
	uint64_t h = hash(key);
	if ((size_t)snprintf(r->key, sizeof r->key, "%s", key) >= sizeof r->key ||
	    (size_t)snprintf(r->dir, sizeof r->dir, "%s", dir) >= sizeof r->dir ||
	    strlen(dir) + 1 + 4 + 16 + 5 >= sizeof a.sun_path)
		return -ENAMETOOLONG;
	snprintf(r->sock_name, sizeof r->sock_name, "job-%016llx.sock", (unsigned long long)h);
	snprintf(r->lock_name, sizeof r->lock_name, "job-%016llx.lock", (unsigned long long)h);
	int fd = rundir_open(dir, getuid());
	if (fd < 0)
		return fd;
	r->dirfd = fd;
	return 0;
}

void rendezvous_close(struct rendezvous *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

int rendezvous_lock(const struct rendezvous *r)
{
	/* O_PATH cannot be an openat base for creating: reopen the directory by its fd. */
	char base[64];
	snprintf(base, sizeof base, "/proc/self/fd/%d", r->dirfd);
	int dir = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	for (int tries = 0; tries < 1000; tries++) {
		int fd = openat(dir, r->lock_name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			int err = -errno;
			close(dir);
			return err;
		}
		while (flock(fd, LOCK_EX) < 0)
			if (errno != EINTR) {
				int err = -errno;
				close(fd);
				close(dir);
				return err;
			}
		/* A leaving supervisor removes the file while holding the lock: ours is then a
		 * lock on a file nobody else will open. Hold it only if it is still the one named. */
		struct stat a, b;
		if (fstat(fd, &a) == 0 && fstatat(dir, r->lock_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			close(dir);
			return fd;
		}
		close(fd);
	}
	close(dir);
	return -EAGAIN;
}

void rendezvous_unlock(int lockfd)
{
	if (lockfd < 0)
		return;
	flock(lockfd, LOCK_UN);
	close(lockfd);
}

static void unlink_in(const struct rendezvous *r, const char *name)
{
	char path[sizeof r->dir + sizeof r->sock_name + 1];
	snprintf(path, sizeof path, "%s/%s", r->dir, name);
	/* The directory was checked private: nobody else can swap the name under us. */
	unlink(path);
}

void rendezvous_unlock_remove(const struct rendezvous *r, int lockfd)
{
	unlink_in(r, r->lock_name);
	rendezvous_unlock(lockfd);
}

void rendezvous_remove_socket(const struct rendezvous *r)
{
	unlink_in(r, r->sock_name);
}

static void address(const struct rendezvous *r, struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	/* rendezvous_init made sure it fits. */
	char path[sizeof r->dir + sizeof r->sock_name + 1];
	snprintf(path, sizeof path, "%s/%s", r->dir, r->sock_name);
	memcpy(a->sun_path, path, strnlen(path, sizeof a->sun_path - 1));
}

int rendezvous_connect(const struct rendezvous *r)
{
	struct sockaddr_un a;
	address(r, &a);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc;
	while ((rc = connect(fd, (struct sockaddr *)&a, sizeof a)) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int rendezvous_listen(const struct rendezvous *r)
{
	struct sockaddr_un a;
	address(r, &a);
	rendezvous_remove_socket(r);   /* one left by a supervisor that was killed */
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0) {
		int err = -errno;
		close(fd);
		rendezvous_remove_socket(r);
		return err;
	}
	return fd;
}
