/* The trapped syscalls. Look-ups are answered from the cache; mutations, credential and
 * namespace changes are watched so the cache never answers wrongly. Everything not listed
 * here (read, mmap, fstat, close, execve, ...) never leaves the kernel. */
#include "syscall_table.h"
#include "arch.h"
#include "handlers/handlers.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <string.h>

#define LOOKUP(n, h)          { #n, SYS_##n, GROUP_LOOKUP, h, TRAP_ALWAYS, 0, 0 }
#define LOOKUP_UNLESS(n, h, a, m) { #n, SYS_##n, GROUP_LOOKUP, h, TRAP_UNLESS_FLAG, a, m }
#define MUTATE(n)             { #n, SYS_##n, GROUP_MUTATE, h_mutation, TRAP_ALWAYS, 0, 0 }
#define CREDS(n)              { #n, SYS_##n, GROUP_CREDS, h_creds, TRAP_ALWAYS, 0, 0 }
#define NSPACE(n)             { #n, SYS_##n, GROUP_NAMESPACE, h_namespace, TRAP_ALWAYS, 0, 0 }

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

	MUTATE(creat), MUTATE(rename), MUTATE(renameat), MUTATE(renameat2),
	MUTATE(unlink), MUTATE(unlinkat), MUTATE(rmdir), MUTATE(mkdir), MUTATE(mkdirat),
	MUTATE(mknod), MUTATE(mknodat), MUTATE(symlink), MUTATE(symlinkat),
	MUTATE(link), MUTATE(linkat), MUTATE(chmod), MUTATE(fchmodat), MUTATE(fchmodat2),
	MUTATE(chown), MUTATE(lchown), MUTATE(fchownat), MUTATE(truncate),
	MUTATE(utime), MUTATE(utimes), MUTATE(utimensat), MUTATE(futimesat),
	MUTATE(setxattr), MUTATE(lsetxattr), MUTATE(removexattr), MUTATE(lremovexattr),

	CREDS(setuid), CREDS(setgid), CREDS(setreuid), CREDS(setregid),
	CREDS(setresuid), CREDS(setresgid), CREDS(setfsuid), CREDS(setfsgid),
	CREDS(setgroups), CREDS(capset),

	NSPACE(chroot), NSPACE(pivot_root), NSPACE(mount), NSPACE(umount2),
	NSPACE(unshare), NSPACE(setns),
	{ "clone", SYS_clone, GROUP_NAMESPACE, h_namespace, TRAP_IF_FLAG, 0, CLONE_NEWNS | CLONE_NEWUSER },
	{ "clone3", SYS_clone3, GROUP_NAMESPACE, h_clone3, TRAP_ALWAYS, 0, 0 },
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
