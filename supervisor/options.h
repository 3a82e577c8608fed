/* Command line: what the user asked for, parsed without side effects. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

struct options {
	bool stats;
	const char *stats_file;   /* NULL: stderr */
	bool passthrough;
	int data_mode;            /* enum data_mode */
	uint64_t max_cache;       /* --max-cache, bytes (if max_cache_set) */
	uint64_t max_file_size;   /* --max-file-size, bytes (if max_file_size_set) */
	bool max_cache_set, max_file_size_set;
	const char **cache_dirs;  /* --cache DIR, in order */
	int ncache;
	const char **policy_files;  /* --policy FILE, in order */
	int npolicy;
	bool no_default_policy;
	bool print_policy;
	const char *explain;      /* --explain PATH */
	const char *job;          /* --job ID, or NULL (then jobid.h looks for one) */
	const char *virtual_node; /* --virtual-node K, or NULL (then COLLRUN_NODE_ID) */
	bool no_share;            /* --no-share */
	bool no_dir_replica;      /* --no-dir-replica */
	const char *session;      /* --session ID (else COLLRUN_SESSION): join that session */
	bool start_session;       /* --start-session */
	const char *end_session;  /* --end-session ID */
	int nodes;                /* -n N: ranks (with a program) or virtual nodes (--start-session) */
	const char *hosts;        /* --hosts h1,h2 */
	const char *hostfile;     /* -f FILE */
	int backend;              /* enum shim_backend: --backend, else COLLRUN_BACKEND, else auto */
	bool audit;               /* --audit[=FILE] */
	const char *audit_file;   /* NULL: standard error */
	int audit_format;         /* enum audit_format: --audit-format=text|jsonl */
	bool backtrace;           /* --backtrace: stacks on audit lines (needs --audit) */
	char **argv;              /* PROGRAM ARGS..., NULL-terminated */
};

enum { EXIT_USAGE = 2, EXIT_NO_NOTIFY = 123, EXIT_FAILURE_COLLRUN = 125,
       EXIT_NOT_EXECUTABLE = 126, EXIT_NOT_FOUND = 127 };

/* 0 to run; a positive exit status to stop with (after --help: 0 via -1). Messages are
 * printed here: this is the user-facing edge. */
int options_parse(int argc, char **argv, struct options *o);
/* For __attribute__((cleanup)): frees what options_parse allocated. */
void options_free(struct options *o);
