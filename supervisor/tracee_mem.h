/* Reading and writing a stopped caller's memory. Errors are the errno the kernel itself
 * would give for the same pointer (EFAULT), so a handler can pass the call on unchanged. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Copy the NUL-terminated string at addr (at most size bytes incl. NUL) into buf.
 * Returns its length, -EFAULT for a bad pointer, -ENAMETOOLONG if no NUL within size,
 * -ESRCH/-EPERM if the caller cannot be read. */
ssize_t tracee_read_string(pid_t pid, uint64_t addr, char *buf, size_t size);
/* Exactly len bytes from addr, or -errno. */
int tracee_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* Exactly len bytes to addr, or -errno (a partial write counts as -EFAULT). */
int tracee_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
/* Up to n bytes at addr, stopping at the end of addr's page: the number read (0 if none),
 * or -errno. For reading arrays whose end is not known in advance (an envp). */
ssize_t tracee_read_page(pid_t pid, uint64_t addr, void *buf, size_t n);
/* The first bytes of each of n strings, in one system call: heads[i] gets what lies from
 * addr[i] up to HEAD_MAX bytes or the end of its page, whichever comes first, NUL-padded
 * (so a string shorter than that reads whole). Returns how many heads were read: those
 * after a bad pointer are left for the caller to read one by one. */
#define TRACEE_HEAD_MAX 32
ssize_t tracee_read_heads(pid_t pid, const uint64_t *addr, size_t n, char (*heads)[TRACEE_HEAD_MAX + 1]);
