/* session_entry: the session stream's wire format (supervisor/session/entry.c). Every
 * receiver derives the size of each broadcast it must post from frames it has parsed, so
 * building, parsing and the chunk arithmetic must agree exactly, and a bad frame must be
 * refused rather than read out of bounds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "session/entry.h"

static uint8_t frame[SESS_FRAME_SIZE];

static struct sess_rec rec(uint16_t type, const char *key, const void *body, uint64_t len, uint64_t seq)
{
	return (struct sess_rec){ .seq = seq, .type = type, .key = (const uint8_t *)key,
	                          .key_len = (uint32_t)strlen(key), .body = body, .body_len = len };
}

Test(session_entry, small_records_round_trip_inline_in_order)
{
	const char *link = "../lib/libfoo.so.1";
	sess_frame_init(frame, sizeof frame);
	struct sess_rec a = rec(SESS_T_STAT, "/usr/lib/a", "STATBYTES", 9, 7);
	struct sess_rec b = rec(SESS_T_LINK, "/usr/lib/b", link, strlen(link), 8);
	struct sess_rec c = rec(SESS_T_NEG, "/usr/lib/c", NULL, 0, 9);
	c.err = ENOENT;
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 1 << 20), 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &b, 1 << 20), 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &c, 1 << 20), 1);
	sess_frame_finish(frame, SESS_F_LAST);

	struct sess_frame_iter it;
	struct sess_rec r;
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), 0);
	cr_assert_eq(sess_frame_flags(frame), SESS_F_LAST);
	cr_assert_eq(sess_frame_next(&it, &r), 1);
	cr_assert_eq(r.seq, 7);
	cr_assert_eq(r.type, SESS_T_STAT);
	cr_assert_eq(r.key_len, 10);
	cr_assert_eq(memcmp(r.key, "/usr/lib/a", 10), 0);
	cr_assert_eq(r.body_len, 9);
	cr_assert_eq(memcmp(r.body, "STATBYTES", 9), 0);
	cr_assert_eq(sess_frame_next(&it, &r), 1);
	cr_assert_eq(r.type, SESS_T_LINK);
	cr_assert_eq(memcmp(r.body, link, strlen(link)), 0);
	cr_assert_eq(sess_frame_next(&it, &r), 1);
	cr_assert_eq(r.type, SESS_T_NEG);
	cr_assert_eq(r.err, ENOENT);
	cr_assert_eq(r.body_len, 0);
	cr_assert_null(r.body);
	cr_assert_eq(sess_frame_next(&it, &r), 0);
}

Test(session_entry, a_body_too_big_for_the_frame_is_chunked_and_ends_it)
{
	static uint8_t big[SESS_FRAME_SIZE];
	sess_frame_init(frame, sizeof frame);
	struct sess_rec a = rec(SESS_T_FILE, "/f", big, sizeof big, 1);
	struct sess_rec b = rec(SESS_T_STAT, "/g", "x", 1, 2);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 4096), 2);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &b, 4096), 0, "nothing may follow a chunked record");
	sess_frame_finish(frame, 0);
	struct sess_frame_iter it;
	struct sess_rec r;
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), 0);
	cr_assert_eq(sess_frame_next(&it, &r), 1);
	cr_assert_eq(r.flags, SESS_R_CHUNKED);
	cr_assert_eq(r.chunk_size, 4096);
	cr_assert_eq(r.body_len, sizeof big);
	cr_assert_null(r.body);
	cr_assert_eq(sess_frame_next(&it, &r), 0);
}

Test(session_entry, the_frame_fills_then_refuses)
{
	static uint8_t body[1000];
	sess_frame_init(frame, sizeof frame);
	int n = 0, rc;
	struct sess_rec a = rec(SESS_T_STAT, "/k", body, sizeof body, 1);
	while ((rc = sess_frame_add(frame, sizeof frame, &a, 4096)) == 1)
		n++;
	/* 16 bytes of frame header, 32 + 2 + 1000 per record: 15 fit, the 16th is chunked. */
	cr_assert_eq(n, (SESS_FRAME_SIZE - 16) / (32 + 2 + 1000));
	cr_assert_eq(rc, 2);
	cr_assert_eq(sess_frame_count(frame), (uint32_t)n + 1);
}

Test(session_entry, chunk_arithmetic_at_the_edges)
{
	uint64_t off;
	uint32_t len;
	cr_assert_eq(sess_chunk_count(0, 4096), 0);
	cr_assert_eq(sess_chunk_count(1, 4096), 1);
	cr_assert_eq(sess_chunk_count(4096, 4096), 1, "exactly one chunk is one broadcast");
	cr_assert_eq(sess_chunk_count(4097, 4096), 2);
	sess_chunk_span(4097, 4096, 1, &off, &len);
	cr_assert_eq(off, 4096);
	cr_assert_eq(len, 1);
	uint64_t big = 256ull << 20, sum = 0;
	uint32_t c = 8u << 20;
	for (uint64_t i = 0; i < sess_chunk_count(big, c); i++) {
		sess_chunk_span(big, c, i, &off, &len);
		cr_assert_eq(off, sum);
		sum += len;
	}
	cr_assert_eq(sum, big);
	cr_assert_eq(sess_chunk_count(big + 1, c), 33);
}

Test(session_entry, bad_records_are_refused_when_built)
{
	sess_frame_init(frame, sizeof frame);
	struct sess_rec a = rec(0, "/k", NULL, 0, 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 4096), -EINVAL, "unknown type");
	a = rec(SESS_T_NEG, "/k", "x", 1, 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 4096), -EINVAL, "a negative has no body");
	static uint8_t big[SESS_FRAME_SIZE * 2];
	a = rec(SESS_T_FILE, "/k", big, sizeof big, 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 100), -EINVAL, "chunk below the minimum");
}

Test(session_entry, malformed_frames_are_refused_when_parsed)
{
	struct sess_frame_iter it;
	struct sess_rec r;
	memset(frame, 0, sizeof frame);
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), -EBADMSG, "no magic");

	sess_frame_init(frame, sizeof frame);
	struct sess_rec a = rec(SESS_T_STAT, "/key", "body", 4, 1);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 4096), 1);
	sess_frame_finish(frame, 0);
	/* Claim a longer key than the frame holds. */
	uint32_t huge = 0xffff;
	memcpy(frame + 16 + 20, &huge, 4);
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), 0);
	cr_assert_eq(sess_frame_next(&it, &r), -EBADMSG);

	/* One record more than the frame holds. */
	sess_frame_init(frame, sizeof frame);
	cr_assert_eq(sess_frame_add(frame, sizeof frame, &a, 4096), 1);
	sess_frame_finish(frame, 0);
	uint32_t two = 2;
	memcpy(frame + 8, &two, 4);
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), 0);
	cr_assert_eq(sess_frame_next(&it, &r), 1);
	cr_assert_eq(sess_frame_next(&it, &r), -EBADMSG);

	/* Unknown frame flags. */
	sess_frame_init(frame, sizeof frame);
	sess_frame_finish(frame, 0x40);
	cr_assert_eq(sess_frame_check(frame, sizeof frame, &it), -EBADMSG);
}

Test(session_entry, listings_round_trip_and_truncation_is_caught)
{
	struct sess_dirent in[] = { { 11, 4, 3, "lib" }, { 12, 8, 9, "libc.so.6" }, { 13, 10, 0, "" } };
	uint8_t buf[256];
	size_t len = 0, off = 0;
	for (int i = 0; i < 3; i++)
		len += sess_list_put(buf + len, &in[i]);
	cr_assert_eq(len, 3 * 11 + 3 + 9);
	struct sess_dirent e;
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(sess_list_next(buf, len, &off, &e), 1);
		cr_assert_eq(e.ino, in[i].ino);
		cr_assert_eq(e.type, in[i].type);
		cr_assert_eq(e.name_len, in[i].name_len);
		cr_assert_eq(memcmp(e.name, in[i].name, e.name_len), 0);
	}
	cr_assert_eq(sess_list_next(buf, len, &off, &e), 0);
	off = 0;
	cr_assert_eq(sess_list_next(buf, 11 + 2, &off, &e), -EBADMSG, "name cut short");
}
