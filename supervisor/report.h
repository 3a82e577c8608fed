/* collrun report: read --audit files (jsonl) and say where a job's look-ups and their time
 * went (report.c), from records read by report_read.c. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One audit line, as much of it as the report uses. */
struct rec {
	double ts;            /* wall clock, s */
	int pid;
	int file;             /* index of the audit file it came from */
	char *syscall;
	char *path;           /* absolute, or NULL */
	bool known;           /* result known (not "?") */
	long long result;
	char err[24];         /* errno name, "" when none */
	char disp[16];
	uint64_t lat;         /* latency_us */
	bool writes;          /* an open that may write (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC) */
};

struct recs {
	struct rec *r;
	size_t n, cap;
};

/* Append the records of one jsonl audit file (index file). 0; -errno when it cannot be
 * read; -EINVAL for a line that is not a jsonl audit record, with "FILE:LINE: why" in msg. */
int report_read(const char *path, int file, struct recs *out, char *msg, size_t msgsize);
void report_free(struct recs *rs);

/* `collrun report ...` (argv[0] is "report"): its exit status. */
int report_main(int argc, char **argv);
