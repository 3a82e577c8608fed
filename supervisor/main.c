/* collrun: launcher and supervisor in one process. Parse options, find the program, build
 * the policy and the filter, fork the program through the tracee shim, then serve its
 * trapped calls until it exits and leave with its status. */
#include "arch.h"
#include "policy_setup.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "shim.h"
#include "supervisor.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* execvp's search, done up front so "not found" and "not executable" are reported by us
 * with the path and reason, with the exit codes shells use (127, 126). */
static int find_program(const char *name, char *out, size_t size)
{
	struct stat st;
	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		if (stat(out, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		return access(out, X_OK) < 0 ? -errno : 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int seen = -ENOENT;
	for (const char *p = path;; p = strchr(p, ':') + 1) {
		size_t len = strcspn(p, ":");
		snprintf(out, size, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
		if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			seen = -EACCES;
		}
		if (!p[len])
			break;
	}
	return seen;
}

/* Files the program inherits open for writing (a shell's "> out.log" inside a cached
 * tree) change while it runs: never cache them. */
static void note_inherited_writers(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		int fl = fcntl(fd, F_GETFL);
		struct stat st;
		if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			inode_set_add(&sup.written, st.st_dev, st.st_ino);
	}
	closedir(d);
}

static int recv_msg(int sock, struct shim_msg *m, int *fd)
{
	union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
	struct iovec iov = { m, sizeof *m };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof ctl.buf };
	ssize_t n;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	*fd = -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (n > 0 && c && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof *fd);
	return n == sizeof *m ? 1 : 0;
}

static void print_stats(const struct options *o)
{
	FILE *out = stderr;
	if (o->stats_file && !(out = fopen(o->stats_file, "we"))) {
		log_err(-errno, "--stats-file %s", o->stats_file);
		return;
	}
	if (sup.listener < 0)
		fprintf(out, "collrun: nested under another collrun: its supervisor served this job\n");
	stats_print(out, &sup.stats, &sup.data, sup.cache.flushes);
	if (out != stderr)
		fclose(out);
	else
		fflush(out);
}

/* Reap the child after a failed start and give its status a meaning. */
static int failed_start(pid_t pid, int code)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return code;
}

static int start(const struct options *o, const char *path, pid_t *pidp)
{
	struct sock_fprog prog;
	int err = shim_kernel_support();
	if (err == -ENOSYS || err == -EINVAL || err == -EOPNOTSUPP)
		return log_err(err, "this kernel lacks seccomp user notification (collrun needs Linux >= 5.19)"),
		       EXIT_NO_NOTIFY;
	bool redirects = false;
	for (size_t i = 0; i < sup.policy.n; i++)
		redirects |= sup.policy.rules[i].action == POL_REDIRECT || sup.policy.rules[i].action == POL_LIBRARY;
	err = shim_build_filter(&prog, redirects);
	if (err)
		return log_err(err, "cannot build the seccomp filter"), EXIT_FAILURE_COLLRUN;
	sigset_t fwd, old;
	job_forwarded_signals(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return log_err(-errno, "socketpair"), EXIT_FAILURE_COLLRUN;
	/* Every cached file holds a memfd here: take the whole descriptor allowance for the
	 * supervisor, and give the program back exactly the limit it would have had. */
	struct rlimit nofile, raised;
	getrlimit(RLIMIT_NOFILE, &nofile);
	raised = (struct rlimit){ nofile.rlim_max, nofile.rlim_max };
	setrlimit(RLIMIT_NOFILE, &raised);
	pid_t pid = fork();
	if (pid < 0)
		return log_err(-errno, "fork"), EXIT_FAILURE_COLLRUN;
	if (pid == 0) {
		close(sv[0]);
		shim_run_child(sv[1], &prog, &old, &nofile, path, o->argv);
	}
	close(sv[1]);
	free(prog.filter);
	*pidp = pid;
	struct shim_msg m;
	int fd;
	if (!recv_msg(sv[0], &m, &fd))
		return log_msg("%s: the program's setup died before exec", path), failed_start(pid, EXIT_FAILURE_COLLRUN);
	if (m.status == SHIM_FILTER_FAILED) {
		int unsupported = m.err == EINVAL || m.err == ENOSYS;
		log_err(-m.err, "cannot install the seccomp filter%s", unsupported
			? " (collrun needs Linux >= 5.19 with seccomp user notification)" : "");
		return failed_start(pid, unsupported ? EXIT_NO_NOTIFY : EXIT_FAILURE_COLLRUN);
	}
	sup.listener = m.status == SHIM_LISTENING ? fd : -1;
	if (sup.listener < 0)
		log_trace(1, "already under a collrun supervisor: it serves this job");
	/* Second message only if execve failed; end-of-file means it succeeded. */
	if (recv_msg(sv[0], &m, &fd) && m.status == SHIM_EXEC_FAILED) {
		log_err(-m.err, "%s", path);
		return failed_start(pid, m.err == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
	}
	close(sv[0]);
	if (sup.listener >= 0 && (err = notify_setup(sup.listener)) < 0)
		return log_err(err, "seccomp listener setup"), job_kill_tree(pid), EXIT_FAILURE_COLLRUN;
	return 0;
}

int main(int argc, char **argv)
{
	__attribute__((cleanup(options_free))) struct options o;
	int rc = options_parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	char path[PATH_MAX], msg[1024] = "";
	int err = o.argv[0] ? find_program(o.argv[0], path, sizeof path) : 0;
	if (o.argv[0] && !(o.print_policy || o.explain)) {
		if (err == -ENOENT)
			return log_msg("%s: command not found", o.argv[0]), EXIT_NOT_FOUND;
		if (err)
			return log_err(err, "%s: cannot execute", path), EXIT_NOT_EXECUTABLE;
	}
	if ((err = policy_setup(&sup.policy, &o, o.argv[0] && !err ? path : NULL, msg, sizeof msg)) < 0) {
		if (msg[0])
			log_line(msg);
		else
			log_err(err, "cannot build the policy");
		return EXIT_USAGE;
	}
	if (o.print_policy)
		return policy_print(&sup.policy);
	if (o.explain)
		return policy_explain(&sup.policy, o.explain);
	if ((err = supervisor_init(&sup)) < 0)
		return log_err(err, "cannot set up the supervisor"), EXIT_FAILURE_COLLRUN;
	sup.passthrough = o.passthrough;
	sup.data.mode = o.data_mode;
	note_inherited_writers();
	pid_t pid;
	if ((rc = start(&o, path, &pid)) != 0)
		return rc;
	sup.child = pid;
	job_install_crash_handlers(pid);
	siginfo_t si;
	if ((err = job_supervise(pid, sup.listener, &si)) < 0) {
		log_err(err, "supervisor failed; stopping the job");
		job_kill_tree(pid);
		return EXIT_FAILURE_COLLRUN;
	}
	if (o.stats)
		print_stats(&o);
	job_linger(sup.listener);
	job_exit_like(&si);
}
