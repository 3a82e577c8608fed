/* Prefix rules, first match wins. Matching is on whole components so "/usr/lib" covers
 * "/usr/lib/x" but not "/usr/lib64". Kept free of I/O so decide() costs a few compares. */
#include "policy.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int policy_add(struct policy *p, const char *prefix, enum pol_action action, const char *origin)
{
	if (!prefix || prefix[0] != '/')
		return -EINVAL;
	size_t len = strlen(prefix);
	while (len > 0 && prefix[len - 1] == '/')
		len--;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pol_rule *r = realloc(p->rules, cap * sizeof *r);
		if (!r)
			return -ENOMEM;
		p->rules = r;
		p->cap = cap;
	}
	char *copy = strndup(prefix, len);
	char *orig = strdup(origin ? origin : "");
	if (!copy || !orig) {
		free(copy);
		free(orig);
		return -ENOMEM;
	}
	p->rules[p->n++] = (struct pol_rule){ copy, len, action, orig };
	return 0;
}

static int covers(const struct pol_rule *r, const char *path)
{
	if (strncmp(path, r->prefix, r->len) != 0)
		return 0;
	return path[r->len] == '\0' || path[r->len] == '/';
}

enum pol_action policy_decide(const struct policy *p, const char *path, const struct pol_rule **which)
{
	for (size_t i = 0; i < p->n; i++) {
		if (covers(&p->rules[i], path)) {
			if (which)
				*which = &p->rules[i];
			return p->rules[i].action;
		}
	}
	if (which)
		*which = NULL;
	return POL_PASS;
}

void policy_free(struct policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].prefix);
		free(p->rules[i].origin);
	}
	free(p->rules);
	*p = (struct policy){ 0 };
}

const char *pol_action_name(enum pol_action a)
{
	return a == POL_CACHE ? "cache" : "pass";
}
