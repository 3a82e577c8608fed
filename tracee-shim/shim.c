/* The program's process between fork and exec (a child of the keeper). After the filter is
 * in place it makes no trapped call: only sendmsg, close, sigprocmask, setrlimit and
 * execve (all untrapped), because the supervisor that would answer a trapped call is still
 * waiting for the listener we are sending. Under the ptrace backend the tracer has seized
 * us before the filter goes in, so a trapped call would find it there. */
#include "shim.h"
#include "arch.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void send_msg(int sock, int status, int err, int fd)
{
	struct shim_msg m = { status, err };
	struct iovec iov = { &m, sizeof m };
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
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* Wait for the supervisor's word after SHIM_BUSY or SHIM_WANT_TRACER; then install the
 * ptrace filter if told to. Not under any filter of ours yet: any call is allowed here. */
static void await_go(int sock, bool redirects)
{
	int go = SHIM_GO_ABORT;
	while (recv(sock, &go, sizeof go, 0) < 0 && errno == EINTR)
		;
	if (go == SHIM_GO_NESTED)
		return;
	if (go != SHIM_GO_TRACE)
		_exit(125);
	struct sock_fprog trace;
	int err = shim_compile_filter(&trace, redirects, true);
	if (err || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &trace) < 0) {
		send_msg(sock, SHIM_FILTER_FAILED, err ? -err : errno, -1);
		_exit(125);
	}
}

void shim_run_child(int sock, const struct sock_fprog *prog, const sigset_t *mask,
		    const struct rlimit *nofile, pid_t ptracer, int backend, bool redirects,
		    const char *path, char *const argv[])
{
	extern char **environ;
	pid_t parent = getppid();
	/* An extra: the keeper ends the job when collrun goes, but the program also goes with
	 * the keeper. Not relied upon: a credential change (setpriv, gosu) clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(125);
	/* A node supervisor serving us is no ancestor of ours: under Yama's ptrace_scope=1 it
	 * may read our memory only if we say so. Without Yama this fails (EINVAL): nothing to
	 * allow. Where it cannot help (scope 2 or 3, or our children, which do not inherit it)
	 * the supervisor cannot read the caller's path and passes the call to the kernel. */
	if (ptracer > 0)
		prctl(PR_SET_PTRACER, (unsigned long)ptracer, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		send_msg(sock, SHIM_FILTER_FAILED, errno, -1);
		_exit(125);
	}
	long fd = -1;
	if (backend == SHIM_PTRACE) {
		send_msg(sock, SHIM_WANT_TRACER, 0, -1);
		await_go(sock, redirects);
	} else if ((fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				 SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
				 prog)) >= 0) {
		send_msg(sock, SHIM_LISTENING, 0, fd);
		close(fd);
	} else if (errno == EBUSY) {
		/* A listener exists already: an outer collrun's (which then serves us), or
		 * another supervisor's (the supervisor decides: ptrace, or give up). */
		send_msg(sock, SHIM_BUSY, 0, -1);
		await_go(sock, redirects);
	} else {
		send_msg(sock, SHIM_FILTER_FAILED, errno, -1);
		_exit(125);
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
	setrlimit(RLIMIT_NOFILE, nofile);
	execve(path, argv, environ);
	int err = errno;
	if (err == ENOEXEC) {
		/* Neither a binary nor "#!": run it with /bin/sh, as execvp(3), env and shells do,
		 * with execvp's argv: /bin/sh PATH ARGS... (on the stack: no trapped call). */
		size_t n = 0;
		while (argv[n])
			n++;
		char *sh_argv[n + 2];
		sh_argv[0] = "/bin/sh";
		sh_argv[1] = (char *)path;
		memcpy(sh_argv + 2, argv + 1, n * sizeof *argv);   /* argv[1..n-1] and the NULL */
		execve(sh_argv[0], sh_argv, environ);
		err = errno;
	}
	send_msg(sock, SHIM_EXEC_FAILED, err, -1);
	_exit(err == ENOENT ? 127 : 126);
}
