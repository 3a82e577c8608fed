/* backtrace_test's probe: open(argv[1]) is called through main -> outer -> middle -> inner,
 * so a walk stopped at that openat must show inner, middle, outer, main in that order.
 * noinline keeps each a frame of its own; using each callee's result (+1) keeps the calls
 * from becoming tail jumps, which would drop the caller's frame. Built dynamic and static. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int inner(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return fd + 1;
}

__attribute__((noinline)) int middle(const char *path)
{
	return inner(path) + 1;
}

__attribute__((noinline)) int outer(const char *path)
{
	return middle(path) + 1;
}

int main(int argc, char **argv)
{
	int r = outer(argc > 1 ? argv[1] : "/dev/null");
	printf("%d\n", r);
	return 0;
}
