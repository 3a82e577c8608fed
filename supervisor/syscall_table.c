/* The trapped syscalls. Look-ups are answered from the cache; mutations, credential and
 * namespace changes are watched so the cache never answers wrongly. Everything not listed
 * here (read, mmap, fstat, close, execve, ...) never leaves the kernel. */
#include "syscall_table.h"
#include "arch.h"
#include "handlers/handlers.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <string.h>

#define ROW(n, g, h, ...)     { .name = #n, .nr = SYS_##n, .group = g, .handler = h, __VA_ARGS__ }
#define LOOKUP(n, h)          ROW(n, GROUP_LOOKUP, h, .cond = TRAP_ALWAYS)
#define LOOKUP_UNLESS(n, h, a, m) ROW(n, GROUP_LOOKUP, h, .cond = TRAP_UNLESS_FLAG, .cond_arg = a, .cond_mask = m)
#define MUTATE(n)             ROW(n, GROUP_MUTATE, h_mutation, .cond = TRAP_ALWAYS)
#define CREDS(n)              ROW(n, GROUP_CREDS, h_creds, .cond = TRAP_ALWAYS)
#define NSPACE(n)             ROW(n, GROUP_NAMESPACE, h_namespace, .cond = TRAP_ALWAYS)
/* Only a redirect changes their answer (ls -l reads ACLs of what it lists). */
#define REDIRECT_ONLY(n, h)   ROW(n, GROUP_LOOKUP, h, .cond = TRAP_ALWAYS, .only_for_redirects = true)

const struct syscall_desc syscall_table[] = {
	LOOKUP(open, h_open),
	LOOKUP(openat, h_openat),
	LOOKUP(openat2, h_openat2),
	LOOKUP(stat, h_stat),
	LOOKUP(lstat, h_lstat),
	LOOKUP_UNLESS(newfstatat, h_newfstatat, 3, AT_EMPTY_PATH),   /* fstat stays in BPF */
	LOOKUP_UNLESS(statx, h_statx, 2, AT_EMPTY_PATH),
	LOOKUP(access, h_access),
	LOOKUP(faccessat, h_faccessat),
	LOOKUP(faccessat2, h_faccessat2),
	LOOKUP(readlink, h_readlink),
	LOOKUP(readlinkat, h_readlinkat),
	/* Listings of cached directories; fchdir into a replica (handlers/dirents.c). */
	ROW(getdents64, GROUP_LOOKUP, h_getdents64, .cond = TRAP_ALWAYS),
	ROW(getdents, GROUP_LOOKUP, h_getdents, .cond = TRAP_ALWAYS),
	ROW(fchdir, GROUP_LOOKUP, h_fchdir, .cond = TRAP_ALWAYS),
	REDIRECT_ONLY(getxattr, h_getxattr),
	REDIRECT_ONLY(lgetxattr, h_lgetxattr),
	REDIRECT_ONLY(listxattr, h_listxattr),
	REDIRECT_ONLY(llistxattr, h_llistxattr),

	ROW(creat, GROUP_MUTATE, h_creat, .cond = TRAP_ALWAYS),
	MUTATE(rename), MUTATE(renameat), MUTATE(renameat2),
	MUTATE(unlink), MUTATE(unlinkat), MUTATE(rmdir), MUTATE(mkdir), MUTATE(mkdirat),
	MUTATE(mknod), MUTATE(mknodat), MUTATE(symlink), MUTATE(symlinkat),
	MUTATE(link), MUTATE(linkat), MUTATE(chmod), MUTATE(fchmodat), MUTATE(fchmodat2),
	MUTATE(chown), MUTATE(lchown), MUTATE(fchownat), MUTATE(truncate),
	MUTATE(utime), MUTATE(utimes), MUTATE(utimensat), MUTATE(futimesat),
	MUTATE(setxattr), MUTATE(lsetxattr), MUTATE(removexattr), MUTATE(lremovexattr),
	MUTATE(fchmod), MUTATE(fchown), MUTATE(fsetxattr), MUTATE(fremovexattr),
	MUTATE(mount), MUTATE(umount2),
	ROW(landlock_restrict_self, GROUP_CREDS, h_landlock, .cond = TRAP_ALWAYS),
	ROW(execve, GROUP_EXEC, h_execve, .cond = TRAP_ALWAYS),
	ROW(execveat, GROUP_EXEC, h_execveat, .cond = TRAP_ALWAYS),

	CREDS(setuid), CREDS(setgid), CREDS(setreuid), CREDS(setregid),
	CREDS(setresuid), CREDS(setresgid), CREDS(setfsuid), CREDS(setfsgid),
	CREDS(setgroups), CREDS(capset),

	NSPACE(chroot), NSPACE(pivot_root), NSPACE(unshare), NSPACE(setns),
	ROW(clone, GROUP_NAMESPACE, h_namespace, .cond = TRAP_IF_FLAG, .cond_arg = 0,
	    .cond_mask = CLONE_NEWNS | CLONE_NEWUSER),
	ROW(clone3, GROUP_NAMESPACE, h_clone3, .cond = TRAP_ALWAYS),
};
const size_t syscall_table_len = sizeof syscall_table / sizeof *syscall_table;

_Static_assert(sizeof syscall_table / sizeof *syscall_table <= 96, "raise STATS_MAX_ROWS");

static const struct syscall_desc *by_nr[COLLRUN_MAX_NR];

const struct syscall_desc *syscall_lookup(int nr)
{
	if (nr < 0 || nr >= COLLRUN_MAX_NR)
		return NULL;
	if (!by_nr[SYS_open]) {   /* first use: build the index */
		for (size_t i = 0; i < syscall_table_len; i++)
			by_nr[syscall_table[i].nr] = &syscall_table[i];
	}
	return by_nr[nr];
}

const struct syscall_desc *syscall_lookup_name(const char *name)
{
	for (size_t i = 0; i < syscall_table_len; i++)
		if (strcmp(syscall_table[i].name, name) == 0)
			return &syscall_table[i];
	return NULL;
}

const struct foreign_alias foreign_aliases[] = {
	{ "truncate64", "truncate" }, { "chown32", "chown" }, { "lchown32", "lchown" },
	{ "fchown32", "fchown" }, { "umount", "umount2" },
	{ "setuid32", "setuid" }, { "setgid32", "setgid" }, { "setreuid32", "setreuid" },
	{ "setregid32", "setregid" }, { "setresuid32", "setresuid" }, { "setresgid32", "setresgid" },
	{ "setfsuid32", "setfsuid" }, { "setfsgid32", "setfsgid" }, { "setgroups32", "setgroups" },
	{ NULL, NULL },
};

const struct syscall_desc *syscall_lookup_foreign(const char *name)
{
	for (const struct foreign_alias *a = foreign_aliases; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return syscall_lookup_name(a->native);
	return syscall_lookup_name(name);
}

bool syscall_row_wanted(const struct syscall_desc *d, bool redirects)
{
	return !d->only_for_redirects || redirects;
}
