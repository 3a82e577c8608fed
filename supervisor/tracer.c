/* The ptrace backend (tracer.h). The kernel ties a tracee to the thread that traces it, so
 * one thread makes every ptrace request. It sleeps in poll() on a signalfd for SIGCHLD (a
 * tracee stopped or died) and an eventfd (a worker's answer, the launcher's request), so a
 * fill on a slow file system never holds it, exactly as for the user-notify loop.
 * How each verdict reaches the stopped caller:
 *   CONTINUE  resume: the kernel runs the call. Under --audit, resume to the syscall-exit
 *             stop and read the result there.
 *   RETURN    syscall number -1 (the kernel skips the call) and the value in the return
 *             register.
 *   ADDFD     the call becomes openat("/proc/<collrun>/fd/<N>") with the file flags of our
 *             descriptor, run by the caller itself: the new descriptor is the caller's
 *             lowest free one, as ADDFD gives; at the exit stop its registers are put back
 *             with the result. If that open fails (a caller with other credentials or
 *             namespaces may not look into our /proc) the original call is restarted and
 *             passed, so the kernel answers it exactly as natively.
 * A call a worker must finish (a fill) does not keep its caller in a ptrace stop, where
 * no signal but SIGKILL reaches it: the call becomes ppoll() with only the signals that
 * would end the process unblocked (park()), a sleep that a fatal signal ends as it would
 * end the call natively, while other signals wait for the call's end, as under user
 * notification. The worker's answer interrupts it (PTRACE_INTERRUPT) and is given at its
 * exit stop: a value in place, or a replay of the original call that is then answered at
 * its seccomp stop. A signal that wakes it first is delivered with the call marked
 * -ERESTARTNOINTR; if the process lives on (a stop), the call traps again and waits for
 * the same answer (again[]). */
#include "tracer.h"
#include "arch.h"
#include "audit.h"
#include "backtrace.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "supervisor.h"
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

bool tracer_active;

enum tstate {
	TS_RUNNING,      /* not stopped in a call we hold */
	TS_CALL,         /* stopped in a trapped call; the loop thread runs its handler */
	TS_PAUSED,       /* its call is with a worker; it sleeps in ppoll() meanwhile */
	TS_EXIT_AUDIT,   /* passed, resumed to the exit stop to read the result */
	TS_EXIT_INJECT,  /* running our openat in the call's place */
};

struct thr {
	pid_t tid;
	enum tstate st;
	struct call *c;                 /* the call we hold (TS_CALL .. TS_EXIT_INJECT) */
	bool with_worker;               /* c is a worker's until it answers (TS_PAUSED) */
	bool answered;                  /* TS_PAUSED: the worker's verdict is in v */
	struct verdict v;               /* TS_PAUSED: the verdict; TS_EXIT_INJECT: the ADDFD
					   (v.fd is ours) */
	struct user_regs_struct saved;  /* the caller's registers at its seccomp stop */
	struct bt *stack;               /* --backtrace: its stack at that stop */
	/* Calls that will trap again at the same place with the same arguments: made again
	 * by rewinding (replay(): the verdict known), or cut short by a signal while a worker
	 * still has them (the verdict comes later; the worker's side effects happen once).
	 * A signal handler's own calls, which may come first, are calls of their own. */
	struct again {
		struct call *c;
		bool known;                 /* v holds its verdict */
		struct verdict v;
		struct user_regs_struct regs;
	} again[4];                     /* innermost (a handler's, of a handler's...) last */
	int nagain;
	bool stack_ok;
	char *args;                     /* --audit: a passed call's arguments, decoded before
					   the kernel runs it (an exec replaces the memory) */
	bool args_ok;
	struct thr *next;
};

#define NBUCKET 1024
static struct thr *threads[NBUCKET];
static bool seized_once, done_said;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;   /* the queue and the request */
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct call *queue;   /* answered by workers, linked by next, newest first */
static pid_t seize_pid;          /* a request of tracer_attach, 0: none */
static int seize_err;
static bool seize_done;
static int evfd = -1, donefd = -1;
static __thread bool on_tracer;   /* this thread is the tracer (no gettid per answer) */
static uint64_t next_id = 1;

static struct thr **slot(pid_t tid)
{
	struct thr **p = &threads[(unsigned)tid % NBUCKET];
	while (*p && (*p)->tid != tid)
		p = &(*p)->next;
	return p;
}

static struct thr *thr_get(pid_t tid)
{
	struct thr **p = slot(tid);
	if (*p)
		return *p;
	struct thr *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->tid = tid;
	*p = t;
	return t;
}

/* Drop a call we hold for a thread that will never take its answer. */
static void drop_call(struct call *c, struct verdict *v)
{
	if (v && v->kind == V_ADDFD && v->fd >= 0)
		close(v->fd);
	call_release(c);
}

static void thr_gone(pid_t tid)
{
	struct thr **p = slot(tid), *t = *p;
	if (!t)
		return;
	/* A call a worker still holds is dropped when its answer finds nobody. */
	bool ours_v = t->st == TS_EXIT_INJECT || t->answered;
	if (t->c && !(t->with_worker && !t->answered))
		drop_call(t->c, ours_v ? &t->v : NULL);
	for (int i = 0; i < t->nagain; i++)   /* (one a worker has: dropped at its answer) */
		if (t->again[i].known)
			drop_call(t->again[i].c, &t->again[i].v);
	*p = t->next;
	free(t->stack);
	free(t->args);
	free(t);
	bt_forget(tid);   /* a process's leader: its maps (nothing for other threads) */
}

/* Resume a stopped thread: to its syscall-exit stop if we wait for one there. */
static void resume(struct thr *t, int sig)
{
	int req = t->st == TS_PAUSED || t->st == TS_EXIT_AUDIT || t->st == TS_EXIT_INJECT ? PTRACE_SYSCALL
											  : PTRACE_CONT;
	if (ptrace(req, t->tid, 0, (void *)(long)sig) < 0 && errno != ESRCH)
		log_trace(1, "[%d] cannot resume: %s", (int)t->tid, strerror(errno));
}

static void record(struct thr *t, struct call *c, const struct verdict *v, bool known, int64_t result)
{
	if (!audit_on)
		return;
	if (t->args_ok)
		audit_use_args(c, t->args);
	t->args_ok = false;
	audit_call(c, v, known, result, t->stack_ok ? t->stack : NULL);
}

/* The call is over for us: log, record, recycle. */
static void settle(struct thr *t, struct verdict v, bool known, int64_t result, bool gave_fd)
{
	struct call *c = t->c;
	t->c = NULL;
	t->with_worker = t->answered = false;
	t->st = TS_RUNNING;
	if (log_verbosity && c->desc && !c->foreign)
		call_trace(c, &v, gave_fd);
	record(t, c, &v, known, result);
	call_release(c);
}

/* Rewrite the stopped call into an openat of our descriptor (see the top). 0 or -errno. */
static int inject(struct thr *t, const struct verdict *v)
{
	struct call *c = t->c;
	/* In another pid or mount namespace, /proc/<our pid> may name someone else. */
	if (c->job->ns_changed || c->start.foreign_root)
		return -EXDEV;
	char path[64];
	int n = snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), v->fd);
	int fl = fcntl(v->fd, F_GETFL);
	if (fl < 0)
		return -errno;
	fl &= O_ACCMODE | O_APPEND | O_NONBLOCK | O_NOATIME | O_PATH | O_DIRECT | O_DSYNC | O_SYNC;
	fl |= (int)(v->fd_flags & O_CLOEXEC);
	struct user_regs_struct r = t->saved;
	uint64_t addr = (REG_SP(r) - STACK_RED_ZONE - sizeof path) & ~(uint64_t)15;
	struct iovec local = { path, (size_t)n + 1 }, remote = { (void *)addr, (size_t)n + 1 };
	if (process_vm_writev(t->tid, &local, 1, &remote, 1, 0) != n + 1)
		return errno ? -errno : -EFAULT;
	REG_NR(r) = SYS_openat;
	REG_ARG0(r) = (uint64_t)(int64_t)AT_FDCWD;
	REG_ARG1(r) = addr;
	REG_ARG2(r) = (uint64_t)fl;
	REG_ARG3(r) = 0;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0)
		return -errno;
	return 0;
}

/* Apply a verdict to a thread stopped in its call (tracer thread only). */
static void apply(struct thr *t, struct verdict v)
{
	if (v.kind == V_ADDFD) {
		int err = inject(t, &v);
		if (!err) {
			t->v = v;
			t->st = TS_EXIT_INJECT;
			resume(t, 0);
			return;
		}
		log_trace(1, "[%d] %s: the descriptor cannot be given (%s); passed to the kernel", (int)t->tid,
			  t->c->path[0] ? t->c->path : t->c->raw, strerror(-err));
		close(v.fd);
		v = verdict_continue();
	}
	if (v.kind == V_RETURN) {
		struct user_regs_struct r = t->saved;
		REG_NR(r) = (uint64_t)-1;
		REG_RET(r) = (uint64_t)v.val;
		ptrace(PTRACE_SETREGS, t->tid, 0, &r);
		settle(t, v, true, v.val, false);
		resume(t, 0);
		return;
	}
	/* V_CONTINUE (a V_DEFER or V_PARKED never reaches here) */
	if (audit_on) {
		enum { ARGS_MAX = 16384 };
		if (t->args || (t->args = malloc(ARGS_MAX)))
			t->args_ok = audit_decode_args(t->c, t->args, ARGS_MAX);
		t->v = v;
		t->st = TS_EXIT_AUDIT;
	} else {
		settle(t, v, false, 0, false);
	}
	resume(t, 0);
}

static int still_valid(const struct call *c)
{
	(void)c;
	return 1;   /* the caller is stopped until we resume it; a SIGKILL is seen as its exit */
}

/* Signals that would end tid natively if they came now: default action fatal, neither
 * caught nor ignored, not blocked by the thread. From /proc: 0 if it cannot be read. */
static uint64_t fatal_signals(pid_t tid)
{
	/* SIGHUP..SIGSYS whose default is to terminate or dump core, and every real-time one. */
	static const int fatal[] = { SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGUSR1,
				     SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGXCPU, SIGXFSZ,
				     SIGVTALRM, SIGPROF, SIGIO, SIGPWR, SIGSYS };
	uint64_t set = 0, blk = 0, ign = 0, cgt = 0;
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		set |= 1ULL << (fatal[i] - 1);
	for (int sig = 32; sig <= 64; sig++)
		set |= 1ULL << (sig - 1);
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int got = 0;
	while (fgets(line, sizeof line, f))
		got += sscanf(line, "SigBlk: %" SCNx64, &blk) + sscanf(line, "SigIgn: %" SCNx64, &ign) +
		       sscanf(line, "SigCgt: %" SCNx64, &cgt);
	fclose(f);
	return got == 3 ? set & ~blk & ~ign & ~cgt : 0;
}

/* A deferred call sleeps until the worker answers (see the top): in ppoll() with every
 * signal blocked but those that would end it, so a signal it would take only after the
 * call (a handler, a stop) waits until then, as under user notification, and a fatal one
 * still ends it. pause() where its stack cannot take the mask. */
static void park(struct thr *t)
{
	struct user_regs_struct r = t->saved;
	uint64_t mask = ~fatal_signals(t->tid);
	uint64_t addr = (REG_SP(r) - STACK_RED_ZONE - 16) & ~(uint64_t)15;
	struct iovec local = { &mask, sizeof mask }, remote = { (void *)addr, sizeof mask };
	if (process_vm_writev(t->tid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof mask) {
		REG_NR(r) = SYS_ppoll;
		REG_ARG0(r) = 0;
		REG_ARG1(r) = 0;
		REG_ARG2(r) = 0;
		REG_ARG3(r) = addr;
		REG_ARG4(r) = sizeof mask;
	} else {
		REG_NR(r) = SYS_pause;
	}
	t->with_worker = true;
	t->answered = false;
	t->st = TS_PAUSED;
	if (ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0) {
		/* Cannot sleep it: it waits stopped instead (only SIGKILL reaches it then). */
		t->st = TS_CALL;
		return;
	}
	resume(t, 0);
}

/* The held call will trap again at the same place: remember it (see again). */
static void expect_again(struct thr *t, bool known, struct verdict v)
{
	size_t max = sizeof t->again / sizeof *t->again;
	if ((size_t)t->nagain == max) {
		/* Handlers nested this deep, or left by longjmp: forget the oldest. */
		if (t->again[0].known)
			drop_call(t->again[0].c, &t->again[0].v);
		memmove(t->again, t->again + 1, (max - 1) * sizeof *t->again);
		t->nagain--;
	}
	t->again[t->nagain++] = (struct again){ t->c, known, v, t->saved };
	t->c = NULL;
	t->st = TS_RUNNING;
}

/* Make the thread run its original call again (the syscall instruction once more). */
static void replay(struct thr *t, struct verdict v)
{
	struct user_regs_struct r = t->saved;
	REG_IP(r) -= SYSCALL_INSN_LEN;
	REG_RET(r) = REG_NR(r);
	ptrace(PTRACE_SETREGS, t->tid, 0, &r);
	t->with_worker = false;
	expect_again(t, true, v);
	resume(t, 0);
}

/* The call expected again that this stop is (same place, call and arguments), or -1. */
static int find_again(const struct thr *t, const struct user_regs_struct *r)
{
	for (int i = t->nagain - 1; i >= 0; i--) {
		const struct user_regs_struct *o = &t->again[i].regs;
		if (REG_IP(*r) == REG_IP(*o) && REG_NR(*r) == REG_NR(*o) && REG_ARG0(*r) == REG_ARG0(*o) &&
		    REG_ARG1(*r) == REG_ARG1(*o) && REG_ARG2(*r) == REG_ARG2(*o) && REG_ARG3(*r) == REG_ARG3(*o))
			return i;
	}
	return -1;
}

static void on_seccomp(struct thr *t)
{
	struct __ptrace_syscall_info info;
	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, sizeof info, &info) <= 0 ||
	    info.op != PTRACE_SYSCALL_INFO_SECCOMP) {
		resume(t, 0);
		return;
	}
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->saved) < 0) {
		resume(t, 0);
		return;
	}
	int k = find_again(t, &t->saved);
	if (k >= 0) {
		/* The held call again: its answer now if known, else back to sleep for it. */
		struct again a = t->again[k];
		memmove(t->again + k, t->again + k + 1, (t->nagain - k - 1) * sizeof *t->again);
		t->nagain--;
		t->c = a.c;
		t->st = TS_CALL;
		if (a.known) {
			apply(t, a.v);
		} else {
			park(t);
			if (t->st != TS_PAUSED)
				t->st = TS_CALL;   /* could not sleep: waits stopped for the answer */
		}
		return;
	}
	struct call *c = call_new(&node);
	if (!c) {
		resume(t, 0);
		return;
	}
	uint64_t args[6];
	for (int i = 0; i < 6; i++)
		args[i] = info.seccomp.args[i];
	call_init(c, next_id++, t->tid, (int)info.seccomp.nr, info.arch, args, -1);
	c->traced = true;
	c->still_valid = still_valid;
	t->c = c;
	t->st = TS_CALL;
	t->with_worker = t->answered = false;
	t->stack_ok = false;
	if (audit_on && audit_backtrace && (t->stack || (t->stack = malloc(sizeof *t->stack))))
		t->stack_ok = bt_collect(t->tid, t->stack) == 0 || t->stack->n > 0;
	struct verdict v = call_dispatch(c);
	if (v.kind == V_DEFER) {
		park(t);
		pool_submit(&node, c);   /* a worker calls call_finish, which queues the answer */
		return;
	}
	call_finish(c, v);   /* counts, then tracer_answer: applied at once on this thread */
}

/* The sleep (ppoll or pause) of a parked call has returned: the worker answered (we
 * interrupted it), or a signal came first. */
static void on_sleep_exit(struct thr *t)
{
	if (!t->answered) {
		/* Deliver the signal as for a call cut short: -ERESTARTNOINTR makes the kernel
		 * make the call again after a handler, or at once if none runs; a fatal signal
		 * ends the process. The call is still the worker's: when it traps again it
		 * waits for that answer (no second fill, no side effect made twice). */
		struct user_regs_struct r = t->saved;
		REG_RET(r) = (uint64_t)-513;   /* -ERESTARTNOINTR */
		ptrace(PTRACE_SETREGS, t->tid, 0, &r);
		expect_again(t, false, verdict_continue());
		resume(t, 0);
		return;
	}
	struct verdict v = t->v;
	t->with_worker = t->answered = false;
	if (v.kind == V_RETURN) {
		struct user_regs_struct r = t->saved;
		REG_RET(r) = (uint64_t)v.val;
		ptrace(PTRACE_SETREGS, t->tid, 0, &r);
		settle(t, v, true, v.val, false);
		resume(t, 0);
		return;
	}
	replay(t, v);   /* a descriptor to give, or the kernel's to run: at its next stop */
}

static void on_exit_stop(struct thr *t)
{
	if (t->st == TS_PAUSED) {
		on_sleep_exit(t);
		return;
	}
	struct user_regs_struct r;
	if (ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0) {
		resume(t, 0);
		return;
	}
	int64_t res = (int64_t)REG_RET(r);
	if (t->st == TS_EXIT_AUDIT) {
		struct verdict v = t->v;
		settle(t, v, true, res, false);   /* back to TS_RUNNING: resumed with PTRACE_CONT */
		resume(t, 0);
		return;
	}
	if (t->st != TS_EXIT_INJECT) {
		resume(t, 0);
		return;
	}
	struct user_regs_struct back = t->saved;
	close(t->v.fd);
	t->v.fd = -1;
	if (res >= 0) {
		REG_RET(back) = (uint64_t)res;
		ptrace(PTRACE_SETREGS, t->tid, 0, &back);
		settle(t, verdict_return(res), true, res, true);
		resume(t, 0);
		return;
	}
	/* Restart the original call; it traps again and is passed then. */
	log_trace(1, "[%d] %s: our descriptor could not be opened by the caller (%s); passed to the kernel",
		  (int)t->tid, t->c->path[0] ? t->c->path : t->c->raw, strerror((int)-res));
	t->c->outcome = OUT_PASS;
	replay(t, verdict_continue());
}

static void on_stop(pid_t tid, int status)
{
	struct thr *t = thr_get(tid);
	if (!t)
		return;
	int sig = WSTOPSIG(status), event = status >> 16;
	if (sig == (SIGTRAP | 0x80)) {
		on_exit_stop(t);
	} else if (event == PTRACE_EVENT_SECCOMP) {
		on_seccomp(t);
	} else if (event == PTRACE_EVENT_STOP) {
		/* A group-stop (SIGSTOP and friends) stays a stop until SIGCONT, as natively;
		 * any other is a new tracee's first stop or our own interrupt: run on. */
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			ptrace(PTRACE_LISTEN, tid, 0, 0);
		else
			resume(t, 0);
	} else if (event == PTRACE_EVENT_EXEC) {
		/* A thread other than the leader that execs takes the leader's id: its state
		 * (a pending exit stop) moves with it. */
		unsigned long old = 0;
		ptrace(PTRACE_GETEVENTMSG, tid, 0, &old);
		bt_forget(tid);   /* a new program: new maps */
		if ((pid_t)old != tid && old) {
			struct thr *o = *slot((pid_t)old);
			if (o && o->st != TS_RUNNING) {
				struct thr keep = *o;
				keep.tid = t->tid;
				keep.next = t->next;
				free(t->stack);
				free(t->args);
				*t = keep;
				o->c = NULL;
				o->nagain = 0;
				o->stack = NULL;
				o->args = NULL;
			}
			thr_gone((pid_t)old);
			t = thr_get(tid);
		}
		resume(t, 0);
	} else if (event) {
		resume(t, 0);   /* fork, vfork, clone, vfork-done: the new tracee reports itself */
	} else {
		resume(t, sig);   /* a signal on its way to the tracee: deliver it */
	}
}

static struct again *again_of(struct thr *t, const struct call *c)
{
	for (int i = 0; i < t->nagain; i++)
		if (t->again[i].c == c && !t->again[i].known)
			return &t->again[i];
	return NULL;
}

static void take_answers(void)
{
	pthread_mutex_lock(&mu);
	struct call *c = queue;
	queue = NULL;
	pthread_mutex_unlock(&mu);
	/* Oldest first (the queue is pushed at its head). */
	struct call *rev = NULL;
	while (c) {
		struct call *next = c->next;
		c->next = rev;
		rev = c;
		c = next;
	}
	for (struct call *next; rev; rev = next) {
		next = rev->next;
		rev->next = NULL;
		struct verdict v = rev->traced_v;
		struct thr *t = *slot(rev->pid);
		struct again *a = t ? again_of(t, rev) : NULL;
		if (t && t->c == rev && t->st == TS_PAUSED && !t->answered) {
			/* Wake it from its sleep: the answer is given at the sleep's exit stop. */
			t->v = v;
			t->answered = true;
			ptrace(PTRACE_INTERRUPT, t->tid, 0, 0);
		} else if (t && t->c == rev && t->st == TS_CALL) {
			t->with_worker = false;
			apply(t, v);   /* it could not be put to sleep: still stopped */
		} else if (a) {
			a->v = v;   /* given when the call traps again */
			a->known = true;
		} else {
			drop_call(rev, &v);   /* the caller died or was cut short meanwhile */
		}
	}
}

static void take_request(void)
{
	pthread_mutex_lock(&mu);
	pid_t pid = seize_pid;
	pthread_mutex_unlock(&mu);
	if (!pid)
		return;
	long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
		    PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;
	int err = ptrace(PTRACE_SEIZE, pid, 0, (void *)opts) < 0 ? -errno : 0;
	if (!err) {
		thr_get(pid);
		seized_once = true;
	}
	pthread_mutex_lock(&mu);
	seize_pid = 0;
	seize_err = err;
	seize_done = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void reap(void)
{
	for (;;) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | __WNOTHREAD | WNOHANG);
		if (tid > 0) {
			if (WIFSTOPPED(status))
				on_stop(tid, status);
			else if (WIFEXITED(status) || WIFSIGNALED(status))
				thr_gone(tid);
			continue;
		}
		if (tid < 0 && errno == ECHILD && seized_once && !done_said) {
			/* Nobody left to trace: what we still hold can never be answered. */
			for (size_t b = 0; b < NBUCKET; b++)
				while (threads[b])
					thr_gone(threads[b]->tid);
			done_said = true;
			uint64_t one = 1;
			(void)!write(donefd, &one, sizeof one);
		}
		return;
	}
}

static void *tracer_main(void *arg)
{
	(void)arg;
	on_tracer = true;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	struct pollfd p[2] = { { sfd, POLLIN, 0 }, { evfd, POLLIN, 0 } };
	for (;;) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		/* Only what poll says is ready: a stop costs a few system calls less. */
		struct signalfd_siginfo si[8];
		if (p[0].revents)
			while (read(sfd, si, sizeof si) == sizeof si)
				;
		uint64_t n;
		if (p[1].revents && read(evfd, &n, sizeof n) == sizeof n) {
			take_request();
			take_answers();
		}
		reap();
	}
	log_msg("the ptrace backend's thread failed: %s", strerror(errno));
	return NULL;
}

static void wake(void)
{
	uint64_t one = 1;
	(void)!write(evfd, &one, sizeof one);
}

void tracer_answer(struct call *c, struct verdict v)
{
	if (on_tracer) {
		struct thr *t = *slot(c->pid);
		if (t && t->c == c)
			apply(t, v);
		else
			drop_call(c, &v);
		return;
	}
	/* The call is ours until answered: its own fields carry the verdict to the tracer. */
	c->traced_v = v;
	pthread_mutex_lock(&mu);
	c->next = queue;
	queue = c;
	pthread_mutex_unlock(&mu);
	wake();
}

int tracer_attach(pid_t pid)
{
	if (evfd < 0) {
		evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		donefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (evfd < 0 || donefd < 0)
			return -errno;
		/* Tracee stops arrive as SIGCHLD: only the tracer's signalfd may take it. */
		sigset_t all, chld, old;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		pthread_sigmask(SIG_BLOCK, &chld, NULL);
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		pthread_t th;
		int err = pthread_create(&th, NULL, tracer_main, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err)
			return -err;
		pthread_detach(th);
	}
	pthread_mutex_lock(&mu);
	seize_pid = pid;
	seize_done = false;
	pthread_mutex_unlock(&mu);
	wake();
	pthread_mutex_lock(&mu);
	while (!seize_done)
		pthread_cond_wait(&cv, &mu);
	int err = seize_err;
	pthread_mutex_unlock(&mu);
	if (!err)
		tracer_active = true;
	return err;
}

int tracer_done_fd(void)
{
	return donefd;
}
