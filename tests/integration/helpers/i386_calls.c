/* Test helper: file calls made through the i386 ABI (int 0x80) from a 64-bit process,
 * mixed with native ones. collrun must trap them, never serve them, and treat an i386
 * rename as a change to the name space (its cached answers for both names are dropped).
 * Usage: i386_calls DIR   (DIR holds a file "a"; it is renamed to "b") */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static long i386_call(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static void native_stat(const char *path)
{
	struct stat st;
	long r = syscall(SYS_stat, path, &st);
	printf("stat %s: %s\n", strrchr(path, '/') + 1, r == 0 ? "exists" : "missing");
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	/* int 0x80 takes 32-bit pointers: strings go in the low 4 GiB. */
	char *low = mmap((void *)0x10000000, 8192, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return perror("mmap"), 1;
	char *a = low, *b = low + 4096;
	snprintf(a, 4096, "%s/a", argv[1]);
	snprintf(b, 4096, "%s/b", argv[1]);
	native_stat(a);
	native_stat(b);
	long fd = i386_call(5 /* open */, (long)a, 0, 0);
	printf("i386 open a: %s\n", fd >= 0 ? "ok" : "failed");
	if (fd >= 0)
		i386_call(6 /* close */, fd, 0, 0);
	printf("i386 rename a b: %ld\n", i386_call(38 /* rename */, (long)a, (long)b, 0));
	native_stat(a);
	native_stat(b);
	printf("i386 open a again: %ld\n", i386_call(5, (long)a, 0, 0));
	return 0;
}
