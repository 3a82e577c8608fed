/* The one place that turns an error into a line for the user. Everything else returns
 * -errno and lets its caller decide whether that is worth a message. */
#pragma once
#include <stdarg.h>

extern int log_verbosity;   /* -v count */

/* "collrun: <fmt>\n" on stderr. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "collrun: <what>: <strerror(-err)>\n" on stderr; returns err for chaining. */
int log_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A message that already names its place ("FILE:LINE:COL: message"), printed as is. */
void log_line(const char *line);
/* Decision trace for -v; a no-op unless verbosity >= level. */
void log_trace(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
