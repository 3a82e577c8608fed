/* policy: a pure rules library. Parse policy text into rules (parse.c), and decide for an
 * absolute path which rule applies (match.c). No I/O and no globals: variables and
 * included files come through callbacks, so the supervisor, the tests and the fuzzer all
 * drive it the same way. First matching rule wins; an unmatched path is passed. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum pol_action {
	POL_PASS = 0,   /* let the kernel answer */
	POL_CACHE,      /* answer from the cache */
	POL_DENY,       /* fail every look-up with err */
	POL_REDIRECT,   /* FROM prefix -> TO prefix */
	POL_LIBRARY,    /* any path whose last component is NAME -> PATH */
	POL_HIDE,       /* any path whose last component is NAME does not exist */
	POL_DISCOVERED, /* marker: here, the trees discovered while the job runs (CACHE) */
};

/* Where discovered trees come from (a `discovered` rule's words; none: all). */
enum pol_source {
	POL_SRC_ENVIRONMENT = 1 << 0,  /* LD_LIBRARY_PATH, PYTHONPATH... of every program started */
	POL_SRC_PROGRAM = 1 << 1,      /* the tree of every program started, a script's interpreter */
	POL_SRC_RUNPATH = 1 << 2,      /* DT_RPATH/DT_RUNPATH of every ELF object mapped */
	POL_SRC_LIBRARIES = 1 << 3,    /* the folder of every library opened outside cached trees */
	POL_SRC_PYTHON = 1 << 4,       /* a Python interpreter's prefixes, site-packages, .pth */
	POL_SRC_ALL = (1 << 5) - 1,
};
/* The word for one source bit, or NULL. */
const char *pol_source_name(unsigned bit);

struct pol_rule {
	enum pol_action action;
	char *pattern;      /* absolute pattern, or a file name for LIBRARY/HIDE */
	size_t len;         /* strlen(pattern) */
	size_t fixed;       /* bytes before the first glob character (== len if none) */
	char *target;       /* REDIRECT: TO; LIBRARY: PATH */
	int err;            /* DENY: errno; HIDE: ENOENT */
	char *origin;       /* "FILE:LINE" or "--cache" etc. */
	unsigned sources;   /* DISCOVERED: enum pol_source bits */
	unsigned flags;     /* POL_RULE_*: kept by the supervisor for its own rules */
};
#define POL_RULE_DISCOVERED 1u   /* a tree discovered while the job runs (discover.c) */
#define POL_RULE_RESOLVED 2u     /* ... whose links on the way were looked for, once */
/* A CACHE tree a ${VAR} named (a search path in collrun's environment): its links and ".."
 * are resolved like a discovered tree's, so a "current" link or a "pkg/../lib" entry of
 * LD_LIBRARY_PATH covers where its files are. */
#define POL_RULE_EXPANDED 4u

struct policy {
	struct pol_rule *rules;
	size_t n, cap;
	/* The discovered trees, consulted where a `discovered` rule stands: true (and *rule,
	 * a CACHE rule that stays valid) if one covers path. NULL: none are discovered. */
	bool (*discovered)(void *ctx, const char *path, const struct pol_rule **rule);
	void *discovered_ctx;
	unsigned discover_sources;   /* union of the markers' sources: 0, nothing is learned */
};

struct pol_decision {
	enum pol_action action;
	const struct pol_rule *rule;   /* NULL: no rule matched (PASS) */
	int err;                       /* DENY, HIDE */
	const char *target;            /* REDIRECT, LIBRARY: the path to look up instead */
};

/* Append the `discovered` marker (where discovered trees are decided), learning from
 * sources (enum pol_source bits). */
int policy_add_marker(struct policy *p, unsigned sources, const char *origin);
/* Append a rule. Patterns must be absolute (LIBRARY/HIDE: a plain file name), REDIRECT's
 * FROM has no glob characters. -EINVAL, -ENOMEM. */
int policy_add(struct policy *p, enum pol_action a, const char *pattern, const char *target,
	       int err, const char *origin);
/* First rule covering path. A pattern covers a path and everything below it. REDIRECT's
 * mapped path is written into buf (size bytes; -ENAMETOOLONG leaves it PASS). */
enum pol_action policy_decide(const struct policy *p, const char *path, struct pol_decision *d,
			      char *buf, size_t size);
void policy_free(struct policy *p);
const char *pol_action_name(enum pol_action a);
/* One rule as policy text, e.g. "deny /opt/bad EACCES", for --print-policy. */
int policy_format_rule(const struct pol_rule *r, char *buf, size_t size);

/* ---- parsing ---- */
struct pol_env {
	/* Value of variable name, or NULL if unset. */
	const char *(*getvar)(void *ctx, const char *name);
	/* Read file path: *text malloc'd (caller frees), *canon a malloc'd canonical name used
	 * for cycle detection and messages. Returns 0 or -errno. */
	int (*load)(void *ctx, const char *path, char **text, size_t *len, char **canon);
	void *ctx;
};

#define POL_MAX_LINE 4096
#define POL_MAX_INCLUDE_DEPTH 16

/* Parse text (named name in messages) and append its rules. On error returns -EINVAL (or
 * -errno of a failed include) and writes "FILE:LINE:COL: message" into msg. */
int policy_parse(struct policy *p, const char *text, size_t len, const char *name,
		 const struct pol_env *env, char *msg, size_t msgsize);
/* Load and parse a file through env->load. */
int policy_load(struct policy *p, const char *path, const struct pol_env *env, char *msg, size_t msgsize);
/* errno from its name ("EACCES") or -1. */
int pol_errno_from_name(const char *name);
