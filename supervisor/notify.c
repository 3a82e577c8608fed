/* The user-notify backend: SECCOMP_IOCTL_NOTIF_RECV -> handler -> SEND / ADDFD.
 * The loop thread receives every call and runs its handler against the cache only; what
 * needs a fill goes to a worker (node.c), which runs the handler again and answers. So no
 * file system, however slow or hung, ever stands between a caller and an answer the cache
 * already has, nor between the loop and signals or the program's exit.
 * A caller that dies while we work makes the ioctls fail with ENOENT; that is normal. */
#include "notify.h"
#include "arch.h"
#include "audit.h"
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "log.h"
#include "node.h"
#include "replica.h"
#include "supervisor.h"
#include "syscall_table.h"
#include "tracee_mem.h"
#include "tracer.h"
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static size_t req_size, resp_size;
/* Calls being run by workers right now: after fork only one thread survives, and the
 * lingering copy must finish these itself. Guarded by the node lock. */
static struct call *running;

int notify_setup(int listener)
{
	struct seccomp_notif_sizes sz;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return -errno;
	/* The kernel's structs may be larger than our headers' on a newer kernel. */
	req_size = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif : sizeof(struct seccomp_notif);
	resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ? sz.seccomp_notif_resp
									       : sizeof(struct seccomp_notif_resp);
	/* The flags travel as the ioctl argument itself, not through a pointer. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
		log_trace(1, "no SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (kernel < 6.6): answers wake another CPU");
	return 0;
}

static int still_valid(const struct call *c)
{
	uint64_t id = c->id;
	return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static void send_resp(int listener, uint64_t id, int64_t val, int error, uint32_t flags)
{
	union { struct seccomp_notif_resp r; char pad[256]; } u;
	struct seccomp_notif_resp *resp = resp_size <= sizeof u ? &u.r : calloc(1, resp_size);
	if (!resp)
		return;
	memset(resp, 0, resp_size <= sizeof u ? resp_size : 0);
	resp->id = id;
	resp->val = val;
	resp->error = error;
	resp->flags = flags;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
		log_trace(1, "answer to call %llu not delivered: %s", (unsigned long long)id, strerror(errno));
	if (resp != &u.r)
		free(resp);
}

/* Call buffers are large (path buffers): recycled, never zeroed whole. */
struct call *call_new(struct node *n)
{
	node_lock(n);
	struct call *c = n->free_calls;
	if (c)
		n->free_calls = c->next;
	node_unlock(n);
	return c ? c : malloc(sizeof *c);
}

void exec_note_free(struct exec_note *n);   /* handlers/exec.c */

void call_release(struct call *c)
{
	close_start(&c->start);
	exec_note_free(c->exec);
	c->exec = NULL;
	node_lock(c->node);
	c->next = c->node->free_calls;
	c->node->free_calls = c;
	node_unlock(c->node);
}

void call_trace(const struct call *c, const struct verdict *v, bool gave_fd)
{
	static const char *const how[] = { "pass", "hit", "fill", "kernel" };
	const char *name = c->desc->name, *p = c->path[0] ? c->path : c->raw;
	if (v->kind == V_CONTINUE && c->outcome == OUT_KERNEL)
		log_trace(1, "[%d] %s %s -> kernel (walk from the cache, open by the kernel)", (int)c->pid, name, p);
	else if (v->kind == V_CONTINUE)
		log_trace(1, "[%d] %s %s -> pass", (int)c->pid, name, p);
	else if (v->kind == V_ADDFD)
		log_trace(1, "[%d] %s %s -> fd (%s)", (int)c->pid, name, p, how[c->outcome]);
	else if (gave_fd)
		log_trace(1, "[%d] %s %s -> fd %lld (%s)", (int)c->pid, name, p, (long long)v->val, how[c->outcome]);
	else if (v->val < 0)
		log_trace(1, "[%d] %s %s -> %s (%s)", (int)c->pid, name, p, strerrorname_np(-v->val), how[c->outcome]);
	else
		log_trace(1, "[%d] %s %s -> %lld (%s)", (int)c->pid, name, p, (long long)v->val, how[c->outcome]);
}

static void count(const struct call *c, const struct verdict *v)
{
	struct sys_counts *r = &c->job->stats.rows[syscall_index(c->desc)];
	STAT_ADD(r->trapped, 1);
	if (v->kind == V_CONTINUE && c->outcome == OUT_KERNEL)
		STAT_ADD(c->job->stats.kernel, 1);
	if (v->kind == V_CONTINUE)
		STAT_ADD(r->passed, 1);
	else if (c->outcome == OUT_HIT)
		STAT_ADD(r->hits, 1);
	else
		STAT_ADD(r->fills, 1);
	if (v->kind == V_RETURN && v->val < 0)
		STAT_ADD(r->negative, 1);
}

void notify_parked_locked(struct call *c)
{
	for (struct call **p = &running; *p; p = &(*p)->rnext)
		if (*p == c) {
			*p = c->rnext;
			break;
		}
}

static void not_running(struct call *c)
{
	node_lock(c->node);
	notify_parked_locked(c);
	node_unlock(c->node);
}

/* Count, answer, recycle. Counted before the answer: once answered, the caller may exit
 * and collrun print its statistics while this thread has not counted yet. */
void call_finish(struct call *c, struct verdict v)
{
	bool counted = c->desc && !c->foreign, gave_fd = false;
	/* For --audit: what the caller gets, when we know it. A CONTINUE's result is the
	 * kernel's, after we have answered: not known here (design.md §4.13). */
	bool known = v.kind == V_RETURN;
	int64_t result = v.val;
	if (counted)
		count(c, &v);
	if (c->traced) {
		/* ptrace: only the tracer thread may touch the stopped caller (tracer.c), and it
		 * audits the call with its real result, the caller still stopped. */
		if (c->in_worker)
			not_running(c);
		tracer_answer(c, v);
		return;
	}
	char args[16384];
	if (audit_on) {
		audit_capture_args(c, args, sizeof args);
		c->t_answer = audit_now_ns();
	}
	if (v.kind == V_ADDFD) {
		struct seccomp_notif_addfd add = { .id = c->id, .srcfd = v.fd, .newfd = 0,
						   .newfd_flags = v.fd_flags,
						   .flags = v.last_close_theirs ? 0 : SECCOMP_ADDFD_FLAG_SEND };
		int r = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
		int err = errno;
		close(v.fd);
		/* The installed number is the call's result; a caller gone meanwhile (ENOENT) got
		 * nothing we can name. */
		known = r >= 0 || (err != ENOENT && err != EINPROGRESS);
		result = r >= 0 ? r : -err;
		if (r >= 0 && v.last_close_theirs) {
			v = verdict_return(r);   /* installed; answered below, ours closed first */
			gave_fd = true;
		}
		if (r < 0 && err != ENOENT && err != EINPROGRESS) {
			/* EMFILE and the like: the caller's own limit, which the kernel's open would
			 * have hit too. Never fall back to opening something else. */
			struct sys_counts *row = &c->job->stats.rows[syscall_index(c->desc)];
			if (counted && c->outcome == OUT_HIT)
				STAT_ADD(row->hits, -1);
			else if (counted)
				STAT_ADD(row->fills, -1);
			v = verdict_return(-err);
			if (counted) {
				STAT_ADD(row->fills, 1);
				STAT_ADD(row->negative, 1);
			}
		}
	}
	if (v.kind == V_RETURN)
		send_resp(c->listener, c->id, v.val >= 0 ? v.val : 0, v.val < 0 ? (int)v.val : 0, 0);
	else if (v.kind == V_CONTINUE)
		send_resp(c->listener, c->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
	if (counted && log_verbosity)
		call_trace(c, &v, gave_fd);
	if (audit_on)
		audit_call(c, &v, known, result, NULL);
	/* Only now out of the running list: a lingering copy forked before this point answers
	 * the call again (harmlessly: the kernel refuses a second answer). */
	if (c->in_worker)
		not_running(c);
	call_release(c);
}

/* A call of the i386 or x32 ABI, by the native row of the same meaning: opens only mark
 * what they write; lookups are never served; the rest as natively. */
static struct verdict foreign_handler(struct call *c)
{
	const struct syscall_desc *d = c->desc;
	if (d->handler == h_open || d->handler == h_openat || d->handler == h_openat2 || d->handler == h_creat)
		return h_open_foreign(c);
	if (d->group == GROUP_LOOKUP || d->group == GROUP_EXEC)
		return verdict_continue();   /* (an i386 envp holds 32-bit pointers: not read) */
	struct verdict v = d->handler(c);
	return v.kind == V_DEFER ? v : verdict_continue();
}

static struct verdict run_handler(struct call *c)
{
	if (c->foreign)
		return foreign_handler(c);
	if (c->job->passthrough && c->desc->group == GROUP_LOOKUP)
		return verdict_continue();
	return c->desc->handler(c);
}

void notify_taken_locked(struct call *c)
{
	c->rnext = running;
	running = c;
}

void notify_run(struct call *c)
{
	c->in_worker = true;
	struct verdict v = run_handler(c);
	if (v.kind == V_PARKED)
		return;   /* on a slot's waiter list now (and off the running list): requeued later */
	if (v.kind == V_DEFER)
		v = verdict_continue();   /* cannot happen in a worker; never leave a caller waiting */
	if (v.kind == V_CONTINUE && c->swap_fd >= 0) {
		/* The kernel must act on the original directory, not on our replica. */
		int err = replica_swap(c);
		if (err)
			log_trace(1, "[%d] cannot give descriptor %d its original directory back: %s", (int)c->pid,
				  c->swap_fd, strerror(-err));
	}
	call_finish(c, v);
}

/* A call from the i386 or x32 ABI: never served; only its effect on safety matters, and
 * it is handled by the native row of the same meaning. */
static struct verdict foreign_call(struct call *c)
{
	STAT_ADD(c->job->stats.foreign, 1);
	uint32_t arch = c->arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X32;
	int nr = c->sysno & ~COLLRUN_X32_BIT;
	char *name = seccomp_syscall_resolve_num_arch(arch, nr);
	const struct syscall_desc *d = name ? syscall_lookup_foreign(name) : NULL;
	struct verdict v = verdict_continue();
	if (!d) {
		/* A trapped call we cannot name: never answer anything again rather than wrongly. */
		c->job->pass_all = true;
	} else {
		c->nr = d->nr;   /* the native row's meaning; c->sysno keeps the real number */
		c->desc = d;
		c->foreign = true;
		v = foreign_handler(c);
	}
	log_trace(1, "[%d] %s (foreign ABI) -> pass", (int)c->pid, name ? name : "?");
	free(name);
	return v;
}

void call_init(struct call *c, uint64_t id, pid_t pid, int nr, uint32_t arch, const uint64_t args[6],
	       int listener)
{
	/* Field by field, not an initialiser: that would zero the path buffers on every call. */
	c->next = NULL;
	c->id = id;
	c->t_recv = audit_now_ns();
	c->t_answer = 0;
	c->pid = pid;
	c->nr = nr;
	c->sysno = nr;
	c->arch = arch;
	c->listener = listener;
	c->traced = false;
	c->job = &sup;
	c->node = &node;
	c->in_worker = false;
	c->prepared = false;
	c->have_start = false;
	c->still_valid = still_valid;
	c->outcome = OUT_PASS;
	c->how = ROUTE_KERNEL;
	c->lookup = c->raw;
	c->raw[0] = c->path[0] = '\0';
	c->exec = NULL;
	c->start = (struct start){ .dir_fd = -1, .root_fd = -1 };
	c->swap_fd = -1;
	c->swap_obj = NULL;
	memcpy(c->args, args, sizeof c->args);
}

struct verdict call_dispatch(struct call *c)
{
	if (c->job->ninflight) {   /* this thread's previous call has finished */
		node_lock(c->node);
		inflight_settle_tid(c->job, c->pid);
		node_unlock(c->node);
	}
	c->desc = NULL;
	if (c->arch == COLLRUN_NATIVE_ARCH && !(c->nr & COLLRUN_X32_BIT))
		c->desc = syscall_lookup(c->nr);
	c->foreign = false;
	return c->desc ? run_handler(c) : foreign_call(c);
}

int notify_serve_one(int listener)
{
	union { struct seccomp_notif n; char pad[512]; } u;
	struct seccomp_notif *n = req_size <= sizeof u ? &u.n : calloc(1, req_size);
	if (!n)
		return -ENOMEM;
	memset(n, 0, req_size <= sizeof u ? req_size : 0);
	int err = 0;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) < 0) {
		err = errno == ENOENT || errno == EINTR ? 0 : -errno;   /* caller killed meanwhile */
		if (n != &u.n)
			free(n);
		return err;
	}
	struct call *c = call_new(&node);
	if (!c) {
		send_resp(listener, n->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		if (n != &u.n)
			free(n);
		return 0;
	}
	call_init(c, n->id, n->pid, n->data.nr, n->data.arch, (const uint64_t *)n->data.args, listener);
	struct verdict v = call_dispatch(c);
	if (n != &u.n)
		free(n);
	if (v.kind == V_CONTINUE && c->swap_fd >= 0)
		v = verdict_defer();   /* a worker opens the original first (replica.h) */
	if (v.kind == V_DEFER) {
		/* The worker runs the handler again from the top: routing, path and start
		 * descriptors are kept (the caller is blocked: none of them can change). */
		pool_submit(&node, c);
		return 0;
	}
	call_finish(c, v);
	return 0;
}

int notify_serve_burst(int listener)
{
	/* One call per round of the caller's poll loop: that loop looks at every ready
	 * descriptor each round, so signals and the program's exit are never starved, and an
	 * extra poll per call (which a longer burst needs) is not paid. Fills never hold the
	 * loop: they run on workers. */
	return notify_serve_one(listener);
}

void notify_prepare_fork(void)
{
	pool_prepare_fork(&node);
}

void notify_after_fork(int in_child)
{
	replicas_after_fork(in_child);
	if (!in_child) {
		pool_after_fork(&node, false);
		return;
	}
	pool_after_fork(&node, true);
	data_after_fork(node.data);
	/* Calls the parent's workers were running: they are still pending in the kernel, and
	 * this copy is the one that answers them now. */
	node_lock(&node);
	struct call *c = running;
	running = NULL;
	node_unlock(&node);
	for (struct call *next; c; c = next) {
		next = c->rnext;
		pool_submit(&node, c);
	}
}
