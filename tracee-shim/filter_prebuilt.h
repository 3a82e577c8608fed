/* The seccomp programs compiled at build time (tracee-shim/gen/filter_gen.c writes them):
 * index 0 without the redirect-only rows, 1 with them. A length of 0 means "compile it at
 * run time". Linked into collrun and the unit tests only; a weak reference elsewhere. */
#pragma once
#include <linux/filter.h>

struct shim_prebuilt {
	const struct sock_filter *insns;
	unsigned short len;
};

extern const struct shim_prebuilt shim_prebuilt[2] __attribute__((weak));
