/* The node supervisor's process and loop (nodesup.h). */
#include "nodesup.h"
#include "job.h"
#include "keeper.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "replica.h"
#include "sesslink.h"
#include "share.h"
#include "supervisor.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct rank { int sock; bool welcomed; pid_t prog; };

static struct rendezvous rv;
static const char *my_fp;
static size_t my_fp_len;
static int lsock = -1;
static struct rank *ranks;
static size_t nranks, capranks;
static int *listeners;
static size_t nlisteners, caplisteners;
static struct share_hello *inbox;   /* one message at a time, the largest kind */

static int grow(void **v, size_t *cap, size_t n, size_t each)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? 2 * *cap : 16;
	void *p = realloc(*v, c * each);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* Never wait on a rank: its collrun reads at once, and one that does not is dropped. */
static int send_nb(int sock, const void *buf, size_t len)
{
	ssize_t n;
	while ((n = send(sock, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)len ? 0 : -EPIPE;
}

/* false: the rank could not be told; drop its connection (it then sees us "gone" rather
 * than wait for ever). */
static bool reply(struct rank *r, uint32_t kind, const char *why)
{
	struct share_reply m = { .h = { kind, SHARE_VERSION }, .pid = getpid() };
	snprintf(m.why, sizeof m.why, "%s", why);
	return send_nb(r->sock, &m, sizeof m) == 0;
}

static bool on_hello(struct rank *r, size_t len)
{
	const struct share_hello *h = inbox;
	if (len < offsetof(struct share_hello, fp) || h->h.version != SHARE_VERSION ||
	    len != offsetof(struct share_hello, fp) + h->fp_len)
		return reply(r, SHARE_REFUSE, "another version of collrun");
	if (strncmp(h->key, rv.key, sizeof h->key) != 0)
		return reply(r, SHARE_REFUSE, "another job's supervisor (the job keys' hashes collide)");
	if (h->fp_len != my_fp_len || memcmp(h->fp, my_fp, my_fp_len) != 0)
		return reply(r, SHARE_REFUSE, "its policy, serving options, credentials or view of the file "
				"system differ from those of the rank that started the node supervisor");
	r->welcomed = true;
	return reply(r, SHARE_WELCOME, "");
}

/* false: not taken; the rank's connection is dropped, so its collrun stops its job (its
 * program's calls would otherwise wait for nobody). */
static bool on_listener(struct rank *r, size_t len, int fd)
{
	const struct share_listener *m = (const void *)inbox;
	if (!r->welcomed || fd < 0 || len != sizeof *m || m->nwritten > SHARE_MAX_WRITTEN ||
	    grow((void **)&listeners, &caplisteners, nlisteners, sizeof *listeners) < 0) {
		if (fd >= 0)
			close(fd);   /* the rank's keeper holds it still: its calls wait, its collrun ends */
		log_msg("node supervisor: cannot take the listener of pid %d; that rank's job stops", (int)m->pid);
		return false;
	}
	node_lock(&node);
	for (uint32_t i = 0; i < m->nwritten; i++)
		inode_set_add(&sup.written, m->written[i].dev, m->written[i].ino);
	node_unlock(&node);
	int err = notify_setup(fd);
	if (err < 0)
		log_err(err, "node supervisor: listener of pid %d", (int)m->pid);
	listeners[nlisteners++] = fd;
	r->prog = m->pid;
	log_trace(1, "node supervisor: serving the program of a rank (pid %d); %zu listener(s)", (int)m->pid,
		  nlisteners);
	return true;
}

static bool on_stats(struct rank *r)
{
	struct share_stats m = { .h = { SHARE_STATS, SHARE_VERSION }, .s = sup.stats };
	m.s.discovered = discovered_count(&sup.disc);
	m.files = node.data->files;
	m.bytes = node.data->bytes;
	m.fsops = sup.stats.fsops + node.fsops;
	m.marks = node.dc.marks;
	return send_nb(r->sock, &m, sizeof m) == 0;
}

/* One message from a rank; false when it is gone. */
static bool from_rank(struct rank *r)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { inbox, sizeof *inbox };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf };
	ssize_t n = recvmsg(r->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	int fd = -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	if ((size_t)n < sizeof(struct share_hdr)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool keep = true;
	switch (inbox->h.kind) {
	case SHARE_HELLO: keep = on_hello(r, n); break;
	case SHARE_LISTENER: keep = on_listener(r, n, fd); fd = -1; break;
	case SHARE_EXECED:
		if (r->welcomed && (size_t)n == sizeof(struct share_execed))
			job_check_program(&sup, ((const struct share_execed *)(void *)inbox)->pid);
		break;
	case SHARE_STATS_REQ: keep = on_stats(r); break;
	}
	if (fd >= 0)
		close(fd);
	return keep;
}

static void accept_ranks(void)
{
	for (;;) {
		int s = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
		if (s < 0)
			return;   /* EAGAIN: no more (the socket is non-blocking) */
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid() ||
		    grow((void **)&ranks, &capranks, nranks, sizeof *ranks) < 0) {
			close(s);   /* the directory is private: only a confused setup gets here */
			continue;
		}
		ranks[nranks++] = (struct rank){ .sock = s, .prog = -1 };
	}
}

/* Nothing left to serve. Under the job's lock (so no rank is between its connect and our
 * leaving): one last look for a rank that connected meanwhile, else remove our files. */
static bool leave_if_idle(void)
{
	int lock = rendezvous_lock(&rv);
	struct pollfd p = { lsock, POLLIN, 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
		rendezvous_unlock(lock);
		return false;
	}
	rendezvous_remove_socket(&rv);
	close(lsock);
	if (lock >= 0)
		rendezvous_unlock_remove(&rv, lock);
	log_trace(1, "node supervisor: the last rank of job %s on this node is gone; leaving", rv.key);
	return true;
}

static void on_term(void)
{
	/* Asked to end (a batch system's TERM): the ranks see us go and stop their jobs. */
	int lock = rendezvous_lock(&rv);
	rendezvous_remove_socket(&rv);
	if (lock >= 0)
		rendezvous_unlock_remove(&rv, lock);
	replicas_leave();
	_exit(0);
}

/* The session is lost (sesslink.h): one line, through one rank's collrun (ours goes to
 * /dev/null), so the user sees it once per node. */
static void session_warning(void)
{
	struct share_note m = { .h = { SHARE_NOTE, SHARE_VERSION } };
	if (sesslink_take_warning(m.text, sizeof m.text) <= 0)
		return;
	for (size_t i = 0; i < nranks; i++)
		if (ranks[i].welcomed && send_nb(ranks[i].sock, &m, sizeof m) == 0)
			return;
}

static __attribute__((noreturn)) void serve(int sigfd)
{
	struct pollfd *p = NULL;
	size_t cap = 0;
	for (;;) {
		if (nranks == 0 && nlisteners == 0 && leave_if_idle()) {
			replicas_leave();
			_exit(0);
		}
		size_t n = 3 + nranks + nlisteners;
		if (n > cap) {
			struct pollfd *q = realloc(p, n * sizeof *p);
			if (!q)
				_exit(1);   /* the ranks see us go and stop with a clear message */
			p = q;
			cap = n;
		}
		p[0] = (struct pollfd){ lsock, POLLIN, 0 };
		p[1] = (struct pollfd){ sigfd, POLLIN, 0 };
		for (size_t i = 0; i < nranks; i++)
			p[2 + i] = (struct pollfd){ ranks[i].sock, POLLIN, 0 };
		for (size_t i = 0; i < nlisteners; i++)
			p[2 + nranks + i] = (struct pollfd){ listeners[i], POLLIN, 0 };
		p[n - 1] = (struct pollfd){ sesslink_event_fd(), POLLIN, 0 };
		if (poll(p, n, -1) < 0)
			continue;   /* EINTR */
		/* Every ready descriptor each round: no rank waits behind another's burst. */
		size_t nr = nranks, nl = nlisteners;
		for (size_t i = 0; i < nl; i++) {
			short ev = p[2 + nr + i].revents;
			bool drop = false;
			if (ev & POLLIN)
				drop = notify_serve_burst(listeners[i]) < 0;
			else if (ev & (POLLHUP | POLLERR | POLLNVAL))
				drop = true;   /* every process under that rank's filter is gone */
			if (drop) {
				/* A worker may still answer a call of this listener: the kernel refuses
				 * a cookie it does not know (ids are random per filter), so a reused
				 * descriptor number cannot take a stale answer. */
				close(listeners[i]);
				listeners[i] = -1;
			}
		}
		for (size_t i = 0; i < nr; i++) {
			short ev = p[2 + i].revents;
			if (((ev & POLLIN) && !from_rank(&ranks[i])) || (!(ev & POLLIN) && (ev & (POLLHUP | POLLERR)))) {
				close(ranks[i].sock);
				ranks[i].sock = -1;
			}
		}
		size_t k = 0;
		for (size_t i = 0; i < nlisteners; i++)
			if (listeners[i] >= 0)
				listeners[k++] = listeners[i];
		nlisteners = k;
		k = 0;
		for (size_t i = 0; i < nranks; i++)
			if (ranks[i].sock >= 0)
				ranks[k++] = ranks[i];
		nranks = k;
		if (p[0].revents & POLLIN)
			accept_ranks();
		if (p[1].revents & POLLIN)
			on_term();
		if (p[n - 1].revents & POLLIN)
			session_warning();
	}
}

/* Hold nothing of the rank that forked us: descriptors it inherited (hydra's PMI socket:
 * the proxy must see it close with the rank) are the ones without close-on-exec, since
 * every descriptor of ours has it. Standard error stays if it is a file (-v logs). */
static void drop_inherited(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct stat st;
	bool keep_err = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d) || fd < 3)
			continue;
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			close(fd);
	}
	if (d)
		closedir(d);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		if (fd != null && !(fd == STDERR_FILENO && keep_err))
			dup2(null, fd);
	if (null > 2)
		close(null);
}

static __attribute__((noreturn)) void nodesup_main(void)
{
	prctl(PR_SET_NAME, "collrun-node", 0, 0, 0);
	drop_inherited();
	/* Every cached file holds a memfd here, for every rank. */
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	/* Not ended by what is meant for the ranks (a terminal's ^C, mpiexec's signals to its
	 * process groups: we are in a session of our own anyway); TERM ends us cleanly. */
	static const int quiet[] = { SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++)
		sigaction(quiet[i], &ign, NULL);
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	int sigfd = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
	job_install_crash_handlers();
	inbox = malloc(sizeof *inbox);
	if (!inbox || sigfd < 0)
		_exit(1);
	sesslink_start();   /* a session that cannot be reached: warned, served without it */
	serve(sigfd);
}

pid_t nodesup_spawn(const struct rendezvous *r, int listen_sock, int lockfd, const char *fp, size_t fp_len)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	notify_prepare_fork();
	pid_t mid = fork();
	if (mid == 0) {
		close(pfd[0]);
		/* Our own session: no terminal, not in the process group mpiexec or a shell
		 * signals; and a grandchild, so no rank's collrun is its parent (or reaper). */
		setsid();
		pid_t pid = fork();
		if (pid == 0) {
			/* Here, not in the middle process: the data store reopens /proc/self/fd, and
			 * that must be ours (the middle one's goes with it). */
			notify_after_fork(1);
			close(pfd[1]);
			/* The election's lock is the winner's to release: closing our copy of its
			 * open file description does not release it, flock(LOCK_UN) would. */
			close(lockfd);
			rv = *r;
			lsock = listen_sock;
			my_fp = fp;
			my_fp_len = fp_len;
			nodesup_main();
		}
		ssize_t w = write(pfd[1], &pid, sizeof pid);
		_exit(w == sizeof pid && pid > 0 ? 0 : 1);
	}
	notify_after_fork(0);
	close(pfd[1]);
	pid_t pid = -1;
	if (mid < 0 || read(pfd[0], &pid, sizeof pid) != sizeof pid)
		pid = mid < 0 ? -errno : -ECHILD;
	close(pfd[0]);
	if (mid > 0)
		while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
			;
	return pid;
}
