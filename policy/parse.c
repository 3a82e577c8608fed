/* Policy text -> rules. One directive per line:
 *   cache PATTERN | pass PATTERN | deny PATTERN ERRNO | redirect FROM TO
 *   library NAME PATH | hide NAME | include FILE
 * "#" starts a comment where a token could start; tokens are separated by blanks and may
 * be double-quoted ("a b", with \" and \\). ${VAR} and ${VAR:-default} expand inside
 * tokens; an unset ${VAR} is an error, while a rule in which a ${VAR:-...} comes out
 * empty is skipped (so an unset LD_LIBRARY_PATH adds no rule). A pattern that came from
 * an expansion is a list: one rule per absolute element (relative ones and "/" are
 * dropped, so PYTHONPATH=src adds nothing instead of failing). Every error stops the parse with
 * "FILE:LINE:COL: message". The parser does no I/O: includes come through env->load. */
#include "policy.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 8
#define MAX_EXPANDED (POL_MAX_LINE * 4)

struct token {
	char text[MAX_EXPANDED];
	int col;
	bool emptied;   /* some ${VAR:-...} came out empty */
	bool list;      /* some expansion held ':' */
};

struct parser {
	struct policy *p;
	const struct pol_env *env;
	char *msg;
	size_t msgsize;
	const char *stack[POL_MAX_INCLUDE_DEPTH + 1];   /* canonical names being parsed */
	int depth;
};

static int fail(struct parser *ps, const char *name, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(ps->msg, ps->msgsize, "%s:%d:%d: ", name, line, col);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < ps->msgsize)
		vsnprintf(ps->msg + n, ps->msgsize - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int pol_errno_from_name(const char *name)
{
	/* Second names of one errno: strerrorname_np() only ever returns the first. */
	static const struct { const char *name; int e; } aliases[] = {
		{ "EWOULDBLOCK", EWOULDBLOCK }, { "ENOTSUP", ENOTSUP }, { "EDEADLOCK", EDEADLOCK },
	};
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (strcmp(aliases[i].name, name) == 0)
			return aliases[i].e;
	for (int e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);
		if (n && strcmp(n, name) == 0)
			return e;
	}
	return -1;
}

/* Expand ${...} at s (pointing at '$'); append to t. Returns chars consumed or -1. */
static int expand(struct parser *ps, const char *s, const char *end, struct token *t, size_t *len,
		  const char *name, int line, int col)
{
	const char *close = memchr(s, '}', end - s);
	if (!close)
		return fail(ps, name, line, col, "unterminated ${ (missing '}')"), -1;
	const char *v = s + 2, *sep = NULL;
	for (const char *q = v; q + 1 < close; q++)
		if (q[0] == ':' && q[1] == '-') {
			sep = q;
			break;
		}
	const char *vend = sep ? sep : close;
	char var[256];
	size_t vn = vend - v;
	if (vn == 0 || vn >= sizeof var)
		return fail(ps, name, line, col, "bad variable name in ${...}"), -1;
	memcpy(var, v, vn);
	var[vn] = '\0';
	for (size_t i = 0; i < vn; i++) {
		char c = var[i];
		if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i && c >= '0' && c <= '9')))
			return fail(ps, name, line, col, "bad variable name '%s'", var), -1;
	}
	const char *val = ps->env && ps->env->getvar ? ps->env->getvar(ps->env->ctx, var) : NULL;
	size_t vl;
	if (sep) {
		if (!val || !*val) {
			val = sep + 2;
			vl = close - val;
		} else {
			vl = strlen(val);
		}
		if (vl == 0)
			t->emptied = true;
	} else {
		if (!val)
			return fail(ps, name, line, col, "undefined variable %s (write ${%s:-} to allow it unset)", var, var), -1;
		vl = strlen(val);
	}
	if (*len + vl >= sizeof t->text)
		return fail(ps, name, line, col, "line too long after expanding ${%s}", var), -1;
	t->list = true;   /* expanded words may be search paths: see add_patterns() */
	memcpy(t->text + *len, val, vl);
	*len += vl;
	return close + 1 - s;
}

/* Split line into tokens. Returns count, or -1 on error (message set). */
static int tokenize(struct parser *ps, const char *line, size_t n, struct token *tok,
		    const char *name, int lineno)
{
	int nt = 0;
	size_t i = 0;
	for (;;) {
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= n || line[i] == '#')
			return nt;
		if (nt == MAX_TOKENS)
			return fail(ps, name, lineno, i + 1, "too many words on one line"), -1;
		struct token *t = &tok[nt++];
		t->col = i + 1;
		t->emptied = t->list = false;
		size_t len = 0;
		bool quoted = false;
		while (i < n && (quoted || (line[i] != ' ' && line[i] != '\t'))) {
			char c = line[i];
			if (c == '"') {
				quoted = !quoted;
				i++;
				continue;
			}
			if (c == '\\' && quoted && i + 1 < n && (line[i + 1] == '"' || line[i + 1] == '\\'))
				c = line[++i];
			else if (c == '$' && i + 1 < n && line[i + 1] == '{') {
				int used = expand(ps, line + i, line + n, t, &len, name, lineno, i + 1);
				if (used < 0)
					return -1;
				i += used;
				continue;
			}
			if (len + 1 >= sizeof t->text)
				return fail(ps, name, lineno, i + 1, "word too long"), -1;
			t->text[len++] = c;
			i++;
		}
		if (quoted)
			return fail(ps, name, lineno, n + 1, "unterminated quote"), -1;
		t->text[len] = '\0';
	}
}

static int include_file(struct parser *ps, const char *file, const char *from, int line, int col);
static int parse_with(struct parser *ps, const char *text, size_t len, const char *name);

/* Add one rule per absolute element of a (possibly list-valued) pattern. */
static int add_patterns(struct parser *ps, enum pol_action a, struct token *pat, const char *target,
			int err, const char *origin, const char *name, int line)
{
	if (!pat->list) {
		if (pat->text[0] != '/')
			return fail(ps, name, line, pat->col, "'%s' is not an absolute path", pat->text);
		int r = policy_add(ps->p, a, pat->text, target, err, origin);
		if (r == -EINVAL)
			return fail(ps, name, line, pat->col, "'%s' cannot be used here", pat->text);
		return r;
	}
	char *save = NULL;
	for (char *e = strtok_r(pat->text, ":", &save); e; e = strtok_r(NULL, ":", &save)) {
		if (e[0] != '/' || strcmp(e, "/") == 0)
			continue;   /* ".", "" and "/" in a search path name no tree worth a rule */
		int r = policy_add(ps->p, a, e, target, err, origin);
		if (r)
			return r == -EINVAL ? fail(ps, name, line, pat->col, "'%s' cannot be used here", e) : r;
		if (a == POL_CACHE)
			ps->p->rules[ps->p->n - 1].flags |= POL_RULE_EXPANDED;
	}
	return 0;
}

/* "discovered [SOURCE...]": the marker, learning from the named sources (none: all). */
static int marker(struct parser *ps, struct token *t, int nt, const char *name, int line)
{
	unsigned sources = nt > 1 ? 0 : POL_SRC_ALL;
	for (int i = 1; i < nt; i++) {
		if (t[i].emptied)
			return 0;   /* an optional variable is unset: this rule does not apply */
		unsigned b = 1;
		while ((b & POL_SRC_ALL) && strcmp(pol_source_name(b), t[i].text))
			b <<= 1;
		if (!(b & POL_SRC_ALL))
			return fail(ps, name, line, t[i].col,
				    "unknown source '%.64s' (expected environment, program, runpath, libraries or python)",
				    t[i].text);
		sources |= b;
	}
	char origin[512];
	snprintf(origin, sizeof origin, "%s:%d", name, line);
	return policy_add_marker(ps->p, sources, origin);
}

static int directive(struct parser *ps, struct token *t, int nt, const char *name, int line, int eol)
{
	static const struct { const char *word; enum pol_action a; int nargs; const char *usage; } dirs[] = {
		{ "cache", POL_CACHE, 1, "cache PATTERN" },
		{ "pass", POL_PASS, 1, "pass PATTERN" },
		{ "deny", POL_DENY, 2, "deny PATTERN ERRNO" },
		{ "redirect", POL_REDIRECT, 2, "redirect FROM TO" },
		{ "library", POL_LIBRARY, 2, "library NAME PATH" },
		{ "hide", POL_HIDE, 1, "hide NAME" },
		{ "include", -1, 1, "include FILE" },
		{ "discovered", POL_DISCOVERED, 0, "discovered [SOURCE...]" },
	};
	int d = -1;
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (strcmp(t[0].text, dirs[i].word) == 0)
			d = i;
	if (d < 0)
		return fail(ps, name, line, t[0].col,
			    "unknown rule '%.64s' (expected cache, pass, deny, redirect, library, hide, discovered or include)", t[0].text);
	if (dirs[d].a == POL_DISCOVERED)
		return marker(ps, t, nt, name, line);
	if (nt - 1 < dirs[d].nargs)
		return fail(ps, name, line, eol, "missing argument: the form is '%s'", dirs[d].usage);
	if (nt - 1 > dirs[d].nargs)
		return fail(ps, name, line, t[dirs[d].nargs + 1].col, "unexpected '%.64s': the form is '%s'",
			    t[dirs[d].nargs + 1].text, dirs[d].usage);
	for (int i = 1; i < nt; i++)
		if (t[i].emptied)
			return 0;   /* an optional variable is unset: this rule does not apply */
	char origin[512];
	snprintf(origin, sizeof origin, "%s:%d", name, line);
	enum pol_action a = dirs[d].a;
	if ((int)a == -1)
		return include_file(ps, t[1].text, name, line, t[1].col);
	switch (a) {
	case POL_CACHE:
	case POL_PASS:
		return add_patterns(ps, a, &t[1], NULL, 0, origin, name, line);
	case POL_DENY: {
		int e = pol_errno_from_name(t[2].text);
		if (e < 0)
			return fail(ps, name, line, t[2].col, "unknown errno name '%.64s' (e.g. EACCES, ENOENT, EPERM)", t[2].text);
		return add_patterns(ps, a, &t[1], NULL, e, origin, name, line);
	}
	case POL_REDIRECT:
		if (t[1].text[0] != '/' || strpbrk(t[1].text, "*?[\\"))
			return fail(ps, name, line, t[1].col, "redirect FROM must be an absolute path without * ? [ \\");
		if (t[2].text[0] != '/')
			return fail(ps, name, line, t[2].col, "redirect TO must be an absolute path");
		return policy_add(ps->p, a, t[1].text, t[2].text, 0, origin);
	case POL_LIBRARY:
	case POL_HIDE:
		if (strchr(t[1].text, '/') || !t[1].text[0])
			return fail(ps, name, line, t[1].col, "'%.64s' must be a file name such as libfoo.so.1, not a path", t[1].text);
		if (a == POL_LIBRARY && t[2].text[0] != '/')
			return fail(ps, name, line, t[2].col, "library PATH must be an absolute path");
		return policy_add(ps->p, a, t[1].text, a == POL_LIBRARY ? t[2].text : NULL, 0, origin);
	default:
		return -EINVAL;
	}
}

static int parse_lines(struct parser *ps, const char *text, size_t len, const char *name, struct token *tok)
{
	int lineno = 0;
	for (size_t start = 0; start < len;) {
		lineno++;
		const char *nl = memchr(text + start, '\n', len - start);
		size_t n = (nl ? (size_t)(nl - text) : len) - start;
		const char *line = text + start;
		start += n + 1;
		if (n && line[n - 1] == '\r')
			n--;   /* CRLF: the CR is not part of the line, nor of its length */
		if (n > POL_MAX_LINE)
			return fail(ps, name, lineno, POL_MAX_LINE + 1, "line longer than %d bytes", POL_MAX_LINE);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = line[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(ps, name, lineno, i + 1, "unexpected byte 0x%02x (not a text file?)", c);
		}
		int nt = tokenize(ps, line, n, tok, name, lineno);
		if (nt < 0)
			return -EINVAL;
		if (nt == 0)
			continue;
		int r = directive(ps, tok, nt, name, lineno, (int)n + 1);
		if (r)
			return r;
	}
	return 0;
}

static int parse_with(struct parser *ps, const char *text, size_t len, const char *name)
{
	struct token *tok = malloc(MAX_TOKENS * sizeof *tok);   /* ~128 KiB: not on the stack */
	if (!tok)
		return -ENOMEM;
	int r = parse_lines(ps, text, len, name, tok);
	free(tok);
	return r;
}

int policy_parse(struct policy *p, const char *text, size_t len, const char *name,
		 const struct pol_env *env, char *msg, size_t msgsize)
{
	struct parser ps = { .p = p, .env = env, .msg = msg, .msgsize = msgsize };
	return parse_with(&ps, text, len, name);
}

static int load_into(struct parser *ps, const char *path, const char *from, int line, int col)
{
	if (!ps->env || !ps->env->load)
		return from ? fail(ps, from, line, col, "include is not available here") : -ENOSYS;
	char *text = NULL, *canon = NULL;
	size_t len = 0;
	int r = ps->env->load(ps->env->ctx, path, &text, &len, &canon);
	if (r < 0) {
		if (from)
			fail(ps, from, line, col, "cannot read '%s': %s", path, strerror(-r));
		else
			snprintf(ps->msg, ps->msgsize, "%s: %s", path, strerror(-r));
		return r;
	}
	for (int i = 0; i < ps->depth; i++) {
		if (strcmp(ps->stack[i], canon) == 0) {
			fail(ps, from ? from : canon, line, col, "include cycle: '%s' includes itself", canon);
			free(text);
			free(canon);
			return -ELOOP;
		}
	}
	if (ps->depth >= POL_MAX_INCLUDE_DEPTH) {
		fail(ps, from ? from : canon, line, col, "includes nested deeper than %d", POL_MAX_INCLUDE_DEPTH);
		free(text);
		free(canon);
		return -ELOOP;
	}
	ps->stack[ps->depth++] = canon;
	r = parse_with(ps, text, len, canon);
	ps->depth--;
	free(text);
	free(canon);
	return r;
}

static int include_file(struct parser *ps, const char *file, const char *from, int line, int col)
{
	char path[MAX_EXPANDED];
	const char *slash = strrchr(from, '/');
	if (file[0] == '/' || !slash)
		snprintf(path, sizeof path, "%s", file);
	else
		snprintf(path, sizeof path, "%.*s/%s", (int)(slash - from), from, file);
	return load_into(ps, path, from, line, col);
}

int policy_load(struct policy *p, const char *path, const struct pol_env *env, char *msg, size_t msgsize)
{
	struct parser ps = { .p = p, .env = env, .msg = msg, .msgsize = msgsize };
	return load_into(&ps, path, NULL, 0, 0);
}
