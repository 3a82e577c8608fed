/* The node supervisor's connection to its session member (sesslink.h). */
#include "sesslink.h"
#include "log.h"
#include "rendezvous.h"
#include "session/link.h"
#include "session/mountinfo.h"
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

const char *sesslink_id;
const char *sesslink_vnode;

struct ent { struct ent *next; uint64_t h; bool ready; uint16_t type; int32_t err; uint32_t key_len;
	     uint64_t body_len; uint8_t *key, *body; };
static struct ent *table[1 << 14];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t send_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int sock = -1, evfd = -1;
static bool up, warned;
static char warning[512];
static struct mi_mount *mounts;
static size_t nmounts;

static uint64_t hash(const void *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (const unsigned char *c = p; n--; c++)
		h = (h ^ *c) * 0x100000001b3ull;
	return h;
}

static struct ent *find(const void *key, uint32_t len, uint64_t h)
{
	for (struct ent *e = table[h & (sizeof table / sizeof *table - 1)]; e; e = e->next)
		if (e->h == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

static struct ent *add(const void *key, uint32_t len, uint64_t h)
{
	struct ent *e = calloc(1, sizeof *e);
	if (!e || !(e->key = malloc(len ? len : 1))) {
		free(e);
		return NULL;
	}
	memcpy(e->key, key, len);
	e->key_len = len;
	e->h = h;
	size_t b = h & (sizeof table / sizeof *table - 1);
	e->next = table[b];
	table[b] = e;
	return e;
}

/* mu held: the session is gone; say so once, wake every waiter. */
static void lost(const char *why)
{
	up = false;
	if (!warned) {
		warned = true;
		snprintf(warning, sizeof warning, "warning: session %s: %s; this node reads the file system "
			 "itself from now on", sesslink_id, why);
		uint64_t one = 1;
		if (evfd >= 0)
			(void)!write(evfd, &one, sizeof one);
	}
	pthread_cond_broadcast(&cond);
}

static int read_all(void *p, size_t n)
{
	for (char *c = p; n;) {
		ssize_t r = recv(sock, c, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EPIPE;
		c += r;
		n -= r;
	}
	return 0;
}

static void *reader(void *arg)
{
	(void)arg;
	for (;;) {
		struct sl_hdr h;
		uint8_t *key = NULL, *body = NULL;
		bool ok = read_all(&h, sizeof h) == 0 && h.kind == SL_ENTRY && h.key_len <= SL_KEY_MAX &&
			  h.body_len <= SL_FILE_MAX + sizeof(struct sl_stat) + 65536 &&
			  (key = malloc(h.key_len + 1)) && (!h.body_len || (body = malloc(h.body_len))) &&
			  read_all(key, h.key_len) == 0 && (!h.body_len || read_all(body, h.body_len) == 0);
		pthread_mutex_lock(&mu);
		if (!ok) {
			free(key);
			free(body);
			lost("the session member of this node is gone (the session ended or broke)");
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		uint64_t hh = hash(key, h.key_len);
		struct ent *e = find(key, h.key_len, hh);
		if (!e)
			e = add(key, h.key_len, hh);
		if (e && !e->ready) {
			e->type = h.type;
			e->err = h.err;
			e->body = body;
			e->body_len = h.body_len;
			e->ready = true;
			body = NULL;
			pthread_cond_broadcast(&cond);
		}
		pthread_mutex_unlock(&mu);
		free(key);
		free(body);
	}
}

int sesslink_start(void)
{
	if (!sesslink_id)
		return 0;
	evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	char rd[128], path[300];
	int err = rundir_pick((jobid_getenv_fn)getenv, getuid(), rd, sizeof rd);
	if (!err) {
		int n = sesslink_vnode ? snprintf(path, sizeof path, SL_DIR_FMT "/node-%s.sock", rd, sesslink_id, sesslink_vnode)
				       : snprintf(path, sizeof path, SL_DIR_FMT "/node.sock", rd, sesslink_id);
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		if (n < 0 || (size_t)n >= sizeof a.sun_path)
			err = -ENAMETOOLONG;
		else if ((sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			err = -errno;
		else {
			strcpy(a.sun_path, path);
			if (connect(sock, (struct sockaddr *)&a, sizeof a) < 0)
				err = -errno;
		}
		struct ucred c;
		socklen_t cl = sizeof c;
		if (!err && (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &c, &cl) < 0 || c.uid != getuid()))
			err = -EPERM;
	}
	pthread_t t;
	if (!err && (err = -pthread_create(&t, NULL, reader, NULL)) == 0)
		pthread_detach(t);
	pthread_mutex_lock(&mu);
	if (err) {
		char why[256];
		snprintf(why, sizeof why, "cannot reach this node's session member (%s)", strerror(-err));
		lost(why);
	} else {
		up = true;
		log_trace(1, "session %s: this node supervisor asks the session for shared file systems", sesslink_id);
	}
	pthread_mutex_unlock(&mu);
	return err;
}

int sesslink_event_fd(void)
{
	return evfd;
}

int sesslink_take_warning(char *buf, size_t size)
{
	uint64_t v;
	if (evfd < 0 || read(evfd, &v, sizeof v) != sizeof v)
		return 0;
	pthread_mutex_lock(&mu);
	int n = snprintf(buf, size, "%s", warning);
	pthread_mutex_unlock(&mu);
	return n;
}

/* mu held: the mount with id mnt, read again from mountinfo if it is new. */
static const struct mi_mount *mount_of(uint64_t mnt)
{
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nmounts; i++)
			if (mounts[i].id == mnt)
				return &mounts[i];
		if (pass == 0) {
			mi_free(mounts, nmounts);
			mounts = NULL;
			nmounts = 0;
			if (mi_read(&mounts, &nmounts) < 0)
				return NULL;
		}
	}
	return NULL;
}

/* mu held: the key for kind and our path phys (+ "/" name) on mount mnt, into out; its
 * length, or 0 when the session cannot answer for it (a local file system, a path not
 * under the mount point, a mount of ours on top of that very name). *dev: our device. */
static size_t make_key(char kind, uint64_t mnt, const char *phys, const char *name, size_t nlen, char *out,
		       size_t size, dev_t *dev)
{
	const struct mi_mount *m = mount_of(mnt);
	if (!m || !mi_shared_fstype(m->fstype))
		return 0;
	size_t pl = strlen(m->point);
	const char *rest;
	if (strcmp(m->point, "/") == 0)
		rest = phys;
	else if (strncmp(phys, m->point, pl) == 0 && (phys[pl] == '/' || !phys[pl]))
		rest = phys + pl;
	else
		return 0;
	const char *root = strcmp(m->root, "/") == 0 ? "" : m->root;
	if (strcmp(rest, "/") == 0)
		rest = "";
	/* The path inside the file system: mountinfo's root, then ours below the mount point. */
	/* The mount point too: two mounts may share a type and a source ("slowfs", a FUSE
	 * server's fixed fsname) and hold different trees; the root answers only for the mount
	 * at the same place (nodes of a cluster mount a shared file system at the same point). */
	int n = snprintf(out, size, "%c%s%c%s%c%s%c%s%s%s%.*s", kind, m->fstype, 0, m->source, 0, m->point, 0,
			 root, rest, nlen ? "/" : "", (int)nlen, name ? name : "");
	if (n < 0 || (size_t)n + 2 >= size)
		return 0;
	if (!root[0] && !rest[0] && !nlen)
		out[n++] = '/';   /* the file system's own root */
	out[n] = '\0';
	if (nlen) {   /* something of ours mounted on that name: its own files */
		char child[PATH_MAX];
		snprintf(child, sizeof child, "%s/%.*s", strcmp(phys, "/") ? phys : "", (int)nlen, name);
		for (size_t i = 0; i < nmounts; i++)
			if (strcmp(mounts[i].point, child) == 0)
				return 0;
	}
	*dev = makedev(m->major, m->minor);
	return n;
}

/* Ask for key and wait for its entry: the entry (never freed while we run), or NULL. */
static const struct ent *ask(const char *key, size_t klen)
{
	uint64_t h = hash(key, klen);
	pthread_mutex_lock(&mu);
	struct ent *e = find(key, klen, h);
	bool send_it = false;
	if (!e && up && (e = add(key, klen, h)))
		send_it = true;
	pthread_mutex_unlock(&mu);
	if (send_it) {
		/* Not under mu: the reader must be able to take entries while we write. */
		struct sl_hdr hd = { .kind = SL_REQ, .key_len = klen };
		pthread_mutex_lock(&send_mu);
		bool ok = send(sock, &hd, sizeof hd, MSG_NOSIGNAL) == sizeof hd &&
			  send(sock, key, klen, MSG_NOSIGNAL) == (ssize_t)klen;
		pthread_mutex_unlock(&send_mu);
		if (!ok) {
			pthread_mutex_lock(&mu);
			lost("cannot write to this node's session member");
			pthread_mutex_unlock(&mu);
		}
	}
	pthread_mutex_lock(&mu);
	while (e && !e->ready && up)
		pthread_cond_wait(&cond, &mu);
	const struct ent *r = e && e->ready ? e : NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

static bool active(void)
{
	pthread_mutex_lock(&mu);
	bool a = up;
	pthread_mutex_unlock(&mu);
	return a;
}

static void to_stat(const struct sl_stat *s, dev_t dev, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_dev = dev;
	st->st_ino = s->ino;
	st->st_nlink = s->nlink;
	st->st_mode = s->mode;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_rdev = s->rdev;
	st->st_size = s->size;
	st->st_blksize = s->blksize;
	st->st_blocks = s->blocks;
	st->st_atim = (struct timespec){ s->atime, s->atime_ns };
	st->st_mtim = (struct timespec){ s->mtime, s->mtime_ns };
	st->st_ctim = (struct timespec){ s->ctime, s->ctime_ns };
}

/* Worker: the entry the session holds (or the root publishes) for kind and phys (+ name),
 * asked for if need be; NULL when the session cannot answer for it. *dev: our device. */
static const struct ent *fetch(char kind, uint64_t mnt, const char *phys, const char *name, size_t len, dev_t *dev)
{
	char key[SL_KEY_MAX];
	if (!active())
		return NULL;
	pthread_mutex_lock(&mu);
	size_t klen = make_key(kind, mnt, phys, name, len, key, sizeof key, dev);
	pthread_mutex_unlock(&mu);
	return klen ? ask(key, klen) : NULL;
}

int sesslink_lookup(uint64_t mnt, const char *phys, const char *name, size_t len, struct found *f)
{
	dev_t dev = 0;
	*f = (struct found){ 0 };
	const struct ent *e = fetch('L', mnt, phys, name, len, &dev);
	if (!e)
		return SL_FALLBACK;
	if (e->type == SL_T_NEG)
		return e->err == EXDEV || e->err <= 0 ? SL_FALLBACK : -e->err;
	if (e->type != SL_T_STAT || e->body_len < sizeof(struct sl_stat))
		return SL_FALLBACK;
	const struct sl_stat *s = (const void *)e->body;
	size_t tlen = e->body_len - sizeof *s;
	if (S_ISLNK(s->mode)) {
		if (!(f->target = malloc(tlen + 1)))
			return SL_FALLBACK;
		memcpy(f->target, e->body + sizeof *s, tlen);
		f->target[tlen] = '\0';
		f->tlen = tlen;
	}
	f->id = (struct ident){ mnt, dev, s->ino };
	f->mode = s->mode;
	to_stat(s, dev, &f->st);
	f->ctime = f->st.st_ctim;
	f->basic = f->fresh = true;
	return 0;
}

int sesslink_list(uint64_t mnt, const char *phys, char ***names, size_t *n, struct dents **raw)
{
	dev_t dev;
	*names = NULL;
	*n = 0;
	*raw = NULL;
	const struct ent *e = fetch('D', mnt, phys, NULL, 0, &dev);
	if (!e)
		return SL_FALLBACK;
	if (e->type == SL_T_NEG)
		return e->err == EXDEV || e->err <= 0 ? SL_FALLBACK : -e->err;
	if (e->type != SL_T_LIST)
		return SL_FALLBACK;
	/* The root's getdents64 records: names, and the raw entries a listing is served from. */
	return dents_from_records(e->body, e->body_len, names, n, raw) ? SL_FALLBACK : 0;
}

int sesslink_file(struct data_store *d, uint64_t mnt, const char *phys, const struct stat *st,
		  struct data_obj **out)
{
	dev_t dev;
	if (st->st_size > d->max_file_size)
		return SL_FALLBACK;
	const struct ent *e = fetch('F', mnt, phys, NULL, 0, &dev);
	if (!e)
		return SL_FALLBACK;
	if (e->type == SL_T_NEG)
		return e->err == EACCES || e->err == EPERM ? -e->err : SL_FALLBACK;
	if (e->type != SL_T_FILE || e->body_len < sizeof(struct sl_stat))
		return SL_FALLBACK;
	const struct sl_stat *s = (const void *)e->body;
	/* The version our cache knows, or nothing: a copy must match the stat we serve. */
	if (s->ino != st->st_ino || (off_t)s->size != st->st_size || s->mtime != st->st_mtim.tv_sec ||
	    s->mtime_ns != st->st_mtim.tv_nsec || s->ctime != st->st_ctim.tv_sec || s->ctime_ns != st->st_ctim.tv_nsec)
		return SL_FALLBACK;
	int r = data_from_bytes(d, st, phys, e->body + sizeof *s, e->body_len - sizeof *s, out);
	return r < 0 ? SL_FALLBACK : 0;
}
