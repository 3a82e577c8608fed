/* Matching a path against rules. Prefix patterns compare on whole components ("/usr/lib"
 * covers "/usr/lib/x", not "/usr/lib64"). Glob patterns match component by component:
 * "*", "?" and "[...]" within one component (fnmatch), "**" across any number of them.
 * Every pattern also covers everything below what it matches. */
#include "policy.h"
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool has_glob(const char *s, size_t *fixed)
{
	size_t i = strcspn(s, "*?[\\");   /* a backslash escapes a glob character: not literal */
	if (fixed)
		*fixed = i;
	return s[i] != '\0';
}

static int push(struct policy *p, const struct pol_rule *r)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pol_rule *v = realloc(p->rules, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		p->rules = v;
		p->cap = cap;
	}
	p->rules[p->n++] = *r;
	return 0;
}

static const char *const source_names[] = { "environment", "program", "runpath", "libraries", "python" };

const char *pol_source_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof source_names / sizeof *source_names; i++)
		if (bit == 1u << i)
			return source_names[i];
	return NULL;
}

int policy_add_marker(struct policy *p, unsigned sources, const char *origin)
{
	struct pol_rule r = { .action = POL_DISCOVERED, .pattern = strdup(""), .origin = strdup(origin ? origin : ""),
			      .sources = sources & POL_SRC_ALL };
	if (!r.pattern || !r.origin || push(p, &r)) {
		free(r.pattern);
		free(r.origin);
		return -ENOMEM;
	}
	p->discover_sources |= r.sources;
	return 0;
}

int policy_add(struct policy *p, enum pol_action a, const char *pattern, const char *target,
	       int err, const char *origin)
{
	if (!pattern)
		return -EINVAL;
	bool by_name = a == POL_LIBRARY || a == POL_HIDE;
	if (by_name ? (!pattern[0] || strchr(pattern, '/')) : pattern[0] != '/')
		return -EINVAL;
	if ((a == POL_REDIRECT || a == POL_LIBRARY) && (!target || target[0] != '/'))
		return -EINVAL;
	size_t len = strlen(pattern);
	while (!by_name && len > 1 && pattern[len - 1] == '/')
		len--;
	if (!by_name && len == 1)
		len = 0;   /* "/" is the empty prefix: covers everything */
	size_t fixed;
	char *pat = strndup(pattern, len);
	if (pat && has_glob(pat, &fixed) && a == POL_REDIRECT) {
		free(pat);
		return -EINVAL;
	}
	if (!pat)
		return -ENOMEM;
	struct pol_rule r = { .action = a, .pattern = pat, .len = len, .fixed = fixed, .err = err };
	r.target = target ? strdup(target) : NULL;
	r.origin = strdup(origin ? origin : "");
	if (a == POL_HIDE)
		r.err = ENOENT;
	if ((target && !r.target) || !r.origin || push(p, &r)) {
		free(pat);
		free(r.target);
		free(r.origin);
		return -ENOMEM;
	}
	return 0;
}

/* Length of the component at s (up to '/' or end). */
static size_t comp(const char *s) { return strcspn(s, "/"); }
static const char *next(const char *s, size_t n)
{
	s += n;
	while (*s == '/')
		s++;
	return s;
}

static bool comp_match(const char *p, size_t pn, const char *s, size_t sn)
{
	char pb[NAME_MAX + 1], sb[NAME_MAX + 1];
	if (pn > NAME_MAX || sn > NAME_MAX)
		return false;
	memcpy(pb, p, pn);
	pb[pn] = '\0';
	memcpy(sb, s, sn);
	sb[sn] = '\0';
	return fnmatch(pb, sb, FNM_PERIOD) == 0;
}

/* Does pattern p (at a component start) match path s or an ancestor of it? "**" absorbs
 * components; on a mismatch only the latest "**" takes one more (the usual wildcard
 * matching, over components): O(pattern x path) steps, never exponential. */
static bool glob_covers(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;
	for (;;) {
		if (*p == '\0')
			return true;
		size_t pn = comp(p);
		if (pn == 2 && p[0] == '*' && p[1] == '*') {
			p = next(p, pn);
			star_p = p;
			star_s = s;
			continue;
		}
		if (*s != '\0') {
			size_t sn = comp(s);
			if (comp_match(p, pn, s, sn)) {
				p = next(p, pn);
				s = next(s, sn);
				continue;
			}
		}
		if (!star_p || *star_s == '\0')
			return false;
		star_s = next(star_s, comp(star_s));
		p = star_p;
		s = star_s;
	}
}

/* base: path's last component (computed once per look-up, not once per rule). */
static bool covers(const struct pol_rule *r, const char *path, const char *base)
{
	if (r->action == POL_LIBRARY || r->action == POL_HIDE) {
		if (r->fixed == r->len)
			return strcmp(base, r->pattern) == 0;
		return fnmatch(r->pattern, base, FNM_PERIOD) == 0;
	}
	/* Most rules fail on the first two bytes: say no without calling strncmp. path[1] is
	 * read only once path[0] equals pattern[0], which is not the NUL. */
	if (r->fixed > 1 && (path[0] != r->pattern[0] || path[1] != r->pattern[1]))
		return false;
	if (strncmp(path, r->pattern, r->fixed) != 0)
		return false;
	if (r->fixed == r->len)
		return path[r->len] == '\0' || path[r->len] == '/';
	return glob_covers(next(r->pattern, 0), next(path, 0));
}

enum pol_action policy_decide(const struct policy *p, const char *path, struct pol_decision *d,
			      char *buf, size_t size)
{
	*d = (struct pol_decision){ .action = POL_PASS };
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < p->n; i++) {
		const struct pol_rule *r = &p->rules[i];
		if (r->action == POL_DISCOVERED) {
			if (p->discovered && p->discovered(p->discovered_ctx, path, &r)) {
				d->rule = r;
				d->action = POL_CACHE;
				return POL_CACHE;
			}
			continue;
		}
		if (!covers(r, path, base))
			continue;
		d->rule = r;
		d->action = r->action;
		d->err = r->err;
		if (r->action == POL_LIBRARY) {
			d->target = r->target;
		} else if (r->action == POL_REDIRECT) {
			/* TO "/" must not make "//x": drop its trailing slash, keep at least "/". */
			size_t tl = strlen(r->target);
			while (tl > 0 && r->target[tl - 1] == '/')
				tl--;
			const char *rest = path + r->len;
			int n = snprintf(buf, size, "%.*s%s", (int)tl, r->target, *rest || tl ? rest : "/");
			if (n < 0 || (size_t)n >= size) {
				d->action = POL_PASS;   /* cannot express it: let the kernel say */
				return POL_PASS;
			}
			d->target = buf;
		}
		return d->action;
	}
	return POL_PASS;
}

void policy_free(struct policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->rules[i].pattern);
		free(p->rules[i].target);
		free(p->rules[i].origin);
	}
	free(p->rules);
	*p = (struct policy){ 0 };
}

const char *pol_action_name(enum pol_action a)
{
	static const char *const names[] = { "pass", "cache", "deny", "redirect", "library", "hide", "discovered" };
	return (unsigned)a < sizeof names / sizeof *names ? names[a] : "?";
}

/* A word as policy text: quoted (with \" and \\) when blanks, '#' or quotes would
 * otherwise change how it parses back. */
static const char *word(const char *w, char *out, size_t size)
{
	if (*w && !strpbrk(w, " \t#\"\\"))
		return w;
	size_t n = 0;
	if (size < 3)
		return w;
	out[n++] = '"';
	for (; *w && n + 3 < size; w++) {
		if (*w == '"' || *w == '\\')
			out[n++] = '\\';
		out[n++] = *w;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

int policy_format_rule(const struct pol_rule *r, char *buf, size_t size)
{
	char pq[PATH_MAX * 2 + 3], tq[PATH_MAX * 2 + 3];
	const char *pat = word(r->len ? r->pattern : "/", pq, sizeof pq);
	int n;
	switch (r->action) {
	case POL_DENY:
		n = snprintf(buf, size, "deny %s %s", pat, strerrorname_np(r->err) ? strerrorname_np(r->err) : "?");
		break;
	case POL_REDIRECT:
	case POL_LIBRARY:
		n = snprintf(buf, size, "%s %s %s", pol_action_name(r->action), pat, word(r->target, tq, sizeof tq));
		break;
	case POL_DISCOVERED:
		n = snprintf(buf, size, "discovered");
		if (r->sources != POL_SRC_ALL)
			for (unsigned b = 1; b & POL_SRC_ALL && n >= 0 && (size_t)n < size; b <<= 1)
				if (r->sources & b)
					n += snprintf(buf + n, size - n, " %s", pol_source_name(b));
		break;
	default:
		n = snprintf(buf, size, "%s %s", pol_action_name(r->action), pat);
	}
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}
