/* stream.c — the session stream (stream.h): a root publishes entries to every rank by
 * nonblocking broadcasts; a TCP side channel wakes idle receivers and carries their
 * requests, so no rank calls MPI while nothing moves (MPICH spins in MPI calls). */
#include "stream.h"
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COOKIE_LEN 16
#define BELL 'B'

struct pub {                       /* root: an entry queued for the wire */
	struct pub *next;
	struct sess_rec rec;
	uint8_t *key;              /* our copy (rec.key points here) */
	void (*release)(void *);
	void *ctx;
};

enum { OP_FRAME, OP_CHUNK };
struct op {                        /* one posted MPI_Ibcast, completed in posting order */
	MPI_Request req;
	int kind;
	uint8_t *frame;            /* root OP_FRAME: ours to free */
	struct pub *pub;           /* root OP_CHUNK of a pub's last chunk: release it then */
	bool last_chunk;           /* receiver OP_CHUNK: the entry is complete after it */
};

struct conn {                      /* root: the side channel to one receiver */
	int fd;
	uint32_t bells_owed;       /* doorbells the socket had no room for yet */
	uint32_t in_len;
	uint8_t *in;               /* partial request: u32 length, key bytes */
};

struct req_node { struct req_node *next; struct sess_request rq; };
struct key_slot { uint64_t h; uint8_t *key; uint32_t len; };

struct sess_stream {
	MPI_Comm comm;
	int rank, size, root;
	uint32_t chunk;
	unsigned window;
	int lost;                  /* a peer gone: -EPIPE from now on */
	int broken;                /* -errno once the stream cannot continue */
	struct sess_stats st;

	struct op *ops;            /* ring of window + 2 */
	unsigned op_head, nops, op_cap;

	/* root */
	int epfd;
	struct conn *conns;        /* by rank; conns[root].fd == -1 */
	struct pub *q_head, *q_tail;
	struct pub *cur;           /* being chunked */
	uint64_t cur_next, cur_count;
	uint64_t next_seq;
	bool burst_open, fin_queued, fin_sent;
	struct key_slot *keys;
	size_t nkeys, keys_cap;
	struct req_node *rq_head, *rq_tail, *rq_taken;

	/* receiver */
	int fd;
	uint8_t *out;              /* requests not yet written */
	size_t out_len, out_cap;
	uint64_t bells, lasts;     /* doorbells read, bursts finished: awake while bells > lasts */
	uint8_t *frame;            /* the control frame posted or being parsed */
	bool ctrl_posted, fin_pending, fin_seen, last_pending;
	struct sess_entry *rent;   /* entry whose chunks are being received */
	uint64_t rent_next, rent_count;
	struct sess_entry *d_head, *d_tail;
	size_t queued;
};

/* ---------- small helpers ---------- */

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Read exactly n bytes from a blocking-mode fd within a deadline (set-up only). */
static int read_full(int fd, void *buf, size_t n, int64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		int left = (int)(deadline - now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { fd, POLLIN, 0 };
		int r = poll(&p, 1, left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, (uint8_t *)buf + got, n - got);
		if (k == 0)
			return -EPIPE;
		if (k < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (k > 0)
			got += (size_t)k;
	}
	return 0;
}

static void tune_socket(int fd)
{
	int one = 1;   /* doorbells and requests are tiny and latency-bound */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---------- the root's set of keys already requested or published ---------- */

static int keys_insert(struct sess_stream *s, const uint8_t *key, uint32_t len)
{
	if ((s->nkeys + 1) * 2 > s->keys_cap) {
		size_t cap = s->keys_cap ? s->keys_cap * 2 : 1024;
		struct key_slot *k = calloc(cap, sizeof *k);
		if (!k)
			return -ENOMEM;
		for (size_t i = 0; i < s->keys_cap; i++) {
			if (!s->keys[i].key)
				continue;
			size_t j = s->keys[i].h & (cap - 1);
			while (k[j].key)
				j = (j + 1) & (cap - 1);
			k[j] = s->keys[i];
		}
		free(s->keys);
		s->keys = k;
		s->keys_cap = cap;
	}
	uint64_t h = sess_hash(key, len);
	size_t j = h & (s->keys_cap - 1);
	for (; s->keys[j].key; j = (j + 1) & (s->keys_cap - 1))
		if (s->keys[j].h == h && s->keys[j].len == len && !memcmp(s->keys[j].key, key, len))
			return 0;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, len);
	s->keys[j] = (struct key_slot){ h, copy, len };
	s->nkeys++;
	return 1;
}

/* ---------- the ring of posted broadcasts ---------- */

static struct op *op_push(struct sess_stream *s)
{
	struct op *o = &s->ops[(s->op_head + s->nops) % s->op_cap];
	s->nops++;
	memset(o, 0, sizeof *o);
	return o;
}

static int post(struct sess_stream *s, struct op *o, void *buf, uint64_t n)
{
	int rc = MPI_Ibcast(buf, (int)n, MPI_BYTE, s->root, s->comm, &o->req);
	if (rc != MPI_SUCCESS)
		return s->broken = -EIO;
	return 0;
}

/* ---------- set-up ---------- */

struct hello_addr { char host[256]; uint32_t port; int32_t status; uint8_t cookie[COOKIE_LEN]; };

static int root_listen(struct sess_stream *s, struct hello_addr *a, int *lfd)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t sl = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, s->size) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	const char *h = getenv("COLLRUN_SESSION_HOST");   /* an address the nodes can reach */
	if (h && *h)
		snprintf(a->host, sizeof a->host, "%s", h);
	else if (gethostname(a->host, sizeof a->host - 1) < 0)
		snprintf(a->host, sizeof a->host, "localhost");
	a->port = ntohs(sa.sin_port);
	if (getrandom(a->cookie, COOKIE_LEN, 0) != COOKIE_LEN) {
		close(fd);
		return -EIO;
	}
	*lfd = fd;
	return 0;
}

/* Accept size-1 receivers, each proving it got the cookie over MPI and saying its rank. */
static int root_accept(struct sess_stream *s, int lfd, const struct hello_addr *a, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (int have = 0; have < s->size - 1;) {
		struct pollfd p = { lfd, POLLIN, 0 };
		int left = (int)(deadline - now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, left) <= 0)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		uint8_t hello[COOKIE_LEN + 4];
		uint32_t r;
		if (read_full(fd, hello, sizeof hello, deadline) < 0 ||
		    memcmp(hello, a->cookie, COOKIE_LEN)) {
			close(fd);   /* not one of ours */
			continue;
		}
		memcpy(&r, hello + COOKIE_LEN, 4);
		r = le32toh(r);
		if (r >= (uint32_t)s->size || (int)r == s->root || s->conns[r].fd >= 0) {
			close(fd);
			continue;
		}
		tune_socket(fd);
		if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
			close(fd);
			return -errno;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = r };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			return -errno;
		}
		s->conns[r].fd = fd;
		have++;
	}
	return 0;
}

static int recv_connect(struct sess_stream *s, const struct hello_addr *a, int timeout_ms)
{
	char port[16];
	snprintf(port, sizeof port, "%u", a->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(a->host, port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	int rc = -ECONNREFUSED;
	int64_t deadline = now_ms() + timeout_ms;
	while (rc < 0 && now_ms() < deadline) {
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
			if (fd < 0)
				continue;
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
				s->fd = fd;
				rc = 0;
				break;
			}
			rc = -errno;
			close(fd);
		}
		if (rc < 0) {
			struct timespec t = { 0, 50 * 1000000 };   /* set-up only: retry a refused connect */
			nanosleep(&t, NULL);
		}
	}
	freeaddrinfo(res);
	if (rc < 0)
		return rc;
	uint8_t hello[COOKIE_LEN + 4];
	uint32_t r = htole32((uint32_t)s->rank);
	memcpy(hello, a->cookie, COOKIE_LEN);
	memcpy(hello + COOKIE_LEN, &r, 4);
	if (write(s->fd, hello, sizeof hello) != (ssize_t)sizeof hello)
		return -EPIPE;
	tune_socket(s->fd);
	if (fcntl(s->fd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int recv_post_ctrl(struct sess_stream *s)
{
	struct op *o = op_push(s);
	o->kind = OP_FRAME;
	s->ctrl_posted = true;
	return post(s, o, s->frame, SESS_FRAME_SIZE);
}

int sess_open(struct sess_stream **out, MPI_Comm comm, int root, const struct sess_opts *o)
{
	struct sess_opts def = { 0 };
	if (!o)
		o = &def;
	struct sess_stream *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->chunk = o->chunk_size ? o->chunk_size : SESS_DEFAULT_CHUNK;
	s->window = o->window ? o->window : SESS_DEFAULT_WINDOW;
	if (s->chunk < SESS_CHUNK_MIN || s->chunk > SESS_CHUNK_MAX || s->window > 1024) {
		free(s);
		return -EINVAL;
	}
	int timeout = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 60000;
	s->root = root;
	s->lost = -1;
	s->epfd = s->fd = -1;
	s->next_seq = 1;
	/* A private communicator: our broadcasts never meet the caller's collectives, which
	 * would otherwise have to be ordered against a receiver's pre-posted frame. */
	if (MPI_Comm_dup(comm, &s->comm) != MPI_SUCCESS) {
		free(s);
		return -EIO;
	}
	MPI_Comm_rank(s->comm, &s->rank);
	MPI_Comm_size(s->comm, &s->size);
	s->op_cap = s->window + 2;
	s->ops = calloc(s->op_cap, sizeof *s->ops);
	int rc = s->ops ? 0 : -ENOMEM, lfd = -1;
	struct hello_addr a = { 0 };
	if (s->rank == root) {
		s->conns = calloc((size_t)s->size, sizeof *s->conns);
		s->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!rc && (!s->conns || s->epfd < 0))
			rc = s->conns ? -errno : -ENOMEM;
		for (int i = 0; s->conns && i < s->size; i++)
			s->conns[i].fd = -1;
		if (!rc)
			rc = root_listen(s, &a, &lfd);
		a.status = rc;
	}
	/* The one blocking MPI call: start-up only, every rank is here anyway. */
	if (MPI_Bcast(&a, sizeof a, MPI_BYTE, root, s->comm) != MPI_SUCCESS && !rc)
		rc = -EIO;
	if (!rc && a.status)
		rc = s->rank == root ? a.status : -EHOSTUNREACH;
	if (!rc)
		rc = s->rank == root ? root_accept(s, lfd, &a, timeout) : recv_connect(s, &a, timeout);
	if (lfd >= 0)
		close(lfd);
	if (!rc && s->rank != root && !(s->frame = malloc(SESS_FRAME_SIZE)))
		rc = -ENOMEM;
	/* Agree: a rank that failed makes every rank fail, rather than leave one waiting. */
	int worst = rc;
	if (MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, s->comm) != MPI_SUCCESS)
		worst = -EIO;
	if (!worst && s->rank != root)
		worst = recv_post_ctrl(s);
	if (worst) {
		s->broken = worst;
		sess_free(s);
		return rc ? rc : worst;
	}
	*out = s;
	return 0;
}

/* ---------- root ---------- */

static void pub_done(struct pub *p)
{
	if (p->release)
		p->release(p->ctx);
	free(p->key);
	free(p);
}

static int lose(struct sess_stream *s, int rank)
{
	if (s->lost < 0)
		s->lost = rank;
	return s->broken = -EPIPE;
}

static int ring_one(struct sess_stream *s, int r)
{
	struct conn *c = &s->conns[r];
	while (c->bells_owed) {
		char b = BELL;
		ssize_t k = send(c->fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k == 1) {
			c->bells_owed--;
			s->st.bells++;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			return 0;   /* the receiver reads its socket on every wake: retried soon */
		return lose(s, r);
	}
	return 0;
}

static int ring_all(struct sess_stream *s, bool add)
{
	for (int r = 0; r < s->size; r++) {
		if (s->conns[r].fd < 0)
			continue;
		s->conns[r].bells_owed += add;
		int rc = ring_one(s, r);
		if (rc)
			return rc;
	}
	return 0;
}

static int root_request(struct sess_stream *s, int from, const uint8_t *key, uint32_t len)
{
	s->st.requests++;
	int rc = keys_insert(s, key, len);
	if (rc <= 0) {
		if (!rc)
			s->st.coalesced++;
		return rc;
	}
	struct req_node *n = malloc(sizeof *n + len + 1);
	if (!n)
		return -ENOMEM;
	uint8_t *k = (uint8_t *)(n + 1);
	memcpy(k, key, len);
	k[len] = 0;
	n->next = NULL;
	n->rq = (struct sess_request){ k, len, from };
	if (s->rq_tail)
		s->rq_tail->next = n;
	else
		s->rq_head = n;
	s->rq_tail = n;
	return 0;
}

/* Read one receiver's requests: u32 length then the key, as many as have arrived. */
static int root_read(struct sess_stream *s, int r)
{
	struct conn *c = &s->conns[r];
	if (!c->in && !(c->in = malloc(4 + SESS_KEY_MAX)))
		return -ENOMEM;
	for (;;) {
		uint32_t need = 4;
		if (c->in_len >= 4) {
			uint32_t l;
			memcpy(&l, c->in, 4);
			l = le32toh(l);
			if (l > SESS_KEY_MAX)
				return lose(s, r);   /* not our protocol: drop the session */
			need = 4 + l;
			if (c->in_len == need) {
				int rc = root_request(s, r, c->in + 4, l);
				if (rc)
					return rc;
				c->in_len = 0;
				continue;
			}
		}
		ssize_t k = recv(c->fd, c->in + c->in_len, need - c->in_len, MSG_DONTWAIT);
		if (k > 0) {
			c->in_len += (uint32_t)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (s->fin_sent) {
			/* After the end of the stream a receiver may leave: it has, or will have
			 * when our last broadcasts complete, everything. */
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
			return 0;
		}
		return lose(s, r);   /* EOF or error: the receiver is gone */
	}
}

/* Pack queued entries into one control frame and post it (and note its chunks). */
static int root_post_frame(struct sess_stream *s)
{
	uint8_t *f = malloc(SESS_FRAME_SIZE);
	if (!f)
		return -ENOMEM;
	if (!s->burst_open) {
		/* Wake the receivers before the first broadcast they must take part in. */
		int rc = ring_all(s, true);
		if (rc) {
			free(f);
			return rc;
		}
		s->burst_open = true;
	}
	sess_frame_init(f, SESS_FRAME_SIZE);
	while (s->q_head) {
		struct pub *p = s->q_head;
		int rc = sess_frame_add(f, SESS_FRAME_SIZE, &p->rec, s->chunk);
		if (rc < 0) {
			free(f);
			return rc;
		}
		if (rc == 0)
			break;
		s->q_head = p->next;
		if (!s->q_head)
			s->q_tail = NULL;
		s->st.published++;
		if (rc == 1) {
			pub_done(p);   /* the body was copied into the frame */
			continue;
		}
		s->cur = p;
		s->cur_next = 0;
		s->cur_count = sess_chunk_count(p->rec.body_len, s->chunk);
		break;
	}
	uint32_t flags = 0;
	if (!s->q_head) {
		flags |= SESS_F_LAST;
		s->burst_open = false;
		if (s->fin_queued) {
			flags |= SESS_F_FIN;
			s->fin_sent = true;
		}
	}
	sess_frame_finish(f, flags);
	struct op *o = op_push(s);
	o->kind = OP_FRAME;
	o->frame = f;
	s->st.frames++;
	return post(s, o, f, SESS_FRAME_SIZE);
}

static int root_post_chunk(struct sess_stream *s)
{
	uint64_t off;
	uint32_t n;
	sess_chunk_span(s->cur->rec.body_len, s->chunk, s->cur_next, &off, &n);
	struct pub *p = s->cur;
	struct op *o = op_push(s);
	o->kind = OP_CHUNK;
	if (++s->cur_next == s->cur_count) {
		o->pub = p;          /* released when this, the last chunk, completes */
		s->cur = NULL;
	}
	s->st.chunks++;
	s->st.bytes += n;
	/* MPI_Ibcast takes a non-const buffer; at the root it is only read. */
	return post(s, o, (void *)(uintptr_t)(p->rec.body + off), n);
}

static int root_progress(struct sess_stream *s)
{
	struct epoll_event ev[64];
	int n;
	while ((n = epoll_wait(s->epfd, ev, 64, 0)) > 0)
		for (int i = 0; i < n; i++) {
			int rc = root_read(s, (int)ev[i].data.u32);
			if (rc)
				return rc;
		}
	int rc = ring_all(s, false);   /* doorbells a full socket refused earlier */
	if (rc)
		return rc;
	while (s->nops) {
		struct op *o = &s->ops[s->op_head];
		int done = 0;
		if (MPI_Test(&o->req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return s->broken = -EIO;
		if (!done)
			break;
		free(o->frame);
		if (o->pub)
			pub_done(o->pub);
		s->op_head = (s->op_head + 1) % s->op_cap;
		s->nops--;
	}
	while (s->nops < s->window) {
		if (s->cur)
			rc = root_post_chunk(s);
		else if (s->q_head || (s->fin_queued && !s->fin_sent))
			rc = root_post_frame(s);
		else
			break;
		if (rc)
			return rc;
	}
	return 0;
}

int64_t sess_publish(struct sess_stream *s, uint16_t type, const void *key, uint32_t key_len,
                     int32_t err, const void *body, uint64_t body_len,
                     void (*release)(void *ctx), void *ctx)
{
	if (s->rank != s->root || s->fin_queued)
		return -EINVAL;
	if (s->broken)
		return s->broken;
	if (type < 1 || type > SESS_T_MAX_ || key_len > SESS_KEY_MAX ||
	    (type == SESS_T_NEG && body_len) || (body_len && !body))
		return -EINVAL;
	struct pub *p = calloc(1, sizeof *p);
	uint8_t *k = malloc(key_len ? key_len : 1);
	if (!p || !k || keys_insert(s, key, key_len) < 0) {
		free(p);
		free(k);
		return -ENOMEM;
	}
	memcpy(k, key, key_len);
	p->key = k;
	p->rec = (struct sess_rec){ .seq = s->next_seq++, .body_len = body_len, .key_len = key_len,
	                            .err = err, .type = type, .key = k, .body = body };
	p->release = release;
	p->ctx = ctx;
	if (s->q_tail)
		s->q_tail->next = p;
	else
		s->q_head = p;
	s->q_tail = p;
	return (int64_t)p->rec.seq;
}

int sess_close(struct sess_stream *s)
{
	if (s->rank != s->root)
		return -EINVAL;
	s->fin_queued = true;
	return 0;
}

int sess_take_request(struct sess_stream *s, struct sess_request *rq)
{
	free(s->rq_taken);
	s->rq_taken = s->rq_head;
	if (!s->rq_head)
		return 0;
	s->rq_head = s->rq_head->next;
	if (!s->rq_head)
		s->rq_tail = NULL;
	*rq = s->rq_taken->rq;
	return 1;
}

/* ---------- receivers ---------- */

static void deliver(struct sess_stream *s, struct sess_entry *e)
{
	e->next = NULL;
	if (s->d_tail)
		s->d_tail->next = e;
	else
		s->d_head = e;
	s->d_tail = e;
	s->queued++;
	s->st.received++;
}

static struct sess_entry *entry_new(const struct sess_rec *r)
{
	struct sess_entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	*e = (struct sess_entry){ .seq = r->seq, .body_len = r->body_len, .key_len = r->key_len,
	                          .err = r->err, .type = r->type };
	e->key = malloc(r->key_len + 1);
	e->body = r->body_len ? malloc(r->body_len) : NULL;
	if (!e->key || (r->body_len && !e->body)) {
		sess_entry_free(e);
		return NULL;
	}
	memcpy(e->key, r->key, r->key_len);
	e->key[r->key_len] = 0;
	if (r->body)
		memcpy(e->body, r->body, r->body_len);
	return e;
}

/* A burst ends with its LAST frame (and that frame's chunks): the receiver may sleep. */
static void frame_end(struct sess_stream *s)
{
	if (s->last_pending)
		s->lasts++;
	if (s->fin_pending && !s->fin_seen) {
		/* Our goodbye: the root waits for every receiver's before it leaves, so no
		 * receiver mistakes the root's exit for a failure while FIN is on its way. */
		s->fin_seen = true;
		close(s->fd);
		s->fd = -1;
	}
	s->last_pending = s->fin_pending = false;
}

static int recv_frame(struct sess_stream *s)
{
	struct sess_frame_iter it;
	struct sess_rec r;
	int rc = sess_frame_check(s->frame, SESS_FRAME_SIZE, &it);
	if (rc)
		return s->broken = rc;
	uint32_t flags = sess_frame_flags(s->frame);
	s->last_pending = flags & SESS_F_LAST;
	s->fin_pending = flags & SESS_F_FIN;
	while ((rc = sess_frame_next(&it, &r)) == 1) {
		r.body = (r.flags & SESS_R_CHUNKED) ? NULL : r.body;
		struct sess_entry *e = entry_new(&r);
		if (!e)
			return s->broken = -ENOMEM;
		if (!(r.flags & SESS_R_CHUNKED)) {
			deliver(s, e);
			continue;
		}
		s->rent = e;
		s->rent_next = 0;
		s->rent_count = sess_chunk_count(r.body_len, r.chunk_size);
		s->chunk = r.chunk_size;   /* the root's, whatever ours says */
		if (!s->rent_count) {      /* cannot happen for a body that did not fit inline */
			deliver(s, e);
			s->rent = NULL;
		}
	}
	if (rc < 0)
		return s->broken = rc;
	if (!s->rent)
		frame_end(s);
	return 0;
}

static int recv_post(struct sess_stream *s)
{
	while (s->rent && s->rent_next < s->rent_count && s->nops < s->window) {
		uint64_t off;
		uint32_t n;
		sess_chunk_span(s->rent->body_len, s->chunk, s->rent_next, &off, &n);
		struct op *o = op_push(s);
		o->kind = OP_CHUNK;
		o->last_chunk = ++s->rent_next == s->rent_count;
		int rc = post(s, o, s->rent->body + off, n);
		if (rc)
			return rc;
	}
	/* The next frame is posted as soon as this one's chunks are: it is small, and a
	 * receiver between bursts holds it posted (untested) so the root's next frame finds it. */
	if (!s->ctrl_posted && !s->fin_seen && !s->fin_pending &&
	    (!s->rent || s->rent_next == s->rent_count) && s->nops < s->op_cap)
		return recv_post_ctrl(s);
	return 0;
}

static int recv_flush(struct sess_stream *s)
{
	while (s->out_len && s->fd >= 0) {
		ssize_t k = send(s->fd, s->out, s->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : lose(s, s->root);
		memmove(s->out, s->out + k, s->out_len - (size_t)k);
		s->out_len -= (size_t)k;
	}
	return 0;
}

static int recv_progress(struct sess_stream *s)
{
	uint8_t b[256];
	ssize_t k = -1;
	while (s->fd >= 0 && (k = recv(s->fd, b, sizeof b, MSG_DONTWAIT)) > 0)
		for (ssize_t i = 0; i < k; i++)
			if (b[i] == BELL) {
				s->bells++;
				s->st.wakeups++;
			}
	if (k == 0 && !s->fin_seen)
		return lose(s, s->root);   /* the root is gone before the end of the stream */
	if (k < 0 && s->fd >= 0 && errno != EAGAIN && errno != EINTR && !s->fin_seen)
		return lose(s, s->root);
	int rc = recv_flush(s);
	if (rc)
		return rc;
	while (s->nops) {
		struct op *o = &s->ops[s->op_head];
		int done = 0;
		if (MPI_Test(&o->req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return s->broken = -EIO;
		if (!done)
			break;
		s->op_head = (s->op_head + 1) % s->op_cap;
		s->nops--;
		if (o->kind == OP_FRAME) {
			s->ctrl_posted = false;
			rc = recv_frame(s);
		} else if (o->last_chunk) {
			deliver(s, s->rent);
			s->rent = NULL;
			frame_end(s);
		}
		if (!rc)
			rc = recv_post(s);
		if (rc)
			return rc;
	}
	return recv_post(s);
}

int sess_request(struct sess_stream *s, const void *key, uint32_t key_len)
{
	if (s->rank == s->root || key_len > SESS_KEY_MAX)
		return -EINVAL;
	if (s->broken)
		return s->broken;
	if (s->out_len + 4 + key_len > s->out_cap) {
		size_t cap = (s->out_cap ? s->out_cap * 2 : 4096) + 4 + key_len;
		uint8_t *o = realloc(s->out, cap);
		if (!o)
			return -ENOMEM;
		s->out = o;
		s->out_cap = cap;
	}
	uint32_t l = htole32(key_len);
	memcpy(s->out + s->out_len, &l, 4);
	memcpy(s->out + s->out_len + 4, key, key_len);
	s->out_len += 4 + key_len;
	return recv_flush(s);
}

int sess_next(struct sess_stream *s, struct sess_entry **e)
{
	if (!s->d_head)
		return 0;
	*e = s->d_head;
	s->d_head = (*e)->next;
	if (!s->d_head)
		s->d_tail = NULL;
	s->queued--;
	(*e)->next = NULL;
	return 1;
}

void sess_entry_free(struct sess_entry *e)
{
	if (!e)
		return;
	free(e->key);
	free(e->body);
	free(e);
}

size_t sess_queued(const struct sess_stream *s) { return s->queued; }

/* ---------- both ---------- */

int sess_progress(struct sess_stream *s)
{
	if (s->broken)
		return s->broken;
	return s->rank == s->root ? root_progress(s) : recv_progress(s);
}

bool sess_is_root(const struct sess_stream *s) { return s->rank == s->root; }
int sess_fd(const struct sess_stream *s) { return s->rank == s->root ? s->epfd : s->fd; }
int sess_lost_rank(const struct sess_stream *s) { return s->lost; }

int sess_timeout(const struct sess_stream *s)
{
	if (s->broken)
		return -1;
	if (s->rank == s->root) {
		if (s->nops || s->q_head || s->cur || (s->fin_queued && !s->fin_sent))
			return 0;
		for (int r = 0; r < s->size; r++)
			if (s->conns[r].bells_owed)
				return 1;
		return -1;
	}
	if (s->fin_seen)
		return -1;
	if ((int64_t)(s->bells - s->lasts) > 0)
		return 0;   /* in a burst: MPI moves data only while we call it */
	return s->out_len ? 1 : -1;
}

bool sess_drained(const struct sess_stream *s)
{
	if (s->rank == s->root) {
		if (!s->fin_sent || s->nops || s->cur)
			return false;
		for (int r = 0; r < s->size; r++)
			if (s->conns[r].fd >= 0)
				return false;   /* that receiver has not seen the end yet */
		return true;
	}
	return s->fin_seen && !s->d_head;
}

void sess_get_stats(const struct sess_stream *s, struct sess_stats *st) { *st = s->st; }

void sess_free(struct sess_stream *s)
{
	if (!s)
		return;
	/* Broadcasts still posted (a broken session) may yet write into their buffers: those
	 * are left allocated rather than freed under MPI's feet. */
	bool inflight = s->nops > 0;
	while (s->q_head) {
		struct pub *p = s->q_head;
		s->q_head = p->next;
		pub_done(p);
	}
	if (s->cur && !inflight)
		pub_done(s->cur);
	if (!inflight) {
		free(s->ops);
		free(s->frame);
		sess_entry_free(s->rent);
	}
	while (s->d_head) {
		struct sess_entry *e = s->d_head;
		s->d_head = e->next;
		sess_entry_free(e);
	}
	for (int r = 0; s->conns && r < s->size; r++) {
		if (s->conns[r].fd >= 0)
			close(s->conns[r].fd);
		free(s->conns[r].in);
	}
	free(s->conns);
	for (size_t i = 0; i < s->keys_cap; i++)
		free(s->keys[i].key);
	free(s->keys);
	free(s->rq_taken);
	while (s->rq_head) {
		struct req_node *n = s->rq_head;
		s->rq_head = n->next;
		free(n);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->fd >= 0)
		close(s->fd);
	free(s->out);
	if (!inflight && s->comm != MPI_COMM_NULL && s->comm != 0)
		MPI_Comm_free(&s->comm);
	free(s);
}
