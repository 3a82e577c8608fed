/* Reading the caller's strings and writing answers: page-boundary strings, bad pointers
 * and over-long paths give the kernel's own errors, and a stat answer is the kernel's
 * bytes exactly (the layout the cache stores is the one the kernel writes). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tracee_mem.h"

static char *page_pair(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	munmap(p + 4096, 4096);   /* second page unmapped */
	return p;
}

Test(tracee_mem, string_ending_at_a_page_end_is_read)
{
	char *p = page_pair(), buf[64];
	strcpy(p + 4096 - 5, "/abc");
	cr_assert_eq(tracee_read_string(getpid(), (uintptr_t)(p + 4096 - 5), buf, sizeof buf), 4);
	cr_assert_str_eq(buf, "/abc");
	munmap(p, 4096);
}

Test(tracee_mem, string_running_into_an_unmapped_page_is_efault)
{
	char *p = page_pair(), buf[64];
	memset(p + 4096 - 4, 'x', 4);
	cr_assert_eq(tracee_read_string(getpid(), (uintptr_t)(p + 4096 - 4), buf, sizeof buf), -EFAULT);
	munmap(p, 4096);
}

Test(tracee_mem, bad_pointers_are_efault)
{
	char buf[16];
	cr_assert_eq(tracee_read_string(getpid(), 1, buf, sizeof buf), -EFAULT);
	cr_assert_eq(tracee_read(getpid(), 0, buf, 4), -EFAULT);
	cr_assert_eq(tracee_write(getpid(), 8, buf, 4), -EFAULT);
}

Test(tracee_mem, string_without_nul_within_limit_is_enametoolong)
{
	char src[100], buf[16];
	memset(src, 'a', sizeof src);
	src[99] = '\0';
	cr_assert_eq(tracee_read_string(getpid(), (uintptr_t)src, buf, sizeof buf), -ENAMETOOLONG);
}

Test(tracee_mem, write_to_read_only_memory_is_efault_like_the_kernel)
{
	char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct stat st;
	cr_assert_eq(tracee_write(getpid(), (uintptr_t)p, &st, sizeof st), -EFAULT);
	cr_assert_eq(syscall(SYS_newfstatat, AT_FDCWD, "/", p, 0), -1);
	cr_assert_eq(errno, EFAULT);
	munmap(p, 4096);
}

Test(tracee_mem, heads_are_read_in_one_batch_up_to_their_page_end)
{
	/* An environment's strings: short ones whole, long ones cut at the head size, one
	 * ending just before an unmapped page read up to it. */
	char *p = page_pair(), *last = p + 4096 - 6;
	strcpy(p, "HOME=/root");
	memset(p + 100, 'L', 60);
	p[160] = '\0';
	strcpy(last, "PATH=");
	uint64_t addr[] = { (uintptr_t)p, (uintptr_t)(p + 100), (uintptr_t)last };
	char heads[3][TRACEE_HEAD_MAX + 1];
	cr_assert_eq(tracee_read_heads(getpid(), addr, 3, heads), 3);
	cr_assert_str_eq(heads[0], "HOME=/root");
	cr_assert_eq(strnlen(heads[1], sizeof heads[1]), TRACEE_HEAD_MAX);
	cr_assert_str_eq(heads[2], "PATH=");
	munmap(p, 4096);
}

Test(tracee_mem, heads_after_a_bad_pointer_are_left_unread)
{
	char ok[] = "LD_LIBRARY_PATH=/x";
	uint64_t addr[70];
	char heads[70][TRACEE_HEAD_MAX + 1];
	for (int i = 0; i < 70; i++)
		addr[i] = (uintptr_t)ok;
	addr[66] = 8;   /* in the second batch: the first 66 are read, the rest left */
	cr_assert_eq(tracee_read_heads(getpid(), addr, 70, heads), 66);
	cr_assert_str_eq(heads[65], ok);
	addr[0] = 8;
	cr_assert_eq(tracee_read_heads(getpid(), addr, 70, heads), -EFAULT);
}

Test(tracee_mem, an_array_read_stops_at_its_page_end)
{
	char *p = page_pair();
	uint64_t buf[8];
	cr_assert_eq(tracee_read_page(getpid(), (uintptr_t)(p + 4096 - 16), buf, sizeof buf), 16);
	cr_assert_eq(tracee_read_page(getpid(), (uintptr_t)(p + 4096), buf, sizeof buf), -EFAULT);
	munmap(p, 4096);
}

Test(stat_encoding, stored_stat_bytes_equal_what_the_kernel_writes)
{
	/* The cache stores newfstatat's struct and replays it for stat, lstat and newfstatat:
	 * all three must write the very same bytes. */
	struct stat a, b, c;
	memset(&a, 0xa5, sizeof a);
	memset(&b, 0x5a, sizeof b);
	memset(&c, 0x33, sizeof c);
	cr_assert_eq(sizeof a, 144, "x86_64 kernel struct stat");
	cr_assert_eq(syscall(SYS_newfstatat, AT_FDCWD, "/usr/bin", &a, 0), 0);
	cr_assert_eq(syscall(SYS_stat, "/usr/bin", &b), 0);
	cr_assert_eq(syscall(SYS_lstat, "/usr/bin", &c), 0);
	cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
	cr_assert_eq(memcmp(&a, &c, sizeof a), 0);
	char copy[sizeof a];
	cr_assert_eq(tracee_write(getpid(), (uintptr_t)copy, &a, sizeof a), 0);
	cr_assert_eq(memcmp(copy, &a, sizeof a), 0);
}

Test(stat_encoding, statx_struct_is_the_kernel_size)
{
	struct statx sx;
	cr_assert_eq(sizeof sx, 256);
	cr_assert_eq(syscall(SYS_statx, AT_FDCWD, "/", 0, STATX_BASIC_STATS, &sx), 0);
	cr_assert(sx.stx_mask & STATX_INO);
}
