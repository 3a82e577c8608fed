/* Reading a process's small /proc files (status, stat): one read, NUL-terminated. */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* /proc/PID/NAME into buf; its length, or -errno. */
int proc_read(pid_t pid, const char *name, char *buf, size_t size);
