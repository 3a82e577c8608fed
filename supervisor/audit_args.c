/* How --audit shows a trapped call's arguments: one signature per row of the syscall table
 * (a letter per argument), and one small decoder per letter. Adding a syscall to the table
 * means adding its signature here; a row without one shows its arguments in hex. */
#include "audit_args.h"
#include "syscall_table.h"
#include "tracee_mem.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Letters: D dirfd (AT_FDCWD or a number), d descriptor, P path, S other string, O open
 * flags, m mode (only with O_CREAT or O_TMPFILE, as strace), M mode, K access mode,
 * F AT_* flags, E faccessat2's AT_* flags (0x200 is AT_EACCESS), R unlinkat's (0x200 is
 * AT_REMOVEDIR), T statx's AT_* flags, X statx mask, H struct open_how, A address,
 * N number, x hex. */
static const struct { const char *name, *sig; } sigs[] = {
	{ "open", "POm" }, { "openat", "DPOm" }, { "openat2", "DPHN" }, { "creat", "PM" },
	{ "stat", "PA" }, { "lstat", "PA" }, { "newfstatat", "DPAF" }, { "statx", "DPTXA" },
	{ "access", "PK" }, { "faccessat", "DPK" }, { "faccessat2", "DPKE" },
	{ "readlink", "PAN" }, { "readlinkat", "DPAN" },
	{ "getdents64", "dAN" }, { "getdents", "dAN" }, { "fchdir", "d" },
	{ "getxattr", "PSAN" }, { "lgetxattr", "PSAN" }, { "listxattr", "PAN" }, { "llistxattr", "PAN" },
	{ "rename", "PP" }, { "renameat", "DPDP" }, { "renameat2", "DPDPx" },
	{ "unlink", "P" }, { "unlinkat", "DPR" }, { "rmdir", "P" }, { "mkdir", "PM" }, { "mkdirat", "DPM" },
	{ "mknod", "PMx" }, { "mknodat", "DPMx" }, { "symlink", "PP" }, { "symlinkat", "PDP" },
	{ "link", "PP" }, { "linkat", "DPDPF" }, { "chmod", "PM" }, { "fchmodat", "DPM" },
	{ "fchmodat2", "DPMF" }, { "chown", "PNN" }, { "lchown", "PNN" }, { "fchownat", "DPNNF" },
	{ "truncate", "PN" }, { "utime", "PA" }, { "utimes", "PA" }, { "utimensat", "DPAF" },
	{ "futimesat", "DPA" }, { "setxattr", "PSANx" }, { "lsetxattr", "PSANx" },
	{ "removexattr", "PS" }, { "lremovexattr", "PS" }, { "fchmod", "dM" }, { "fchown", "dNN" },
	{ "fsetxattr", "dSANx" }, { "fremovexattr", "dS" }, { "mount", "SPSxA" }, { "umount2", "Px" },
	{ "landlock_restrict_self", "dx" }, { "execve", "PAA" }, { "execveat", "DPAAF" },
	{ "setuid", "N" }, { "setgid", "N" }, { "setreuid", "NN" }, { "setregid", "NN" },
	{ "setresuid", "NNN" }, { "setresgid", "NNN" }, { "setfsuid", "N" }, { "setfsgid", "N" },
	{ "setgroups", "NA" }, { "capset", "AA" }, { "chroot", "P" }, { "pivot_root", "PP" },
	{ "unshare", "x" }, { "setns", "dx" }, { "clone", "xAAAA" }, { "clone3", "AN" },
};

static const char *sig_of(const struct syscall_desc *d)
{
	/* A row's signature, found once per row: the table is small and never changes. */
	static const char *by_row[128];
	static bool ready;
	if (!ready) {
		for (size_t i = 0; i < syscall_table_len && i < 128; i++) {
			by_row[i] = "xxxxxx";
			for (size_t k = 0; k < sizeof sigs / sizeof *sigs; k++)
				if (strcmp(sigs[k].name, syscall_table[i].name) == 0)
					by_row[i] = sigs[k].sig;
		}
		__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	}
	size_t i = syscall_index(d);
	return i < 128 ? by_row[i] : "xxxxxx";
}

void ab_putc(struct abuf *b, char ch)
{
	if (b->len + 1 < b->cap)
		b->p[b->len] = ch;
	b->len++;
}

void ab_puts(struct abuf *b, const char *s)
{
	size_t n = strlen(s);
	if (b->len + n < b->cap)
		memcpy(b->p + b->len, s, n);
	b->len += n;
}

void ab_printf(struct abuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = b->len < b->cap ? b->cap - b->len : 0;
	int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;
}

void ab_quote(struct abuf *b, const char *s, size_t len)
{
	ab_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '"': ab_puts(b, "\\\""); continue;
		case '\\': ab_puts(b, "\\\\"); continue;
		case '\n': ab_puts(b, "\\n"); continue;
		case '\t': ab_puts(b, "\\t"); continue;
		case '\r': ab_puts(b, "\\r"); continue;
		}
		if (ch >= 0x20 && ch < 0x7f)
			ab_putc(b, (char)ch);
		else if (b->json)
			ab_printf(b, "\\u%04x", ch);
		else if (i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7')
			ab_printf(b, "\\%03o", ch);   /* a following digit must not extend it */
		else
			ab_printf(b, "\\%o", ch);
	}
	ab_putc(b, '"');
}

/* A symbolic value: bare in text, a JSON string in JSON. */
static void sym_begin(struct abuf *b) { if (b->json) ab_putc(b, '"'); }
static void sym_end(struct abuf *b) { if (b->json) ab_putc(b, '"'); }

struct flag { unsigned long bit; const char *name; };

/* Names of the set bits, in table order, joined by '|'; what is left in hex; "0" if none. */
static void flags(struct abuf *b, unsigned long v, const struct flag *t, const char *zero)
{
	bool any = false;
	for (; t->name; t++)
		if (t->bit && (v & t->bit) == t->bit) {
			ab_printf(b, "%s%s", any ? "|" : "", t->name);
			v &= ~t->bit;
			any = true;
		}
	if (v)
		ab_printf(b, "%s%#lx", any ? "|" : "", v);
	else if (!any)
		ab_puts(b, zero);
}

void audit_open_flags(struct abuf *b, uint64_t f)
{
	static const struct flag t[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_SYNC, "O_SYNC" }, { O_DSYNC, "O_DSYNC" },
		{ O_ASYNC, "O_ASYNC" }, { O_DIRECT, "O_DIRECT" }, { O_LARGEFILE, "O_LARGEFILE" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" }, { O_CLOEXEC, "O_CLOEXEC" },
		{ O_PATH, "O_PATH" }, { O_TMPFILE, "O_TMPFILE" }, { O_DIRECTORY, "O_DIRECTORY" }, { 0, NULL },
	};
	static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	ab_puts(b, acc[f & O_ACCMODE]);
	f &= ~(uint64_t)O_ACCMODE;
	if (f) {
		ab_putc(b, '|');
		flags(b, f, t, "0");
	}
}

static void at_flags(struct abuf *b, unsigned long f, char kind)
{
	static const struct flag t[] = {
		{ AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW" }, { 0x200, "" /* by kind */ },
		{ AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW" }, { AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT" },
		{ AT_EMPTY_PATH, "AT_EMPTY_PATH" }, { AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC" },
		{ AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC" }, { 0x8000, "AT_RECURSIVE" }, { 0, NULL },
	};
	struct flag mine[sizeof t / sizeof *t];
	memcpy(mine, t, sizeof t);
	mine[1].name = kind == 'E' ? "AT_EACCESS" : kind == 'R' ? "AT_REMOVEDIR" : NULL;
	if (!mine[1].name)
		mine[1].bit = 0;   /* not a flag of this call: shown in hex */
	flags(b, f, mine, kind == 'T' ? "AT_STATX_SYNC_AS_STAT" : "0");
}

static void statx_mask(struct abuf *b, unsigned long m)
{
	static const struct flag t[] = {
		{ STATX_BASIC_STATS, "STATX_BASIC_STATS" }, { STATX_TYPE, "STATX_TYPE" },
		{ STATX_MODE, "STATX_MODE" }, { STATX_NLINK, "STATX_NLINK" }, { STATX_UID, "STATX_UID" },
		{ STATX_GID, "STATX_GID" }, { STATX_ATIME, "STATX_ATIME" }, { STATX_MTIME, "STATX_MTIME" },
		{ STATX_CTIME, "STATX_CTIME" }, { STATX_INO, "STATX_INO" }, { STATX_SIZE, "STATX_SIZE" },
		{ STATX_BLOCKS, "STATX_BLOCKS" }, { STATX_BTIME, "STATX_BTIME" }, { 0x1000, "STATX_MNT_ID" },
		{ 0x2000, "STATX_DIOALIGN" }, { 0, NULL },
	};
	flags(b, m, t, "0");
}

static void access_mode(struct abuf *b, unsigned long m)
{
	static const struct flag t[] = { { R_OK, "R_OK" }, { W_OK, "W_OK" }, { X_OK, "X_OK" }, { 0, NULL } };
	flags(b, m, t, "F_OK");
}

static void resolve_flags(struct abuf *b, unsigned long r)
{
	static const struct flag t[] = {
		{ RESOLVE_NO_XDEV, "RESOLVE_NO_XDEV" }, { RESOLVE_NO_MAGICLINKS, "RESOLVE_NO_MAGICLINKS" },
		{ RESOLVE_NO_SYMLINKS, "RESOLVE_NO_SYMLINKS" }, { RESOLVE_BENEATH, "RESOLVE_BENEATH" },
		{ RESOLVE_IN_ROOT, "RESOLVE_IN_ROOT" }, { RESOLVE_CACHED, "RESOLVE_CACHED" }, { 0, NULL },
	};
	flags(b, r, t, "0");
}

static void addr(struct abuf *b, uint64_t a)
{
	sym_begin(b);
	if (a)
		ab_printf(b, "%#llx", (unsigned long long)a);
	else
		ab_puts(b, "NULL");
	sym_end(b);
}

/* A string argument: the handler's copy if it made one, else read now. */
static void string_arg(struct abuf *b, const struct call *c, uint64_t a, const char *have)
{
	char buf[PATH_MAX];
	if (have) {
		ab_quote(b, have, strlen(have));
		return;
	}
	ssize_t n = tracee_read_string(c->pid, a, buf, sizeof buf);
	if (n >= 0)
		ab_quote(b, buf, (size_t)n);
	else
		addr(b, a);
}

static void open_how(struct abuf *b, const struct call *c, uint64_t a, uint64_t size)
{
	struct open_how h;
	if (size < sizeof h || tracee_read(c->pid, a, &h, sizeof h) < 0) {
		addr(b, a);
		return;
	}
	sym_begin(b);
	ab_puts(b, "{flags=");
	audit_open_flags(b, h.flags);
	if (h.mode || (h.flags & (O_CREAT | __O_TMPFILE)))
		ab_printf(b, ", mode=%#03llo", (unsigned long long)h.mode);
	ab_puts(b, ", resolve=");
	resolve_flags(b, h.resolve);
	ab_putc(b, '}');
	sym_end(b);
}

void audit_args(struct abuf *b, const struct call *c)
{
	if (!c->desc) {
		for (int i = 0; i < 6; i++)
			ab_printf(b, "%s%s%#llx%s", i ? (b->json ? "," : ", ") : "", b->json ? "\"" : "",
				  (unsigned long long)c->args[i], b->json ? "\"" : "");
		return;
	}
	const char *sig = sig_of(c->desc);
	/* The handler read the first path of a look-up or an exec into c->raw (empty if it
	 * could not, or did not need to). */
	bool raw_ok = (c->desc->group == GROUP_LOOKUP || c->desc->group == GROUP_EXEC) && c->raw[0];
	bool first_path = true;
	for (int i = 0; sig[i] && i < 6; i++) {
		uint64_t a = c->args[i];
		if (i)
			ab_puts(b, b->json ? "," : ", ");
		switch (sig[i]) {
		case 'D':
			if ((int)a == AT_FDCWD) {
				sym_begin(b), ab_puts(b, "AT_FDCWD"), sym_end(b);
				break;
			}
			/* fallthrough */
		case 'd':
			ab_printf(b, "%d", (int)a);
			break;
		case 'P':
			string_arg(b, c, a, first_path && raw_ok ? c->raw : NULL);
			first_path = false;
			break;
		case 'S':
			string_arg(b, c, a, NULL);
			break;
		case 'O':
			sym_begin(b), audit_open_flags(b, a), sym_end(b);
			break;
		case 'm':
			if (!(c->args[i - 1] & (O_CREAT | __O_TMPFILE))) {
				b->len -= b->json ? 1 : 2;   /* no mode: take the separator back */
				break;
			}
			/* fallthrough */
		case 'M':
			sym_begin(b), ab_printf(b, "%#03llo", (unsigned long long)(a & 07777)), sym_end(b);
			break;
		case 'K':
			sym_begin(b), access_mode(b, a), sym_end(b);
			break;
		case 'F': case 'E': case 'R': case 'T':
			sym_begin(b), at_flags(b, (unsigned long)(unsigned)a, sig[i]), sym_end(b);
			break;
		case 'X':
			sym_begin(b), statx_mask(b, (unsigned)a), sym_end(b);
			break;
		case 'H':
			open_how(b, c, a, c->args[i + 1]);
			break;
		case 'A':
			addr(b, a);
			break;
		case 'N':
			ab_printf(b, "%llu", (unsigned long long)a);
			break;
		default:
			sym_begin(b), ab_printf(b, "%#llx", (unsigned long long)a), sym_end(b);
			break;
		}
	}
}
