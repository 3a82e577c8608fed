/* The path cache: absolute path -> what the kernel answered for it, per kind of look-up.
 * Each slot records exactly one kernel result (a struct, a link target, or an errno) taken
 * at fill time under the supervisor's credentials; slots start EMPTY and are filled on the
 * first call that needs them. cache_flush() forgets every path (data objects survive). */
#pragma once
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <linux/stat.h>

struct data_obj;

enum slot_state { SLOT_EMPTY = 0, SLOT_OK, SLOT_ERR, SLOT_PASS };

struct stat_slot { uint8_t state; int err; struct stat st; };
struct open_slot { uint8_t state; int err; struct data_obj *obj; };
struct link_slot { uint8_t state; int err; size_t len; char *target; };
struct statx_item { struct statx_item *next; unsigned flags, mask; uint8_t state; int err; struct statx sx; };
struct access_item { struct access_item *next; int mode, flags; uint8_t state; int err; };

struct entry {
	struct entry *next;
	uint64_t hash;
	struct stat_slot stat[2];      /* [0] follows the last symlink, [1] does not */
	struct open_slot open[2];      /* same: [1] is O_NOFOLLOW */
	struct link_slot link;
	struct statx_item *statx;
	struct access_item *access;
	char path[];
};

struct cache {
	struct entry **buckets;
	size_t nbuckets, nentries;
	uint64_t flushes;
};

int cache_init(struct cache *c);
/* The entry for path, created empty if absent; NULL only on ENOMEM. */
struct entry *cache_get(struct cache *c, const char *path);
/* Find or add the statx/access item with these parameters (NULL on ENOMEM). */
struct statx_item *entry_statx(struct entry *e, unsigned flags, unsigned mask);
struct access_item *entry_access(struct entry *e, int mode, int flags);
void cache_flush(struct cache *c);
void cache_free(struct cache *c);

/* Errors worth remembering: they depend only on the name space, not on the moment. */
static inline int cacheable_errno(int err)
{
	switch (err) {
	case ENOENT: case ENOTDIR: case ELOOP: case EACCES: case ENAMETOOLONG:
	case EINVAL:   /* readlink of a non-link */
		return 1;
	}
	return 0;
}
