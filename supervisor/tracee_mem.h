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
