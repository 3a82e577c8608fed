/* tracee-shim: the few steps between fork and exec that put a program under collrun.
 * The filter is built before fork (filter.c); the child only installs it, hands the
 * listener to the supervisor and execs (shim.c). It dies loudly on any error. */
#pragma once
#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

/* 0 if the kernel offers seccomp user notification, else -errno (ENOSYS: no seccomp;
 * EOPNOTSUPP/EINVAL: no SECCOMP_RET_USER_NOTIF, Linux < 5.0). */
int shim_kernel_support(void);
/* BPF program trapping the rows of syscall_table (the only_for_redirects ones only if
 * redirects is set): the one compiled at build time when there is one (filter_prebuilt.h),
 * else shim_compile_filter's. Caller frees prog->filter. */
int shim_build_filter(struct sock_fprog *prog, bool redirects);
/* The same, compiled now with libseccomp; trace: SECCOMP_RET_TRACE (the ptrace backend)
 * instead of SECCOMP_RET_USER_NOTIF. */
int shim_compile_filter(struct sock_fprog *prog, bool redirects, bool trace);

/* What the child tells the supervisor over the socket, once before exec and (only if
 * execve fails) once after. The listener fd travels with SHIM_LISTENING. */
enum shim_status { SHIM_LISTENING, SHIM_NESTED, SHIM_FILTER_FAILED, SHIM_EXEC_FAILED,
		   SHIM_BUSY,          /* a listener exists already: the child waits for a shim_go */
		   SHIM_WANT_TRACER }; /* --backend=ptrace: the child waits for a shim_go */
struct shim_msg { int status; int err; };
/* The supervisor's answer to SHIM_BUSY or SHIM_WANT_TRACER. */
enum shim_go { SHIM_GO_NESTED,   /* exec as is: an outer collrun serves the program */
	       SHIM_GO_TRACE,    /* seized by the tracer: install the RET_TRACE filter, exec */
	       SHIM_GO_ABORT };  /* the supervisor gave up (it says why): exit 125 */
enum shim_backend { SHIM_AUTO, SHIM_NOTIFY, SHIM_PTRACE };

/* In the child: never returns. */
/* mask and nofile are what the program must start with (the supervisor changed its own).
 * ptracer: the node supervisor's pid (allowed to read our memory under Yama), or 0. */
__attribute__((noreturn)) void shim_run_child(int sock, const struct sock_fprog *prog,
					      const sigset_t *mask, const struct rlimit *nofile,
					      pid_t ptracer, int backend, bool redirects, const char *path,
					      char *const argv[]);
