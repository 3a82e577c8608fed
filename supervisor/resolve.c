/* Relative paths are resolved through /proc/PID/{cwd,fd/N}: the link text names the
 * directory in our mount namespace (the caller shares it, or collrun passes its calls).
 * Anything that is not plainly an existing directory path -- a deleted directory, a pipe,
 * one of our memfds -- is refused so the call goes to the kernel. */
#include "resolve.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int path_join(const char *base, const char *rel, char *out, size_t size)
{
	size_t bl = strlen(base), rl = strlen(rel);
	if (rel[0] == '/') {
		if (rl + 1 > size)
			return -ENAMETOOLONG;
		memcpy(out, rel, rl + 1);
		return 0;
	}
	int slash = !(bl > 0 && base[bl - 1] == '/');
	if (bl + slash + rl + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, base, bl);
	if (slash)
		out[bl] = '/';
	memcpy(out + bl + slash, rel, rl + 1);
	return 0;
}

static int is_dir(const char *magic_link)
{
	struct stat st;
	return stat(magic_link, &st) == 0 && S_ISDIR(st.st_mode);
}

int tracee_dir_path(pid_t pid, int dirfd, char *out, size_t size)
{
	char link[64];
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof link, "/proc/%d/cwd", (int)pid);
	else if (dirfd >= 0)
		snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, dirfd);
	else
		return -EBADF;
	ssize_t n = readlink(link, out, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	out[n] = '\0';
	if (out[0] != '/' || strncmp(out, "/memfd:", 7) == 0)
		return -ENOTDIR;
	static const char deleted[] = " (deleted)";
	if ((size_t)n >= sizeof deleted - 1 && strcmp(out + n - (sizeof deleted - 1), deleted) == 0)
		return -ENOENT;
	/* An fd's link text reads like a path for files and O_PATH symlinks too, but only a
	 * directory resolves a relative name the way the joined string would. */
	if (dirfd != AT_FDCWD && !is_dir(link))
		return -ENOTDIR;
	return 0;
}
