/* bt_collect: libunwind's remote unwinder with our own accessors instead of _UPT's.
 * Why not _UPT: it keeps one object's unwind table at a time, re-reads /proc/PID/maps and
 * re-opens and re-parses the ELF file whenever a frame lies in another object, and reads
 * the tracee a word at a time with PTRACE_PEEKDATA. Here:
 *  - objects come from bt_elf.c's cache (one mmap and parse per file per job);
 *  - unwind tables and code are read from that mmap, the stack a page at a time with
 *    process_vm_readv (the thread is stopped: the page cannot change during a walk);
 *  - registers come from one PTRACE_GETREGS;
 *  - each process has its own unw_addr_space_t with UNW_CACHE_GLOBAL, so libunwind's
 *    per-ip register-state cache is reused across calls but never shared by two
 *    processes (two non-PIE programs use the same addresses for different code). */
#include "backtrace.h"
#include "bt_elf.h"
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

/* libunwind is loaded the first time a stack is walked (--backtrace), not linked: linked,
 * its libraries (with liblzma) were loaded by every collrun, 0.1-0.35 ms of every launch
 * (bench/fastpath-account.md). Only its types come from its header. */
static struct {
	unw_addr_space_t (*create_addr_space)(unw_accessors_t *, int);
	void (*destroy_addr_space)(unw_addr_space_t);
	int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
	void (*flush_cache)(unw_addr_space_t, unw_word_t, unw_word_t);
	int (*init_remote)(unw_cursor_t *, unw_addr_space_t, void *);
	int (*get_reg)(unw_cursor_t *, int, unw_word_t *);
	int (*is_signal_frame)(unw_cursor_t *);
	int (*step)(unw_cursor_t *);
	/* Exported but not declared by its headers (perf declares it the same way): searches
	 * an .eh_frame_hdr-style table through the address space's accessors. */
	int (*dwarf_search_unwind_table)(unw_addr_space_t, unw_word_t, unw_dyn_info_t *, unw_proc_info_t *, int,
					 void *);
} U;
static pthread_once_t u_once = PTHREAD_ONCE_INIT;
static int u_err = -ENOENT;
#define UNW_STR_(x) #x
#define UNW_STR(x) UNW_STR_(x)
#define UNW_SYM(fn) UNW_STR(UNW_OBJ(fn))   /* "_Ux86_64_step": the remote unwinder's names */
#define UNW_LIB "libunwind-" UNW_STR(UNW_TARGET) ".so.8"

static char u_why[256] = "not loaded";

static void load_libunwind(void)
{
	void *h = dlopen(UNW_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(u_why, sizeof u_why, "%s", dlerror());
		return;
	}
	struct { void **slot; const char *name; } want[] = {
		{ (void **)&U.create_addr_space, UNW_SYM(create_addr_space) },
		{ (void **)&U.destroy_addr_space, UNW_SYM(destroy_addr_space) },
		{ (void **)&U.set_caching_policy, UNW_SYM(set_caching_policy) },
		{ (void **)&U.flush_cache, UNW_SYM(flush_cache) },
		{ (void **)&U.init_remote, UNW_SYM(init_remote) },
		{ (void **)&U.get_reg, UNW_SYM(get_reg) },
		{ (void **)&U.is_signal_frame, UNW_SYM(is_signal_frame) },
		{ (void **)&U.step, UNW_SYM(step) },
		{ (void **)&U.dwarf_search_unwind_table, UNW_SYM(dwarf_search_unwind_table) },
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!(*want[i].slot = dlsym(h, want[i].name))) {
			snprintf(u_why, sizeof u_why, "%s: no %s", UNW_LIB, want[i].name);
			return;   /* an incompatible libunwind: no stacks */
		}
	u_err = 0;
}

int bt_available(const char **why)
{
	pthread_once(&u_once, load_libunwind);
	if (why)
		*why = u_err ? u_why : NULL;
	return u_err;
}

/* A table built from .eh_frame lives in our memory; libunwind reads tables only through
 * access_mem, so it is shown at this address, which no x86-64 process can map. */
#define SYNTH_BASE 0xfffe000000000000ull
#define PAGE 4096u
#define NPAGES 8

struct bt_map {
	uint64_t start, end, off;
	dev_t dev;
	ino_t ino;
	char *path;
	struct bt_elf *elf;     /* NULL until needed, or when it cannot be read */
	uint64_t bias;
	bool tried;
};

struct bt_proc {
	pid_t pid;
	struct bt_map *maps;    /* file mappings and [vdso], sorted by start */
	size_t nmaps;
	unw_addr_space_t as;
	struct bt_elf *vdso;
	struct bt_proc *next;
};

struct bt_thread { pid_t tid, tgid; };

/* One walk: what the accessors need, passed as libunwind's arg. */
struct walk {
	pid_t tid;
	struct bt_proc *p;
	struct user_regs_struct regs;
	bool reread;                    /* maps already re-read during this walk */
	const int32_t *synth;           /* the built table the last find_proc_info showed */
	size_t synth_bytes;
	struct { uint64_t addr; bool ok; uint8_t b[PAGE]; } page[NPAGES];
	unsigned next_page;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct bt_proc *procs;
static struct bt_thread *threads;
static size_t nthreads, capthreads;

/* ---- /proc/PID/maps ---- */

static void free_maps(struct bt_proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].path);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *nb = realloc(b, cap *= 2);
		if (!nb)
			free(b);
		b = nb;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!b)
		return -ENOMEM;
	b[n] = '\0';
	*buf = b;
	*len = n;
	return err;
}

/* Re-read the maps; keep what was known of mappings that are still the same object at the
 * same place, so a re-read after a dlopen costs no new parse. true when anything changed. */
static int load_maps(struct bt_proc *p, bool *changed)
{
	char path[64], *text;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/maps", (int)p->pid);
	int r = read_file(path, &text, &len);
	if (r < 0)
		return r;
	size_t cap = 64, n = 0;
	struct bt_map *m = malloc(cap * sizeof *m);
	bool oom = !m;
	for (char *line = text, *nl; !oom && line < text + len; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			nl = text + len;
		*nl = '\0';
		unsigned long long start, end, off, ino;
		unsigned maj, min;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu %n", &start, &end, &off, &maj, &min,
			   &ino, &pos) < 6 || pos == 0)
			continue;
		char *name = line + pos;
		bool vdso = strcmp(name, "[vdso]") == 0;
		if (!vdso && (ino == 0 || name[0] != '/'))
			continue;           /* anonymous, stack, heap: nothing to look up */
		size_t nl_ = strlen(name);
		if (nl_ > 10 && strcmp(name + nl_ - 10, " (deleted)") == 0)
			name[nl_ - 10] = '\0';
		if (n == cap) {
			struct bt_map *nm = realloc(m, (cap *= 2) * sizeof *m);
			if (!(oom = !nm))
				m = nm;
			else
				break;
		}
		m[n] = (struct bt_map){ .start = start, .end = end, .off = off,
					.dev = makedev(maj, min), .ino = ino, .path = strdup(name) };
		if (!(oom = !m[n].path))
			n++;
	}
	free(text);
	if (oom) {
		for (size_t i = 0; m && i < n; i++)
			free(m[i].path);
		free(m);
		return -ENOMEM;
	}
	*changed = n != p->nmaps;
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < p->nmaps && p->maps[j].start < m[i].start)
			j++;
		struct bt_map *o = j < p->nmaps ? &p->maps[j] : NULL;
		if (o && o->start == m[i].start && o->end == m[i].end && o->off == m[i].off &&
		    o->ino == m[i].ino && o->dev == m[i].dev && strcmp(o->path, m[i].path) == 0) {
			m[i].elf = o->elf, m[i].bias = o->bias, m[i].tried = o->tried;
		} else
			*changed = true;
	}
	free_maps(p);
	p->maps = m;
	p->nmaps = n;
	return 0;
}

static struct bt_map *find_map(struct bt_proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* The vdso has no file: copy it out of the process once. */
static struct bt_elf *vdso_elf(struct walk *w, struct bt_map *m)
{
	if (w->p->vdso)
		return w->p->vdso;
	size_t len = m->end - m->start;
	uint8_t *buf = malloc(len);
	if (!buf)
		return NULL;
	struct iovec l = { buf, len }, r = { (void *)(uintptr_t)m->start, len };
	if (process_vm_readv(w->tid, &l, 1, &r, 1, 0) != (ssize_t)len) {
		free(buf);
		return NULL;
	}
	if (bt_elf_from_memory(buf, len, &w->p->vdso) < 0)
		return NULL;
	return w->p->vdso;
}

static struct bt_elf *map_elf(struct walk *w, struct bt_map *m)
{
	if (!m->tried) {
		m->tried = true;
		if (strcmp(m->path, "[vdso]") == 0)
			m->elf = vdso_elf(w, m);
		else {
			/* The path as the process sees it: through its root when ours is not
			 * the same file (another mount namespace, a chroot). */
			char alt[PATH_MAX + 32];
			snprintf(alt, sizeof alt, "/proc/%d/root%s", (int)w->p->pid, m->path);
			if (bt_elf_get(m->path, alt, m->dev, m->ino, &m->elf) < 0)
				m->elf = NULL;
		}
		if (m->elf)
			m->bias = bt_elf_bias(m->elf, m->start, m->off);
	}
	return m->elf;
}

/* The mapping holding a code address; a miss re-reads the maps once per walk (the
 * process may have dlopen'ed something since). */
static struct bt_map *code_map(struct walk *w, uint64_t ip)
{
	struct bt_map *m = find_map(w->p, ip);
	bool changed = false;
	if (!m && !w->reread) {
		w->reread = true;
		if (load_maps(w->p, &changed) == 0) {
			if (changed)
				U.flush_cache(w->p->as, 0, 0);
			m = find_map(w->p, ip);
		}
	}
	return m;
}

/* ---- libunwind accessors ---- */

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct walk *w = arg;
	struct bt_map *m = code_map(w, ip);
	struct bt_elf *e = m ? map_elf(w, m) : NULL;
	if (!e || !e->nfde)
		return -UNW_ENOINFO;
	unw_dyn_info_t di = { .format = UNW_INFO_FORMAT_REMOTE_TABLE,
			      .start_ip = e->lo + m->bias, .end_ip = e->hi + m->bias };
	if (ip < di.start_ip || ip >= di.end_ip)
		return -UNW_ENOINFO;
	di.u.rti.segbase = e->table_base + m->bias;
	di.u.rti.table_len = e->nfde * 8 / sizeof(unw_word_t);
	if (e->synth) {
		w->synth = e->synth;
		w->synth_bytes = e->nfde * 8;
		di.u.rti.table_data = SYNTH_BASE;
	} else
		di.u.rti.table_data = e->table_vaddr + m->bias;
	return U.dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as, (void)pi, (void)arg;     /* libunwind frees what it allocated for tables */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

/* Stack words: a page per process_vm_readv, kept for the rest of the walk. */
static int read_remote(struct walk *w, uint64_t addr, unw_word_t *val)
{
	uint64_t pg = addr & ~(uint64_t)(PAGE - 1);
	if ((addr & (PAGE - 1)) > PAGE - sizeof *val) {    /* straddles two pages */
		struct iovec l = { val, sizeof *val }, r = { (void *)(uintptr_t)addr, sizeof *val };
		return process_vm_readv(w->tid, &l, 1, &r, 1, 0) == sizeof *val ? 0 : -UNW_EINVAL;
	}
	for (unsigned i = 0; i < NPAGES; i++)
		if (w->page[i].ok && w->page[i].addr == pg) {
			memcpy(val, w->page[i].b + (addr - pg), sizeof *val);
			return 0;
		}
	unsigned i = w->next_page++ % NPAGES;
	struct iovec l = { w->page[i].b, PAGE }, r = { (void *)(uintptr_t)pg, PAGE };
	w->page[i].ok = process_vm_readv(w->tid, &l, 1, &r, 1, 0) == PAGE;
	w->page[i].addr = pg;
	if (!w->page[i].ok)
		return -UNW_EINVAL;
	memcpy(val, w->page[i].b + (addr - pg), sizeof *val);
	return 0;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
		      void *arg)
{
	(void)as;
	struct walk *w = arg;
	if (write)
		return -UNW_EINVAL;         /* a walk only reads */
	if (addr >= SYNTH_BASE) {
		/* libunwind reads aligned words; the table is whole 8-byte entries. */
		uint64_t at = addr - SYNTH_BASE;
		if (!w->synth || at > w->synth_bytes || w->synth_bytes - at < sizeof *val)
			return -UNW_EINVAL;
		memcpy(val, (const uint8_t *)w->synth + at, sizeof *val);
		return 0;
	}
	struct bt_map *m = find_map(w->p, addr);
	struct bt_elf *e = m ? map_elf(w, m) : NULL;
	if (e && addr + sizeof *val <= m->end && bt_elf_read(e, addr - m->bias, val, sizeof *val))
		return 0;
	return read_remote(w, addr, val);
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write,
		      void *arg)
{
	(void)as;
	const struct user_regs_struct *r = &((struct walk *)arg)->regs;
	if (write)
		return -UNW_EINVAL;
	switch (reg) {
	case UNW_X86_64_RAX: *val = r->rax; break;
	case UNW_X86_64_RDX: *val = r->rdx; break;
	case UNW_X86_64_RCX: *val = r->rcx; break;
	case UNW_X86_64_RBX: *val = r->rbx; break;
	case UNW_X86_64_RSI: *val = r->rsi; break;
	case UNW_X86_64_RDI: *val = r->rdi; break;
	case UNW_X86_64_RBP: *val = r->rbp; break;
	case UNW_X86_64_RSP: *val = r->rsp; break;
	case UNW_X86_64_R8:  *val = r->r8;  break;
	case UNW_X86_64_R9:  *val = r->r9;  break;
	case UNW_X86_64_R10: *val = r->r10; break;
	case UNW_X86_64_R11: *val = r->r11; break;
	case UNW_X86_64_R12: *val = r->r12; break;
	case UNW_X86_64_R13: *val = r->r13; break;
	case UNW_X86_64_R14: *val = r->r14; break;
	case UNW_X86_64_R15: *val = r->r15; break;
	case UNW_X86_64_RIP: *val = r->rip; break;
	default: return -UNW_EBADREG;
	}
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	(void)as, (void)reg, (void)val, (void)write, (void)arg;
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

/* Name and offset of the function at ip, from our symbol tables. */
static int lookup_name(struct walk *w, uint64_t ip, char *buf, size_t len, uint64_t *off)
{
	struct bt_map *m = code_map(w, ip);
	struct bt_elf *e = m ? map_elf(w, m) : NULL;
	const struct bt_sym *s = e ? bt_elf_symbol(e, ip - m->bias) : NULL;
	if (!s)
		return -UNW_ENOINFO;
	snprintf(buf, len, "%s", s->name);
	*off = ip - (s->start + m->bias);
	return 0;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t ip, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	(void)as;
	uint64_t o = 0;
	int r = lookup_name(arg, ip, buf, len, &o);
	*off = o;
	return r;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

/* ---- processes and threads ---- */

static void proc_free(struct bt_proc *p)
{
	free_maps(p);
	if (p->as)
		U.destroy_addr_space(p->as);
	bt_elf_free(p->vdso);
	free(p);
}

/* The thread group of tid. A /proc read costs 30-80 us here, so: a thread-group leader
 * (tgid == tid, the common case) is recognised by tgkill(tid, tid, 0) alone; other threads'
 * groups are remembered and re-checked with tgkill(tgid, tid, 0), which fails with ESRCH
 * once tid is no longer a thread of tgid (exited, its number reused). */
static bool in_group(pid_t tgid, pid_t tid)
{
	return syscall(SYS_tgkill, tgid, tid, 0) == 0 || errno == EPERM;
}

static int tgid_of(pid_t tid, pid_t *tgid)
{
	if (in_group(tid, tid)) {
		*tgid = tid;
		return 0;
	}
	for (size_t i = 0; i < nthreads; i++)
		if (threads[i].tid == tid) {
			if (in_group(threads[i].tgid, tid)) {
				*tgid = threads[i].tgid;
				return 0;
			}
			threads[i] = threads[--nthreads];
			break;
		}
	char path[64], *text;
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	int r = read_file(path, &text, &len);
	if (r < 0)
		return r;
	const char *t = strstr(text, "\nTgid:");
	*tgid = t ? (pid_t)atoi(t + 6) : 0;
	free(text);
	if (*tgid <= 0)
		return -ESRCH;
	if (nthreads == capthreads) {
		size_t cap = capthreads ? 2 * capthreads : 16;
		struct bt_thread *nt = realloc(threads, cap * sizeof *nt);
		if (!nt)
			return 0;           /* just not remembered */
		threads = nt, capthreads = cap;
	}
	threads[nthreads++] = (struct bt_thread){ tid, *tgid };
	return 0;
}

static int proc_get(pid_t tgid, struct bt_proc **out)
{
	for (struct bt_proc *p = procs; p; p = p->next)
		if (p->pid == tgid) {
			*out = p;
			return 0;
		}
	struct bt_proc *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->pid = tgid;
	bool changed;
	int r = load_maps(p, &changed);
	if (r == 0 && !(p->as = U.create_addr_space(&accessors, 0)))
		r = -ENOMEM;
	if (r < 0) {
		proc_free(p);
		return r;
	}
	U.set_caching_policy(p->as, UNW_CACHE_GLOBAL);
	p->next = procs;
	procs = p;
	*out = p;
	return 0;
}

static void frame_of(struct walk *w, unw_cursor_t *c, uint64_t ip, bool after_call,
		     struct bt_frame *f)
{
	memset(f, 0, sizeof *f);
	f->ip = ip;
	/* A return address may be the first byte after a call to a noreturn function, i.e.
	 * already in the next function: name the call's own byte. */
	uint64_t at = after_call && ip ? ip - 1 : ip, off;
	if (lookup_name(w, at, f->fn, sizeof f->fn, &off) == 0)
		f->off = off + (ip - at);
	else
		f->fn[0] = '\0';
	(void)c;
	struct bt_map *m = find_map(w->p, ip);
	if (m)
		snprintf(f->obj, sizeof f->obj, "%s", m->path);
}

static int collect(pid_t tid, struct bt *out)
{
	/* 32 KiB of page cache: not on the stack, and not zeroed at every call. */
	static struct walk walk;
	struct walk *w = &walk;
	memset(w, 0, offsetof(struct walk, page));
	for (unsigned i = 0; i < NPAGES; i++)
		w->page[i].ok = false;
	pid_t tgid;
	int r = 0;
	w->tid = tid;
	/* First: only a thread in a ptrace stop of ours answers GETREGS; anything else is
	 * ESRCH before we touch /proc. */
	if (ptrace(PTRACE_GETREGS, tid, NULL, &w->regs) < 0)
		r = -errno;
	else if ((r = tgid_of(tid, &tgid)) == 0)
		r = proc_get(tgid, &w->p);
	unw_cursor_t c;
	if (r == 0 && U.init_remote(&c, w->p->as, w) < 0)
		r = -EIO;
	uint64_t prev_sp = 0, prev_ip = 0;
	bool after_call = false;
	while (r == 0 && out->n < BT_MAX_FRAMES) {
		unw_word_t ip, sp;
		if (U.get_reg(&c, UNW_REG_IP, &ip) < 0 || U.get_reg(&c, UNW_REG_SP, &sp) < 0 ||
		    ip == 0)
			break;
		if (out->n > 0 && ip == prev_ip && sp == prev_sp)
			break;                  /* no progress: a loop in garbled frames */
		frame_of(w, &c, ip, after_call, &out->f[out->n++]);
		prev_ip = ip, prev_sp = sp;
		after_call = U.is_signal_frame(&c) <= 0;
		if (U.step(&c) <= 0)
			break;                  /* end of stack, or cannot go further: not an error */
	}
	return r;
}

int bt_collect(pid_t tid, struct bt *out)
{
	if (!out)
		return -EINVAL;
	out->n = 0;
	if (tid <= 0)
		return -ESRCH;
	if (bt_available(NULL) < 0)
		return -ENOENT;
	pthread_mutex_lock(&lock);
	int r = collect(tid, out);
	pthread_mutex_unlock(&lock);
	return r;
}

void bt_forget(pid_t pid)
{
	pthread_mutex_lock(&lock);
	for (struct bt_proc **pp = &procs; *pp;) {
		struct bt_proc *p = *pp;
		if (p->pid == pid) {
			*pp = p->next;
			proc_free(p);
		} else
			pp = &p->next;
	}
	for (size_t i = 0; i < nthreads;)
		if (threads[i].tid == pid || threads[i].tgid == pid)
			threads[i] = threads[--nthreads];
		else
			i++;
	pthread_mutex_unlock(&lock);
}

void bt_clear(void)
{
	pthread_mutex_lock(&lock);
	while (procs) {
		struct bt_proc *p = procs;
		procs = p->next;
		proc_free(p);
	}
	free(threads);
	threads = NULL;
	nthreads = capthreads = 0;
	bt_elf_clear();
	pthread_mutex_unlock(&lock);
}
