/* Supervisor state and the two safety switches: forgetting all paths when the job may have
 * changed the name space, and checking callers once the job has changed credentials,
 * root or mounts (until then every caller inherited ours, so no check is needed). */
#include "supervisor.h"
#include "log.h"
#include "procfs.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct supervisor sup = { .listener = -1 };

/* The lines of /proc/PID/status that decide what a file-system call may see. */
static int read_creds(pid_t pid, char *out, size_t size)
{
	char buf[4096];
	if (proc_read(pid, "status", buf, sizeof buf) <= 0)
		return -1;
	size_t used = 0;
	out[0] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "Uid:", 4) && strncmp(line, "Gid:", 4) &&
		    strncmp(line, "Groups:", 7) && strncmp(line, "CapEff:", 7))
			continue;
		int w = snprintf(out + used, size - used, "%s\n", line);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += w;
	}
	return 0;
}

static ino_t mnt_ns_of(const char *nspath)
{
	struct stat st;
	return stat(nspath, &st) == 0 ? st.st_ino : 0;
}

int supervisor_init(struct supervisor *s)
{
	int err = cache_init(&s->cache);
	if (!err)
		err = data_init(&s->data);
	if (err)
		return err;
	if (read_creds(getpid(), s->creds, sizeof s->creds) < 0)
		return -EIO;
	s->mnt_ns = mnt_ns_of("/proc/self/ns/mnt");
	clock_gettime(CLOCK_REALTIME_COARSE, &s->start);
	return 0;
}

bool caller_is_like_us(pid_t pid)
{
	if (sup.creds_changed) {
		char creds[sizeof sup.creds];
		if (read_creds(pid, creds, sizeof creds) < 0 || strcmp(creds, sup.creds) != 0)
			return false;
	}
	if (sup.ns_changed) {
		char path[64], root[8];
		snprintf(path, sizeof path, "/proc/%d/root", (int)pid);
		ssize_t n = readlink(path, root, sizeof root);
		if (n != 1 || root[0] != '/')
			return false;
		snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
		if (mnt_ns_of(path) != sup.mnt_ns)
			return false;
	}
	return true;
}

bool changes_during_job(const struct stat *st)
{
	if (st->st_ctim.tv_sec > sup.start.tv_sec ||
	    (st->st_ctim.tv_sec == sup.start.tv_sec && st->st_ctim.tv_nsec >= sup.start.tv_nsec))
		return true;
	return S_ISREG(st->st_mode) && inode_set_has(&sup.written, st->st_dev, st->st_ino);
}

void note_created(const char *path)
{
	if (sup.ncreated == (int)(sizeof sup.created / sizeof *sup.created)) {
		settle_created();
		if (sup.ncreated == (int)(sizeof sup.created / sizeof *sup.created)) {
			free(sup.created[0].path);   /* oldest: the ctime rule still guards it */
			memmove(sup.created, sup.created + 1, (sup.ncreated - 1) * sizeof *sup.created);
			sup.ncreated--;
		}
	}
	char *copy = strdup(path);
	if (copy)
		sup.created[sup.ncreated++] = (typeof(sup.created[0])){ copy, 0 };
}

void settle_created(void)
{
	for (int i = 0; i < sup.ncreated;) {
		struct stat st;
		bool found = stat(sup.created[i].path, &st) == 0;
		if (found)
			inode_set_add(&sup.written, st.st_dev, st.st_ino);
		/* The creating call runs after we answer it: give it a few more calls to land. */
		if (found || ++sup.created[i].tries > 64) {
			free(sup.created[i].path);
			sup.created[i] = sup.created[--sup.ncreated];
		} else {
			i++;
		}
	}
}

void invalidate_all(const char *why)
{
	if (sup.cache.nentries == 0)
		return;
	log_trace(2, "forgetting %zu cached paths (%s)", sup.cache.nentries, why);
	cache_flush(&sup.cache);
}
