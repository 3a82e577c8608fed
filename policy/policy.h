/* policy: a pure rules library. Input: an absolute path; output: PASS or CACHE and the
 * rule that decided. No I/O, no globals: the supervisor and the unit tests call it alike.
 * Rules are path prefixes matched on component boundaries; the first match wins. */
#pragma once
#include <stddef.h>

enum pol_action { POL_PASS = 0, POL_CACHE = 1 };

struct pol_rule {
	char *prefix;          /* absolute, no trailing slash ("" stands for "/") */
	size_t len;
	enum pol_action action;
	char *origin;          /* where the rule came from, for -v and --explain */
};

struct policy {
	struct pol_rule *rules;
	size_t n, cap;
};

/* Append a rule. -EINVAL if prefix is not absolute, -ENOMEM. */
int policy_add(struct policy *p, const char *prefix, enum pol_action action, const char *origin);
/* First rule whose prefix covers path; unmatched paths PASS (*which = NULL). */
enum pol_action policy_decide(const struct policy *p, const char *path, const struct pol_rule **which);
void policy_free(struct policy *p);
const char *pol_action_name(enum pol_action a);
