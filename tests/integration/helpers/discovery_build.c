/* Test helper (discovery.sh): a build step that writes into the folder next to its own
 * library (DIR, found through its RUNPATH), the way build output lands beside the libraries
 * of an install tree. Every step prints what it saw; natively and under collrun the lines
 * must be the same:
 *   1. DIR/out.o does not exist yet (stat), then is created, written, and found (stat, size)
 *      and read back; it shows in a listing of DIR (readdir)
 *   2. DIR/stamp is read, rewritten in place (O_TRUNC) with other bytes, and read again
 *   3. DIR/child.o does not exist; a child process (/bin/sh) creates it; the parent then
 *      finds it and reads it
 *   4. DIR/sub does not exist; it is made (mkdir), DIR/sub/x created and read back
 * Usage: discovery_build DIR (prints "build ok VALUE" first, VALUE from its library). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int dep_value(void);

static char path[4096];

static const char *at(const char *dir, const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void look(const char *dir, const char *name)
{
	struct stat st;
	if (stat(at(dir, name), &st) == 0)
		printf("stat %s: exists, %lld bytes\n", name, (long long)st.st_size);
	else
		printf("stat %s: %s\n", name, strerror(errno));
	printf("access %s: %s\n", name, access(at(dir, name), F_OK) == 0 ? "ok" : strerror(errno));
}

static void put(const char *dir, const char *name, const char *text)
{
	int fd = open(at(dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("create %s: %s\n", name, strerror(errno));
		return;
	}
	ssize_t n = write(fd, text, strlen(text));
	printf("write %s: %zd bytes\n", name, n);
	close(fd);
}

static void get(const char *dir, const char *name)
{
	char buf[256];
	int fd = open(at(dir, name), O_RDONLY);
	if (fd < 0) {
		printf("read %s: %s\n", name, strerror(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	printf("read %s: %s", name, buf);
	if (n <= 0 || buf[n - 1] != '\n')
		printf("\n");
}

static void listed(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;
	if (!d) {
		printf("list: %s\n", strerror(errno));
		return;
	}
	while ((e = readdir(d)))
		seen |= strcmp(e->d_name, name) == 0;
	closedir(d);
	printf("listing shows %s: %s\n", name, seen ? "yes" : "no");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: discovery_build DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	printf("build ok %d\n", dep_value());

	look(dir, "out.o");
	listed(dir, "out.o");
	put(dir, "out.o", "object 1\n");
	look(dir, "out.o");
	get(dir, "out.o");
	listed(dir, "out.o");

	get(dir, "stamp");
	put(dir, "stamp", "stamp after the build, longer than before\n");
	look(dir, "stamp");
	get(dir, "stamp");

	look(dir, "child.o");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "echo 'written by a child' >\"$0\"", at(dir, "child.o"), (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	look(dir, "child.o");
	get(dir, "child.o");

	look(dir, "sub");
	look(dir, "sub/x");
	printf("mkdir sub: %s\n", mkdir(at(dir, "sub"), 0755) == 0 ? "ok" : strerror(errno));
	look(dir, "sub");
	put(dir, "sub/x", "in a new folder\n");
	look(dir, "sub/x");
	get(dir, "sub/x");
	return 0;
}
