/* User-facing messages: one format, one stream (stderr), written in one write(2) so lines
 * from collrun never interleave mid-line with the program's own output. */
#include "log.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int log_verbosity;

static void emit(const char *fmt, va_list ap, int err)
{
	char line[8192];
	int n = snprintf(line, sizeof line, "collrun: ");
	n += vsnprintf(line + n, sizeof line - n, fmt, ap);
	if (n >= (int)sizeof line - 1)
		n = sizeof line - 2;
	if (err)
		n += snprintf(line + n, sizeof line - n, ": %s", strerror(-err));
	if (n >= (int)sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	int saved = errno;
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
	errno = saved;
}

void log_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0);
	va_end(ap);
}

int log_err(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, err);
	va_end(ap);
	return err;
}

void log_trace(int level, const char *fmt, ...)
{
	if (log_verbosity < level)
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(fmt, ap, 0);
	va_end(ap);
}

void log_line(const char *line)
{
	char buf[8192];
	int n = snprintf(buf, sizeof buf, "%s\n", line);
	if (n >= (int)sizeof buf)
		n = sizeof buf - 1, buf[n - 1] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, n);
	(void)w;
}
