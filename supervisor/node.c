/* Node state set-up, what each mount is (one fstatfs per mount, learned on first sight),
 * the mounts that existed before the job mounted its own, and the worker pool: threads
 * made on demand (up to a bound) that run the fill half of calls. Workers never take
 * signals (the loop thread owns them) and each has its own fs_struct, so a umask set for
 * one call the supervisor performs for a caller never leaks into another's. */

#include "node.h"
#include "call.h"
#include "fill.h"
#include "log.h"
#include "supervisor.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

struct node node = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Bounded so a hung file system cannot make the supervisor spawn without end; calls beyond
 * wait in the queue (hits never do: the loop thread answers them). */
#define MAX_WORKERS 32
/* Entries (objs + edges) and kept directory descriptors: enough for any start-up seen
 * (python3 + numpy: ~6,000 entries), bounded so a runaway job cannot exhaust memory. */
#define MAX_ENTRIES (4u << 20)
#define MAX_KEPT_FDS 4096

void notify_run(struct call *c);            /* notify.c: finish a call in a worker */
void notify_taken_locked(struct call *c);   /* notify.c: it is running now (for fork) */

int node_init(struct node *n)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutex_init(&n->lock, &a);
	pthread_cond_init(&n->pool.cond, NULL);
	n->pool.max = MAX_WORKERS;
	n->data = &n->data_store;
	int err = data_init(n->data);
	if (err)
		return err;
	n->fs_cap = 64;
	n->fs = calloc(n->fs_cap, sizeof *n->fs);
	err = n->fs ? dc_init(&n->dc, MAX_ENTRIES, MAX_KEPT_FDS) : -ENOMEM;
	if (err)
		return err;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct found f;
	if ((err = fill_ident(fd, &f)) < 0 || (err = node_fs_learn(n, fd, f.id.mnt)) < 0) {
		close(fd);
		return err;
	}
	n->root = f.id;
	n->root_obj = dc_obj_add(&n->dc, &f.id, f.mode, "/");
	if (!n->root_obj) {
		close(fd);
		return -ENOMEM;
	}
	struct fsinfo *fs = node_fs(n, f.id.mnt);
	n->root_obj->fstype = fs->type;
	if (!fs->cacheable)
		n->root_obj->flags |= OBJ_NOCACHE;
	dc_keep_fd(&n->dc, n->root_obj, fd);
	return 0;
}

static size_t fs_slot(const struct node *n, uint64_t mnt)
{
	return (mnt * 0x9E3779B97F4A7C15ull) & (n->fs_cap - 1);
}

struct fsinfo *node_fs(struct node *n, uint64_t mnt)
{
	for (size_t i = fs_slot(n, mnt), k = 0; k < n->fs_cap; i = (i + 1) & (n->fs_cap - 1), k++) {
		if (n->fs[i].type == 0 && n->fs[i].mnt == 0)
			return NULL;
		if (n->fs[i].mnt == mnt)
			return &n->fs[i];
	}
	return NULL;
}

static void fs_insert(struct node *n, const struct fsinfo *fi)
{
	if ((n->fs_n + 1) * 2 > n->fs_cap) {
		size_t cap = n->fs_cap * 2;
		struct fsinfo *old = n->fs, *nf = calloc(cap, sizeof *nf);
		if (!nf)
			return;   /* learned again next time */
		size_t oldcap = n->fs_cap;
		n->fs = nf;
		n->fs_cap = cap;
		n->fs_n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].type || old[i].mnt)
				fs_insert(n, &old[i]);
		free(old);
	}
	size_t i = fs_slot(n, fi->mnt);
	while (n->fs[i].type || n->fs[i].mnt)
		i = (i + 1) & (n->fs_cap - 1);
	n->fs[i] = *fi;
	n->fs_n++;
	if (fi->listable && !fs_is_local(fi->type))
		__atomic_store_n(&n->remote_listable, true, __ATOMIC_RELEASE);
}

bool node_mounted_by_job(const struct node *n, uint64_t mnt)
{
	const uint64_t *v = __atomic_load_n(&n->mounts_before, __ATOMIC_ACQUIRE);
	if (!v)
		return false;
	size_t lo = 0, hi = n->n_mounts_before;   /* sorted: see node_snapshot_mounts */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] == mnt)
			return false;
		if (v[mid] < mnt)
			lo = mid + 1;
		else
			hi = mid;
	}
	return true;
}

bool node_fill_here(struct node *n, const struct obj *o)
{
	struct fsinfo *fs = node_fs(n, o->id.mnt);
	return fs && fs_is_local(fs->type) && !node_mounted_by_job(n, o->id.mnt);
}

int node_fs_learn(struct node *n, int fd, uint64_t mnt)
{
	struct statfs sf;
	if (node_mounted_by_job(n, mnt)) {
		struct fsinfo fi = { .mnt = mnt, .type = 1, .namelen = 255 };   /* never cached */
		node_lock(n);
		if (!node_fs(n, mnt))
			fs_insert(n, &fi);
		node_unlock(n);
		return 0;
	}
	if (fstatfs(fd, &sf) < 0)
		return -errno;
	STAT_ADD(n->fsops, 1);
	struct fsinfo fi = { .mnt = mnt, .type = sf.f_type ? sf.f_type : 1, .namelen = sf.f_namelen,
			     .cacheable = fs_cacheable(sf.f_type), .listable = fs_listable(sf.f_type) };
	node_lock(n);
	struct fsinfo *have = node_fs(n, mnt);
	if (!have)
		fs_insert(n, &fi);
	else if (have->guessed)
		*have = fi;
	node_unlock(n);
	return 0;
}

/* Mount type names as /proc/PID/mountinfo gives them, and the statfs magic of each. */
static const struct { const char *name; long magic; } fs_names[] = {
	{ "ext2", 0xEF53 }, { "ext3", 0xEF53 }, { "ext4", 0xEF53 }, { "xfs", 0x58465342 },
	{ "btrfs", 0x9123683E }, { "tmpfs", 0x01021994 }, { "ramfs", 0x858458F6 },
	{ "overlay", 0x794C7630 }, { "squashfs", 0x73717368 }, { "erofs", 0xE0F5E1E2 },
	{ "f2fs", 0xF2F52010 }, { "zfs", 0x2FC12FC1 }, { "iso9660", 0x9660 },
	{ "nfs", 0x6969 }, { "nfs4", 0x6969 }, { "lustre", 0x0BD00BD0 }, { "gpfs", 0x47504653 },
	{ "beegfs", 0x19830326 }, { "ceph", 0x00C36400 }, { "fuse", 0x65735546 },
	{ "fuseblk", 0x65735546 }, { "9p", 0x01021997 }, { "ocfs2", 0x7461636F },
	{ "pvfs2", 0x20030528 }, { "cifs", 0xFF534D42 }, { "smb3", 0xFE534D42 },
	{ "autofs", 0x0187 },
};

int node_fs_guess(struct node *n, pid_t pid, uint64_t mnt)
{
	char path[64], line[4096];
	snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	long magic = 0;
	bool found = false;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long long id;
		const char *sep = strstr(line, " - ");
		if (sscanf(line, "%llu", &id) != 1 || id != mnt || !sep)
			continue;
		found = true;
		char type[64];
		if (sscanf(sep + 3, "%63s", type) != 1)
			break;
		char *dot = strchr(type, '.');   /* fuse.sshfs, fuse.slowfs... */
		if (dot)
			*dot = '\0';
		for (size_t i = 0; i < sizeof fs_names / sizeof *fs_names; i++)
			if (strcmp(type, fs_names[i].name) == 0)
				magic = fs_names[i].magic;
	}
	fclose(f);
	if (!found)
		return -ENOENT;
	/* Only the name length stays unknown (0: listings not trusted there) until a worker
	 * learns it with statfs; on local file systems it is 255. */
	struct fsinfo fi = { .mnt = mnt, .type = magic ? magic : 1, .namelen = fs_is_local(magic) ? 255 : 0,
			     .cacheable = fs_cacheable(magic), .listable = fs_listable(magic),
			     .guessed = !fs_is_local(magic) };
	if (node_mounted_by_job(n, mnt))
		fi.cacheable = fi.listable = false;
	node_lock(n);
	if (!node_fs(n, mnt))
		fs_insert(n, &fi);
	node_unlock(n);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void node_snapshot_mounts(struct node *n)
{
	if (n->mounts_before)
		return;   /* the first mount is what matters: anything later is the job's */
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	size_t cap = 64, k = 0;
	uint64_t *v = malloc(cap * sizeof *v);
	char line[4096];
	while (v && fgets(line, sizeof line, f)) {
		unsigned long long id;
		if (sscanf(line, "%llu", &id) != 1)
			continue;
		if (k == cap) {
			uint64_t *w = realloc(v, (cap *= 2) * sizeof *v);
			if (!w)
				break;
			v = w;
		}
		v[k++] = id;
	}
	fclose(f);
	if (!v)
		return;
	qsort(v, k, sizeof *v, cmp_u64);
	n->n_mounts_before = k;
	__atomic_store_n(&n->mounts_before, v, __ATOMIC_RELEASE);
}

/* ---- workers ---- */

static void *worker(void *arg)
{
	struct node *n = arg;
	/* Own cwd/root/umask: a create performed for a caller sets the caller's umask here only. */
	if (unshare(CLONE_FS) < 0)
		log_trace(1, "worker: unshare(CLONE_FS): %s", strerror(errno));
	node_lock(n);
	for (;;) {
		while (!n->pool.head && !n->pool.stopping) {
			n->pool.idle++;
			pthread_cond_wait(&n->pool.cond, &n->lock);
			n->pool.idle--;
		}
		if (n->pool.stopping)
			break;
		struct call *c = n->pool.head;
		n->pool.head = c->next;
		if (!n->pool.head)
			n->pool.tail = NULL;
		c->next = NULL;
		notify_taken_locked(c);   /* never in no list at all: a fork would lose it */
		node_unlock(n);
		notify_run(c);
		node_lock(n);
	}
	n->pool.nthreads--;
	node_unlock(n);
	return NULL;
}

static void add_worker_locked(struct node *n)
{
	pthread_t t;
	pthread_attr_t a;
	sigset_t all, old;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);   /* inherited: workers never take signals */
	if (pthread_create(&t, &a, worker, n) == 0)
		n->pool.nthreads++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (n->pool.nthreads == 0)
		log_msg("cannot start a worker thread: calls that need a fill will wait");
}

static void enqueue_locked(struct node *n, struct call *c)
{
	c->next = NULL;
	if (n->pool.tail)
		n->pool.tail->next = c;
	else
		n->pool.head = c;
	n->pool.tail = c;
	if (n->pool.idle > 0) {
		pthread_cond_signal(&n->pool.cond);
		return;
	}
	if (n->pool.nthreads < n->pool.max)
		add_worker_locked(n);   /* else a running worker takes it when done */
}

void pool_prestart(struct node *n)
{
	node_lock(n);
	if (n->pool.nthreads == 0 && n->pool.max > 0)
		add_worker_locked(n);
	node_unlock(n);
}

void pool_submit(struct node *n, struct call *c)
{
	node_lock(n);
	enqueue_locked(n, c);
	node_unlock(n);
}

void pool_requeue_locked(struct node *n, struct call **waiters)
{
	for (struct call *c = *waiters, *next; c; c = next) {
		next = c->next;
		enqueue_locked(n, c);
	}
	*waiters = NULL;
}

void pool_prepare_fork(struct node *n)
{
	node_lock(n);
}

static void reset_slot(struct node *n, struct slot *s)
{
	if (s->state == SLOT_BUSY)
		s->state = SLOT_EMPTY;
	pool_requeue_locked(n, &s->waiters);
}

void pool_after_fork(struct node *n, bool in_child)
{
	if (!in_child) {
		node_unlock(n);
		return;
	}
	/* Only this thread exists here: forget the workers, and make every fill they had
	 * under way fillable again (their calls are requeued by notify_after_fork). */
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->pool.cond, NULL);
	n->pool.nthreads = n->pool.idle = 0;
	node_lock(n);
	/* Queued calls: enqueued again, which starts workers here. */
	struct call *queued = n->pool.head;
	n->pool.head = n->pool.tail = NULL;
	pool_requeue_locked(n, &queued);
	for (size_t i = 0; i < n->dc.enb; i++)
		for (struct edge *e = n->dc.eb[i]; e; e = e->hnext)
			reset_slot(n, &e->s);
	for (size_t i = 0; i < n->dc.onb; i++)
		for (struct obj *o = n->dc.ob[i]; o; o = o->hnext) {
			reset_slot(n, &o->st_slot);
			reset_slot(n, &o->open_slot);
			reset_slot(n, &o->list_slot);
			for (struct statx_item *x = o->statx; x; x = x->next)
				reset_slot(n, &x->s);
			for (struct access_item *x = o->access; x; x = x->next)
				reset_slot(n, &x->s);
		}
	dc_unpin_all(&n->dc);
	node_unlock(n);
}
