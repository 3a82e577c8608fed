/* member.c — collrun-session --serve ID [--virtual]: one member of a session (issue 10),
 * started by `collrun --start-session` as `mpiexec -ppn 1` (or -n K with --virtual: member
 * r serves virtual node r on this host). Rank 0 is the root. Each member listens on its
 * node's socket (link.h) for that node's node supervisors; a request it cannot answer from
 * the entries it holds goes to the root (sess_request); the root looks the fact up on the
 * shared file system and publishes it to every member, each of which hands every entry to
 * its node supervisors. The root does file-system work in this loop: only it does, and
 * what it does is exactly the fill a node supervisor would have made itself.
 * A separate MPI job on purpose: hydra kills the whole job when one member dies, and the
 * node supervisors, which are no part of it, then simply read the file system themselves. */
#include "link.h"
#include "member.h"
#include "mountinfo.h"
#include "stream.h"
#include "rendezvous.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

struct ent { struct ent *next; uint64_t h; uint16_t type; int32_t err; uint32_t key_len; uint64_t body_len;
	     uint8_t *key, *body; };
static struct ent *table[1 << 14];
static struct sess_stream *S;
static int rank;
static int *clients;
static size_t nclients;
static char dir[256], sock_path[300];

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(buf, sizeof buf, "collrun-session[%d]: ", rank);
	n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	(void)!write(2, buf, n);
}

static struct ent *find(const void *key, uint32_t len)
{
	uint64_t h = sess_hash(key, len);
	for (struct ent *e = table[h & (sizeof table / sizeof *table - 1)]; e; e = e->next)
		if (e->h == h && e->key_len == len && memcmp(e->key, key, len) == 0)
			return e;
	return NULL;
}

/* Takes key and body (malloc'd). Entries live as long as the session: a node supervisor
 * that joins later (the next job step) is answered from here. */
static struct ent *keep(uint16_t type, int32_t err, uint8_t *key, uint32_t klen, uint8_t *body, uint64_t blen)
{
	struct ent *e = find(key, klen);
	if (e) {
		free(key);
		free(body);
		return e;
	}
	e = calloc(1, sizeof *e);
	if (!e)
		abort();
	*e = (struct ent){ .h = sess_hash(key, klen), .type = type, .err = err, .key_len = klen,
			   .body_len = blen, .key = key, .body = body };
	size_t b = e->h & (sizeof table / sizeof *table - 1);
	e->next = table[b];
	table[b] = e;
	return e;
}

static int write_all(int fd, const void *p, size_t n)
{
	for (const char *c = p; n;) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		c += w;
		n -= w;
	}
	return 0;
}

static void drop_client(size_t i)
{
	close(clients[i]);
	clients[i] = clients[--nclients];
}

static int send_ent(int fd, const struct ent *e)
{
	struct sl_hdr h = { .kind = SL_ENTRY, .type = e->type, .err = e->err, .key_len = e->key_len,
			    .body_len = e->body_len };
	int r = write_all(fd, &h, sizeof h);
	if (!r)
		r = write_all(fd, e->key, e->key_len);
	if (!r && e->body_len)
		r = write_all(fd, e->body, e->body_len);
	return r;
}

static void to_all(const struct ent *e)
{
	for (size_t i = 0; i < nclients;)
		if (send_ent(clients[i], e) < 0)
			drop_client(i);
		else
			i++;
}

/* ---------- the root: look the fact up on its own mount of that file system ---------- */

static struct mi_mount *mounts;
static size_t nmounts;

/* The local path for a key's file system and path, and that mount's device. */
static int local_path(const char *fstype, const char *source, const char *point, const char *rel, char *out,
		      size_t size, dev_t *dev)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct mi_mount *best = NULL;
		size_t bl = 0;
		int same = 0;   /* mounts as good as best: which one the node meant is unknown */
		for (size_t i = 0; i < nmounts; i++) {
			const struct mi_mount *m = &mounts[i];
			size_t rl = strlen(m->root);
			if (strcmp(m->fstype, fstype) || strcmp(m->source, source) || strcmp(m->point, point))
				continue;
			if (strcmp(m->root, "/") == 0)
				rl = 0;
			else if (strncmp(rel, m->root, rl) || (rel[rl] && rel[rl] != '/'))
				continue;
			if (!best || rl > bl)
				best = m, bl = rl, same = 1;
			else if (rl == bl)
				same++;
		}
		if (best && same > 1)
			return -EXDEV;   /* the node reads it itself */
		if (best) {
			const char *rest = rel + bl;
			int n = strcmp(best->point, "/") == 0 ? snprintf(out, size, "%s", rest[0] ? rest : "/")
							      : snprintf(out, size, "%s%s", best->point, rest);
			*dev = makedev(best->major, best->minor);
			return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
		}
		if (pass == 0) {   /* mounted since we looked: read the table again */
			mi_free(mounts, nmounts);
			mounts = NULL;
			nmounts = 0;
			if (mi_read(&mounts, &nmounts) < 0)
				return -ENOENT;
		}
	}
	return -EXDEV;
}

/* Kept O_PATH descriptors of the directories looked up, by local path: the next name in
 * one is one look-up, as a node supervisor's fill from its kept descriptor would be. */
struct dfd { struct dfd *next; char *path; int fd; };
static struct dfd *dirs[4096];
static int dir_open(const char *path)
{
	uint64_t h = sess_hash(path, strlen(path)) & (sizeof dirs / sizeof *dirs - 1);
	for (struct dfd *d = dirs[h]; d; d = d->next)
		if (strcmp(d->path, path) == 0)
			return d->fd;
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct dfd *d = malloc(sizeof *d);
	if (d && (d->path = strdup(path))) {
		d->fd = fd;
		d->next = dirs[h];
		dirs[h] = d;
	}
	return fd;
}
static void dir_keep(const char *path, int fd)
{
	uint64_t h = sess_hash(path, strlen(path)) & (sizeof dirs / sizeof *dirs - 1);
	struct dfd *d = malloc(sizeof *d);
	if (!d || !(d->path = strdup(path))) {
		free(d);
		close(fd);
		return;
	}
	d->fd = fd;
	d->next = dirs[h];
	dirs[h] = d;
}

static void fill_stat(struct sl_stat *s, const struct statx *x)
{
	*s = (struct sl_stat){ .dev = makedev(x->stx_dev_major, x->stx_dev_minor), .ino = x->stx_ino,
		.nlink = x->stx_nlink, .size = x->stx_size, .blksize = x->stx_blksize, .blocks = x->stx_blocks,
		.rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor), .mode = x->stx_mode, .uid = x->stx_uid,
		.gid = x->stx_gid, .atime = x->stx_atime.tv_sec, .atime_ns = x->stx_atime.tv_nsec,
		.mtime = x->stx_mtime.tv_sec, .mtime_ns = x->stx_mtime.tv_nsec, .ctime = x->stx_ctime.tv_sec,
		.ctime_ns = x->stx_ctime.tv_nsec };
}

static void split(const char *path, char *parent, size_t size, const char **name)
{
	const char *s = strrchr(path, '/');
	size_t pl = s == path ? 1 : (size_t)(s - path);
	snprintf(parent, size, "%.*s", (int)pl, path);
	*name = s + 1;
}

/* One look-up, as fill_lookup does it: body sl_stat (+ link body), or -errno. */
static int do_lookup(const char *path, dev_t mdev, uint8_t **body, uint64_t *blen)
{
	char parent[PATH_MAX];
	const char *name;
	split(path, parent, sizeof parent, &name);
	int pfd = dir_open(parent);
	if (pfd < 0)
		return pfd;
	int fd = openat(pfd, name[0] ? name : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct statx x;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &x) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (makedev(x.stx_dev_major, x.stx_dev_minor) != mdev) {
		close(fd);
		return -EXDEV;   /* another file system is mounted here at the root */
	}
	char link[PATH_MAX];
	ssize_t ll = 0;
	if (S_ISLNK(x.stx_mode) && (ll = readlinkat(fd, "", link, sizeof link)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (S_ISDIR(x.stx_mode))
		dir_keep(path, fd);
	else
		close(fd);
	*blen = sizeof(struct sl_stat) + ll;
	*body = malloc(*blen);
	if (!*body)
		return -ENOMEM;
	fill_stat((struct sl_stat *)*body, &x);
	memcpy(*body + sizeof(struct sl_stat), link, ll);
	return 0;
}

static int do_list(const char *path, uint8_t **body, uint64_t *blen)
{
	/* The file system's own records, as getdents64 gave them (".", ".." too): a node serves
	 * its ranks' listings from them, with the same order, d_ino, d_type and d_off. */
	int dfd = dir_open(path);
	if (dfd < 0)
		return dfd;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 32768, n = 0;
	uint8_t *v = malloc(cap);
	char buf[32768];
	long got = 0;
	while (v && (got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		if (n + (size_t)got > cap) {
			uint8_t *w = realloc(v, cap = 2 * (cap + (size_t)got));
			if (!w)
				free(v);
			v = w;
		}
		if (v) {
			memcpy(v + n, buf, (size_t)got);
			n += (size_t)got;
		}
	}
	int err = got < 0 ? -errno : v ? 0 : -ENOMEM;
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	*body = v;
	*blen = n;
	return 0;
}

static int do_file(const char *path, uint8_t **body, uint64_t *blen)
{
	char parent[PATH_MAX];
	const char *name;
	split(path, parent, sizeof parent, &name);
	int pfd = dir_open(parent);
	if (pfd < 0)
		return pfd;
	int fd = openat(pfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct statx a, b;
	int err = 0;
	uint8_t *v = NULL;
	size_t n = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &a) < 0)
		err = -errno;
	else if (!S_ISREG(a.stx_mode) || a.stx_size > SL_FILE_MAX)
		err = -EFBIG;   /* the node copies it itself, or passes it */
	size_t cap = sizeof(struct sl_stat) + (err ? 0 : a.stx_size) + 1;
	if (!err && !(v = malloc(cap)))
		err = -ENOMEM;
	n = sizeof(struct sl_stat);
	while (!err) {
		if (n == cap) {
			uint8_t *w = cap > SL_FILE_MAX ? NULL : realloc(v, cap *= 2);
			if (!w) {
				err = -EFBIG;
				break;
			}
			v = w;
		}
		ssize_t r = read(fd, v + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		if (r <= 0)
			break;
		n += r;
	}
	if (!err && statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &b) < 0)
		err = -errno;
	if (!err && (a.stx_size != b.stx_size || a.stx_mtime.tv_sec != b.stx_mtime.tv_sec ||
		     a.stx_mtime.tv_nsec != b.stx_mtime.tv_nsec || a.stx_ctime.tv_nsec != b.stx_ctime.tv_nsec))
		err = -EAGAIN;   /* rewritten while read: the nodes read it themselves */
	close(fd);
	if (err) {
		free(v);
		return err;
	}
	fill_stat((struct sl_stat *)v, &b);
	*body = v;
	*blen = n;
	return 0;
}

/* Root: answer one key (from a member's request or our own node's) and publish it. */
static void answer(const uint8_t *key, uint32_t klen)
{
	if (find(key, klen))
		return;   /* published already (our own node asked again) */
	uint8_t *body = NULL;
	uint64_t blen = 0;
	int err = -EINVAL;
	char k[SL_KEY_MAX + 1], path[PATH_MAX];
	memcpy(k, key, klen);
	k[klen] = '\0';
	const char *fstype = k + 1, *source = fstype + strlen(fstype) + 1;
	const char *point = source < k + klen ? source + strlen(source) + 1 : NULL;
	const char *rel = point && point < k + klen ? point + strlen(point) + 1 : NULL;
	dev_t mdev;
	if (rel && rel <= k + klen && (err = local_path(fstype, source, point, rel, path, sizeof path, &mdev)) == 0) {
		switch (k[0]) {
		case 'L': err = do_lookup(path, mdev, &body, &blen); break;
		case 'D': err = do_list(path, &body, &blen); break;
		case 'F': err = do_file(path, &body, &blen); break;
		default: err = -EINVAL;
		}
	}
	uint16_t type = err ? SL_T_NEG : k[0] == 'L' ? SL_T_STAT : k[0] == 'D' ? SL_T_LIST : SL_T_FILE;
	uint8_t *kc = malloc(klen);
	if (!kc)
		abort();
	memcpy(kc, key, klen);
	struct ent *e = keep(type, err ? -err : 0, kc, klen, err ? NULL : body, err ? 0 : blen);
	if (err)
		free(body);
	/* The body stays in our table for the session's life: no release needed. */
	if (sess_publish(S, e->type, e->key, e->key_len, e->err, e->body, e->body_len, NULL, NULL) < 0)
		say("cannot publish an entry");
	to_all(e);
}

static void end_requested(bool *ending)
{
	if (*ending)
		return;
	*ending = true;
	if (sess_is_root(S))
		sess_close(S);
	else
		sess_request(S, "\0end", 4);
}

/* One frame from a node supervisor (or an --end-session). false: drop it. */
static bool from_client(int fd, bool *ending)
{
	struct sl_hdr h;
	ssize_t n = recv(fd, &h, sizeof h, MSG_WAITALL);
	if (n != sizeof h || h.key_len > SL_KEY_MAX || h.body_len)
		return false;
	uint8_t key[SL_KEY_MAX];
	if (h.key_len && recv(fd, key, h.key_len, MSG_WAITALL) != (ssize_t)h.key_len)
		return false;
	if (h.kind == SL_END) {
		end_requested(ending);
		return true;
	}
	if (h.kind != SL_REQ || h.key_len < 2)
		return false;
	struct ent *e = find(key, h.key_len);
	if (e)
		return send_ent(fd, e) == 0;
	if (*ending)
		return false;   /* no more answers: the node reads the file system */
	if (sess_is_root(S))
		answer(key, h.key_len);
	else
		sess_request(S, key, h.key_len);
	return true;
}

static void leave(int code)
{
	unlink(sock_path);
	char p[300];
	snprintf(p, sizeof p, "%s/ready", dir);
	unlink(p);
	rmdir(dir);   /* the last member of this host empties it */
	exit(code);
}

/* Whether no lower rank runs on this host. A host named twice (--hosts=a,a, a hostfile
 * listing one node per task, or two names of one machine) gets two members: the first
 * listens on node.sock; the others would take that name from it, so each serves virtual
 * node r (node-r.sock) instead, and says so. */
static bool first_on_host(void)
{
	char me[256] = "", *all;
	int nr;
	gethostname(me, sizeof me - 1);
	MPI_Comm_size(MPI_COMM_WORLD, &nr);
	if (!(all = calloc(nr, sizeof me)))
		MPI_Abort(MPI_COMM_WORLD, 3);
	MPI_Allgather(me, sizeof me, MPI_CHAR, all, sizeof me, MPI_CHAR, MPI_COMM_WORLD);
	int first = rank;
	for (int i = 0; i < rank && first == rank; i++)
		if (strcmp(all + (size_t)i * sizeof me, me) == 0)
			first = i;
	free(all);
	if (first != rank)
		say("host %s has member %d already: this member serves it as virtual node %d (COLLRUN_NODE_ID=%d)",
		    me, first, rank, rank);
	return first == rank;
}

int member_main(const char *id, bool virtual_nodes)
{
	signal(SIGPIPE, SIG_IGN);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	char rd[128];
	int err = rundir_pick((jobid_getenv_fn)getenv, getuid(), rd, sizeof rd);
	int rdfd = err ? err : rundir_open(rd, getuid());
	if (rdfd < 0) {
		say("the rendezvous directory %s is unusable: %s", rd, strerror(-rdfd));
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	close(rdfd);
	snprintf(dir, sizeof dir, SL_DIR_FMT, rd, id);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		say("%s: %s", dir, strerror(errno));
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	if (virtual_nodes || !first_on_host())
		snprintf(sock_path, sizeof sock_path, "%s/node-%d.sock", dir, rank);
	else
		snprintf(sock_path, sizeof sock_path, "%s/node.sock", dir);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (strlen(sock_path) >= sizeof a.sun_path) {
		say("%s: path too long for a socket", sock_path);
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	strcpy(a.sun_path, sock_path);
	unlink(sock_path);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 64) < 0) {
		say("cannot listen on %s: %s", sock_path, strerror(errno));
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	if (rank == 0 && mi_read(&mounts, &nmounts) < 0)
		nmounts = 0;
	if ((err = sess_open(&S, MPI_COMM_WORLD, 0, NULL)) < 0) {
		say("cannot open the session stream: %s", strerror(-err));
		MPI_Abort(MPI_COMM_WORLD, 3);
	}
	/* Every member listens: now the session is up, on every host. */
	MPI_Barrier(MPI_COMM_WORLD);
	char tmp[300], ready[300];
	snprintf(tmp, sizeof tmp, "%s/ready.%d", dir, rank);
	snprintf(ready, sizeof ready, "%s/ready", dir);
	FILE *f = fopen(tmp, "we");
	if (f) {
		int nr;
		MPI_Comm_size(MPI_COMM_WORLD, &nr);
		fprintf(f, "%d\n", nr);
		fclose(f);
		rename(tmp, ready);
	}
	bool ending = false;
	struct pollfd *p = NULL;
	for (;;) {
		struct pollfd *q = realloc(p, (2 + nclients) * sizeof *p);
		if (!q)
			leave(3);
		p = q;
		p[0] = (struct pollfd){ sess_fd(S), POLLIN, 0 };
		p[1] = (struct pollfd){ ls, POLLIN, 0 };
		for (size_t i = 0; i < nclients; i++)
			p[2 + i] = (struct pollfd){ clients[i], POLLIN, 0 };
		poll(p, 2 + nclients, sess_timeout(S));
		int rc = sess_progress(S);
		if (rc < 0) {
			say("session broken (%s): leaving; the node supervisors read the file system themselves",
			    rc == -EPIPE ? "a member is gone" : strerror(-rc));
			leave(3);
		}
		struct sess_entry *e;
		while (sess_next(S, &e) == 1) {
			if (e->type == SESS_T_NEG || e->type == SESS_T_STAT || e->type == SESS_T_LIST || e->type == SESS_T_FILE) {
				struct ent *k = keep(e->type, e->err, e->key, e->key_len, e->body, e->body_len);
				e->key = e->body = NULL;   /* taken */
				to_all(k);
			}
			sess_entry_free(e);
		}
		struct sess_request rq;
		while (sess_is_root(S) && sess_take_request(S, &rq) == 1) {
			if (rq.key_len == 4 && memcmp(rq.key, "\0end", 4) == 0)
				end_requested(&ending);
			else if (!ending)
				answer(rq.key, rq.key_len);
		}
		if (sess_drained(S))
			break;
		size_t nc = nclients;
		for (size_t i = nc; i-- > 0;)
			if (p[2 + i].revents && !from_client(clients[i], &ending))
				drop_client(i);
		if (p[1].revents & POLLIN)
			for (int s; (s = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) >= 0;) {
				struct ucred c;
				socklen_t cl = sizeof c;
				int *w = realloc(clients, (nclients + 1) * sizeof *clients);
				if (!w || getsockopt(s, SOL_SOCKET, SO_PEERCRED, &c, &cl) < 0 || c.uid != getuid()) {
					close(s);
					if (w)
						clients = w;
					continue;
				}
				clients = w;
				clients[nclients++] = s;
			}
	}
	close(ls);
	for (size_t i = 0; i < nclients; i++)
		close(clients[i]);
	sess_free(S);
	MPI_Finalize();
	leave(0);
	return 0;
}
