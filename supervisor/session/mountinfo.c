/* /proc/self/mountinfo parsing (mountinfo.h). */
#include "mountinfo.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fields are escaped as \ooo (space, tab, newline, backslash): decode in place. */
static char *unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return strdup(s);
}

void mi_free(struct mi_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].root);
		free(m[i].point);
		free(m[i].fstype);
		free(m[i].source);
	}
	free(m);
}

int mi_read(struct mi_mount **out, size_t *n)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	size_t cap = 0, k = 0;
	struct mi_mount *v = NULL;
	char *line = NULL;
	size_t lcap = 0;
	int err = 0;
	while (getline(&line, &lcap, f) > 0) {
		/* id parent major:minor root point options [optional...] - fstype source super */
		char *save = NULL, *field[6];
		unsigned long long id;
		unsigned ma, mi;
		char *t = strtok_r(line, " \n", &save);
		if (!t || sscanf(t, "%llu", &id) != 1 || !strtok_r(NULL, " \n", &save) ||
		    !(t = strtok_r(NULL, " \n", &save)) || sscanf(t, "%u:%u", &ma, &mi) != 2)
			continue;
		field[0] = strtok_r(NULL, " \n", &save);   /* root */
		field[1] = strtok_r(NULL, " \n", &save);   /* point */
		while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-") != 0)
			;
		field[2] = t ? strtok_r(NULL, " \n", &save) : NULL;   /* fstype */
		field[3] = field[2] ? strtok_r(NULL, " \n", &save) : NULL;   /* source */
		if (!field[0] || !field[1] || !field[2] || !field[3])
			continue;
		if (k == cap) {
			struct mi_mount *w = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
			if (!w) {
				err = -ENOMEM;
				break;
			}
			v = w;
		}
		v[k] = (struct mi_mount){ id, ma, mi, unescape(field[0]), unescape(field[1]), unescape(field[2]),
					  unescape(field[3]) };
		k++;
		if (!v[k - 1].root || !v[k - 1].point || !v[k - 1].fstype || !v[k - 1].source) {
			err = -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	if (err) {
		mi_free(v, k);
		return err;
	}
	*out = v;
	*n = k;
	return 0;
}

bool mi_shared_fstype(const char *t)
{
	static const char *const shared[] = { "nfs", "nfs4", "lustre", "gpfs", "beegfs", "ceph", "cifs",
		"smb3", "glusterfs", "orangefs", "pvfs2", "panfs", "wekafs", "9p", "afs", "fuse", "fuseblk" };
	if (strncmp(t, "fuse.", 5) == 0)
		return true;
	for (size_t i = 0; i < sizeof shared / sizeof *shared; i++)
		if (strcmp(t, shared[i]) == 0)
			return true;
	return false;
}
