/* dents_from_records (fill.h): a session root's getdents64 records become a node's listing —
 * names without "." and "..", the raw entries kept only when every position is usable, and
 * malformed records (from another process) refused. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "cache/dcache.h"
#include "fill.h"

/* Append one record (8-byte aligned, as the kernel makes them). */
static size_t put(char *buf, size_t off, unsigned long long ino, long long doff, unsigned char type, const char *name)
{
	struct dirent64 *d = (struct dirent64 *)(buf + off);
	size_t rec = (offsetof(struct dirent64, d_name) + strlen(name) + 1 + 7) & ~(size_t)7;
	memset(d, 0, rec);
	d->d_ino = ino, d->d_off = doff, d->d_type = type, d->d_reclen = (unsigned short)rec;
	strcpy(d->d_name, name);
	return off + rec;
}

Test(dents_records, names_skip_dots_and_raw_entries_keep_all_records)
{
	_Alignas(8) char buf[2048];
	size_t n = put(buf, 0, 2, 10, DT_DIR, ".");
	n = put(buf, n, 1, 20, DT_DIR, "..");
	n = put(buf, n, 77, 30, DT_REG, "libnsa.so");
	n = put(buf, n, 78, 40, DT_LNK, "current");
	char **names;
	size_t nn;
	struct dents *raw;
	cr_assert_eq(dents_from_records(buf, n, &names, &nn, &raw), 0);
	cr_assert_eq(nn, 2);
	cr_assert_str_eq(names[0], "libnsa.so");
	cr_assert_str_eq(names[1], "current");
	cr_assert_not_null(raw);
	cr_assert_eq(raw->n, 4);
	cr_assert_eq(raw->bytes, n);
	cr_assert_eq(((struct dirent64 *)(raw->buf + raw->at[2]))->d_ino, 77);
	cr_assert_eq(memcmp(raw->buf, buf, n), 0, "records kept as the root read them");
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	dents_free(raw);
}

Test(dents_records, repeated_positions_give_names_but_no_raw_entries)
{
	_Alignas(8) char buf[2048];
	size_t n = put(buf, 0, 5, 7, DT_REG, "a");
	n = put(buf, n, 6, 7, DT_REG, "b");
	char **names;
	size_t nn;
	struct dents *raw;
	cr_assert_eq(dents_from_records(buf, n, &names, &nn, &raw), 0);
	cr_assert_eq(nn, 2);
	cr_assert_null(raw, "a position naming two places cannot be served");
	free(names[0]);
	free(names[1]);
	free(names);
}

Test(dents_records, malformed_records_are_refused)
{
	_Alignas(8) char buf[2048];
	size_t n = put(buf, 0, 5, 7, DT_REG, "name");
	char **names;
	size_t nn;
	struct dents *raw;
	cr_assert_eq(dents_from_records(buf, n - 1, &names, &nn, &raw), -EBADMSG, "a record cut short");
	((struct dirent64 *)buf)->d_reclen = 0;
	cr_assert_eq(dents_from_records(buf, n, &names, &nn, &raw), -EBADMSG, "a zero length");
	n = put(buf, 0, 5, 7, DT_REG, "name");
	memset(buf + offsetof(struct dirent64, d_name), 'x', n - offsetof(struct dirent64, d_name));
	cr_assert_eq(dents_from_records(buf, n, &names, &nn, &raw), -EBADMSG, "a name without its end");
	cr_assert_null(raw);
	cr_assert_null(names);
}
