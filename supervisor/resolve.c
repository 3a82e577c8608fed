/* Joining a directory's path and a relative name into the absolute form the policy decides
 * on (and -v prints). Never walked: walks start from the caller's own descriptors. */
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
