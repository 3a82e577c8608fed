/* entry.c — the session stream's wire format: frames of records, chunk arithmetic,
 * directory listing bodies. Pure: no MPI, no I/O (see entry.h for the layout's rules). */
#include "entry.h"
#include <endian.h>
#include <errno.h>
#include <string.h>

/* Frame header: magic, flags, record count, bytes used (header included). */
#define FH_SIZE 16u
/* Record header: seq, body_len, chunk_size, key_len, err, type, flags. */
#define RH_SIZE 32u

static void put16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return le16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return le32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return le64toh(v); }

size_t sess_rec_inline_size(uint32_t key_len, uint64_t body_len)
{
	return RH_SIZE + (size_t)key_len + (size_t)body_len;
}

void sess_frame_init(uint8_t *buf, size_t cap)
{
	memset(buf, 0, cap < FH_SIZE ? cap : FH_SIZE);
	put32(buf, SESS_FRAME_MAGIC);
	put32(buf + 12, FH_SIZE);
}

uint32_t sess_frame_count(const uint8_t *buf) { return get32(buf + 8); }
uint32_t sess_frame_flags(const uint8_t *buf) { return get32(buf + 4); }

void sess_frame_finish(uint8_t *buf, uint32_t flags)
{
	put32(buf + 4, flags);
}

static bool frame_closed(const uint8_t *buf)
{
	/* A chunked record ends its frame: its data broadcasts come next on the wire. */
	return get32(buf + 4) & 0x80000000u;
}

int sess_frame_add(uint8_t *buf, size_t cap, const struct sess_rec *r, uint32_t chunk_size)
{
	if (r->type < 1 || r->type > SESS_T_MAX_ || r->key_len > SESS_KEY_MAX ||
	    (r->body_len && !r->body) || (r->key_len && !r->key))
		return -EINVAL;
	if (r->type == SESS_T_NEG && r->body_len)
		return -EINVAL;
	if (frame_closed(buf))
		return 0;
	size_t used = get32(buf + 12);
	bool inl = r->body_len <= cap && sess_rec_inline_size(r->key_len, r->body_len) <= cap - used;
	if (!inl) {
		if (chunk_size < SESS_CHUNK_MIN || chunk_size > SESS_CHUNK_MAX)
			return -EINVAL;
		if (RH_SIZE + (size_t)r->key_len > cap - used)
			return 0;
	}
	uint8_t *p = buf + used;
	put64(p, r->seq);
	put64(p + 8, r->body_len);
	put32(p + 16, inl ? 0 : chunk_size);
	put32(p + 20, r->key_len);
	put32(p + 24, (uint32_t)r->err);
	put16(p + 28, r->type);
	put16(p + 30, inl ? 0 : SESS_R_CHUNKED);
	if (r->key_len)
		memcpy(p + RH_SIZE, r->key, r->key_len);
	used += RH_SIZE + r->key_len;
	if (inl && r->body_len) {
		memcpy(buf + used, r->body, r->body_len);
		used += r->body_len;
	}
	put32(buf + 12, (uint32_t)used);
	put32(buf + 8, get32(buf + 8) + 1);
	if (!inl)   /* private mark, cleared by sess_frame_finish() which rewrites flags */
		put32(buf + 4, get32(buf + 4) | 0x80000000u);
	return inl ? 1 : 2;
}

int sess_frame_check(const uint8_t *buf, size_t len, struct sess_frame_iter *it)
{
	if (len < FH_SIZE || get32(buf) != SESS_FRAME_MAGIC)
		return -EBADMSG;
	uint32_t used = get32(buf + 12);
	if (used < FH_SIZE || used > len || (sess_frame_flags(buf) & ~(SESS_F_LAST | SESS_F_FIN)))
		return -EBADMSG;
	*it = (struct sess_frame_iter){ .buf = buf, .len = used, .off = FH_SIZE,
	                                .left = sess_frame_count(buf) };
	return 0;
}

int sess_frame_next(struct sess_frame_iter *it, struct sess_rec *r)
{
	if (!it->left)
		return it->off == it->len ? 0 : -EBADMSG;
	if (it->len - it->off < RH_SIZE)
		return -EBADMSG;
	const uint8_t *p = it->buf + it->off;
	*r = (struct sess_rec){
		.seq = get64(p), .body_len = get64(p + 8), .chunk_size = get32(p + 16),
		.key_len = get32(p + 20), .err = (int32_t)get32(p + 24), .type = get16(p + 28),
		.flags = get16(p + 30),
	};
	size_t off = it->off + RH_SIZE;
	if (r->type < 1 || r->type > SESS_T_MAX_ || r->key_len > SESS_KEY_MAX ||
	    r->key_len > it->len - off || (r->flags & ~SESS_R_CHUNKED) ||
	    (r->type == SESS_T_NEG && r->body_len))
		return -EBADMSG;
	r->key = it->buf + off;
	off += r->key_len;
	if (r->flags & SESS_R_CHUNKED) {
		/* The wire's next broadcasts are this body: nothing may follow in the frame. */
		if (it->left != 1 || off != it->len || r->chunk_size < SESS_CHUNK_MIN ||
		    r->chunk_size > SESS_CHUNK_MAX)
			return -EBADMSG;
		r->body = NULL;
	} else {
		if (r->body_len > it->len - off || r->chunk_size)
			return -EBADMSG;
		r->body = r->body_len ? it->buf + off : NULL;
		off += r->body_len;
	}
	it->off = off;
	it->left--;
	return 1;
}

uint64_t sess_chunk_count(uint64_t len, uint32_t chunk_size)
{
	return chunk_size ? (len + chunk_size - 1) / chunk_size : 0;
}

void sess_chunk_span(uint64_t len, uint32_t chunk_size, uint64_t idx, uint64_t *off, uint32_t *n)
{
	*off = idx * chunk_size;
	uint64_t rest = *off < len ? len - *off : 0;
	*n = (uint32_t)(rest < chunk_size ? rest : chunk_size);
}

size_t sess_list_put(uint8_t *out, const struct sess_dirent *e)
{
	if (out) {
		put64(out, e->ino);
		out[8] = e->type;
		put16(out + 9, e->name_len);
		memcpy(out + 11, e->name, e->name_len);
	}
	return 11u + e->name_len;
}

int sess_list_next(const uint8_t *body, size_t len, size_t *off, struct sess_dirent *e)
{
	if (*off == len)
		return 0;
	if (*off > len || len - *off < 11)
		return -EBADMSG;
	const uint8_t *p = body + *off;
	e->ino = get64(p);
	e->type = p[8];
	e->name_len = get16(p + 9);
	if (e->name_len > len - *off - 11)
		return -EBADMSG;
	e->name = (const char *)p + 11;
	*off += 11u + e->name_len;
	return 1;
}

uint64_t sess_hash(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}
