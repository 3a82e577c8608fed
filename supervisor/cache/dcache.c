/* Hash tables of objs (by dev, ino) and edges (by directory and name), the LRU of kept
 * directory descriptors, and sorted directory listings. Tables grow by doubling; entries
 * are never freed before dc_free (see dcache.h for why). */
#include "dcache.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int dc_init(struct dcache *dc, size_t max_entries, size_t max_fds)
{
	*dc = (struct dcache){ .onb = 1024, .enb = 4096, .max_entries = max_entries, .max_fds = max_fds };
	dc->ob = calloc(dc->onb, sizeof *dc->ob);
	dc->eb = calloc(dc->enb, sizeof *dc->eb);
	return dc->ob && dc->eb ? 0 : -ENOMEM;
}

uint64_t dc_name_hash(const struct obj *dir, const char *name, size_t len)
{
	/* Keyed by what the directory is, not where it sits in our memory: an edge means
	 * (directory identity, name) and could be sent to another supervisor as such. */
	uint64_t h = 1469598103934665603ull ^ dc_ihash(dir->id.dev, dir->id.ino) ^ (dir->id.mnt * 0x100000001B3ull);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return h;
}

struct obj *dc_obj_find(const struct dcache *dc, const struct ident *id)
{
	for (struct obj *o = dc->ob[dc_ihash(id->dev, id->ino) & (dc->onb - 1)]; o; o = o->hnext)
		if (o->id.ino == id->ino && o->id.dev == id->dev && o->id.mnt == id->mnt)
			return o;
	return NULL;
}

static void grow_objs(struct dcache *dc)
{
	size_t n = dc->onb * 2;
	struct obj **b = calloc(n, sizeof *b);
	if (!b)
		return;   /* longer chains, still correct */
	for (size_t i = 0; i < dc->onb; i++)
		for (struct obj *o = dc->ob[i], *next; o; o = next) {
			next = o->hnext;
			size_t k = dc_ihash(o->id.dev, o->id.ino) & (n - 1);
			o->hnext = b[k];
			b[k] = o;
		}
	free(dc->ob);
	dc->ob = b;
	dc->onb = n;
}

struct obj *dc_obj_add(struct dcache *dc, const struct ident *id, mode_t mode, const char *phys)
{
	if (dc->nobjs + dc->nedges >= dc->max_entries)
		return NULL;
	struct obj *o = calloc(1, sizeof *o);
	if (!o || !(o->phys = strdup(phys))) {
		free(o);
		return NULL;
	}
	o->id = *id;
	o->mode = mode;
	o->fd = -1;
	if (dc->nobjs + 1 > dc->onb)
		grow_objs(dc);
	size_t k = dc_ihash(id->dev, id->ino) & (dc->onb - 1);
	o->hnext = dc->ob[k];
	dc->ob[k] = o;
	dc->nobjs++;
	return o;
}

struct edge *dc_edge_find(const struct dcache *dc, const struct obj *dir, const char *name, size_t len)
{
	uint64_t h = dc_name_hash(dir, name, len);
	for (struct edge *e = dc->eb[h & (dc->enb - 1)]; e; e = e->hnext)
		if (e->hash == h && e->dir == dir && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	return NULL;
}

static void grow_edges(struct dcache *dc)
{
	size_t n = dc->enb * 2;
	struct edge **b = calloc(n, sizeof *b);
	if (!b)
		return;
	for (size_t i = 0; i < dc->enb; i++)
		for (struct edge *e = dc->eb[i], *next; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(dc->eb);
	dc->eb = b;
	dc->enb = n;
}

struct edge *dc_edge_add(struct dcache *dc, struct obj *dir, const char *name, size_t len)
{
	if (dc->nobjs + dc->nedges >= dc->max_entries || len > UINT16_MAX)
		return NULL;
	struct edge *e = calloc(1, sizeof *e + len + 1);
	if (!e)
		return NULL;
	e->dir = dir;
	e->len = len;
	memcpy(e->name, name, len);
	e->hash = dc_name_hash(dir, name, len);
	if (dc->nedges + 1 > dc->enb)
		grow_edges(dc);
	struct edge **head = &dc->eb[e->hash & (dc->enb - 1)];
	e->hnext = *head;
	*head = e;
	dc->nedges++;
	return e;
}

static void lru_unlink(struct dcache *dc, struct obj *o)
{
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else
		dc->lru_head = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else
		dc->lru_tail = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
}

static void lru_push(struct dcache *dc, struct obj *o)
{
	o->lru_prev = NULL;
	o->lru_next = dc->lru_head;
	if (dc->lru_head)
		dc->lru_head->lru_prev = o;
	dc->lru_head = o;
	if (!dc->lru_tail)
		dc->lru_tail = o;
}

void dc_keep_fd(struct dcache *dc, struct obj *o, int fd)
{
	if (o->fd >= 0) {   /* already has one: keep the older, it is as good */
		close(fd);
		return;
	}
	if (dc->max_fds == 0) {
		close(fd);
		return;
	}
	for (struct obj *old = dc->lru_tail, *prev; old && dc->nfds >= dc->max_fds; old = prev) {
		prev = old->lru_prev;
		if (old->fd_pins)
			continue;   /* a fill is using it */
		lru_unlink(dc, old);
		close(old->fd);
		old->fd = -1;
		dc->nfds--;
	}
	if (dc->nfds >= dc->max_fds) {
		close(fd);   /* every kept one is in use: keep none more */
		return;
	}
	o->fd = fd;
	lru_push(dc, o);
	dc->nfds++;
}

int dc_get_fd(struct dcache *dc, struct obj *o)
{
	if (o->fd < 0 || o->fd_drop)
		return -1;
	if (dc->lru_head != o) {
		lru_unlink(dc, o);
		lru_push(dc, o);
	}
	return o->fd;
}

int dc_pin_fd(struct dcache *dc, struct obj *o)
{
	int fd = dc_get_fd(dc, o);
	if (fd >= 0)
		o->fd_pins++;
	return fd;
}

static void close_dropped(struct obj *o)
{
	close(o->fd);
	o->fd = -1;
	o->fd_drop = false;
}

void dc_unpin_fd(struct dcache *dc, struct obj *o)
{
	(void)dc;
	if (--o->fd_pins == 0 && o->fd_drop)
		close_dropped(o);
}

void dc_drop_fds(struct dcache *dc)
{
	while (dc->lru_head) {
		struct obj *o = dc->lru_head;
		lru_unlink(dc, o);
		if (o->fd_pins) {
			o->fd_drop = true;
			continue;
		}
		close(o->fd);
		o->fd = -1;
	}
	dc->nfds = 0;
}

void dc_unpin_all(struct dcache *dc)
{
	for (size_t i = 0; i < dc->onb; i++)
		for (struct obj *o = dc->ob[i]; o; o = o->hnext) {
			o->fd_pins = 0;
			if (o->fd_drop)
				close_dropped(o);
		}
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dents_free(struct dents *d)
{
	if (!d)
		return;
	free(d->at);
	free(d->buf);
	free(d);
}

void listing_set(struct listing *l, char **names, size_t n)
{
	qsort(names, n, sizeof *names, cmp_name);
	l->names = names;
	l->n = n;
}

bool listing_has(const struct listing *l, const char *name, size_t len)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(l->names[mid], name, len);
		if (c == 0)
			c = l->names[mid][len] ? 1 : 0;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

struct statx_item *obj_statx(struct obj *o, unsigned flags, unsigned mask)
{
	for (struct statx_item *i = o->statx; i; i = i->next)
		if (i->flags == flags && i->mask == mask)
			return i;
	struct statx_item *i = calloc(1, sizeof *i);
	if (!i)
		return NULL;
	i->flags = flags;
	i->mask = mask;
	i->next = o->statx;
	o->statx = i;
	return i;
}

struct access_item *obj_access(struct obj *o, int mode, int flags)
{
	for (struct access_item *i = o->access; i; i = i->next)
		if (i->mode == mode && i->flags == flags)
			return i;
	struct access_item *i = calloc(1, sizeof *i);
	if (!i)
		return NULL;
	i->mode = mode;
	i->flags = flags;
	i->next = o->access;
	o->access = i;
	return i;
}

void obj_free(struct obj *o)
{
	free(o->phys);
	free(o->target);
	for (struct statx_item *i = o->statx, *n; i; i = n) {
		n = i->next;
		free(i);
	}
	for (struct access_item *i = o->access, *n; i; i = n) {
		n = i->next;
		free(i);
	}
	dents_free(o->ents);
	for (size_t i = 0; i < o->list.n; i++)
		free(o->list.names[i]);
	free(o->list.names);
	if (o->fd >= 0)
		close(o->fd);
	free(o);
}

void dc_free(struct dcache *dc)
{
	for (size_t i = 0; dc->eb && i < dc->enb; i++)
		for (struct edge *e = dc->eb[i], *n; e; e = n) {
			n = e->hnext;
			free(e);
		}
	for (size_t i = 0; dc->ob && i < dc->onb; i++)
		for (struct obj *o = dc->ob[i], *n; o; o = n) {
			n = o->hnext;
			obj_free(o);
		}
	free(dc->eb);
	free(dc->ob);
	*dc = (struct dcache){ 0 };
}
