/* --audit: the line for one answered call (audit.h). A line is built in a buffer and
 * written with one write(2) under a lock, on a descriptor opened O_APPEND: whole lines,
 * never interleaved between threads or processes (lingering copies, a node supervisor),
 * and nothing left in a stdio buffer when the job is killed. */
#include "audit.h"
#include "audit_args.h"
#include "handlers/common.h"
#include "syscall_table.h"
#include "policy.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool audit_on;
bool audit_backtrace;
static int audit_fd = -1;
static int audit_fmt;
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER;
/* audit_capture_args(): the arguments of this thread's call about to be audited. */
static __thread const struct call *captured_for;
static __thread const char *captured;

uint64_t audit_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int audit_open(const char *file, int format)
{
	if (format != AUDIT_TEXT && format != AUDIT_JSONL)
		return -EINVAL;
	int fd = STDERR_FILENO;
	if (file) {
		/* O_APPEND: several writers (workers, a lingering copy) each add whole lines. */
		fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666);
		if (fd < 0)
			return -errno;
	}
	audit_fd = fd;
	audit_fmt = format;
	audit_on = true;
	return 0;
}

void audit_close(void)
{
	if (audit_fd > STDERR_FILENO)
		close(audit_fd);
	audit_fd = -1;
	audit_on = false;
}

/* What answered the call, in the words of collrun(1). */
static const char *disposition(const struct call *c, const struct verdict *v)
{
	if (v->kind == V_CONTINUE)
		return "passed";
	if (c->how == ROUTE_DENY)
		return c->rule && c->rule->action == POL_HIDE ? "hidden" : "denied";
	if (c->lookup == c->target)
		return "redirected";
	if (c->outcome == OUT_HIT)
		return "hit";
	return "filled";   /* looked up (or performed) on the file system for this call */
}

bool audit_decode_args(const struct call *c, char *buf, size_t size)
{
	struct abuf b = { buf, 0, size, audit_fmt == AUDIT_JSONL };
	audit_args(&b, c);
	if (b.len >= size)
		return false;   /* too long: decoded again, at the audit */
	buf[b.len] = '\0';
	return true;
}

void audit_use_args(const struct call *c, const char *decoded)
{
	captured_for = c;
	captured = decoded;
}

void audit_capture_args(const struct call *c, char *buf, size_t size)
{
	captured_for = audit_decode_args(c, buf, size) ? c : NULL;
	captured = buf;
}

static void args(struct abuf *b, const struct call *c)
{
	if (captured_for == c)
		ab_puts(b, captured);
	else
		audit_args(b, c);
}

static void result_text(struct abuf *b, bool known, int64_t r)
{
	if (!known)
		ab_puts(b, " = ?");
	else if (r >= 0)
		ab_printf(b, " = %lld", (long long)r);
	else
		ab_printf(b, " = -1 %s (%s)", strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "E?",
			  strerror((int)-r));
}

static void stack_text(struct abuf *b, const struct bt *s)
{
	for (int i = 0; s && i < s->n; i++) {
		const struct bt_frame *f = &s->f[i];
		ab_printf(b, "\n > %s(", f->obj[0] ? f->obj : "?");
		if (f->fn[0])
			ab_printf(b, "%s+%#llx", f->fn, (unsigned long long)f->off);
		ab_printf(b, ") [%#llx]", (unsigned long long)f->ip);
	}
}

static void stack_json(struct abuf *b, const struct bt *s)
{
	ab_puts(b, ",\"stack\":[");
	for (int i = 0; i < s->n; i++) {
		const struct bt_frame *f = &s->f[i];
		ab_puts(b, i ? ",{\"fn\":" : "{\"fn\":");
		ab_quote(b, f->fn, strnlen(f->fn, sizeof f->fn));
		ab_printf(b, ",\"off\":%llu,\"obj\":", (unsigned long long)f->off);
		ab_quote(b, f->obj, strnlen(f->obj, sizeof f->obj));
		ab_printf(b, ",\"ip\":\"%#llx\"}", (unsigned long long)f->ip);
	}
	ab_putc(b, ']');
}

static void build(struct abuf *b, const struct call *c, const struct verdict *v, bool known, int64_t r,
		  const struct bt *stack, uint64_t now)
{
	/* Up to the answer, not to now: once answered (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
	 * the caller runs on this CPU at once, and its own work until its next call would
	 * count as ours. */
	uint64_t end = c->t_answer && c->t_answer <= now ? c->t_answer : now;
	uint64_t lat = end > c->t_recv ? (end - c->t_recv) / 1000 : 0;
	/* The wall-clock time the call was received (strace shows a call's entry). */
	struct timespec wall;
	clock_gettime(CLOCK_REALTIME, &wall);
	int64_t ns = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec - (int64_t)(now - c->t_recv);
	time_t sec = (time_t)(ns / 1000000000);
	long usec = (long)(ns % 1000000000 / 1000);
	const char *name = c->desc ? c->desc->name : "unknown";
	const char *disp = disposition(c, v);
	const char *path = c->path[0] ? c->path : c->raw[0] ? c->raw : NULL;
	b->len = 0;
	if (!b->json) {
		struct tm tm;
		localtime_r(&sec, &tm);
		ab_printf(b, "%02d:%02d:%02d.%06ld %d %s(", tm.tm_hour, tm.tm_min, tm.tm_sec, usec, (int)c->pid, name);
		args(b, c);
		ab_putc(b, ')');
		result_text(b, known, r);
		ab_printf(b, " <%s %lluus>", disp, (unsigned long long)lat);
		stack_text(b, stack);
		ab_putc(b, '\n');
		return;
	}
	ab_printf(b, "{\"ts\":%lld.%06ld,\"pid\":%d,\"syscall\":\"%s\",\"args\":[", (long long)sec, usec,
		  (int)c->pid, name);
	args(b, c);
	ab_puts(b, "],\"path\":");
	if (path)
		ab_quote(b, path, strlen(path));
	else
		ab_puts(b, "null");
	if (c->lookup == c->target && c->target[0]) {
		ab_puts(b, ",\"target\":");
		ab_quote(b, c->target, strlen(c->target));
	}
	if (!known)
		ab_puts(b, ",\"result\":null,\"errno\":null");
	else if (r >= 0)
		ab_printf(b, ",\"result\":%lld,\"errno\":null", (long long)r);
	else
		ab_printf(b, ",\"result\":-1,\"errno\":\"%s\"",
			  strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "E?");
	ab_printf(b, ",\"disposition\":\"%s\",\"latency_us\":%llu", disp, (unsigned long long)lat);
	if (stack && stack->n > 0)
		stack_json(b, stack);
	ab_puts(b, "}\n");
}

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(audit_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;   /* a full disk or a closed pipe: the job goes on unaudited */
		p += w, n -= (size_t)w;
	}
}

void audit_call(const struct call *c, const struct verdict *v, bool known, int64_t result, const struct bt *stack)
{
	if (!audit_on || audit_fd < 0)
		return;
	uint64_t now = audit_now_ns();
	int saved = errno;
	char small[16384];
	struct abuf b = { small, 0, sizeof small, audit_fmt == AUDIT_JSONL };
	build(&b, c, v, known, result, stack, now);
	char *big = NULL;
	if (b.len >= b.cap && (big = malloc(b.len + 1))) {   /* long paths, deep stacks */
		b = (struct abuf){ big, 0, b.len + 1, b.json };
		build(&b, c, v, known, result, stack, now);
	}
	if (b.len >= b.cap) {   /* no memory for the long line: cut it, keep it a line */
		b.len = b.cap - 1;
		b.p[b.len - 1] = '\n';
	}
	pthread_mutex_lock(&audit_lock);
	write_all(b.p, b.len);
	pthread_mutex_unlock(&audit_lock);
	free(big);
	captured_for = NULL;
	errno = saved;
}
