/* Chained hash table keyed by the literal absolute path (FNV-1a). Entries are variable
 * sized (path stored inline) and only ever freed all at once by a flush. */
#include "cache.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int cache_init(struct cache *c)
{
	*c = (struct cache){ 0 };
	c->nbuckets = 4096;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	return c->buckets ? 0 : -ENOMEM;
}

static void grow(struct cache *c)
{
	size_t n = c->nbuckets * 2;
	struct entry **b = calloc(n, sizeof *b);
	if (!b)
		return;   /* keep working with longer chains */
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->nbuckets = n;
}

struct entry *cache_get(struct cache *c, const char *path)
{
	uint64_t h = fnv1a(path);
	for (struct entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && strcmp(e->path, path) == 0)
			return e;
	size_t len = strlen(path);
	struct entry *e = calloc(1, sizeof *e + len + 1);
	if (!e)
		return NULL;
	memcpy(e->path, path, len + 1);
	e->hash = h;
	if (c->nentries + 1 > c->nbuckets)
		grow(c);
	struct entry **head = &c->buckets[h & (c->nbuckets - 1)];
	e->next = *head;
	*head = e;
	c->nentries++;
	return e;
}

struct statx_item *entry_statx(struct entry *e, unsigned flags, unsigned mask)
{
	for (struct statx_item *i = e->statx; i; i = i->next)
		if (i->flags == flags && i->mask == mask)
			return i;
	struct statx_item *i = calloc(1, sizeof *i);
	if (!i)
		return NULL;
	i->flags = flags;
	i->mask = mask;
	i->next = e->statx;
	e->statx = i;
	return i;
}

struct access_item *entry_access(struct entry *e, int mode, int flags)
{
	for (struct access_item *i = e->access; i; i = i->next)
		if (i->mode == mode && i->flags == flags)
			return i;
	struct access_item *i = calloc(1, sizeof *i);
	if (!i)
		return NULL;
	i->mode = mode;
	i->flags = flags;
	i->next = e->access;
	e->access = i;
	return i;
}

static void entry_free(struct entry *e)
{
	free(e->link.target);
	for (struct statx_item *i = e->statx, *n; i; i = n) {
		n = i->next;
		free(i);
	}
	for (struct access_item *i = e->access, *n; i; i = n) {
		n = i->next;
		free(i);
	}
	free(e);
}

void cache_flush(struct cache *c)
{
	if (c->nentries == 0)
		return;
	for (size_t i = 0; i < c->nbuckets; i++) {
		for (struct entry *e = c->buckets[i], *next; e; e = next) {
			next = e->next;
			entry_free(e);
		}
		c->buckets[i] = NULL;
	}
	c->nentries = 0;
	c->flushes++;
}

void cache_free(struct cache *c)
{
	cache_flush(c);
	free(c->buckets);
	c->buckets = NULL;
}
