/* stream.h — a root-sequenced stream of cache entries from one root to every rank of an
 * MPI communicator (issue 10, "Broadcast"). Links libmpi: only collrun-session uses it.
 *
 * Model. The root publishes entries (a key of opaque bytes, a type, an errno or a body);
 * each gets the next sequence number and reaches every other rank, in sequence order, by
 * nonblocking broadcasts (MPI_Ibcast on a private duplicate of the communicator): small
 * entries packed into fixed-size control frames, large bodies in chunk_size pieces with up
 * to `window` broadcasts in flight. A receiver asks the root for a key it misses
 * (sess_request); concurrent requests for one key reach the root's caller once.
 *
 * Progress and idleness. MPICH busy-polls inside MPI calls and moves data only while MPI is
 * called, so nothing here blocks and nothing spins while idle. Plug it into a poll loop:
 *
 *     for (;;) {
 *         struct pollfd p = { sess_fd(s), POLLIN, 0 };
 *         poll(&p, 1, sess_timeout(s));         // -1 when idle: sleeps for free
 *         if ((rc = sess_progress(s)) < 0) ...  // a peer is gone: fall back to the file system
 *         while (sess_next(s, &e) == 1) { use(e); sess_entry_free(e); }   // receivers
 *         while (sess_take_request(s, &rq) == 1) { look up; sess_publish(...); }  // root
 *     }
 *
 * A side channel of plain TCP connections (root <-> each receiver, authenticated by a
 * random cookie sent over MPI at sess_open) carries a one-byte doorbell the root sends
 * before the first broadcast of each burst, and the receivers' requests. sess_fd is that
 * socket (receiver) or an epoll descriptor over all of them (root). A receiver calls MPI
 * (sess_timeout() == 0) only from a doorbell until the burst's last frame is in; the root
 * only while it has broadcasts queued or in flight.
 *
 * A slow consumer does not hold others up: sess_progress() completes broadcasts into a
 * queue whatever the caller does with sess_next(). What must not stop is the loop calling
 * sess_progress(): an MPI broadcast needs every rank of the tree to take part.
 *
 * Errors are -errno. Functions are for one thread (the loop's), MPI_THREAD_FUNNELED is
 * enough.
 */
#ifndef COLLRUN_SESSION_STREAM_H
#define COLLRUN_SESSION_STREAM_H
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include "entry.h"

struct sess_stream;

struct sess_opts {
	uint32_t chunk_size;     /* bytes per data broadcast; 0: SESS_DEFAULT_CHUNK */
	unsigned window;         /* broadcasts in flight; 0: SESS_DEFAULT_WINDOW */
	int connect_timeout_ms;  /* for the side channel's set-up; 0: 60 s */
};
#define SESS_DEFAULT_CHUNK  (8u << 20)  /* bench/run-bcast.sh: see bench/RESULTS.md */
#define SESS_DEFAULT_WINDOW 4u

/* Collective over comm (every rank calls it; a blocking MPI_Bcast of the side channel's
 * address is made, so call it at start-up): dups comm, sets up the side channel.
 * -ETIMEDOUT, -ECONNREFUSED, ... when the side channel cannot be made. */
int sess_open(struct sess_stream **out, MPI_Comm comm, int root, const struct sess_opts *o);
/* Frees everything (MPI_Comm_free of the duplicate; not collective in effect). Pending
 * bodies still owned by the stream are released. */
void sess_free(struct sess_stream *s);

bool sess_is_root(const struct sess_stream *s);
int  sess_fd(const struct sess_stream *s);        /* poll it for POLLIN (-1 after a receiver saw the end) */
int  sess_timeout(const struct sess_stream *s);   /* poll timeout in ms: 0 busy, -1 idle */
/* Reads the side channel, tests broadcasts, posts the next ones. 0, or -EPIPE when a peer
 * (the root, or for the root a receiver: sess_lost_rank()) closed its connection — the
 * session is broken: stop using it and read the file system yourself — or -EBADMSG. */
int  sess_progress(struct sess_stream *s);
int  sess_lost_rank(const struct sess_stream *s); /* -1 if none */

/* Root. sess_publish() queues one entry and returns its sequence number (>= 1) or -errno.
 * key is copied; body is not: it must stay valid until release(ctx) is called (once, when
 * every broadcast of it is complete, or from sess_free). release may be NULL. For
 * SESS_T_NEG, err is the errno and there is no body. sess_close() queues the end of the
 * stream; keep calling sess_progress() until sess_drained(). */
int64_t sess_publish(struct sess_stream *s, uint16_t type, const void *key, uint32_t key_len,
                     int32_t err, const void *body, uint64_t body_len,
                     void (*release)(void *ctx), void *ctx);
int  sess_close(struct sess_stream *s);
/* Root: the end is sent and every receiver has seen it (each closes its side channel
 * then); receiver: the end is in and the queue read. Leave only when drained. */
bool sess_drained(const struct sess_stream *s);

/* Root: the next request to serve. A key already requested or published is not handed
 * out again (counted in coalesced): the stream carries every entry to every rank, so one
 * publication answers all of them. The caller must answer each request it takes with at
 * least one sess_publish() of that key (a negative answer too), or the asker waits.
 * Every sess_publish() marks its key, so a key pushed unasked is never handed out. The
 * request's key stays valid until the next call of sess_take_request(). */
struct sess_request { const uint8_t *key; uint32_t key_len; int from_rank; };
int  sess_take_request(struct sess_stream *s, struct sess_request *rq); /* 1, or 0 none */

/* Receivers. */
int  sess_request(struct sess_stream *s, const void *key, uint32_t key_len);
struct sess_entry {
	uint64_t seq;
	uint64_t body_len;
	uint32_t key_len;
	int32_t  err;
	uint16_t type;
	uint8_t *key;            /* NUL-terminated for convenience (not counted in key_len) */
	uint8_t *body;           /* NULL when body_len is 0 */
	struct sess_entry *next; /* private */
};
int  sess_next(struct sess_stream *s, struct sess_entry **e);  /* 1 and *e, or 0 none yet */
void sess_entry_free(struct sess_entry *e);
size_t sess_queued(const struct sess_stream *s);              /* entries waiting in sess_next's queue */

struct sess_stats {
	uint64_t published, frames, chunks, bytes;      /* root: entries, broadcasts, body bytes */
	uint64_t received;                              /* receiver: entries completed */
	uint64_t requests, coalesced;                   /* root: requests read, of which coalesced */
	uint64_t bells, wakeups;                        /* doorbells sent (root) / read (receiver) */
};
void sess_get_stats(const struct sess_stream *s, struct sess_stats *st);
#endif
