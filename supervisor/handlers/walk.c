/* openat2(RESOLVE_NO_MAGICLINKS) refuses magic links with ELOOP; a plain open of the same
 * path then tells a magic link (it succeeds) from a real symlink loop (ELOOP again).
 * fstatfs of the result spots /proc, /sys and friends reached through ordinary symlinks.
 * For a failed walk, the deepest ancestor that does resolve must be plain too, or an
 * ENOENT found under /proc/self (our pid, not the caller's) could be cached. */
#include "handlers/walk.h"
#include "arch.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static bool pseudo_fs(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case CGROUP_SUPER_MAGIC: case CGROUP2_SUPER_MAGIC:
	case DEBUGFS_MAGIC: case TRACEFS_MAGIC: case DEVPTS_SUPER_MAGIC: case SECURITYFS_MAGIC:
	case BPF_FS_MAGIC: case NSFS_MAGIC:
		return true;
	}
	return false;
}

/* statfs type per device: one statfs per file system, not per file (on a network file
 * system every statfs is a round trip to a server). */
static struct { dev_t dev; long type; } fs_types[64];
static size_t n_fs_types;

void walk_forget(void)
{
	n_fs_types = 0;
}

static int fs_type(int fd, dev_t dev, long *type, uint64_t *fsops)
{
	for (size_t i = 0; i < n_fs_types; i++)
		if (fs_types[i].dev == dev)
			return *type = fs_types[i].type, 0;
	struct statfs sf;
	(*fsops)++;
	if (fstatfs(fd, &sf) < 0)
		return -errno;
	if (n_fs_types < sizeof fs_types / sizeof *fs_types)
		fs_types[n_fs_types++] = (typeof(fs_types[0])){ dev, sf.f_type };
	*type = sf.f_type;
	return 0;
}

/* >= 0: fd; WALK_NOT_PLAIN; or -errno of the walk. */
static int open_plain(const char *path, bool nofollow, struct stat *st, long *type, uint64_t *fsops)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
				.resolve = RESOLVE_NO_MAGICLINKS };
	int fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
	(*fsops)++;
	if (fd < 0) {
		int err = errno;
		if (err != ELOOP)
			return -err;
		fd = open(path, how.flags);
		(*fsops)++;
		if (fd < 0)
			return -errno;
		close(fd);
		return WALK_NOT_PLAIN;   /* only a magic link made openat2 refuse */
	}
	(*fsops)++;
	if (fstat(fd, st) < 0 || fs_type(fd, st->st_dev, type, fsops) < 0 || pseudo_fs(*type)) {
		close(fd);
		return WALK_NOT_PLAIN;
	}
	return fd;
}

int walk_path(const char *path, bool nofollow, struct stat *st, long *fstype, uint64_t *fsops)
{
	long type;
	int r = open_plain(path, nofollow, st, fstype ? fstype : &type, fsops);
	if (r >= 0 || r == WALK_NOT_PLAIN)
		return r;
	char up[PATH_MAX * 2];
	size_t len = strlen(path);
	if (len >= sizeof up)
		return WALK_NOT_PLAIN;
	memcpy(up, path, len + 1);
	for (;;) {
		char *slash = strrchr(up, '/');
		if (!slash || slash == up)
			return r;   /* reached "/": everything above the failure is plain */
		*slash = '\0';
		struct stat ust;
		int a = open_plain(up, false, &ust, &type, fsops);
		if (a == WALK_NOT_PLAIN)
			return a;
		if (a >= 0) {
			close(a);
			return r;
		}
	}
}
