/* Job state, and the checks that keep the cache from answering a caller who sees files
 * differently from us: credentials (ids, groups, capabilities), user namespace and LSM
 * label, compared once the job has changed any of them (until then every caller inherited
 * ours); the ctime rule; and the record of mutations the kernel may still be running. */
#include "supervisor.h"
#include "log.h"
#include "node.h"
#include "procfs.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct job sup = { .listener = -1 };

/* What decides what a file-system call may see, as one comparable string: the ids, groups
 * and capability lines of /proc/PID/status, the user namespace (a root in another user
 * namespace has no rights over our files, and sees their owners mapped), and the LSM label
 * where there is one. */
static int read_creds(pid_t pid, char *out, size_t size)
{
	char buf[4096];
	if (proc_read(pid, "status", buf, sizeof buf) <= 0)
		return -1;
	size_t used = 0;
	out[0] = '\0';
	for (char *save, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "Uid:", 4) && strncmp(line, "Gid:", 4) && strncmp(line, "Groups:", 7) &&
		    strncmp(line, "CapEff:", 7) && strncmp(line, "CapPrm:", 7))
			continue;
		int w = snprintf(out + used, size - used, "%s\n", line);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
		used += w;
	}
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	if (stat(path, &st) < 0)
		return -1;
	int w = snprintf(out + used, size - used, "userns:%lu\n", (unsigned long)st.st_ino);
	if (w < 0 || (size_t)w >= size - used)
		return -1;
	used += w;
	char label[256];
	int n = proc_read(pid, "attr/current", label, sizeof label);
	if (n > 0) {
		w = snprintf(out + used, size - used, "label:%s\n", label);
		if (w < 0 || (size_t)w >= size - used)
			return -1;
	}
	return 0;
}

int job_discovery_init(struct job *j)
{
	j->policy.discovered = discovered_match;
	j->policy.discovered_ctx = &j->disc;
	return discovered_init(&j->disc, getenv("HOME"));
}

int supervisor_init(struct job *j)
{
	int err = node_init(&node);
	if (err)
		return err;
	if (read_creds(getpid(), j->creds, sizeof j->creds) < 0)
		return -EIO;
	/* Where an LSM labels processes (AppArmor, SELinux, Smack), any exec may change what
	 * a process may open (a profile transition), and execve is not trapped (the loop is not
	 * yet serving when the program's own exec runs): check every caller's label. */
	if (strstr(j->creds, "\nlabel:"))
		j->creds_changed = true;
	clock_gettime(CLOCK_REALTIME_COARSE, &j->start);
	return 0;
}

void job_check_program(struct job *j, pid_t pid)
{
	char creds[sizeof j->creds];
	if (read_creds(pid, creds, sizeof creds) < 0 || strcmp(creds, j->creds) != 0) {
		log_trace(1, "the program does not run with collrun's credentials: every caller is checked");
		j->creds_changed = true;
	}
}

bool caller_is_like_us(struct job *j, pid_t pid)
{
	if (j->pass_all)
		return false;
	if (j->creds_changed || j->ns_changed) {
		char creds[sizeof j->creds];
		if (read_creds(pid, creds, sizeof creds) < 0 || strcmp(creds, j->creds) != 0)
			return false;
	}
	return true;
}

bool changed_during_job(const struct job *j, const struct timespec *t)
{
	return t->tv_sec > j->start.tv_sec || (t->tv_sec == j->start.tv_sec && t->tv_nsec >= j->start.tv_nsec);
}

void inflight_add(struct job *j, pid_t tid, int nr, const uint64_t args[6])
{
	inflight_settle_tid(j, tid);
	if (j->ninflight == j->capinflight) {
		size_t cap = j->capinflight ? j->capinflight * 2 : 8;
		struct inflight *v = realloc(j->inflight, cap * sizeof *v);
		if (!v) {
			j->pass_all = true;   /* cannot track it: never answer again rather than wrongly */
			log_msg("out of memory tracking a mutation: serving nothing more");
			return;
		}
		j->inflight = v;
		j->capinflight = cap;
	}
	struct inflight *f = &j->inflight[j->ninflight++];
	f->tid = tid;
	f->nr = nr;
	memcpy(f->args, args, sizeof f->args);
}

void inflight_settle_tid(struct job *j, pid_t tid)
{
	for (size_t i = 0; i < j->ninflight;)
		if (j->inflight[i].tid == tid)
			j->inflight[i] = j->inflight[--j->ninflight];
		else
			i++;
}

/* Is tid still (possibly) inside that call? /proc/TID/syscall says "running" (can't tell),
 * "-1 ..." (stopped outside any call), or "NR ARG1..ARG6 SP PC" for the call it is in. */
static bool still_inside(const struct inflight *f)
{
	char buf[256];
	if (proc_read(f->tid, "syscall", buf, sizeof buf) <= 0)
		return false;   /* gone */
	if (strncmp(buf, "running", 7) == 0)
		return true;
	char *end;
	long nr = strtol(buf, &end, 10);
	if (nr != f->nr)
		return false;
	for (int i = 0; i < 6; i++) {
		unsigned long long a = strtoull(end, &end, 16);
		if (a != f->args[i])
			return false;
	}
	return true;
}

bool inflight_settled(struct job *j)
{
	for (size_t i = 0; i < j->ninflight;)
		if (!still_inside(&j->inflight[i]))
			j->inflight[i] = j->inflight[--j->ninflight];
		else
			i++;
	return j->ninflight == 0;
}
