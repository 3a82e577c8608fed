/* A fill's look-up without a descriptor (fill_lookup_nofd, local file systems) finds what
 * the look-up with one finds: the same identity and attributes for a plain file, the same
 * errno for a missing or unreachable name; directories and links still come back with
 * their descriptor (and a link with its body), as fill_lookup gives them. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fill.h"

static int dfd = -1;
static char dir[512];

/* In the build folder tests/run.sh names (BUILD), which need not be ./build; one folder
 * per test process (Criterion runs tests at once). */
static void setup(void)
{
	const char *b = getenv("BUILD");
	snprintf(dir, sizeof dir, "%s/tests/unit-scratch/fill.%d", b && b[0] ? b : "build", (int)getpid());
	char cmd[3000];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/sub' && echo hello > '%s/file' && ln -s file '%s/link' "
		 "&& mkfifo '%s/fifo'", dir, dir, dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	cr_assert_geq(dfd, 0);
}

static void teardown(void)
{
	char cmd[600];
	close(dfd);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

static uint64_t mnt_of(int fd)
{
	struct found f;
	cr_assert_eq(fill_ident(fd, &f), 0);
	return f.id.mnt;
}

TestSuite(fill, .init = setup, .fini = teardown);

Test(fill, a_plain_file_is_found_without_a_descriptor_with_the_same_identity_and_stat)
{
	const char *names[] = { "file", "fifo" };
	for (size_t i = 0; i < 2; i++) {
		struct found a, b;
		uint64_t ops = 0;
		int fd = fill_lookup(dfd, names[i], strlen(names[i]), &a, &ops);
		cr_assert_geq(fd, 0);
		close(fd);
		cr_assert_eq(fill_lookup_nofd(dfd, names[i], strlen(names[i]), mnt_of(dfd), &b, &ops), FILL_NOFD, "%s",
			     names[i]);
		cr_assert_eq(ops, 2, "one file-system operation each");
		cr_assert(b.fresh && b.basic);
		cr_assert_eq(a.id.mnt, b.id.mnt);
		cr_assert_eq(a.id.dev, b.id.dev);
		cr_assert_eq(a.id.ino, b.id.ino);
		cr_assert_eq(a.mode, b.mode);
		cr_assert_eq(memcmp(&a.st, &b.st, sizeof a.st), 0, "%s: the stat a look-up brings in", names[i]);
		cr_assert_null(b.target);
	}
}

Test(fill, a_directory_or_a_link_comes_back_with_its_descriptor)
{
	struct found f;
	uint64_t ops = 0;
	int fd = fill_lookup_nofd(dfd, "sub", 3, mnt_of(dfd), &f, &ops);
	cr_assert(fd >= 0 && fd != FILL_NOFD);
	cr_assert(S_ISDIR(f.mode));
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_ino, f.id.ino, "the descriptor is of the directory found");
	close(fd);
	fd = fill_lookup_nofd(dfd, "link", 4, mnt_of(dfd), &f, &ops);
	cr_assert(fd >= 0 && fd != FILL_NOFD);
	cr_assert(S_ISLNK(f.mode));
	cr_assert_str_eq(f.target, "file", "the link's body is read");
	cr_assert_eq(f.tlen, 4);
	free(f.target);
	close(fd);
}

Test(fill, a_file_on_another_mount_than_the_directory_named_is_looked_up_with_its_descriptor)
{
	struct found f;
	uint64_t ops = 0;
	int fd = fill_lookup_nofd(dfd, "file", 4, mnt_of(dfd) + 1, &f, &ops);
	cr_assert(fd >= 0 && fd != FILL_NOFD);
	cr_assert(S_ISREG(f.mode));
	close(fd);
}

Test(fill, missing_names_give_the_errno_of_the_lookup_with_a_descriptor)
{
	const char *names[] = { "nothing", "file/below", "sub/../nothing" };
	int want[] = { ENOENT, ENOTDIR, ENOENT };
	for (size_t i = 0; i < 3; i++) {
		struct found f;
		uint64_t ops = 0;
		cr_assert_eq(fill_lookup(dfd, names[i], strlen(names[i]), &f, &ops), -want[i], "%s", names[i]);
		cr_assert_eq(fill_lookup_nofd(dfd, names[i], strlen(names[i]), mnt_of(dfd), &f, &ops), -want[i], "%s",
			     names[i]);
	}
	char longname[300];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	struct found f;
	uint64_t ops = 0;
	cr_assert_eq(fill_lookup_nofd(dfd, longname, strlen(longname), mnt_of(dfd), &f, &ops), -ENAMETOOLONG);
}
