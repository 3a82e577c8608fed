/* Process-tree handling for the launcher/supervisor. One poll loop: the seccomp listener
 * first (callers are blocked until we answer), then signals, then the program's pidfd. */
#include "job.h"
#include "arch.h"
#include "log.h"
#include "notify.h"
#include "procfs.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

void job_forwarded_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
		sigaddset(set, forwarded[i]);
	sigaddset(set, SIGPIPE);   /* a closed stderr must not kill the supervisor */
}

static void forward(int sigfd, pid_t child)
{
	struct signalfd_siginfo ssi;
	while (read(sigfd, &ssi, sizeof ssi) == sizeof ssi) {
		if (ssi.ssi_signo == SIGPIPE)
			continue;
		/* A terminal's ^C reaches the whole foreground group, the program included;
		 * only signals sent to collrun itself (kill, timeout, a batch system) are handed on. */
		if (ssi.ssi_code == SI_KERNEL)
			continue;
		log_trace(1, "forwarding signal %d to %d", (int)ssi.ssi_signo, (int)child);
		kill(child, ssi.ssi_signo);
	}
}

int job_supervise(pid_t child, int listener, siginfo_t *si)
{
	sigset_t set;
	job_forwarded_signals(&set);
	int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	int pidfd = syscall(SYS_pidfd_open, child, 0);
	if (sigfd < 0 || pidfd < 0)
		return -errno;
	struct pollfd p[3] = { { listener, POLLIN, 0 }, { sigfd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
	int err = 0;
	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (p[0].revents & POLLIN) {
			err = notify_serve_one(listener);
			if (err)
				break;
			continue;   /* answer callers before anything else */
		}
		if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			p[0].fd = -1;
		if (p[1].revents & POLLIN)
			forward(sigfd, child);
		if (p[2].revents & POLLIN) {
			memset(si, 0, sizeof *si);
			if (waitid(P_PIDFD, pidfd, si, WEXITED) < 0)
				err = -errno;
			break;
		}
	}
	close(sigfd);
	close(pidfd);
	return err;
}

void job_linger(int listener)
{
	if (listener < 0)
		return;
	struct pollfd p = { listener, POLLIN, 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && !(p.revents & POLLIN))
		return;   /* nobody left under the filter */
	pid_t pid = fork();
	if (pid != 0)
		return;   /* the parent reports the program's status now; on fork failure the rest get ENOSYS */
	/* Background copy: must not hold the program's stdout/stderr open (a pipe reader
	 * would wait for us), and must not be killed by the terminal with the old group. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	setsid();
	job_install_crash_handlers(0);   /* the program is reaped: its pid may be someone else's */
	for (;;) {
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		if (p.revents & POLLIN) {
			if (notify_serve_one(listener) < 0)
				break;
		} else if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			break;
		}
	}
	_exit(0);
}

static pid_t parent_of(pid_t pid)
{
	char buf[512];
	if (proc_read(pid, "stat", buf, sizeof buf) <= 0)
		return -1;
	char *end = strrchr(buf, ')');   /* the command name may contain anything */
	int ppid;
	return end && sscanf(end + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

void job_kill_tree(pid_t root)
{
	/* Stop the root first so it cannot start more, then sweep for descendants until a
	 * pass finds none (each pass may reveal children of the ones just killed). */
	kill(root, SIGSTOP);
	pid_t tree[4096];
	size_t n = 0;
	tree[n++] = root;
	for (int pass = 0, grew = 1; grew && pass < 16; pass++) {
		grew = 0;
		DIR *d = opendir("/proc");
		if (!d)
			break;
		for (struct dirent *e; (e = readdir(d)) && n < sizeof tree / sizeof *tree;) {
			pid_t pid = atoi(e->d_name);
			if (pid <= 0)
				continue;
			pid_t pp = parent_of(pid);
			int known = 0, parent_in_tree = 0;
			for (size_t i = 0; i < n; i++) {
				known |= tree[i] == pid;
				parent_in_tree |= tree[i] == pp;
			}
			if (!known && parent_in_tree) {
				kill(pid, SIGSTOP);
				tree[n++] = pid;
				grew = 1;
			}
		}
		closedir(d);
	}
	for (size_t i = 0; i < n; i++)
		kill(tree[i], SIGKILL);
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

static pid_t crash_child;

static void on_crash(int sig)
{
	static const char msg[] = "collrun: supervisor crashed; stopping the job\n";
	ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)w;
	if (crash_child > 0)
		kill(crash_child, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

void job_install_crash_handlers(pid_t child)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	crash_child = child;
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND | SA_NODEFER };
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		sigaction(fatal[i], &sa, NULL);
}
