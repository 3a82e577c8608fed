/* Assembling the job's policy from its sources, in order (first match wins): --cache
 * dirs, --policy files, COLLRUN_POLICY files, then the default (the installed
 * default.policy, or the built-in copy of it) unless --no-default-policy. */
#pragma once
#include <stdio.h>
#include "options.h"
#include "policy.h"

/* exe: the program's path, or NULL (--print-policy/--explain without a program).
 * On a policy error returns -errno with "FILE:LINE:COL: message" in msg. */
int policy_setup(struct policy *p, const struct options *o, const char *exe, char *msg, size_t msgsize);
/* --print-policy and --explain: print to stdout, return the exit status. */
int policy_print(const struct policy *p);
/* The same, to out (the node-sharing fingerprint compares it). */
int policy_print_to(FILE *out, const struct policy *p);
int policy_explain(const struct policy *p, const char *path);
