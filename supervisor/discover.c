/* The discovered trees (see discover.h): a hash set of cleaned prefixes; a path is covered
 * when one of its ancestors (or itself) is in the set, so a look-up costs one probe per
 * component, whatever the number of trees. */
#include "discover.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int discovered_init(struct discovered *d, const char *home)
{
	*d = (struct discovered){ .nslots = 256 };
	pthread_rwlock_init(&d->lock, NULL);
	d->slots = calloc(d->nslots, sizeof *d->slots);
	d->home = home && home[0] == '/' ? strdup(home) : NULL;
	return d->slots ? 0 : -ENOMEM;
}

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Index + 1 of the rule whose pattern is s[0..n), or 0. Read lock held. */
static uint32_t find(const struct discovered *d, const char *s, size_t n)
{
	for (size_t i = hash(s, n) & (d->nslots - 1);; i = (i + 1) & (d->nslots - 1)) {
		uint32_t k = d->slots[i];
		if (!k)
			return 0;
		const struct pol_rule *r = d->v[k - 1];
		if (r->len == n && memcmp(r->pattern, s, n) == 0)
			return k;
	}
}

static void insert(struct discovered *d, uint32_t k)
{
	const struct pol_rule *r = d->v[k - 1];
	size_t i = hash(r->pattern, r->len) & (d->nslots - 1);
	while (d->slots[i])
		i = (i + 1) & (d->nslots - 1);
	d->slots[i] = k;
}

static int grow(struct discovered *d)
{
	size_t n = d->nslots * 2;
	uint32_t *s = calloc(n, sizeof *s);
	if (!s)
		return -ENOMEM;
	free(d->slots);
	d->slots = s;
	d->nslots = n;
	for (size_t k = 1; k <= d->n; k++)
		insert(d, k);
	return 0;
}

/* Clean an absolute directory name into out: no "//", no "." components, no trailing "/".
 * Length, or 0 if it is not absolute or does not fit. */
static size_t clean(const char *dir, char *out, size_t size)
{
	if (dir[0] != '/')
		return 0;
	size_t n = 0;
	for (const char *p = dir; *p;) {
		while (*p == '/')
			p++;
		size_t c = strcspn(p, "/");
		if (!c)
			break;
		if (!(c == 1 && p[0] == '.')) {
			if (n + 1 + c + 1 > size)
				return 0;
			out[n++] = '/';
			memcpy(out + n, p, c);
			n += c;
		}
		p += c;
	}
	out[n] = '\0';
	return n;
}

/* Is this a tree that must not be cached? "/" or a top-level directory (too wide to hold
 * only code); the home folder or one above it; a dot-folder of the home folder
 * (~/.cache, ~/.config: state that changes while jobs run; the default policy's explicit
 * rules cache the ones that hold software, such as ~/.local/lib). */
static bool refused(const struct discovered *d, const char *s, size_t n)
{
	if (n == 0 || !memchr(s + 1, '/', n - 1))
		return true;
	if (d->home) {
		size_t hl = strlen(d->home);
		while (hl > 1 && d->home[hl - 1] == '/')
			hl--;
		if (n <= hl && memcmp(d->home, s, n) == 0 && (n == hl || d->home[n] == '/'))
			return true;
		if (n > hl + 1 && memcmp(d->home, s, hl) == 0 && s[hl] == '/' && s[hl + 1] == '.')
			return true;
	}
	return false;
}

int discovered_add(struct discovered *d, const char *dir, const char *why)
{
	char c[4096];
	size_t n = clean(dir, c, sizeof c);
	if (!n || refused(d, c, n))
		return 0;
	pthread_rwlock_wrlock(&d->lock);
	int ret = 1;
	if (find(d, c, n)) {
		ret = 0;
		goto out;
	}
	if ((d->n + 1) * 2 > d->nslots && grow(d) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct pol_rule **v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			ret = -ENOMEM;
			goto out;
		}
		d->v = v;
		d->cap = cap;
	}
	struct pol_rule *r = calloc(1, sizeof *r);
	if (!r || !(r->pattern = strdup(c)) || !(r->origin = strdup(why ? why : "discovered"))) {
		if (r)
			free(r->pattern);
		free(r);
		ret = -ENOMEM;
		goto out;
	}
	r->action = POL_CACHE;
	r->flags = POL_RULE_DISCOVERED;
	r->len = r->fixed = n;
	d->v[d->n++] = r;
	insert(d, d->n);
out:
	pthread_rwlock_unlock(&d->lock);
	return ret;
}

bool discovered_match(void *ctx, const char *path, const struct pol_rule **rule)
{
	struct discovered *d = ctx;
	if (!__atomic_load_n(&d->n, __ATOMIC_RELAXED))
		return false;
	bool hit = false;
	pthread_rwlock_rdlock(&d->lock);
	/* Every ancestor of path, and path itself: "/a/b/c" probes "/a", "/a/b", "/a/b/c". The
	 * innermost tree answers: the one that names most of the path (a tree named with ".."
	 * or a link inside another is found where it physically is: handlers/common.c). */
	for (size_t i = 1;; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		uint32_t k = find(d, path, i);
		if (k) {
			*rule = d->v[k - 1];
			hit = true;
		}
		if (!path[i])
			break;
	}
	pthread_rwlock_unlock(&d->lock);
	return hit;
}

size_t discovered_count(struct discovered *d)
{
	pthread_rwlock_rdlock(&d->lock);
	size_t n = d->n;
	pthread_rwlock_unlock(&d->lock);
	return n;
}

const struct pol_rule *discovered_rule(struct discovered *d, size_t i)
{
	pthread_rwlock_rdlock(&d->lock);
	const struct pol_rule *r = i < d->n ? d->v[i] : NULL;
	pthread_rwlock_unlock(&d->lock);
	return r;
}
