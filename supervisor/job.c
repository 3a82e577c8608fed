/* collrun's side of the job (job.h): one poll loop over the seccomp listener, the
 * forwarded signals and the keeper's socket; the background copy that serves processes
 * outliving the program; and leaving with the program's status. */
#include "job.h"
#include "replica.h"
#include "log.h"
#include "notify.h"
#include "share.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

void job_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGPIPE);   /* a closed stderr must not kill the supervisor */
}

static void forward(int sigfd, int prog_pidfd)
{
	struct signalfd_siginfo ssi;
	while (read(sigfd, &ssi, sizeof ssi) == sizeof ssi) {
		if (ssi.ssi_signo == SIGPIPE)
			continue;
		/* A terminal's ^C reaches the whole foreground group, the program included;
		 * only signals sent to collrun itself (kill, timeout, a batch system) are handed on. */
		if (ssi.ssi_code == SI_KERNEL)
			continue;
		log_trace(1, "forwarding signal %d to the program", (int)ssi.ssi_signo);
		/* By pidfd: once the keeper has reaped the program, this reaches nobody else. */
		syscall(SYS_pidfd_send_signal, prog_pidfd, ssi.ssi_signo, NULL, 0);
	}
}

/* The node supervisor's only unasked message: a line for the user (its session is lost).
 * true if that is what was readable. */
static bool note_from_supervisor(int sock)
{
	struct share_note m;
	ssize_t n = recv(sock, &m, sizeof m, MSG_DONTWAIT | MSG_PEEK);
	if (n != (ssize_t)sizeof m || m.h.kind != SHARE_NOTE)
		return false;
	(void)!recv(sock, &m, sizeof m, MSG_DONTWAIT);
	m.text[sizeof m.text - 1] = '\0';
	log_msg("%s", m.text);
	return true;
}

int job_supervise(struct keeper *k, int prog_pidfd, int listener, int watch, siginfo_t *si)
{
	sigset_t set;
	job_forwarded_signals(&set);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0)
		return -errno;
	struct pollfd p[4] = { { listener, POLLIN, 0 }, { sigfd, POLLIN, 0 }, { k->sock, POLLIN, 0 },
			       { watch, POLLIN, 0 } };
	int err = 0;
	for (bool done = false; !done && !err;) {
		if (poll(p, 4, -1) < 0) {
			if (errno != EINTR)
				err = -errno;
			continue;
		}
		/* Every ready descriptor each round: a burst of calls, then signals, then news
		 * from the keeper, so none of them waits behind a busy listener. */
		if (p[0].revents & POLLIN)
			err = notify_serve_burst(listener);
		else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			p[0].fd = -1;
		if (p[1].revents & POLLIN)
			forward(sigfd, prog_pidfd);
		/* The node supervisor sends nothing unasked: readable means it is gone. Unless
		 * the program has just ended too (its exit is what ended the supervisor's
		 * work), the job cannot go on: its calls would wait for ever. */
		if (!err && (p[3].revents & POLLIN) && note_from_supervisor(watch))
			p[3].revents = 0;
		if (!err && p[3].revents && !(p[2].revents & POLLIN))
			err = -EPIPE;
		if (!err && p[2].revents) {
			struct keeper_msg m;
			int fd, r = keeper_recv(k, &m, &fd);
			if (fd >= 0)
				close(fd);
			if (r < 0)
				err = r;
			else if (r == 0)
				err = -ECHILD;
			else if (m.event == KEEPER_EXITED) {
				memset(si, 0, sizeof *si);
				si->si_code = m.code;
				si->si_status = m.status;
				done = true;
			}
		}
	}
	close(sigfd);
	return err;
}

/* The copy's standard streams: /dev/null, so that a pipe reader is not kept waiting and a
 * terminal is not written to after the shell's prompt; standard error stays if it is a
 * regular file, so that -v traces of the copy reach a log file. */
static void background_streams(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return;
	struct stat st;
	bool keep_err = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	for (int fd = 0; fd < 3; fd++)
		if (fd != null && !(fd == STDERR_FILENO && keep_err))
			dup2(null, fd);
	if (null > 2)
		close(null);
}

bool job_linger(struct keeper *k, int listener, int watch)
{
	if (listener < 0)
		return false;
	struct pollfd p = { listener, POLLIN, 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
		return false;   /* nobody left under the filter */
	notify_prepare_fork();
	pid_t pid = fork();
	notify_after_fork(pid == 0);
	if (pid < 0) {
		/* Without a copy the rest of the job would have nobody to answer it: it ends. */
		log_err(-errno, "cannot leave a background copy to serve the job's remaining processes; stopping them");
		return false;
	}
	if (pid > 0) {
		log_trace(1, "processes of the job still run: a background copy (pid %d) serves them", (int)pid);
		return true;
	}
	/* The copy keeps the liveness pipe's write end (the keeper lets the job live while it
	 * is held) but not the socket: only collrun talks to the keeper. */
	close(k->sock);
	background_streams();
	setsid();   /* not killed by the terminal along with the program's process group */
	job_install_crash_handlers();
	sigset_t end;
	sigemptyset(&end);
	sigaddset(&end, SIGTERM);
	sigaddset(&end, SIGINT);
	sigaddset(&end, SIGHUP);
	int sigfd = signalfd(-1, &end, SFD_CLOEXEC);   /* blocked since collrun started */
	/* Shared (watch >= 0): the node supervisor serves them; the copy only waits for the
	 * last of them, or for the supervisor's end, which ends the job like ours would. */
	struct pollfd q[3] = { { listener, watch >= 0 ? 0 : POLLIN, 0 }, { sigfd, POLLIN, 0 }, { watch, POLLIN, 0 } };
	for (;;) {
		if (poll(q, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (q[2].revents) {
			log_trace(1, "background copy: the node supervisor is gone; the keeper stops what is left of the job");
			break;
		}
		if ((q[0].revents & POLLIN) && notify_serve_burst(listener) < 0)
			break;
		if (!(q[0].revents & POLLIN) && (q[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			log_trace(1, "background copy: the last process of the job has exited");
			break;
		}
		if (q[1].revents & POLLIN) {
			struct signalfd_siginfo ssi;
			if (read(sigfd, &ssi, sizeof ssi) == sizeof ssi)
				log_trace(1, "background copy: ending on signal %d; the keeper stops what is left of the job",
					  (int)ssi.ssi_signo);
			break;
		}
	}
	replicas_leave();
	_exit(0);
}

void job_exit_like(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		exit(si->si_status);
	int sig = si->si_status;
	/* Die of the same signal so the shell reports the same thing; no core of our own. */
	struct rlimit none = { 0, 0 };
	setrlimit(RLIMIT_CORE, &none);
	signal(sig, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	exit(128 + sig);
}

static void on_crash(int sig)
{
	static const char msg[] = "collrun: supervisor crashed; stopping the job\n";
	ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)w;
	signal(sig, SIG_DFL);
	raise(sig);
}

void job_install_crash_handlers(void)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND | SA_NODEFER };
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		sigaction(fatal[i], &sa, NULL);
}
