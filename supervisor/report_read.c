/* Reading a jsonl audit (collrun(1), AUDIT) for collrun report: a small JSON reader for one
 * flat object a line; fields the report does not use are skipped whatever they hold, so
 * the schema may grow. Strings come back byte for byte: \u00XX stands for one byte, as the
 * audit writer escapes every byte outside printable ASCII. */
#include "report.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cur { const char *p; };

static void ws(struct cur *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (d < 0)
			return -EINVAL;
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* A JSON string at c (after ws); *out malloc'd (NULL: only skip). */
static int str(struct cur *c, char **out)
{
	if (*c->p != '"')
		return -EINVAL;
	const char *s = ++c->p;
	size_t cap = 16, n = 0;
	char *b = out ? malloc(cap) : NULL;
	if (out && !b)
		return -ENOMEM;
	for (;;) {
		char ch = *c->p++;
		unsigned u = 0;
		if (!ch) {
			free(b);
			return -EINVAL;
		}
		if (ch == '"')
			break;
		if (ch == '\\') {
			char e = *c->p++;
			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case '"': case '\\': case '/': ch = e; break;
			case 'u':
				if (hex4(c->p, &u) < 0) {
					free(b);
					return -EINVAL;
				}
				c->p += 4;
				ch = (char)u;   /* the writer's one-byte escapes; others are not ours */
				break;
			default:
				free(b);
				return -EINVAL;
			}
		}
		if (!b)
			continue;
		if (n + 2 > cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		b[n++] = ch;
	}
	(void)s;
	if (b)
		b[n] = '\0', *out = b;
	return 0;
}

static int skip(struct cur *c, int depth);

static int skip_list(struct cur *c, char close, int depth)
{
	c->p++;
	ws(c);
	if (*c->p == close)
		return c->p++, 0;
	for (;;) {
		ws(c);
		if (close == '}') {
			if (str(c, NULL) < 0)
				return -EINVAL;
			ws(c);
			if (*c->p++ != ':')
				return -EINVAL;
		}
		if (skip(c, depth + 1) < 0)
			return -EINVAL;
		ws(c);
		if (*c->p == ',') {
			c->p++;
			continue;
		}
		if (*c->p++ != close)
			return -EINVAL;
		return 0;
	}
}

static int skip(struct cur *c, int depth)
{
	ws(c);
	if (depth > 16)
		return -EINVAL;
	switch (*c->p) {
	case '"': return str(c, NULL);
	case '[': return skip_list(c, ']', depth);
	case '{': return skip_list(c, '}', depth);
	}
	if (!strncmp(c->p, "null", 4) || !strncmp(c->p, "true", 4))
		return c->p += 4, 0;
	if (!strncmp(c->p, "false", 5))
		return c->p += 5, 0;
	char *end;
	strtod(c->p, &end);
	if (end == c->p)
		return -EINVAL;
	c->p = end;
	return 0;
}

static bool is_null(struct cur *c)
{
	if (strncmp(c->p, "null", 4))
		return false;
	c->p += 4;
	return true;
}

static int num(struct cur *c, double *v)
{
	char *end;
	*v = strtod(c->p, &end);
	if (end == c->p)
		return -EINVAL;
	c->p = end;
	return 0;
}

static int parse(const char *line, struct rec *r)
{
	struct cur c = { line };
	char *key = NULL, *s = NULL;
	double v;
	int err = -EINVAL;
	*r = (struct rec){ .pid = -1 };
	bool have_sys = false, have_ts = false;
	ws(&c);
	if (*c.p++ != '{')
		return -EINVAL;
	for (;;) {
		ws(&c);
		if (str(&c, &key) < 0)
			goto out;
		ws(&c);
		if (*c.p++ != ':')
			goto out;
		ws(&c);
		if (!strcmp(key, "ts")) {
			if (num(&c, &r->ts) < 0)
				goto out;
			have_ts = true;
		} else if (!strcmp(key, "pid") || !strcmp(key, "latency_us")) {
			if (num(&c, &v) < 0)
				goto out;
			if (key[0] == 'p')
				r->pid = (int)v;
			else
				r->lat = v > 0 ? (uint64_t)v : 0;
		} else if (!strcmp(key, "result")) {
			if (!is_null(&c)) {
				if (num(&c, &v) < 0)
					goto out;
				r->known = true, r->result = (long long)v;
			}
		} else if (!strcmp(key, "syscall") || !strcmp(key, "path") || !strcmp(key, "errno") ||
			   !strcmp(key, "disposition")) {
			if (!is_null(&c)) {
				if (str(&c, &s) < 0)
					goto out;
				if (key[0] == 's')
					free(r->syscall), r->syscall = s, have_sys = true;
				else if (key[0] == 'p')
					free(r->path), r->path = s;
				else if (key[0] == 'e')
					snprintf(r->err, sizeof r->err, "%s", s), free(s);
				else
					snprintf(r->disp, sizeof r->disp, "%s", s), free(s);
				s = NULL;
			}
		} else if (!strcmp(key, "args")) {
			const char *a = c.p;
			if (skip(&c, 0) < 0)
				goto out;
			/* An open that may write is never a candidate for a cache rule. */
			char span[512];
			snprintf(span, sizeof span, "%.*s", (int)(c.p - a), a);
			r->writes = strstr(span, "O_WRONLY") || strstr(span, "O_RDWR") || strstr(span, "O_CREAT") ||
				    strstr(span, "O_TRUNC");
		} else if (skip(&c, 0) < 0) {
			goto out;
		}
		free(key);
		key = NULL;
		ws(&c);
		if (*c.p == ',') {
			c.p++;
			continue;
		}
		if (*c.p++ != '}')
			goto out;
		ws(&c);
		err = *c.p || !have_sys || !have_ts || r->pid < 0 ? -EINVAL : 0;
		break;
	}
out:
	free(key);
	if (err) {
		free(r->syscall);
		free(r->path);
		r->syscall = r->path = NULL;
	}
	return err;
}

int report_read(const char *path, int file, struct recs *out, char *msg, size_t msgsize)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int err = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		const char *p = line + strspn(line, " \t\r\n");
		if (!*p)
			continue;
		if (*p != '{') {
			snprintf(msg, msgsize, "%s:%zu: not a jsonl audit record (this looks like the text "
				 "format: record with --audit-format=jsonl for collrun report)", path, lineno);
			err = -EINVAL;
			break;
		}
		if (out->n == out->cap) {
			size_t nc = out->cap ? out->cap * 2 : 1024;
			struct rec *nr = realloc(out->r, nc * sizeof *nr);
			if (!nr) {
				err = -ENOMEM;
				break;
			}
			out->r = nr, out->cap = nc;
		}
		struct rec *r = &out->r[out->n];
		if (parse(p, r) < 0) {
			/* The last line of a killed job's audit may be cut short: tolerated there. */
			if (line[len - 1] != '\n')
				break;
			snprintf(msg, msgsize, "%s:%zu: not a jsonl audit record (needs ts, pid and syscall)", path,
				 lineno);
			err = -EINVAL;
			break;
		}
		r->file = file;
		out->n++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return err;
}

void report_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		free(rs->r[i].syscall), free(rs->r[i].path);
	free(rs->r);
	*rs = (struct recs){ 0 };
}
