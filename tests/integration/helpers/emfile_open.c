/* Test helper (faults.sh): open(PATH, O_WRONLY|O_CREAT) with no descriptor left. Lowers
 * RLIMIT_NOFILE to 32, fills the table with dup(), then opens PATH: natively EMFILE and
 * nothing is created (the kernel finds no free descriptor before it looks the path up).
 * Prints the result only; the caller checks the file system afterwards.
 * Usage: emfile_open PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	struct rlimit rl = { 32, 32 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return perror("setrlimit"), 3;
	int n = 0;
	while (dup(0) >= 0)
		n++;
	if (errno != EMFILE)
		return perror("dup"), 3;
	errno = 0;
	long fd = syscall(SYS_openat, AT_FDCWD, argv[1], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int e = errno;
	close(3); /* room for stdio */
	printf("table full after %s dups; open(O_WRONLY|O_CREAT) = %ld %s\n", n > 0 ? "some" : "no", fd,
	       fd < 0 ? strerrorname_np(e) : "");
	return 0;
}
