/* The keeper process (see keeper.h) and the /proc sweep that kills a job. The keeper is
 * kept small: it holds only its socket to collrun, the read end of the liveness pipe and,
 * once collrun sends it, a copy of the seccomp listener (never read: holding it makes the
 * job's trapped calls wait rather than fail with ENOSYS once the supervisor is gone).
 * A failure before the program runs is sent to collrun, which prints it; the keeper itself
 * writes nothing, since it must not hold the job's standard error. */
#include "keeper.h"
#include "procfs.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals the keeper ignores once it runs on its own: terminal and job-control signals,
 * and those meant for collrun (a `pkill -f collrun` must let collrun hand SIGTERM to the
 * program, not end the keeper). Only SIGKILL, or the end of collrun, ends the keeper. */
static const int quiet[] = { SIGINT, SIGQUIT, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE,
			     SIGTERM, SIGUSR1, SIGUSR2 };

int unix_send(int sock, const void *buf, size_t len, int fd)
{
	struct iovec iov = { (void *)buf, len };
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		memset(&ctl, 0, sizeof ctl);
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof ctl.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
	}
	ssize_t n;
	while ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : 0;
}

int unix_recv(int sock, void *buf, size_t len, int *fd)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf };
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	*fd = -1;
	if (n < 0)
		return -errno;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof *fd);
	if ((size_t)n == len)
		return 1;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return 0;
}

/* ---- the sweep ---------------------------------------------------------------------- */

/* Parent and state letter of pid from /proc/PID/stat; -1 if it is gone. */
static pid_t parent_of(pid_t pid, char *state)
{
	char buf[512], st;
	int ppid;
	if (proc_read(pid, "stat", buf, sizeof buf) <= 0)
		return -1;
	char *end = strrchr(buf, ')');   /* the command name may contain anything */
	if (!end || sscanf(end + 1, " %c %d", &st, &ppid) != 2)
		return -1;
	if (state)
		*state = st;
	return ppid;
}

static bool descends_from(pid_t pid, pid_t self)
{
	/* The chain ends at 0 (above init). One longer than any pid count can only come from
	 * pids reused while we read it: treat it as unrelated. */
	for (long steps = 0; pid > 0 && steps < (1L << 22); steps++) {
		pid = parent_of(pid, NULL);
		if (pid == self)
			return true;
	}
	return false;
}

struct fdlist { int *fd; size_t n, cap; };

static int fdlist_add(struct fdlist *l, int fd)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		int *p = realloc(l->fd, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		l->fd = p;
		l->cap = cap;
	}
	l->fd[l->n++] = fd;
	return 0;
}

/* Wait (a bounded while each) for the killed processes to be gone, so the next sweep sees
 * their orphans rather than them; one stuck in the kernel is simply counted again. */
static void wait_gone(struct fdlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pollfd p = { l->fd[i], POLLIN, 0 };
		while (poll(&p, 1, 1000) < 0 && errno == EINTR)
			;
		close(l->fd[i]);
	}
	free(l->fd);
	*l = (struct fdlist){ 0 };
}

static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Every process of the job descends from us: none left means no child left. */
static bool have_children(void)
{
	siginfo_t si;
	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

int kill_descendants(void)
{
	pid_t self = getpid();
	int total = 0;
	for (;;) {
		/* We are a subreaper: every descendant left is a child of ours or below one, so
		 * no child means nothing to sweep for (and no walk over every process of the
		 * machine at the end of every job). */
		reap_all();
		if (!have_children())
			return total;
		DIR *d = opendir("/proc");
		if (!d)
			return -errno;
		struct fdlist killed = { 0 };
		int n = 0;
		for (struct dirent *e; (e = readdir(d));) {
			pid_t pid = atoi(e->d_name);
			char state;
			if (pid <= 0 || pid == self || parent_of(pid, &state) < 0 || state == 'Z' || state == 'X')
				continue;
			/* Hold it by a pidfd before deciding, so the kill cannot reach another
			 * process that took over its pid in between. */
			int pfd = syscall(SYS_pidfd_open, pid, 0);
			if (pfd < 0)
				continue;
			if (descends_from(pid, self) && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0) {
				n++;
				if (fdlist_add(&killed, pfd) == 0)
					continue;
			}
			close(pfd);
		}
		closedir(d);
		wait_gone(&killed);
		reap_all();
		total += n;
		if (n == 0)
			return total;
	}
}

/* ---- the keeper process --------------------------------------------------------------- */

static int ksock = -1;   /* in the keeper: its socket to collrun */

static __attribute__((noreturn)) void fail(const char *what, int err)
{
	struct keeper_msg m = { .event = KEEPER_FAILED, .err = err };
	snprintf(m.what, sizeof m.what, "%s", what);
	unix_send(ksock, &m, sizeof m, -1);
	_exit(125);
}

/* Above 0-2, which are about to become /dev/null. */
static int above_stdio(int fd)
{
	if (fd > 2)
		return fd;
	int high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (high < 0)
		fail("fcntl", errno);
	close(fd);
	return high;
}

/* Hold nothing of the job's: /dev/null on 0-2 (a pipe reader must not wait for us, nor a
 * pipe writer be kept from EPIPE) and no inherited descriptor but keep[0..2] (all > 2). */
static void drop_descriptors(int keep[3])
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3; fd++) {
		if (null < 0)
			close(fd);
		else if (fd != null)
			dup2(null, fd);
	}
	if (null > 2)
		close(null);
	for (int i = 0; i < 3; i++)   /* sort the three */
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	unsigned from = 3;
	for (int i = 0; i < 3; i++) {
		if ((unsigned)keep[i] > from)
			close_range(from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	close_range(from, ~0U, 0);
}

/* Reap every child that has exited; report the program's end to collrun. */
static void reap(pid_t prog)
{
	for (;;) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
			return;
		if (si.si_pid == prog) {
			struct keeper_msg m = { .event = KEEPER_EXITED, .pid = prog, .code = si.si_code,
						.status = si.si_status };
			unix_send(ksock, &m, sizeof m, -1);
		}
	}
}

static __attribute__((noreturn)) void keeper_loop(pid_t prog, int alive, int sigfd)
{
	int listener = -1;
	bool released = false;
	struct pollfd p[3] = { { alive, POLLIN, 0 }, { ksock, POLLIN, 0 }, { sigfd, POLLIN, 0 } };
	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;   /* cannot watch collrun any more: end the job rather than orphan it */
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo ssi;
			while (read(sigfd, &ssi, sizeof ssi) > 0)
				;
			reap(prog);
		}
		if (p[1].revents & POLLIN) {
			struct keeper_msg m;
			int fd, r = unix_recv(ksock, &m, sizeof m, &fd);
			if (r > 0 && m.event == KEEPER_LISTENER && fd >= 0) {
				if (listener >= 0)
					close(listener);
				listener = fd;
				fd = -1;
			} else if (r > 0 && m.event == KEEPER_RELEASE) {
				released = true;
				reap(prog);
				struct keeper_msg a = { .event = have_children() ? KEEPER_BUSY : KEEPER_IDLE };
				unix_send(ksock, &a, sizeof a, -1);
			} else if (r <= 0) {
				p[1].fd = -1;
			}
			if (fd >= 0)
				close(fd);
		} else if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			p[1].fd = -1;
		}
		if (p[0].revents)
			break;   /* nobody writes the pipe: readable means every holder is gone */
	}
	if (released) {
		/* collrun ended normally and let them run on: stay their reaper until the last. */
		while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
			;
	} else {
		kill_descendants();
	}
	_exit(0);
}

static __attribute__((noreturn)) void keeper_main(int sock, int alive, void (*run_program)(void *), void *arg)
{
	ksock = above_stdio(sock);
	alive = above_stdio(alive);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("PR_SET_CHILD_SUBREAPER", errno);
	/* Until we have left collrun's process group, a ^C or ^Z meant for the job must not
	 * stop or end us: hold those signals (the program gets collrun's mask back before
	 * exec), and SIGCHLD, which we read from a signalfd. */
	sigset_t hold;
	sigemptyset(&hold);
	for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++)
		sigaddset(&hold, quiet[i]);
	sigaddset(&hold, SIGCHLD);
	sigprocmask(SIG_BLOCK, &hold, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		fail("signalfd", errno);
	sigfd = above_stdio(sigfd);
	/* The program is forked before we leave: it stays in collrun's session and process
	 * group, so the terminal and job control treat it as they would natively. */
	pid_t prog = fork();
	if (prog < 0)
		fail("fork", errno);
	if (prog == 0) {
		run_program(arg);
		_exit(125);
	}
	int pidfd = syscall(SYS_pidfd_open, prog, 0);
	if (pidfd < 0) {
		int err = errno;
		kill(prog, SIGKILL);
		fail("pidfd_open", err);
	}
	struct keeper_msg m = { .event = KEEPER_STARTED, .pid = prog };
	unix_send(ksock, &m, sizeof m, pidfd);
	close(pidfd);
	/* Our own session: a kill of the job's process group or a hang-up of its terminal
	 * does not reach us, and we never get a controlling terminal. */
	setsid();
	struct sigaction ign = { .sa_handler = SIG_IGN };
	for (size_t i = 0; i < sizeof quiet / sizeof *quiet; i++)
		sigaction(quiet[i], &ign, NULL);   /* also drops any that arrived while held */
	prctl(PR_SET_NAME, "collrun-keeper", 0, 0, 0);
	drop_descriptors((int[3]){ ksock, alive, sigfd });
	keeper_loop(prog, alive, sigfd);
}

/* ---- collrun's side ------------------------------------------------------------------- */

int keeper_start(struct keeper *k, void (*run_program)(void *arg), void *arg)
{
	*k = (struct keeper){ .pid = -1, .sock = -1, .alive = -1 };
	/* Orphans of the job go to the keeper; if the keeper dies, to us, so we can end them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	int sv[2], pipefd[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		int err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* Only collrun (and its lingering copy) may hold the pipe's write end. */
		close(sv[0]);
		close(pipefd[1]);
		keeper_main(sv[1], pipefd[0], run_program, arg);
	}
	int err = pid < 0 ? -errno : 0;
	close(sv[1]);
	close(pipefd[0]);
	if (err) {
		close(sv[0]);
		close(pipefd[1]);
		return err;
	}
	*k = (struct keeper){ .pid = pid, .sock = sv[0], .alive = pipefd[1] };
	return 0;
}

int keeper_recv(const struct keeper *k, struct keeper_msg *m, int *fd)
{
	return unix_recv(k->sock, m, sizeof *m, fd);
}

int keeper_give_listener(const struct keeper *k, int listener)
{
	struct keeper_msg m = { .event = KEEPER_LISTENER };
	return unix_send(k->sock, &m, sizeof m, listener);
}

void keeper_finish(struct keeper *k)
{
	if (k->alive >= 0)
		close(k->alive);
	k->alive = -1;
	if (k->pid > 0)
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
	k->pid = -1;
}

bool keeper_release(struct keeper *k)
{
	struct keeper_msg m = { .event = KEEPER_RELEASE };
	bool idle = false;
	if (unix_send(k->sock, &m, sizeof m, -1) == 0) {
		int fd;
		while (keeper_recv(k, &m, &fd) > 0) {
			if (fd >= 0)
				close(fd);
			if (m.event == KEEPER_IDLE || m.event == KEEPER_BUSY) {
				idle = m.event == KEEPER_IDLE;
				break;
			}
		}
	}
	if (idle) {
		keeper_finish(k);
		return true;
	}
	close(k->alive);
	k->alive = -1;
	return false;
}

int keeper_reap(struct keeper *k)
{
	int st;
	pid_t r;
	while ((r = waitpid(k->pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -errno;
	k->pid = -1;
	return st;
}
