/* The argument decoders of --audit (audit_args.c) and the growing line buffer they write
 * into. Internal to audit.c and audit_args.c. */
#pragma once
#include "call.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A line being built. Writes past cap are counted but dropped: the caller checks
 * len < cap and, if not, grows and builds again (lines are rarely long). */
struct abuf {
	char *p;
	size_t len, cap;
	bool json;   /* values as JSON (strings quoted and escaped as JSON), else as strace */
};

void ab_putc(struct abuf *b, char ch);
void ab_puts(struct abuf *b, const char *s);
void ab_printf(struct abuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* len bytes as a quoted string: strace's escapes (text), or JSON's (\u00XX for every byte
 * outside printable ASCII, one per byte, so that any path comes back byte for byte). */
void ab_quote(struct abuf *b, const char *s, size_t len);

/* The decoded arguments of c, separated by ", " (text) or "," (JSON array elements),
 * without the parentheses or brackets. Path arguments the handler did not read are read
 * from the caller's memory now (best effort: an address if it is gone). */
void audit_args(struct abuf *b, const struct call *c);
/* Decoders, exported for the unit test of the audit format. */
void audit_open_flags(struct abuf *b, uint64_t flags);
