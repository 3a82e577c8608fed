/* The path cache and data objects: one entry per literal path, flush forgets paths but
 * not file copies, one memfd per (dev, ino), copies sealed and faithful. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cache/cache.h"
#include "cache/data.h"

Test(cache, same_path_same_entry_different_path_different_entry)
{
	struct cache c;
	cr_assert_eq(cache_init(&c), 0);
	struct entry *a = cache_get(&c, "/usr/lib/a");
	struct entry *b = cache_get(&c, "/usr/lib/b");
	cr_assert_not_null(a);
	cr_assert_neq(a, b);
	cr_assert_eq(cache_get(&c, "/usr/lib/a"), a);
	cr_assert_neq(cache_get(&c, "/usr/lib/../lib/a"), a);   /* literal keys, never normalised */
	cr_assert_eq(c.nentries, 3);
	cache_free(&c);
}

Test(cache, new_entry_starts_with_every_slot_empty)
{
	struct cache c;
	cache_init(&c);
	struct entry *e = cache_get(&c, "/x");
	cr_assert_eq(e->stat[0].state, SLOT_EMPTY);
	cr_assert_eq(e->open[1].state, SLOT_EMPTY);
	cr_assert_eq(e->link.state, SLOT_EMPTY);
	cr_assert_null(e->statx);
	cr_assert_null(e->access);
	cache_free(&c);
}

Test(cache, flush_forgets_all_paths_and_counts)
{
	struct cache c;
	cache_init(&c);
	char p[32];
	for (int i = 0; i < 10000; i++) {   /* also exercises growth */
		snprintf(p, sizeof p, "/p/%d", i);
		cache_get(&c, p)->stat[0].state = SLOT_OK;
	}
	cr_assert_eq(c.nentries, 10000);
	cr_assert_eq(cache_get(&c, "/p/9999")->stat[0].state, SLOT_OK);
	cache_flush(&c);
	cr_assert_eq(c.nentries, 0);
	cr_assert_eq(c.flushes, 1);
	cr_assert_eq(cache_get(&c, "/p/9999")->stat[0].state, SLOT_EMPTY);
	cache_free(&c);
}

Test(cache, statx_and_access_items_are_keyed_by_parameters)
{
	struct cache c;
	cache_init(&c);
	struct entry *e = cache_get(&c, "/x");
	struct statx_item *s1 = entry_statx(e, 0, 0x7ff), *s2 = entry_statx(e, 0x100, 0x7ff);
	cr_assert_neq(s1, s2);
	cr_assert_eq(entry_statx(e, 0, 0x7ff), s1);
	struct access_item *a1 = entry_access(e, 4, 0), *a2 = entry_access(e, 4, 0x200);
	cr_assert_neq(a1, a2);
	cr_assert_eq(entry_access(e, 4, 0), a1);
	cache_free(&c);
}

Test(cache, cacheable_errnos_are_name_space_facts_only)
{
	cr_assert(cacheable_errno(ENOENT) && cacheable_errno(ENOTDIR) && cacheable_errno(ELOOP));
	cr_assert(cacheable_errno(EACCES) && cacheable_errno(ENAMETOOLONG));
	cr_assert(!cacheable_errno(EINTR) && !cacheable_errno(EMFILE) && !cacheable_errno(ENOMEM));
	cr_assert(!cacheable_errno(EIO) && !cacheable_errno(ESTALE));
}

static int make_file(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, mode);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fchmod(fd, mode), 0);
	cr_assert_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return open(path, O_PATH);
}

Test(data, copy_is_sealed_faithful_and_shared_per_inode)
{
	struct data_store d;
	cr_assert_eq(data_init(&d), 0);
	d.mode = DATA_ALWAYS_MEMFD;
	char path[] = "/tmp/collrun_data_test_XXXXXX";
	int t = mkstemp(path);
	close(t);
	int fd = make_file(path, "hello, collrun", 0640);
	struct stat st;
	fstat(fd, &st);
	uint64_t ops = 0;
	struct data_obj *o1, *o2;
	cr_assert_eq(data_get(&d, fd, &st, 0, path, &o1, &ops), 0);
	cr_assert_gt(ops, 0);
	cr_assert_eq(data_get(&d, fd, &st, 0, path, &o2, &ops), 0);
	cr_assert_eq(o1, o2, "one object per (dev, ino)");
	cr_assert_eq(d.files, 1);
	cr_assert_eq(d.bytes, 14);

	int r1 = data_open(&d, o1, 0), r2 = data_open(&d, o1, 0);
	char buf[32] = { 0 };
	cr_assert_eq(read(r1, buf, 5), 5);
	cr_assert_eq(read(r2, buf + 5, 5), 5);
	cr_assert_str_eq(buf, "hellohello", "each open has its own offset");
	struct stat ms;
	fstat(r1, &ms);
	cr_assert_eq(ms.st_size, 14);
	cr_assert_eq(ms.st_mode & 07777, 0640);
	cr_assert_eq(ms.st_mtim.tv_sec, st.st_mtim.tv_sec);
	cr_assert_eq(ms.st_mtim.tv_nsec, st.st_mtim.tv_nsec);
	cr_assert_lt(fcntl(r1, F_GETFL) & O_ACCMODE, 1, "read-only");
	int seals = fcntl(o1->fd, F_GET_SEALS);
	cr_assert(seals & F_SEAL_WRITE && seals & F_SEAL_GROW && seals & F_SEAL_SHRINK);

	close(r1);
	close(r2);
	close(fd);
	unlink(path);
	data_free(&d);
}

Test(data, changed_file_gets_a_new_copy)
{
	struct data_store d;
	data_init(&d);
	d.mode = DATA_ALWAYS_MEMFD;
	char path[] = "/tmp/collrun_data_test_XXXXXX";
	close(mkstemp(path));
	int fd = make_file(path, "one", 0644);
	struct stat st;
	fstat(fd, &st);
	uint64_t ops = 0;
	struct data_obj *o1, *o2;
	cr_assert_eq(data_get(&d, fd, &st, 0, path, &o1, &ops), 0);
	close(fd);
	fd = make_file(path, "three", 0644);
	fstat(fd, &st);
	cr_assert_eq(data_get(&d, fd, &st, 0, path, &o2, &ops), 0);
	cr_assert_neq(o1, o2);
	cr_assert_eq(o2->size, 5);
	close(fd);
	unlink(path);
	data_free(&d);
}

Test(data, file_over_the_size_limit_is_refused)
{
	struct data_store d;
	data_init(&d);
	d.mode = DATA_ALWAYS_MEMFD;
	d.max_file_size = 2;
	char path[] = "/tmp/collrun_data_test_XXXXXX";
	close(mkstemp(path));
	int fd = make_file(path, "abc", 0644);
	struct stat st;
	fstat(fd, &st);
	uint64_t ops = 0;
	struct data_obj *o;
	cr_assert_eq(data_get(&d, fd, &st, 0, path, &o, &ops), -EFBIG);
	close(fd);
	unlink(path);
	data_free(&d);
}

Test(inode_set, remembers_exact_pairs)
{
	struct inode_set s = { 0 };
	cr_assert_eq(inode_set_add(&s, 1, 2), 0);
	cr_assert_eq(inode_set_add(&s, 1, 2), 0);
	cr_assert_eq(s.n, 1);
	cr_assert(inode_set_has(&s, 1, 2));
	cr_assert(!inode_set_has(&s, 2, 1));
	free(s.items);
}

Test(data, local_file_systems_are_served_directly_under_auto)
{
	struct data_store d;
	data_init(&d);   /* DATA_AUTO */
	char path[] = "/tmp/collrun_data_test_XXXXXX";
	close(mkstemp(path));
	int fd = make_file(path, "direct", 0644);
	struct stat st;
	fstat(fd, &st);
	uint64_t ops = 0;
	struct data_obj *o;
	cr_assert_eq(data_get(&d, fd, &st, 0xEF53 /* ext4 */, path, &o, &ops), 0);
	cr_assert_eq(o->kind, DATA_DIRECT);
	cr_assert_eq(d.bytes, 0, "nothing copied");
	int r = data_open(&d, o, 0);
	struct stat rs;
	fstat(r, &rs);
	cr_assert(rs.st_dev == st.st_dev && rs.st_ino == st.st_ino, "the file itself, not a copy");
	char buf[8] = { 0 };
	cr_assert_eq(read(r, buf, 6), 6);
	cr_assert_str_eq(buf, "direct");
	struct data_obj *o2;
	cr_assert_eq(data_get(&d, fd, &st, 0x6969 /* nfs */, path, &o2, &ops), 0);
	cr_assert_eq(o2, o, "one object per (dev, ino), whatever asks");
	cr_assert(data_fs_is_local(0xEF53) && !data_fs_is_local(0x6969) && !data_fs_is_local(0x65735546));
	close(r);
	close(fd);
	unlink(path);
	data_free(&d);
}
