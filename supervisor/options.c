/* Option parsing with getopt_long; stops at the first non-option so the program's own
 * options are never taken for ours ("collrun ls -l" works, "--" is optional). */
#include "options.h"
#include "log.h"
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cache/data.h"
#include "audit.h"
#include "shim.h"

static const char usage[] =
	"Usage: collrun [OPTIONS] [--] PROGRAM [ARGS...]\n"
	"Run PROGRAM and everything it starts, answering their file look-ups (open, stat,\n"
	"access, readlink) from one in-memory cache: each file is read from the file system\n"
	"once, and every later look-up is served with the result the kernel would give.\n"
	"\n"
	"Options:\n"
	"  -s, --stats             print a table of trapped and served calls when PROGRAM exits\n"
	"      --stats-file=FILE   write that table to FILE instead of standard error\n"
	"  -c, --cache=DIR         also cache everything under DIR (repeatable)\n"
	"  -p, --policy=FILE       add the rules of a policy file (repeatable; see\n"
	"                          collrun-policy(5)); COLLRUN_POLICY names more\n"
	"      --no-default-policy use only --cache and policy-file rules\n"
	"      --print-policy      print the effective rules, each with its origin, and exit\n"
	"      --explain=PATH      say which rule decides PATH and how, and exit\n"
	"      --data=HOW          how served opens reach file contents: auto (default: a\n"
	"                          memfd copy for network and FUSE file systems; local files\n"
	"                          are opened by the kernel), memfd (always copy), direct\n"
	"                          (never copy)\n"
	"      --max-cache=SIZE    keep at most SIZE bytes of file copies (default 4G;\n"
	"                          least recently served go first; 0: keep none); K, M,\n"
	"                          G or T suffixes\n"
	"      --max-file-size=SIZE  pass larger files to the kernel, uncopied (default 64M)\n"
	"      --passthrough       trap and count calls but serve none (for comparisons)\n"
	"      --job=ID            the job this rank belongs to (default: COLLRUN_JOB, Slurm's,\n"
	"                          PBS's or Flux's job id, or MPICH hydra's proxy): the ranks\n"
	"                          of one job on one node share one node supervisor and cache\n"
	"      --virtual-node=K    share only with ranks of the same K (COLLRUN_NODE_ID): several\n"
	"                          node supervisors on one host, as on K separate nodes\n"
	"      --no-share          never share: this collrun serves its own program\n"
	"      --no-dir-replica    open cached directories on network file systems from the\n"
	"                          file system itself (listings are still served)\n"
	"      --backend=HOW       how calls are trapped: auto (default: user notification,\n"
	"                          else ptrace where a listener cannot be installed), notify,\n"
	"                          ptrace (COLLRUN_BACKEND sets the default)\n"
	"\n"
	"Sessions (node supervisors on several nodes sharing one root's look-ups; collrun(1)):\n"
	"      --start-session [-n K | --hosts=H1,H2 | -f HOSTFILE]\n"
	"                          start a session (mpiexec -ppn 1 of collrun-session on the\n"
	"                          hosts, or K virtual nodes on this host), print its id, exit\n"
	"      --session=ID        join session ID (default: COLLRUN_SESSION)\n"
	"      --end-session=ID    end session ID and remove what it left\n"
	"  -n N [--hosts=H1,H2 | -f HOSTFILE] [--] PROGRAM [ARGS...]\n"
	"                          start a session, run mpiexec -n N collrun --session ID --\n"
	"                          PROGRAM, end the session; exit with mpiexec's status\n"
	"Debugging a start-up (collrun(1), AUDIT):\n"
	"      --audit[=FILE]      write a line for every trapped call (arguments, result,\n"
	"                          how it was answered, latency) to FILE (default: standard\n"
	"                          error); picks the ptrace backend unless --backend says\n"
	"                          (with notify, a passed call's result shows as ?)\n"
	"      --audit-format=FMT  text (strace-like, default) or jsonl (one JSON object a line)\n"
	"      --backtrace         add the calling thread's stack to each audit line (needs\n"
	"                          --audit and the ptrace backend)\n"
	"  collrun report FILE... [--plot OUT.png]\n"
	"                          summarise jsonl audit files: top paths and directories,\n"
	"                          ENOENT storms, time per process, suggested cache rules\n"
	"\n"
	"  -v, --verbose           log every decision on standard error\n"
	"  -h, --help              show this help and exit\n"
	"  -V, --version           show the version and exit\n"
	"\n"
	"Exit status: PROGRAM's own (if PROGRAM is killed by a signal, collrun dies of the same\n"
	"signal); 2 usage, policy or audit-file error; 123 kernel lacks seccomp user notification; 125 collrun itself\n"
	"failed; 126 PROGRAM not executable; 127 PROGRAM not found.\n"
	"See collrun(1).\n";

/* getopt_long reports an ambiguous prefix like an unknown option when opterr is 0: find the
 * candidates ourselves, so "--stat" is not called unknown. false if arg is not ambiguous. */
static bool report_ambiguous(const char *arg, const struct option *longopts)
{
	if (strncmp(arg, "--", 2) != 0)
		return false;
	size_t len = strcspn(arg + 2, "=");
	char list[512] = "";
	int n = 0, used = 0;
	for (const struct option *lo = longopts; lo->name; lo++) {
		if (strncmp(lo->name, arg + 2, len) != 0)
			continue;
		n++;
		if (used < (int)sizeof list)
			used += snprintf(list + used, sizeof list - used, " --%s", lo->name);
	}
	if (n < 2)
		return false;
	log_msg("option '%.*s' is ambiguous; possibilities:%s (see collrun --help)", (int)len + 2, arg, list);
	return true;
}

/* "64M" -> 67108864. 0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'b' || *end == 'B') && end[1] == '\0')
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* "auto", "notify", "ptrace" -> enum shim_backend, or -1. */
static int parse_backend(const char *s)
{
	static const char *const names[] = { [SHIM_AUTO] = "auto", [SHIM_NOTIFY] = "notify", [SHIM_PTRACE] = "ptrace" };
	for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int options_parse(int argc, char **argv, struct options *o)
{
	enum { OPT_STATS_FILE = 256, OPT_PASSTHROUGH, OPT_DATA, OPT_NO_DEFAULT, OPT_PRINT, OPT_EXPLAIN,
	       OPT_MAX_CACHE, OPT_MAX_FILE, OPT_JOB, OPT_VNODE, OPT_NO_SHARE, OPT_NO_DIR_REPLICA, OPT_SESSION,
	       OPT_START, OPT_END, OPT_HOSTS, OPT_BACKEND, OPT_AUDIT, OPT_AUDIT_FORMAT, OPT_BACKTRACE };
	static const struct option longopts[] = {
		{ "stats", no_argument, NULL, 's' },
		{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
		{ "cache", required_argument, NULL, 'c' },
		{ "passthrough", no_argument, NULL, OPT_PASSTHROUGH },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "max-cache", required_argument, NULL, OPT_MAX_CACHE },
		{ "max-file-size", required_argument, NULL, OPT_MAX_FILE },
		{ "policy", required_argument, NULL, 'p' },
		{ "no-default-policy", no_argument, NULL, OPT_NO_DEFAULT },
		{ "print-policy", no_argument, NULL, OPT_PRINT },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		{ "job", required_argument, NULL, OPT_JOB },
		{ "virtual-node", required_argument, NULL, OPT_VNODE },
		{ "no-share", no_argument, NULL, OPT_NO_SHARE },
		{ "no-dir-replica", no_argument, NULL, OPT_NO_DIR_REPLICA },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "start-session", no_argument, NULL, OPT_START },
		{ "end-session", required_argument, NULL, OPT_END },
		{ "hosts", required_argument, NULL, OPT_HOSTS },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "audit", optional_argument, NULL, OPT_AUDIT },
		{ "audit-format", required_argument, NULL, OPT_AUDIT_FORMAT },
		{ "backtrace", no_argument, NULL, OPT_BACKTRACE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	*o = (struct options){ 0 };
	const char *env = getenv("COLLRUN_BACKEND");
	if (env && env[0] && (o->backend = parse_backend(env)) < 0) {
		log_msg("COLLRUN_BACKEND=%s: expected auto, notify or ptrace", env);
		return EXIT_USAGE;
	}
	o->cache_dirs = calloc(argc + 1, sizeof *o->cache_dirs);
	o->policy_files = calloc(argc + 1, sizeof *o->policy_files);
	if (!o->cache_dirs || !o->policy_files)
		return EXIT_FAILURE_COLLRUN;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:sc:p:vhVn:f:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->stats = true; break;
		case OPT_STATS_FILE: o->stats = true; o->stats_file = optarg; break;
		case 'c':
			if (optarg[0] != '/') {
				log_msg("--cache %s: not an absolute path", optarg);
				return EXIT_USAGE;
			}
			o->cache_dirs[o->ncache++] = optarg;
			break;
		case OPT_PASSTHROUGH: o->passthrough = true; break;
		case OPT_DATA:
			if (strcmp(optarg, "auto") == 0)
				o->data_mode = DATA_AUTO;
			else if (strcmp(optarg, "memfd") == 0)
				o->data_mode = DATA_ALWAYS_MEMFD;
			else if (strcmp(optarg, "direct") == 0)
				o->data_mode = DATA_ALWAYS_DIRECT;
			else {
				log_msg("--data %s: expected auto, memfd or direct", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_MAX_CACHE:
		case OPT_MAX_FILE: {
			uint64_t v;
			if (parse_size(optarg, &v) < 0) {
				log_msg("--%s %s: expected a size in bytes, with an optional K, M, G or T suffix",
					c == OPT_MAX_CACHE ? "max-cache" : "max-file-size", optarg);
				return EXIT_USAGE;
			}
			if (c == OPT_MAX_CACHE)
				o->max_cache = v, o->max_cache_set = true;
			else
				o->max_file_size = v, o->max_file_size_set = true;
			break;
		}
		case 'p': o->policy_files[o->npolicy++] = optarg; break;
		case OPT_NO_DEFAULT: o->no_default_policy = true; break;
		case OPT_PRINT: o->print_policy = true; break;
		case OPT_JOB:
		case OPT_VNODE:
			if (!optarg[0] || strlen(optarg) > 200) {
				log_msg("--%s: expected a name of 1 to 200 characters",
					c == OPT_JOB ? "job" : "virtual-node");
				return EXIT_USAGE;
			}
			*(c == OPT_JOB ? &o->job : &o->virtual_node) = optarg;
			break;
		case OPT_NO_SHARE: o->no_share = true; break;
		case OPT_NO_DIR_REPLICA: o->no_dir_replica = true; break;
		case OPT_SESSION:
		case OPT_END:
			/* An id names files in the private directory: keep it to a safe alphabet. */
			if (!optarg[0] || strlen(optarg) > 64 || strspn(optarg, "0123456789abcdefABCDEF-_") != strlen(optarg)) {
				log_msg("--%s %s: not a session id", c == OPT_SESSION ? "session" : "end-session", optarg);
				return EXIT_USAGE;
			}
			*(c == OPT_SESSION ? &o->session : &o->end_session) = optarg;
			break;
		case OPT_START: o->start_session = true; break;
		case OPT_HOSTS: o->hosts = optarg; break;
		case OPT_BACKEND:
			if ((o->backend = parse_backend(optarg)) < 0) {
				log_msg("--backend=%s: expected auto, notify or ptrace", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f': o->hostfile = optarg; break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 1 << 20) {
				log_msg("-n %s: expected a number of ranks or nodes", optarg);
				return EXIT_USAGE;
			}
			o->nodes = (int)v;
			break;
		}
		case OPT_EXPLAIN: o->explain = optarg; break;
		case OPT_AUDIT:
			if (optarg && !optarg[0]) {
				log_msg("--audit=: empty file name (--audit alone writes to standard error)");
				return EXIT_USAGE;
			}
			o->audit = true;
			o->audit_file = optarg;
			break;
		case OPT_AUDIT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				o->audit_format = AUDIT_TEXT;
			else if (strcmp(optarg, "jsonl") == 0)
				o->audit_format = AUDIT_JSONL;
			else {
				log_msg("--audit-format %s: expected text or jsonl", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_BACKTRACE: o->backtrace = true; break;
		case 'v': log_verbosity++; break;
		case 'h': fputs(usage, stdout); return -1;
		case 'V': printf("collrun %s\n", COLLRUN_VERSION); return -1;
		case ':':
			log_msg("option '%s' needs an argument (see collrun --help)", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				log_msg("unknown option '-%c' (see collrun --help)", optopt);
			else if (!report_ambiguous(argv[optind - 1], longopts))
				log_msg("unknown option '%s' (see collrun --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (o->backtrace && !o->audit) {
		log_msg("--backtrace adds stacks to audit lines: it needs --audit[=FILE]");
		return EXIT_USAGE;
	}
	/* Only the ptrace backend sees a passed call's result, and stacks are walked in ptrace
	 * stops only: an audit is traced unless --backend (or COLLRUN_BACKEND) says otherwise. */
	if (o->audit && o->backend == SHIM_AUTO)
		o->backend = SHIM_PTRACE;
	if (optind >= argc && (o->print_policy || o->explain || o->start_session || o->end_session)) {
		o->argv = argv + optind;
		return 0;
	}
	if (optind >= argc) {
		log_msg("no program to run (usage: collrun [OPTIONS] [--] PROGRAM [ARGS...])");
		return EXIT_USAGE;
	}
	if ((o->hosts || o->hostfile) && !o->nodes && !o->start_session) {
		log_msg("--hosts and -f go with -n N or --start-session");
		return EXIT_USAGE;
	}
	o->argv = argv + optind;
	return 0;
}

void options_free(struct options *o)
{
	free(o->cache_dirs);
	free(o->policy_files);
	o->cache_dirs = NULL;
	o->policy_files = NULL;
}
