/* Node sharing, the rank's side (share.h): fingerprint, election, hand-over. */
#include "share.h"
#include "replica.h"
#include "cache/data.h"
#include "keeper.h"
#include "log.h"
#include "node.h"
#include "nodesup.h"
#include "policy_setup.h"
#include "sesslink.h"
#include "supervisor.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int share_fingerprint(char *out, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return -ENOMEM;
	struct stat root, mnt;
	if (stat("/", &root) < 0 || stat("/proc/self/ns/mnt", &mnt) < 0)
		root = (struct stat){ 0 }, mnt = (struct stat){ 0 };
	fprintf(f, "collrun %s share %d\n", COLLRUN_VERSION, SHARE_VERSION);
	policy_print_to(f, &sup.policy);
	fprintf(f, "passthrough=%d dir_replica=%d data=%d max_bytes=%llu max_file_size=%llu\n", sup.passthrough,
		!replica_disabled,
		node.data->mode, (unsigned long long)node.data->max_bytes,
		(unsigned long long)node.data->max_file_size);
	fprintf(f, "session=%s\n", sesslink_id ? sesslink_id : "");
	fprintf(f, "root=%llu:%llu mntns=%llu creds_changed=%d\n%s", (unsigned long long)root.st_dev,
		(unsigned long long)root.st_ino, (unsigned long long)mnt.st_ino, sup.creds_changed, sup.creds);
	fclose(f);
	int r = len < size ? (int)len : -E2BIG;
	if (r > 0)
		memcpy(out, text, len + 1);
	free(text);
	return r;
}

static int peer_is_us(int sock)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.uid == getuid() ? 0 : -EPERM;
}

static int hello(struct share *s, const char *fp, size_t fp_len)
{
	struct share_hello *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->h = (struct share_hdr){ SHARE_HELLO, SHARE_VERSION };
	snprintf(h->key, sizeof h->key, "%s", s->rv.key);
	h->fp_len = fp_len;
	memcpy(h->fp, fp, fp_len);
	int err = unix_send(s->sock, h, offsetof(struct share_hello, fp) + fp_len, -1);
	free(h);
	if (err)
		return err;
	struct share_reply r;
	int fd;
	int got = unix_recv(s->sock, &r, sizeof r, &fd);
	if (fd >= 0)
		close(fd);
	if (got <= 0)
		return got < 0 ? got : -ECONNRESET;
	if (r.h.kind == SHARE_REFUSE) {
		r.why[sizeof r.why - 1] = '\0';
		log_trace(1, "node sharing: the node supervisor (pid %d) does not serve this rank: %s; "
			  "this collrun serves its own program", (int)r.pid, r.why);
		return -EREMCHG;
	}
	if (r.h.kind != SHARE_WELCOME || r.pid <= 0)
		return -EPROTO;
	s->sup_pid = r.pid;
	return 0;
}

int share_join(struct share *s, const char *key, const char *fp, size_t fp_len)
{
	*s = (struct share){ .sock = -1, .sup_pid = -1, .rv = { .dirfd = -1 } };
	char dir[128];
	int err = rundir_pick((jobid_getenv_fn)getenv, getuid(), dir, sizeof dir);
	if (!err)
		err = rendezvous_init(&s->rv, dir, key);
	if (err) {
		log_trace(1, "node sharing off: the rendezvous directory %s is unusable (%s%s); this collrun "
			  "serves its own program", dir, strerror(-err),
			  err == -EPERM ? ": not ours" : err == -EACCES ? ": others may enter it" :
			  err == -ELOOP ? ": a symbolic link" : "");
		rendezvous_close(&s->rv);
		return err;
	}
	int lock = rendezvous_lock(&s->rv);
	if (lock < 0) {
		log_trace(1, "node sharing off: cannot lock %s/%s: %s", dir, s->rv.lock_name, strerror(-lock));
		rendezvous_close(&s->rv);
		return lock;
	}
	int sock = rendezvous_connect(&s->rv);
	if (sock == -ENOENT || sock == -ECONNREFUSED) {
		/* Nobody serves this job here: become its node supervisor (a fork of us). */
		int lsock = rendezvous_listen(&s->rv);
		pid_t pid = lsock < 0 ? lsock : nodesup_spawn(&s->rv, lsock, lock, fp, fp_len);
		if (lsock >= 0)
			close(lsock);
		sock = pid < 0 ? pid : rendezvous_connect(&s->rv);
		if (pid < 0) {
			rendezvous_remove_socket(&s->rv);
			rendezvous_unlock_remove(&s->rv, lock);
			lock = -1;
		}
		s->started_it = pid > 0;
	}
	rendezvous_unlock(lock);
	if (sock < 0) {
		log_trace(1, "node sharing off: cannot reach or start the node supervisor of job %s: %s",
			  key, strerror(-sock));
		rendezvous_close(&s->rv);
		return sock;
	}
	s->sock = sock;
	if ((err = peer_is_us(sock)) || (err = hello(s, fp, fp_len))) {
		if (err == -EPERM)
			log_trace(1, "node sharing off: the socket of job %s belongs to another user", key);
		else if (err != -EREMCHG)
			log_trace(1, "node sharing off: the node supervisor of job %s did not answer: %s", key,
				  strerror(-err));
		share_close(s);
		return err;
	}
	log_trace(1, "node sharing: job %s, served by the node supervisor (pid %d%s) through %s/%s", key,
		  (int)s->sup_pid, s->started_it ? ", started by this collrun" : "", s->rv.dir, s->rv.sock_name);
	return 0;
}

int share_handover(struct share *s, int listener, pid_t prog, const struct share_devino *w, size_t nw)
{
	struct share_listener m = { .h = { SHARE_LISTENER, SHARE_VERSION }, .pid = prog, .nwritten = nw };
	memcpy(m.written, w, nw * sizeof *w);
	return unix_send(s->sock, &m, sizeof m, listener);
}

int share_execed(struct share *s, pid_t prog)
{
	struct share_execed m = { .h = { SHARE_EXECED, SHARE_VERSION }, .pid = prog };
	return unix_send(s->sock, &m, sizeof m, -1);
}

int share_stats(struct share *s, struct share_stats *out)
{
	struct share_hdr req = { SHARE_STATS_REQ, SHARE_VERSION };
	int err = unix_send(s->sock, &req, sizeof req, -1);
	if (err)
		return err;
	for (;;) {
		int fd, got = unix_recv(s->sock, out, sizeof *out, &fd);
		if (fd >= 0)
			close(fd);
		if (got <= 0)
			return got < 0 ? got : -ECONNRESET;
		if (out->h.kind == SHARE_STATS)
			return 0;
	}
}

void share_cleanup_dead(struct share *s)
{
	if (s->rv.dirfd < 0)
		return;
	int lock = rendezvous_lock(&s->rv);
	if (lock < 0)
		return;
	int sock = rendezvous_connect(&s->rv);
	if (sock >= 0) {   /* a new supervisor serves the job here already: its files */
		close(sock);
		rendezvous_unlock(lock);
		return;
	}
	rendezvous_remove_socket(&s->rv);
	rendezvous_unlock_remove(&s->rv, lock);
}

void share_close(struct share *s)
{
	if (s->sock >= 0)
		close(s->sock);
	s->sock = -1;
	rendezvous_close(&s->rv);
}
