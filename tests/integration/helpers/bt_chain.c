/* backtrace_test's probe: open(argv[1]) is called through main -> outer -> middle -> inner,
 * so a walk stopped at that openat must show inner, middle, outer, main in that order.
 * noinline keeps each a frame of its own; using each callee's result (+1) keeps the calls
 * from becoming tail jumps, which would drop the caller's frame. Built dynamic and static.
 * With a second argument "jit": main -> via_jit -> (code in an anonymous mapping, as a JIT
 * makes, with no unwind information) -> inner, for the walk past a frame that has none.
 * With "bare": openat made by on_bare_stack with rsp on a fresh zeroed stack and rbp 0, so
 * the walk cannot go past that first frame. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

/* push rbp; mov rbp, rsp; call rsi; pop rbp; ret: a frame-pointer frame, as JITs emit. */
static const unsigned char jit_code[] = { 0x55, 0x48, 0x89, 0xe5, 0xff, 0xd6, 0x5d, 0xc3 };

__attribute__((noinline)) int via_jit(const char *path)
{
	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	memcpy(m, jit_code, sizeof jit_code);
	if (mprotect(m, 4096, PROT_READ | PROT_EXEC) < 0)
		return -1;
	int (*fn)(const char *, int (*)(const char *)) = (int (*)(const char *, int (*)(const char *)))m;
	return fn(path, inner) + 1;
}

__attribute__((noinline)) long on_bare_stack(const char *path)
{
	char *stk = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (stk == MAP_FAILED)
		return -1;
	long ret;
	asm volatile("mov %%rsp, %%r12\n\t"
		     "mov %%rbp, %%r13\n\t"
		     "mov %[top], %%rsp\n\t"
		     "xor %%ebp, %%ebp\n\t"
		     "syscall\n\t"
		     "mov %%r12, %%rsp\n\t"
		     "mov %%r13, %%rbp\n\t"
		     : "=a"(ret)
		     : "a"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(path), "d"((long)O_RDONLY),
		       [top] "r"(stk + 65536 - 64)
		     : "rcx", "r11", "r12", "r13", "memory");
	if (ret >= 0)
		close(ret);
	return ret + 1;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/null";
	const char *mode = argc > 2 ? argv[2] : "";
	long r = strcmp(mode, "jit") == 0 ? via_jit(path) : strcmp(mode, "bare") == 0 ? on_bare_stack(path)
		: outer(path);
	printf("%ld\n", r);
	return 0;
}
