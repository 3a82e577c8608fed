/* --stats output: a strace -c style table of what was trapped and how it was answered,
 * then one machine-readable line that tests and scripts parse. */
#include "stats.h"
#include "cache/data.h"
#include "syscall_table.h"
#include "node.h"
#include <inttypes.h>

void stats_print(FILE *out, const struct stats *s, const struct data_store *d)
{
	stats_print_counts(out, s, d->files, d->bytes, s->fsops + node.fsops, node.dc.marks);
}

void stats_print_counts(FILE *out, const struct stats *s, uint64_t files, uint64_t bytes, uint64_t fsops,
			uint64_t marks)
{
	struct sys_counts t = { 0 };
	fprintf(out, "collrun: %-12s %10s %10s %10s %10s %10s\n", "syscall", "trapped", "hits", "fills",
		"passed", "negative");
	for (size_t i = 0; i < syscall_table_len; i++) {
		const struct sys_counts *r = &s->rows[i];
		if (!r->trapped)
			continue;
		fprintf(out, "collrun: %-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
			syscall_table[i].name, r->trapped, r->hits, r->fills, r->passed, r->negative);
		t.trapped += r->trapped, t.hits += r->hits, t.fills += r->fills;
		t.passed += r->passed, t.negative += r->negative;
	}
	fprintf(out, "collrun: %-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n",
		"total", t.trapped, t.hits, t.fills, t.passed, t.negative);
	if (s->kernel)
		fprintf(out, "collrun: %" PRIu64 " of the passed opens were of local files the cache had walked to:"
			" the kernel opened them\n", s->kernel);
	fprintf(out, "collrun: unique files %" PRIu64 ", bytes cached %" PRIu64
		", file-system operations %" PRIu64 ", invalidations %" PRIu64 ", foreign-ABI calls %" PRIu64 "\n",
		files, bytes, fsops, marks, s->foreign);
	if (s->discovered)
		fprintf(out, "collrun: %" PRIu64 " software trees discovered while the job ran (cached;"
			" -v names each)\n", s->discovered);
	fprintf(out, "collrun-stats: trapped=%" PRIu64 " served=%" PRIu64 " filled=%" PRIu64 " passed=%" PRIu64
		" negative=%" PRIu64 " files=%" PRIu64 " bytes=%" PRIu64 " fsops=%" PRIu64
		" invalidations=%" PRIu64 " kernel=%" PRIu64 " discovered=%" PRIu64 "\n",
		t.trapped + s->foreign, t.hits, t.fills, t.passed + s->foreign, t.negative, files, bytes,
		fsops, marks, s->kernel, s->discovered);
}
