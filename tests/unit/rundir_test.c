/* The rendezvous directory (rendezvous.h): only a private directory of ours is used (not a
 * link, not another user's, not one others may enter); where it is looked for; and the
 * election's lock leaves nothing behind and survives a removal while waited for. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "rendezvous.h"

static char base[256];

static void setup(void)
{
	const char *b = getenv("BUILD");
	snprintf(base, sizeof base, "%s/rundir-test.XXXXXX", b && b[0] == '/' ? b : "/tmp");
	cr_assert_not_null(mkdtemp(base));
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(rundir, .init = setup, .fini = teardown);

static const char *path(const char *name)
{
	static char p[2][512];
	static int i;
	i ^= 1;
	snprintf(p[i], sizeof p[i], "%s/%s", base, name);
	return p[i];
}

Test(rundir, private_directory_of_ours_only)
{
	cr_assert_eq(mkdir(path("ok"), 0700), 0);
	cr_assert_eq(rundir_check(path("ok"), getuid()), 0);
	cr_assert_eq(mkdir(path("open"), 0700), 0);
	cr_assert_eq(chmod(path("open"), 0755), 0);
	cr_assert_eq(rundir_check(path("open"), getuid()), -EACCES);
	cr_assert_eq(chmod(path("open"), 0710), 0);
	cr_assert_eq(rundir_check(path("open"), getuid()), -EACCES);
	cr_assert_eq(symlink(path("ok"), path("link")), 0);
	cr_assert_eq(rundir_check(path("link"), getuid()), -ELOOP);
	int fd = open(path("file"), O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(rundir_check(path("file"), getuid()), -ENOTDIR);
	cr_assert_eq(rundir_check(path("missing"), getuid()), -ENOENT);
	cr_assert_eq(rundir_check(path("ok"), getuid() + 1), -EPERM);   /* another user's */
}

Test(rundir, open_creates_it_private_and_refuses_a_link)
{
	umask(0);   /* even so: 0700 */
	int fd = rundir_open(path("new"), getuid());
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	close(fd);
	cr_assert_eq(symlink(path("new"), path("link")), 0);
	cr_assert_eq(rundir_open(path("link"), getuid()), -ELOOP);
	cr_assert_eq(mkdir(path("shared"), 0777), 0);
	cr_assert_eq(chmod(path("shared"), 0777), 0);
	cr_assert_eq(rundir_open(path("shared"), getuid()), -EACCES);
}

static const char *env_override, *env_xdg;
static const char *fake(const char *name)
{
	if (strcmp(name, "COLLRUN_RUNTIME_DIR") == 0)
		return env_override;
	if (strcmp(name, "XDG_RUNTIME_DIR") == 0)
		return env_xdg;
	return NULL;
}

Test(rundir, pick_override_then_private_xdg_then_shm)
{
	char out[256], want[300];
	env_override = "/some/where";
	cr_assert_eq(rundir_pick(fake, getuid(), out, sizeof out), 0);
	cr_assert_str_eq(out, "/some/where");
	env_override = NULL;
	cr_assert_eq(mkdir(path("xdg"), 0700), 0);
	env_xdg = path("xdg");
	cr_assert_eq(rundir_pick(fake, getuid(), out, sizeof out), 0);
	snprintf(want, sizeof want, "%s/collrun", path("xdg"));
	cr_assert_str_eq(out, want);
	cr_assert_eq(chmod(path("xdg"), 0755), 0);   /* not private: not used */
	cr_assert_eq(rundir_pick(fake, getuid(), out, sizeof out), 0);
	struct stat st;
	snprintf(want, sizeof want, "%s/collrun-%u", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp",
		 (unsigned)getuid());
	cr_assert_str_eq(out, want);
	env_xdg = NULL;
	cr_assert_eq(rundir_pick(fake, getuid(), out, sizeof out), 0);
	cr_assert_str_eq(out, want);
}

Test(rundir, lock_and_socket_leave_nothing_behind)
{
	struct rendezvous r;
	cr_assert_eq(rendezvous_init(&r, path("rd"), "hydra:1.2@node:0"), 0);
	int lock = rendezvous_lock(&r);
	cr_assert_geq(lock, 0);
	cr_assert_eq(rendezvous_connect(&r), -ENOENT);   /* nobody serves: the caller is elected */
	int s = rendezvous_listen(&r);
	cr_assert_geq(s, 0);
	int c = rendezvous_connect(&r);
	cr_assert_geq(c, 0);
	close(c);
	close(s);
	cr_assert_eq(rendezvous_connect(&r), -ECONNREFUSED);   /* a dead supervisor's socket */
	rendezvous_remove_socket(&r);
	rendezvous_unlock_remove(&r, lock);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", path("rd"));
	cr_assert_eq(system(cmd), 0);
	/* A lock whose file was removed meanwhile is not held: the next one is a new file. */
	int a = rendezvous_lock(&r);
	cr_assert_geq(a, 0);
	rendezvous_unlock_remove(&r, a);
	int b = rendezvous_lock(&r);
	cr_assert_geq(b, 0);
	rendezvous_unlock_remove(&r, b);
	rendezvous_close(&r);
}

Test(rundir, long_directory_refused_before_any_socket)
{
	struct rendezvous r;
	char dir[200];
	memset(dir, 'd', sizeof dir - 1);
	dir[0] = '/';
	dir[sizeof dir - 1] = '\0';
	cr_assert_eq(rendezvous_init(&r, dir, "k"), -ENAMETOOLONG);
}
