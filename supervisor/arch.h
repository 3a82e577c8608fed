/* Arch- and kernel-version facts in one place: the ABI collrun serves (x86_64), and
 * constants newer than Debian 12's headers. Nothing else in the tree hard-codes these. */
#pragma once
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#define COLLRUN_NATIVE_ARCH AUDIT_ARCH_X86_64
#define COLLRUN_X32_BIT     0x40000000u   /* __X32_SYSCALL_BIT: x32 calls arrive as x86_64 */
#define COLLRUN_MAX_NR      512           /* native syscall numbers are below this */

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/* Linux 6.6: answer on the waker's CPU (cross-CPU wake costs 70-90 us in this VM). */
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
/* Linux 5.19: once a notification is received the caller waits killably, not interruptibly. */
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
/* Linux 6.3: memfd that may be mapped PROT_EXEC even under vm.memfd_noexec. */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* x86_64 kernels force O_LARGEFILE on every open; glibc defines it as 0 here. */
#define KERNEL_O_LARGEFILE 0100000

/* The ptrace backend's view of a stopped thread (tracer.c): x86_64 registers. */
#define REG_NR(r)    ((r).orig_rax)   /* -1 at a seccomp stop: skip the call */
#define REG_RET(r)   ((r).rax)
#define REG_ARG0(r)  ((r).rdi)
#define REG_ARG1(r)  ((r).rsi)
#define REG_ARG2(r)  ((r).rdx)
#define REG_ARG3(r)  ((r).r10)
#define REG_ARG4(r)  ((r).r8)
#define REG_IP(r)    ((r).rip)
#define REG_SP(r)    ((r).rsp)
#define SYSCALL_INSN_LEN 2            /* "syscall" (0f 05): rewinding restarts the call */
#define STACK_RED_ZONE 128            /* below the stack pointer, the leaf code's scratch */
