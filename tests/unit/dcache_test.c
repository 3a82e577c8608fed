/* The look-up cache's tables and the file copies: objs are found by (mount, dev, ino) and
 * every mount of one inode is found for invalidation; edges by (directory, name); kept
 * descriptors are bounded; listings answer membership; copies are faithful, sparse, taken
 * to end of file whatever st_size says, refused when the file changes, and bounded. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cache/data.h"
#include "cache/dcache.h"

/* In the build folder tests/run.sh names (BUILD), which need not be ./build. */
static const char *scratch(const char *name)
{
	static char p[512], dir[400];
	const char *b = getenv("BUILD");
	snprintf(dir, sizeof dir, "%s/tests", b && b[0] ? b : "build");
	mkdir(b && b[0] ? b : "build", 0755);
	mkdir(dir, 0755);
	snprintf(dir, sizeof dir, "%s/tests/unit-scratch", b && b[0] ? b : "build");
	mkdir(dir, 0755);
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

Test(dcache, obj_found_by_mount_dev_ino_and_aliases_by_dev_ino)
{
	struct dcache dc;
	cr_assert_eq(dc_init(&dc, 1000, 4), 0);
	struct ident a = { 10, 5, 77 }, b = { 11, 5, 77 }, c = { 10, 5, 78 };
	struct obj *oa = dc_obj_add(&dc, &a, S_IFDIR | 0755, "/x");
	struct obj *ob = dc_obj_add(&dc, &b, S_IFDIR | 0755, "/bind/x");
	struct obj *oc = dc_obj_add(&dc, &c, S_IFREG | 0644, "/y");
	cr_assert(oa && ob && oc && oa != ob);
	cr_assert_eq(dc_obj_find(&dc, &a), oa);
	cr_assert_eq(dc_obj_find(&dc, &b), ob);
	struct ident missing = { 12, 5, 77 };
	cr_assert_null(dc_obj_find(&dc, &missing));
	int n = 0;
	dc_for_each_alias(&dc, o, 5, 77) {
		cr_assert(o == oa || o == ob);
		n++;
	}
	cr_assert_eq(n, 2, "both mounts of one inode are its aliases");
	dc_free(&dc);
}

Test(dcache, edges_are_per_directory_and_name_and_survive_growth)
{
	struct dcache dc;
	dc_init(&dc, 1 << 20, 4);
	struct ident a = { 1, 1, 1 }, b = { 1, 1, 2 };
	struct obj *d1 = dc_obj_add(&dc, &a, S_IFDIR, "/a"), *d2 = dc_obj_add(&dc, &b, S_IFDIR, "/b");
	char name[32];
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof name, "n%d", i);
		struct edge *e = dc_edge_add(&dc, i % 2 ? d1 : d2, name, strlen(name));
		cr_assert_not_null(e);
		e->s.state = SLOT_ERR;
		e->s.err = i;
	}
	cr_assert_null(dc_edge_find(&dc, d1, "n0", 2), "n0 lives in the other directory");
	struct edge *e = dc_edge_find(&dc, d2, "n0", 2);
	cr_assert_not_null(e);
	cr_assert_eq(dc_edge_find(&dc, d1, "n19999", 6)->s.err, 19999);
	cr_assert_null(dc_edge_find(&dc, d1, "n1999x", 6), "another name");
	cr_assert_not_null(dc_edge_add(&dc, d1, "libfoo.so.1", 11));
	cr_assert_null(dc_edge_find(&dc, d1, "libfoo.so.1", 9), "a prefix is another name");
	cr_assert_not_null(dc_edge_find(&dc, d1, "libfoo.so.1", 11));
	dc_free(&dc);
}

Test(dcache, nothing_new_is_kept_beyond_max_entries)
{
	struct dcache dc;
	dc_init(&dc, 3, 4);
	struct ident a = { 1, 1, 1 };
	struct obj *d = dc_obj_add(&dc, &a, S_IFDIR, "/a");
	cr_assert_not_null(dc_edge_add(&dc, d, "x", 1));
	cr_assert_not_null(dc_edge_add(&dc, d, "y", 1));
	cr_assert_null(dc_edge_add(&dc, d, "z", 1));
	struct ident b = { 1, 1, 2 };
	cr_assert_null(dc_obj_add(&dc, &b, S_IFREG, "/b"));
	dc_free(&dc);
}

Test(dcache, kept_descriptors_are_bounded_least_recently_used_first)
{
	struct dcache dc;
	dc_init(&dc, 100, 2);
	struct obj *o[3];
	for (int i = 0; i < 3; i++) {
		struct ident id = { 1, 1, 10 + i };
		o[i] = dc_obj_add(&dc, &id, S_IFDIR, "/d");
	}
	dc_keep_fd(&dc, o[0], open("/", O_PATH | O_CLOEXEC));
	dc_keep_fd(&dc, o[1], open("/", O_PATH | O_CLOEXEC));
	cr_assert_geq(dc_get_fd(&dc, o[0]), 0);   /* o[0] is now the most recent */
	dc_keep_fd(&dc, o[2], open("/", O_PATH | O_CLOEXEC));
	cr_assert_eq(dc.nfds, 2);
	cr_assert_eq(dc_get_fd(&dc, o[1]), -1, "the least recently used one was closed");
	cr_assert_geq(dc_get_fd(&dc, o[0]), 0);
	dc_drop_fds(&dc);
	cr_assert_eq(dc.nfds, 0);
	cr_assert_eq(dc_get_fd(&dc, o[0]), -1);
	dc_free(&dc);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

Test(dcache, a_descriptor_lent_to_a_fill_is_never_evicted_and_a_drop_waits_for_it)
{
	struct dcache dc;
	dc_init(&dc, 100, 1);
	struct obj *o[2];
	for (int i = 0; i < 2; i++) {
		struct ident id = { 1, 1, 20 + i };
		o[i] = dc_obj_add(&dc, &id, S_IFDIR, "/d");
	}
	int a = open("/", O_PATH | O_CLOEXEC);
	dc_keep_fd(&dc, o[0], a);
	cr_assert_eq(dc_pin_fd(&dc, o[0]), a);
	int b = open("/", O_PATH | O_CLOEXEC);
	dc_keep_fd(&dc, o[1], b);   /* over the bound, and the only kept one is lent */
	cr_assert(fd_open(a), "a lent descriptor stays open");
	cr_assert_eq(dc_get_fd(&dc, o[0]), a);
	cr_assert_eq(dc_get_fd(&dc, o[1]), -1, "nothing more is kept while every kept one is lent");
	cr_assert_not(fd_open(b), "the one not kept is closed");
	cr_assert_eq(dc_pin_fd(&dc, o[0]), a, "lent twice");
	dc_drop_fds(&dc);
	cr_assert(fd_open(a), "dropped while lent: still open for the fills using it");
	cr_assert_eq(dc_get_fd(&dc, o[0]), -1, "and never lent again");
	cr_assert_eq(dc_pin_fd(&dc, o[0]), -1);
	dc_unpin_fd(&dc, o[0]);
	cr_assert(fd_open(a));
	dc_unpin_fd(&dc, o[0]);
	cr_assert_not(fd_open(a), "closed when the last fill gives it back");
	cr_assert_eq(o[0]->fd, -1);
	int c = open("/", O_PATH | O_CLOEXEC);
	dc_keep_fd(&dc, o[0], c);
	cr_assert_eq(dc_get_fd(&dc, o[0]), c, "kept again afterwards");
	dc_free(&dc);
}

Test(dcache, unpin_all_after_a_fork_closes_what_was_dropped)
{
	struct dcache dc;
	dc_init(&dc, 100, 4);
	struct ident id = { 1, 1, 30 };
	struct obj *o = dc_obj_add(&dc, &id, S_IFDIR, "/d");
	int a = open("/", O_PATH | O_CLOEXEC);
	dc_keep_fd(&dc, o, a);
	dc_pin_fd(&dc, o);
	dc_drop_fds(&dc);
	dc_unpin_all(&dc);
	cr_assert_not(fd_open(a));
	cr_assert_eq(o->fd_pins, 0);
	dc_free(&dc);
}

Test(dcache, listing_answers_exact_names_only)
{
	struct listing l = { 0 };
	char **v = malloc(3 * sizeof *v);
	v[0] = strdup("libz.so.1");
	v[1] = strdup("glibc-hwcaps");
	v[2] = strdup("libc.so.6");
	listing_set(&l, v, 3);
	cr_assert(listing_has(&l, "libc.so.6", 9));
	cr_assert(listing_has(&l, "glibc-hwcaps/x", 12), "length bounds the name");
	cr_assert_not(listing_has(&l, "libc.so", 7));
	cr_assert_not(listing_has(&l, "libc.so.6.1", 11));
	cr_assert_not(listing_has(&l, "LIBC.SO.6", 9));
	for (size_t i = 0; i < l.n; i++)
		free(l.names[i]);
	free(l.names);
}

Test(dcache, statx_and_access_items_are_keyed_by_parameters)
{
	struct dcache dc;
	dc_init(&dc, 100, 2);
	struct ident id = { 1, 1, 1 };
	struct obj *o = dc_obj_add(&dc, &id, S_IFREG, "/f");
	struct statx_item *a = obj_statx(o, 0, 0x7ff), *b = obj_statx(o, 0, 0xfff);
	cr_assert_neq(a, b);
	cr_assert_eq(obj_statx(o, 0, 0x7ff), a);
	struct access_item *r = obj_access(o, R_OK, 0), *x = obj_access(o, X_OK, 0);
	cr_assert_neq(r, x);
	cr_assert_eq(obj_access(o, R_OK, 0), r);
	cr_assert_neq(obj_access(o, R_OK, AT_EACCESS), r);
	dc_free(&dc);
}

static int copy_file(struct data_store *d, const char *path, struct data_obj **out)
{
	int fd = open(path, O_PATH | O_CLOEXEC);
	struct stat st;
	fstat(fd, &st);
	struct timespec since = { 1L << 40, 0 };   /* the job began after every file here */
	uint64_t ops = 0;
	int err = data_copy(d, fd, &st, path, &since, out, &ops);
	close(fd);
	return err;
}

Test(data, copy_is_faithful_sealed_and_keeps_holes)
{
	struct data_store d;
	cr_assert_eq(data_init(&d), 0);
	const char *p = scratch("sparse");
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0640);
	cr_assert(pwrite(fd, "head", 4, 0) == 4 && pwrite(fd, "tail", 4, 3 << 20) == 4);
	close(fd);
	struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
	utimensat(AT_FDCWD, p, old, 0);
	struct data_obj *o = NULL;
	cr_assert_eq(copy_file(&d, p, &o), 0);
	o = data_insert(&d, o);
	struct stat a, b;
	stat(p, &a);
	fstat(o->fd, &b);
	cr_assert_eq(b.st_size, a.st_size);
	cr_assert_eq(b.st_mode & 07777, 0640);
	cr_assert_eq(b.st_mtim.tv_sec, 1600000000);
	cr_assert_lt(b.st_blocks, 64, "holes stay holes (%ld blocks)", (long)b.st_blocks);
	char buf[4];
	int rfd = data_open(&d, o, 0);
	cr_assert(pread(rfd, buf, 4, 3 << 20) == 4 && !memcmp(buf, "tail", 4));
	cr_assert_lt(write(o->fd, "x", 1), 0, "sealed against writes");
	close(rfd);
	cr_assert_eq(data_find(&d, &a), o);
	data_free(&d);
}

Test(data, copy_reads_to_end_of_file_whatever_st_size_says)
{
	struct data_store d;
	data_init(&d);
	const char *p = scratch("grows");
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	cr_assert_eq(write(fd, "generated\n", 10), 10);
	close(fd);
	int pfd = open(p, O_PATH | O_CLOEXEC);
	struct stat st;
	fstat(pfd, &st);
	st.st_size = 0;   /* what a /proc-like FUSE file reports */
	struct data_obj *o = NULL;
	struct timespec since = { 1L << 40, 0 };   /* the job began after every file here */
	uint64_t ops = 0;
	/* The stat we pass differs from the file's in size: the after-copy check refuses it... */
	cr_assert_eq(data_copy(&d, pfd, &st, p, &since, &o, &ops), -EAGAIN);
	/* ...and with the file's own stat, the bytes beyond st_size are copied too. */
	fstat(pfd, &st);
	cr_assert_eq(data_copy(&d, pfd, &st, p, &since, &o, &ops), 0);
	cr_assert_eq(o->size, 10);
	data_release(o);
	close(pfd);
	data_free(&d);
}

Test(data, a_file_changed_since_the_job_began_is_not_copied)
{
	struct data_store d;
	data_init(&d);
	const char *p = scratch("fresh");
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
	cr_assert_eq(write(fd, "x", 1), 1);
	close(fd);
	int pfd = open(p, O_PATH | O_CLOEXEC);
	struct stat st;
	fstat(pfd, &st);
	struct data_obj *o = NULL;
	uint64_t ops = 0;
	cr_assert_eq(data_copy(&d, pfd, &st, p, &st.st_ctim, &o, &ops), -EAGAIN);
	close(pfd);
	data_free(&d);
}

Test(data, copies_beyond_max_bytes_evict_the_least_recently_served)
{
	struct data_store d;
	data_init(&d);
	d.max_bytes = 10000;
	struct data_obj *o[3];
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "big%d", i);
		const char *p = scratch(name);
		int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		char buf[4000];
		memset(buf, 'a' + i, sizeof buf);
		cr_assert_eq(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
		close(fd);
		struct timespec old[2] = { { 1600000000, 0 }, { 1600000000, 0 } };
		utimensat(AT_FDCWD, p, old, 0);
		cr_assert_eq(copy_file(&d, p, &o[i]), 0);
		o[i] = data_insert(&d, o[i]);
	}
	cr_assert_leq(d.bytes, 10000);
	cr_assert_eq(d.files, 2);
	cr_assert_eq(d.evicted, 1);
	data_free(&d);
}

Test(data, inode_set_finds_what_was_added_and_grows)
{
	struct inode_set s = { 0 };
	for (unsigned i = 1; i <= 5000; i++)
		cr_assert_eq(inode_set_add(&s, 7, i * 3), 0);
	cr_assert(inode_set_has(&s, 7, 3));
	cr_assert(inode_set_has(&s, 7, 15000));
	cr_assert_not(inode_set_has(&s, 7, 4));
	cr_assert_not(inode_set_has(&s, 8, 3));
	free(s.items);
}
