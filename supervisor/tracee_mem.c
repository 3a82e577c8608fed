/* process_vm_readv/writev on the caller. Strings are read a page at a time so a path that
 * ends just before an unmapped page is still read, exactly as the kernel's strncpy_from_user
 * would. */
#include "tracee_mem.h"
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096u

static ssize_t vm_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	return n < 0 ? -errno : n;
}

/* At most n bytes from addr, up to the end of addr's page. */
static size_t to_page_end(uint64_t addr, size_t n)
{
	size_t left = PAGE - addr % PAGE;
	return n < left ? n : left;
}

ssize_t tracee_read_string(pid_t pid, uint64_t addr, char *buf, size_t size)
{
	size_t got = 0;
	while (got < size) {
		size_t chunk = to_page_end(addr + got, size - got);
		ssize_t n = vm_read(pid, addr + got, buf + got, chunk);
		if (n < 0)
			return n;
		if (n == 0)
			return -EFAULT;
		char *nul = memchr(buf + got, '\0', n);
		if (nul)
			return nul - buf;
		got += n;
		if ((size_t)n < chunk)
			return -EFAULT;
	}
	return -ENAMETOOLONG;
}

int tracee_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	ssize_t n = vm_read(pid, addr, buf, len);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EFAULT;
}

ssize_t tracee_read_page(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	return vm_read(pid, addr, buf, to_page_end(addr, n));
}

ssize_t tracee_read_heads(pid_t pid, const uint64_t *addr, size_t n, char (*heads)[TRACEE_HEAD_MAX + 1])
{
	enum { BATCH = 64 };   /* well under IOV_MAX */
	size_t done = 0;
	while (done < n) {
		struct iovec local[BATCH], remote[BATCH];
		size_t k = n - done < BATCH ? n - done : BATCH;
		for (size_t i = 0; i < k; i++) {
			uint64_t a = addr[done + i];
			size_t len = to_page_end(a, TRACEE_HEAD_MAX);
			memset(heads[done + i], 0, TRACEE_HEAD_MAX + 1);
			local[i] = (struct iovec){ heads[done + i], len };
			remote[i] = (struct iovec){ (void *)(uintptr_t)a, len };
		}
		ssize_t got = process_vm_readv(pid, local, k, remote, k, 0);
		if (got < 0)
			return done ? (ssize_t)done : -errno;
		/* A partial transfer stops at the first iovec that could not be read whole. */
		for (size_t i = 0; i < k; i++) {
			if ((size_t)got < local[i].iov_len)
				return done + i;
			got -= local[i].iov_len;
		}
		done += k;
	}
	return done;
}

int tracee_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}
