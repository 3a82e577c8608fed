/* entry.h — the session stream's wire format, with no MPI in it (unit-tested alone).
 *
 * The root publishes a sequence of broadcasts over one communicator. Every receiver must
 * post the same broadcasts with the same sizes in the same order, so the sizes follow from
 * what it has already received:
 *   - a control frame of exactly SESS_FRAME_SIZE bytes: a frame header and one or more
 *     records (type, sequence number, key, and the body when it fits);
 *   - if the frame's last record is CHUNKED, its body follows as sess_chunk_count() data
 *     broadcasts of chunk_size bytes each (the last one shorter), chunk_size being the
 *     record's own (so ranks need not agree on it beforehand);
 *   - then the next control frame.
 * A body is either wholly inline or wholly chunked: "one chunk" then means one broadcast.
 * Integers are little-endian; records are parsed with bounds checks (a frame is data from
 * another process, not trusted memory).
 */
#ifndef COLLRUN_SESSION_ENTRY_H
#define COLLRUN_SESSION_ENTRY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SESS_FRAME_SIZE   16384u        /* a key of PATH_MAX and a stat answer fit easily */
#define SESS_FRAME_MAGIC  0x43525331u   /* "CRS1": also catches a frame/chunk mismatch */
#define SESS_KEY_MAX      8192u
#define SESS_CHUNK_MIN    4096u
#define SESS_CHUNK_MAX    (1u << 30)    /* an MPI count is an int */

enum sess_type {                  /* what a record's body is; the key is always the caller's */
	SESS_T_STAT = 1,          /* a stat answer (the caller's bytes, e.g. a struct statx) */
	SESS_T_LINK = 2,          /* a symbolic link's body */
	SESS_T_NEG  = 3,          /* a negative answer: err is the errno, no body */
	SESS_T_LIST = 4,          /* a directory listing (sess_list_* below) */
	SESS_T_FILE = 5,          /* a file's bytes */
	SESS_T_NOTE = 6,          /* the caller's own control message (not a cache entry) */
	SESS_T_MAX_ = 6,
};

/* Frame flags. LAST: the root had nothing more queued when it built this frame; a
 * receiver that has finished this frame (and its chunks) may go back to sleep until the
 * next doorbell. FIN: the stream ends; nothing follows. */
#define SESS_F_LAST  1u
#define SESS_F_FIN   2u

#define SESS_R_CHUNKED 1u         /* the body follows in data broadcasts after the frame */

struct sess_rec {                 /* one record, as built by the root or parsed by a receiver */
	uint64_t seq;
	uint64_t body_len;
	uint32_t chunk_size;      /* CHUNKED only */
	uint32_t key_len;
	int32_t  err;
	uint16_t type;
	uint16_t flags;
	const uint8_t *key;
	const uint8_t *body;      /* inline body (points into the frame), NULL if chunked */
};

/* Building a frame (root). sess_frame_init() starts an empty frame in buf (cap bytes);
 * sess_frame_add() appends r: 1 if its body went inline, 2 if it was added CHUNKED (then
 * the frame is full: nothing may follow), 0 if it does not fit (start a new frame),
 * -EINVAL for a bad record. A body goes inline when the record fits whole; otherwise it
 * is chunked with chunk_size. sess_frame_finish() stores the count and flags. */
void sess_frame_init(uint8_t *buf, size_t cap);
int  sess_frame_add(uint8_t *buf, size_t cap, const struct sess_rec *r, uint32_t chunk_size);
void sess_frame_finish(uint8_t *buf, uint32_t flags);
uint32_t sess_frame_count(const uint8_t *buf);
uint32_t sess_frame_flags(const uint8_t *buf);
size_t sess_rec_inline_size(uint32_t key_len, uint64_t body_len); /* bytes a record takes inline */

/* Parsing a frame (receiver): sess_frame_check() validates the header (0 or -EBADMSG);
 * then sess_frame_next() yields records in order: 1 and *r filled, 0 at the end, -EBADMSG
 * for a malformed record (out of bounds, a chunked record not last, an unknown type). */
struct sess_frame_iter { const uint8_t *buf; size_t len, off; uint32_t left; };
int sess_frame_check(const uint8_t *buf, size_t len, struct sess_frame_iter *it);
int sess_frame_next(struct sess_frame_iter *it, struct sess_rec *r);

/* Chunking: how many data broadcasts a body of len bytes takes, and chunk idx's place. */
uint64_t sess_chunk_count(uint64_t len, uint32_t chunk_size);
void sess_chunk_span(uint64_t len, uint32_t chunk_size, uint64_t idx, uint64_t *off, uint32_t *n);

/* Directory listings: a body of records (u64 ino, u8 type, u16 name length, name). The
 * encoder returns the bytes needed (call with out NULL to size), the decoder walks it:
 * 1 with *e filled, 0 at the end, -EBADMSG when truncated. */
struct sess_dirent { uint64_t ino; uint8_t type; uint16_t name_len; const char *name; };
size_t sess_list_put(uint8_t *out, const struct sess_dirent *e);  /* out may be NULL */
int sess_list_next(const uint8_t *body, size_t len, size_t *off, struct sess_dirent *e);

uint64_t sess_hash(const void *p, size_t n);     /* FNV-1a 64: keys, and checks in tests */
#endif
