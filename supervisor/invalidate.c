/* Marking what the job changes (see invalidate.h). A mutation's path is walked over the
 * cache only: if every directory on the way is known, the exact (directory, name) edge and
 * the file behind it are marked, at no file-system cost. Only a file the cache cannot
 * place, in a tree the policy caches, costs one look-up (identify_path) — it may be
 * cached under another name (a hard link, another mount). */
#include "invalidate.h"
#include "fill.h"
#include "handlers/common.h"
#include "log.h"
#include "node.h"
#include "supervisor.h"
#include "walk.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

void mark_ident(struct node *n, dev_t dev, ino_t ino, uint32_t extra)
{
	dc_for_each_alias(&n->dc, o, (uint64_t)dev, (uint64_t)ino) {
		if (!(o->flags & OBJ_VOLATILE))
			n->dc.marks++;
		o->flags |= OBJ_VOLATILE | extra;
	}
	data_drop(n->data, dev, ino);
}

/* (dir, name) in every mount dir is reached through. */
static void mark_edge(struct node *n, struct obj *dir, const char *name, size_t len)
{
	dc_for_each_alias(&n->dc, d, dir->id.dev, dir->id.ino) {
		struct edge *e = dc_edge_find(&n->dc, d, name, len);
		if (!e)
			e = dc_edge_add(&n->dc, d, name, len);
		if (e) {
			e->flags |= EDGE_VOLATILE;
			if (e->s.state == SLOT_OK && e->child)
				mark_ident(n, e->child->id.dev, e->child->id.ino,
					   S_ISDIR(e->child->mode) ? OBJ_NOCACHE : 0);
		} else {
			d->flags |= OBJ_NOCACHE;   /* cannot record the name: stop answering there */
		}
		n->dc.marks++;
	}
	mark_ident(n, dir->id.dev, dir->id.ino, 0);   /* its mtime, ctime and link count move */
}

/* Split path into its directory part (in buf) and last name; false for a last component
 * the kernel refuses to mutate ("", ".", ".."). */
static bool split(const char *path, char *buf, size_t size, const char **name, size_t *len)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t i = n;
	while (i > 0 && path[i - 1] != '/')
		i--;
	*name = path + i;
	*len = n - i;
	if (*len == 0 || (*len == 1 && **name == '.') || (*len == 2 && !memcmp(*name, "..", 2)))
		return false;
	if (i >= size)
		return false;
	if (i == 0)
		strcpy(buf, ".");
	else {
		memcpy(buf, path, i);
		buf[i] = '\0';
	}
	return true;
}

bool mark_path(struct call *c, const struct start *s, const char *path, enum mut_kind kind, bool follow)
{
	struct node *n = c->node;
	struct start saved = c->start;
	c->start = *s;
	struct walk w = { .c = c, .keep = true, .fd = -1, .cache_only = true };
	bool done = true;
	char dirpart[PATH_MAX];
	const char *name;
	size_t len;
	if (kind == MUT_NAME) {
		if (split(path, dirpart, sizeof dirpart, &name, &len)) {
			w.path = dirpart;
			w.follow = true;
			enum walk_res r = walk(&w);
			if (r == WALK_MISS)
				done = false;
			else if (r == WALK_DONE && !w.err && S_ISDIR(w.obj->mode)) {
				struct edge *e = dc_edge_find(&n->dc, w.obj, name, len);
				bool known = e && (e->s.state == SLOT_OK || e->s.state == SLOT_ERR);
				bool listed_absent = w.obj->list_slot.state == SLOT_OK &&
						     !listing_has(&w.obj->list, name, len);
				mark_edge(n, w.obj, name, len);
				done = known || listed_absent;
			}
		}
	} else {
		w.path = path;
		w.follow = follow;
		enum walk_res r = walk(&w);
		if (r == WALK_MISS)
			done = false;
		else if (r == WALK_DONE && !w.err) {
			mark_ident(n, w.obj->id.dev, w.obj->id.ino, kind == MUT_MOUNT ? OBJ_NOCACHE : 0);
			if (kind == MUT_MOUNT && w.dir)
				mark_edge(n, w.dir, w.name, w.nlen);
		}
	}
	walk_done(&w);
	c->start = saved;
	return done;
}

void identify_path(struct call *c, const struct start *s, const char *path, enum mut_kind kind, bool follow)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW),
				.resolve = RESOLVE_NO_MAGICLINKS };
	int dfd = start_dirfd(s, path);
	if (path[0] == '/' && s->foreign_root) {
		dfd = s->root_fd;
		how.resolve |= RESOLVE_IN_ROOT;
	}
	if (dfd == -1)
		return;
	int fd = syscall(SYS_openat2, dfd, path, &how, sizeof how);
	STAT_ADD(c->node->fsops, 1);
	if (fd < 0)
		return;   /* nothing there (or unreachable): nothing cached can change */
	struct found f;
	int err = fill_ident(fd, &f);
	close(fd);
	if (err)
		return;
	node_lock(c->node);
	mark_ident(c->node, f.id.dev, f.id.ino, S_ISDIR(f.mode) && kind != MUT_ATTR ? OBJ_NOCACHE : 0);
	node_unlock(c->node);
}

void mark_caller_fd(struct call *c, int fd)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)c->pid, fd);
	if (stat(p, &st) < 0)
		return;
	node_lock(c->node);
	if (S_ISREG(st.st_mode))
		inode_set_add(&c->job->written, st.st_dev, st.st_ino);
	mark_ident(c->node, st.st_dev, st.st_ino, 0);
	node_unlock(c->node);
}

void mutation_passed(struct call *c)
{
	node_lock(c->node);
	c->node->mut_epoch++;
	inflight_add(c->job, c->pid, c->sysno, c->args);
	node_unlock(c->node);
}

void mutation_done(struct node *n)
{
	node_lock(n);
	n->mut_epoch++;
	node_unlock(n);
}
