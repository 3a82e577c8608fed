/* Builds the seccomp program from the syscall table with libseccomp (arch handling,
 * argument tests such as "not the AT_EMPTY_PATH fstat form"), then exports the raw BPF so
 * the shim can install it with flags Debian's libseccomp 2.5.4 does not know
 * (NEW_LISTENER | WAIT_KILLABLE_RECV). i386 and x32 calls are trapped by the same names
 * and handled (never silently allowed). */
#include "filter_prebuilt.h"
#include "shim.h"
#include "syscall_table.h"
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int add_row(scmp_filter_ctx ctx, const struct syscall_desc *d, uint32_t act)
{
	int nr = seccomp_syscall_resolve_name(d->name);
	if (nr == __NR_SCMP_ERROR)
		nr = d->nr;   /* newer than libseccomp: native arch only */
	switch (d->cond) {
	case TRAP_ALWAYS:
		return seccomp_rule_add(ctx, act, nr, 0);
	case TRAP_UNLESS_FLAG:
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_CMP(d->cond_arg, SCMP_CMP_MASKED_EQ, d->cond_mask, 0));
	case TRAP_IF_FLAG:
		for (unsigned long bit = 1; bit; bit <<= 1) {
			if (!(d->cond_mask & bit))
				continue;
			int r = seccomp_rule_add(ctx, act, nr, 1,
						 SCMP_CMP(d->cond_arg, SCMP_CMP_MASKED_EQ, bit, bit));
			if (r < 0)
				return r;
		}
		return 0;
	}
	return -EINVAL;
}

int shim_kernel_support(void)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return -errno;
	return 0;
}

int shim_compile_filter(struct sock_fprog *prog, bool redirects, bool trace)
{
	uint32_t act = trace ? SCMP_ACT_TRACE(0) : SCMP_ACT_NOTIFY;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/* A binary tree of syscall numbers rather than libseccomp's default list: the kernel
	 * runs the program for every syscall number when it is installed (to find those it
	 * may always allow), and a list of ~150 tests made that 0.4 ms of every launch; the
	 * tree costs a third of it, and fewer tests on each call that is not always allowed.
	 * Older libseccomp lacks the attribute: the list then, as before. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	int err = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (!err)
		err = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	for (size_t i = 0; !err && i < syscall_table_len; i++)
		if (syscall_row_wanted(&syscall_table[i], redirects))
			err = add_row(ctx, &syscall_table[i], act);
	/* i386 calls with no native twin of their name (truncate64, chown32, setuid32...):
	 * trapped like the row they alias, so a 32-bit helper cannot change files unseen. */
	for (const struct foreign_alias *a = foreign_aliases; !err && a->name; a++) {
		/* Not a native name: libseccomp gives a pseudo number it maps per arch. */
		int nr = seccomp_syscall_resolve_name(a->name);
		if (nr != __NR_SCMP_ERROR && nr < 0)
			err = seccomp_rule_add(ctx, act, nr, 0);
	}
	int fd = -1;
	if (!err) {
		fd = memfd_create("collrun-bpf", MFD_CLOEXEC);
		err = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	}
	seccomp_release(ctx);
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	void *buf = size > 0 ? malloc(size) : NULL;
	if (!buf || pread(fd, buf, size, 0) != size) {
		free(buf);
		close(fd);
		return -EIO;
	}
	close(fd);
	prog->len = size / sizeof(struct sock_filter);
	prog->filter = buf;
	return 0;
}

int shim_build_filter(struct sock_fprog *prog, bool redirects)
{
	const struct shim_prebuilt *p = shim_prebuilt ? &shim_prebuilt[redirects] : NULL;
	if (!p || !p->len)
		return shim_compile_filter(prog, redirects, false);
	prog->filter = malloc(p->len * sizeof *p->insns);
	if (!prog->filter)
		return -ENOMEM;
	memcpy(prog->filter, p->insns, p->len * sizeof *p->insns);
	prog->len = p->len;
	return 0;
}
