/* SECCOMP_IOCTL_NOTIF_RECV -> handler -> SEND / ADDFD. A caller that dies while we work
 * makes the ioctls fail with ENOENT; that is normal and ignored. */
#include "notify.h"
#include "arch.h"
#include "log.h"
#include "supervisor.h"
#include "syscall_table.h"
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct seccomp_notif *req;
static struct seccomp_notif_resp *resp;
static size_t req_size, resp_size;

int notify_setup(int listener)
{
	struct seccomp_notif_sizes sz;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return -errno;
	/* The kernel's structs may be larger than our headers' on a newer kernel. */
	req_size = sz.seccomp_notif > sizeof *req ? sz.seccomp_notif : sizeof *req;
	resp_size = sz.seccomp_notif_resp > sizeof *resp ? sz.seccomp_notif_resp : sizeof *resp;
	req = req ? req : calloc(1, req_size);
	resp = resp ? resp : calloc(1, resp_size);
	if (!req || !resp)
		return -ENOMEM;
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
	memset(resp, 0, resp_size);
	resp->id = id;
	resp->val = val;
	resp->error = error;
	resp->flags = flags;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
		log_trace(1, "answer to call %llu not delivered: %s", (unsigned long long)id, strerror(errno));
}

/* A call from the i386 or x32 ABI: never served; only its effect on safety matters. */
static void foreign_call(const struct seccomp_notif *n)
{
	sup.stats.foreign++;
	uint32_t arch = n->data.arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X32;
	char *name = seccomp_syscall_resolve_num_arch(arch, n->data.nr);
	const struct syscall_desc *d = name ? syscall_lookup_name(name) : NULL;
	if (!d && name && strstr(name, "32"))
		sup.creds_changed = true;   /* setuid32 and friends */
	else if (!d || d->group != GROUP_LOOKUP) {
		if (d && d->group == GROUP_CREDS)
			sup.creds_changed = true;
		if (!d || d->group == GROUP_NAMESPACE)
			sup.ns_changed = true;
		invalidate_all(name ? name : "foreign-ABI call");
	}
	log_trace(1, "[%d] %s (foreign ABI) -> pass", (int)n->pid, name ? name : "?");
	free(name);
}

static void trace(const struct call *c, const struct syscall_desc *d, const struct verdict *v)
{
	static const char *const how[] = { "pass", "hit", "fill" };
	if (v->kind == V_CONTINUE)
		log_trace(1, "[%d] %s %s -> pass", (int)c->pid, d->name, c->path);
	else if (v->kind == V_ADDFD)
		log_trace(1, "[%d] %s %s -> fd (%s)", (int)c->pid, d->name, c->path, how[c->outcome]);
	else if (v->val < 0)
		log_trace(1, "[%d] %s %s -> %s (%s)", (int)c->pid, d->name, c->path, strerrorname_np(-v->val), how[c->outcome]);
	else
		log_trace(1, "[%d] %s %s -> %lld (%s)", (int)c->pid, d->name, c->path, (long long)v->val, how[c->outcome]);
}

static void count(const struct syscall_desc *d, const struct call *c, const struct verdict *v)
{
	struct sys_counts *r = &sup.stats.rows[syscall_index(d)];
	r->trapped++;
	if (v->kind == V_CONTINUE)
		r->passed++;
	else if (c->outcome == OUT_HIT)
		r->hits++;
	else
		r->fills++;
	if (v->kind == V_RETURN && v->val < 0)
		r->negative++;
}

int notify_serve_one(int listener)
{
	memset(req, 0, req_size);
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
		if (errno == ENOENT || errno == EINTR)
			return 0;   /* the caller was killed before we got to it */
		return -errno;
	}
	const struct seccomp_notif *n = req;
	if (sup.ncreated)
		settle_created();
	const struct syscall_desc *d = NULL;
	if (n->data.arch == COLLRUN_NATIVE_ARCH && !(n->data.nr & COLLRUN_X32_BIT))
		d = syscall_lookup(n->data.nr);
	if (!d) {
		foreign_call(n);
		send_resp(listener, n->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
		return 0;
	}
	/* Field by field, not an initialiser: that would zero the two 8 KiB path buffers on
	 * every call. Handlers write c.target before reading it. */
	struct call c;
	c.id = n->id;
	c.pid = n->pid;
	c.nr = n->data.nr;
	c.arch = n->data.arch;
	c.listener = listener;
	c.still_valid = still_valid;
	c.outcome = OUT_PASS;
	memcpy(c.args, n->data.args, sizeof c.args);
	c.path[0] = '\0';
	struct verdict v = sup.passthrough && d->group == GROUP_LOOKUP ? verdict_continue() : d->handler(&c);
	if (v.kind == V_ADDFD) {
		struct seccomp_notif_addfd add = { .id = c.id, .flags = SECCOMP_ADDFD_FLAG_SEND,
						   .srcfd = v.fd, .newfd = 0, .newfd_flags = v.fd_flags };
		int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
		int err = errno;
		close(v.fd);
		if (r < 0 && err != ENOENT) {
			/* EMFILE and the like: let the kernel give the caller its own answer. */
			c.outcome = OUT_PASS;
			v = verdict_continue();
		}
	}
	if (v.kind == V_RETURN)
		send_resp(listener, c.id, v.val >= 0 ? v.val : 0, v.val < 0 ? (int)v.val : 0, 0);
	else if (v.kind == V_CONTINUE)
		send_resp(listener, c.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
	count(d, &c, &v);
	if (log_verbosity)
		trace(&c, d, &v);
	return 0;
}

int notify_serve_burst(int listener)
{
	for (int i = 0; i < 64; i++) {
		int err = notify_serve_one(listener);
		if (err)
			return err;
		struct pollfd p = { listener, POLLIN, 0 };
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
			break;
	}
	return 0;
}

void notify_prepare_fork(void) {}
void notify_after_fork(int in_child) { (void)in_child; }
