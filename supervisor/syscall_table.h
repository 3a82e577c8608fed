/* The one syscall table: each row names a trapped call, how the BPF filter traps it, and
 * its handler. The filter, the dispatch and the man page's list all come from here.
 * Adding a syscall = one handler + one row. */
#pragma once
#include "call.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct verdict (*handler_fn)(struct call *c);

enum trap_cond {
	TRAP_ALWAYS,
	TRAP_UNLESS_FLAG,      /* not when (arg[cond_arg] & cond_mask) != 0  (e.g. AT_EMPTY_PATH fstat) */
	TRAP_IF_FLAG,          /* only when (arg[cond_arg] & cond_mask) != 0 */
};

enum sys_group {
	GROUP_LOOKUP,          /* served from the cache */
	GROUP_MUTATE,          /* changes the file system: what it changes is marked, call passed */
	GROUP_CREDS,           /* changes credentials: callers are checked from then on */
	GROUP_NAMESPACE,       /* changes root or mounts: callers are checked from then on */
	GROUP_EXEC,            /* starts a program: its search paths are learned, call passed */
};

struct syscall_desc {
	const char *name;
	int nr;
	enum sys_group group;
	handler_fn handler;
	enum trap_cond cond;
	int cond_arg;
	unsigned long cond_mask;
	bool only_for_redirects;   /* trapped only when the policy redirects paths */
};

/* Should the filter trap this row? (redirects: the policy has redirect/library rules) */
bool syscall_row_wanted(const struct syscall_desc *d, bool redirects);
/* Calls of the i386 ABI that have no native twin of that name but do what a native row
 * does (truncate64 is truncate): trapped, and handled as that row. */
struct foreign_alias { const char *name, *native; };
extern const struct foreign_alias foreign_aliases[];
const struct syscall_desc *syscall_lookup_foreign(const char *name);

extern const struct syscall_desc syscall_table[];
extern const size_t syscall_table_len;

/* Row for a native syscall number, or NULL if it is not ours. O(1). */
const struct syscall_desc *syscall_lookup(int nr);
/* Row by name (used for calls from a foreign ABI, whose numbers differ). */
const struct syscall_desc *syscall_lookup_name(const char *name);
/* Index of a row in syscall_table, for per-syscall counters. */
static inline size_t syscall_index(const struct syscall_desc *d) { return (size_t)(d - syscall_table); }
