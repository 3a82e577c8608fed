/* collrun: launcher and supervisor in one process. Parse options, find the program, build
 * the policy and the filter, start the keeper (keeper.h), which forks the program through
 * the tracee shim, then serve its trapped calls until it exits and leave with its status.
 * Processes: collrun -> keeper -> program; collrun and the keeper are child subreapers. */
#include "sesslink.h"
#include "session_cli.h"
#include "arch.h"
#include "audit.h"
#include "backtrace.h"
#include "policy_setup.h"
#include "job.h"
#include "jobid.h"
#include "keeper.h"
#include "learn.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "options.h"
#include "replica.h"
#include "report.h"
#include "share.h"
#include "shim.h"
#include "supervisor.h"
#include "tracer.h"
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

/* execvp's search, done up front so "not found" and "not executable" are reported by us
 * with the path and reason, with the exit codes shells use (127, 126). */
static int find_program(const char *name, char *out, size_t size)
{
	struct stat st;
	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		if (stat(out, &st) < 0)
			return -errno;
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		return access(out, X_OK) < 0 ? -errno : 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int seen = -ENOENT;
	for (const char *p = path;; p = strchr(p, ':') + 1) {
		size_t len = strcspn(p, ":");
		snprintf(out, size, "%.*s%s%s", (int)len, p, len ? "/" : "", name);
		if (stat(out, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			seen = -EACCES;
		}
		if (!p[len])
			break;
	}
	return seen;
}

/* Files the program inherits open for writing (a shell's "> out.log" inside a cached
 * tree) change while it runs: never cache them. Also kept in w (up to max; the count is
 * returned, even above max) for a node supervisor, which must not cache them either. */
static size_t note_inherited_writers(struct share_devino *w, size_t max)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return SIZE_MAX;
	for (struct dirent *e; (e = readdir(d));) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d))
			continue;
		int fl = fcntl(fd, F_GETFL);
		struct stat st;
		if (fl >= 0 && (fl & O_ACCMODE) != O_RDONLY && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			inode_set_add(&sup.written, st.st_dev, st.st_ino);
			if (n < max)
				w[n] = (struct share_devino){ st.st_dev, st.st_ino };
			n++;
		}
	}
	closedir(d);
	return n;
}

static void print_stats(const struct options *o, const char *note, struct share *sh)
{
	struct share_stats ss;
	bool shared = sh->sock >= 0;
	if (shared && share_stats(sh, &ss) < 0) {
		log_msg("--stats: the node supervisor (pid %d) is gone: no statistics", (int)sh->sup_pid);
		return;
	}
	FILE *out = stderr;
	if (o->stats_file && !(out = fopen(o->stats_file, "we"))) {
		log_err(-errno, "--stats-file %s", o->stats_file);
		return;
	}
	if (sup.listener < 0 && !tracer_active)
		fprintf(out, "collrun: nested under another collrun: its supervisor served this job\n");
	if (note[0])
		fprintf(out, "collrun: note: %s\n", note);
	if (shared) {
		fprintf(out, "collrun: node-wide: every rank of this job on this node served by the node "
			"supervisor (pid %d) so far\n", (int)sh->sup_pid);
		stats_print_counts(out, &ss.s, ss.files, ss.bytes, ss.fsops, ss.marks);
	} else {
		sup.stats.discovered = discovered_count(&sup.disc);
		stats_print(out, &sup.stats, node.data);
	}
	if (out != stderr)
		fclose(out);
	else
		fflush(out);
}

/* The program, by the rule that decides its own real path: when that is not "cache", none
 * of its own tree is (a build under /tmp shows no effect at all); say so, once. */
static void note_uncached_program(const char *path, char *note, size_t size)
{
	char real[PATH_MAX], target[PATH_MAX * 2], rule[PATH_MAX * 3];
	struct pol_decision d;
	if (!realpath(path, real) || policy_decide(&sup.policy, real, &d, target, sizeof target) != POL_PASS)
		return;
	int n;
	if (d.rule) {
		policy_format_rule(d.rule, rule, sizeof rule);
		n = snprintf(note, size, "%s is passed to the kernel by rule '%s' (%s): nothing in its own tree "
			     "is cached (--cache DIR or a cache rule covers it)", real, rule, d.rule->origin);
	} else {
		n = snprintf(note, size, "%s is covered by no rule: nothing in its own tree is cached "
			     "(--cache DIR or a cache rule covers it)", real);
	}
	if (n >= (int)size)
		strcpy(note + size - 4, "...");
	log_trace(1, "note: %s", note);
}

/* collrun needs procfs: callers' paths, descriptors and credentials, and the job's
 * processes, are all found there. */
static int check_proc(void)
{
	struct statfs fs;
	if (statfs("/proc/self", &fs) < 0)
		return -errno;
	return fs.f_type == PROC_SUPER_MAGIC ? 0 : -ENOENT;
}

/* What the keeper's child runs: the shim, which never returns. */
struct launch {
	int sock;
	const struct sock_fprog *prog;
	const sigset_t *mask;
	const struct rlimit *nofile;
	pid_t ptracer;
	int backend;
	bool redirects;
	const char *path;
	char **argv;
};

static void run_program(void *arg)
{
	const struct launch *l = arg;
	shim_run_child(l->sock, l->prog, l->mask, l->nofile, l->ptracer, l->backend, l->redirects, l->path, l->argv);
}

/* Let the keeper end what was started, and give the failure its exit status. */
static int failed_start(struct keeper *k, int code)
{
	keeper_finish(k);
	return code;
}

/* The node supervisor has gone (killed, crashed): the calls of our program it had taken
 * will never be answered, so the job cannot go on. Say so, end it, and remove the
 * supervisor's files if nobody else serves there now. */
static int supervisor_lost(struct keeper *k, struct share *sh)
{
	log_msg("the node supervisor (pid %d) serving this job's ranks on this node is gone; "
		"stopping the job", (int)sh->sup_pid);
	keeper_finish(k);
	share_cleanup_dead(sh);
	replicas_remove_stale();
	return EXIT_FAILURE_COLLRUN;
}

/* Is an ancestor of ours a collrun (the same program file)? Then the listener that is there
 * already is its, and it serves our program. */
static bool nested_under_collrun(void)
{
	struct stat self, st;
	if (stat("/proc/self/exe", &self) < 0)
		return false;
	pid_t pid = getppid();
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
		if (stat(path, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
			return true;
		snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "re");
		if (!f)
			return false;
		char *got = fgets(buf, sizeof buf, f);
		fclose(f);
		char *rp = got ? strrchr(buf, ')') : NULL;
		int ppid;
		if (!rp || sscanf(rp + 1, " %*c %d", &ppid) != 1)
			return false;
		pid = ppid;
	}
	return false;
}

/* The shim could not install a listener (one is there already), or was asked for ptrace:
 * nested under collrun (served by it), trace the program, or give up. Tells the shim;
 * rewrites m->status to what happened. 0, or the exit status to stop with. */
static int choose_tracing(const struct options *o, struct shim_msg *m, pid_t pid, int sock)
{
	int go = SHIM_GO_TRACE, code = 0;
	if (m->status == SHIM_BUSY && nested_under_collrun()) {
		go = SHIM_GO_NESTED;
	} else if (m->status == SHIM_BUSY && o->backend == SHIM_NOTIFY) {
		log_msg("a seccomp listener is already installed for this process tree (another supervisor or "
			"a container runtime): --backend=notify cannot run here; use --backend=ptrace or auto");
		go = SHIM_GO_ABORT, code = EXIT_NO_NOTIFY;
	} else {
		if (m->status == SHIM_BUSY)
			log_msg("a seccomp listener is already installed for this process tree (another supervisor "
				"or a container runtime): using the ptrace backend");
		int err = tracer_attach(pid);
		if (err == -EPERM && nested_under_collrun()) {
			/* Already traced: by an outer collrun's ptrace backend, which serves it. */
			go = SHIM_GO_NESTED;
		} else if (err) {
			log_err(err, "cannot trace the program (the ptrace backend needs PTRACE_SEIZE of it)");
			go = SHIM_GO_ABORT, code = EXIT_FAILURE_COLLRUN;
		} else {
			/* Giving a replica's original back needs ADDFD's SETFD: directories are
			 * opened from the file system. Folders of dead supervisors still go. */
			replica_disabled = true;
			replicas_remove_stale();
		}
	}
	while (send(sock, &go, sizeof go, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	m->status = go == SHIM_GO_NESTED ? SHIM_NESTED : -1;
	return code;
}

/* Fork the keeper, which forks the program through the shim; take the program's pidfd
 * from the keeper and the listener from the shim, and give the keeper a copy of it.
 * Shared (sh->sock >= 0): the listener goes to the node supervisor at once, before the
 * program's exec (its first trapped call), so every call is taken by it alone. */
static int start(const struct options *o, const char *path, struct keeper *k, pid_t *pidp, int *pidfdp,
		 struct share *sh, const struct share_devino *w, size_t nw)
{
	struct sock_fprog prog;
	int backend = o->backend;
	int err = shim_kernel_support();
	if (err == -ENOSYS)
		return log_err(err, "this kernel lacks seccomp filters"), EXIT_NO_NOTIFY;
	if ((err == -EINVAL || err == -EOPNOTSUPP) && backend == SHIM_NOTIFY)
		return log_err(err, "this kernel lacks seccomp user notification (--backend=notify needs Linux >= 5.19)"),
		       EXIT_NO_NOTIFY;
	if ((err == -EINVAL || err == -EOPNOTSUPP) && backend == SHIM_AUTO) {
		log_msg("this kernel lacks seccomp user notification: using the ptrace backend");
		backend = SHIM_PTRACE;
	}
	bool redirects = false;
	for (size_t i = 0; i < sup.policy.n; i++)
		redirects |= sup.policy.rules[i].action == POL_REDIRECT || sup.policy.rules[i].action == POL_LIBRARY;
	err = shim_build_filter(&prog, redirects);
	if (err)
		return log_err(err, "cannot build the seccomp filter"), EXIT_FAILURE_COLLRUN;
	sigset_t fwd, old;
	job_forwarded_signals(&fwd);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return log_err(-errno, "socketpair"), EXIT_FAILURE_COLLRUN;
	/* Every cached file holds a memfd here: take the whole descriptor allowance for the
	 * supervisor, and give the program back exactly the limit it would have had. */
	struct rlimit nofile, raised;
	getrlimit(RLIMIT_NOFILE, &nofile);
	raised = (struct rlimit){ nofile.rlim_max, nofile.rlim_max };
	setrlimit(RLIMIT_NOFILE, &raised);
	struct launch l = { sv[1], &prog, &old, &nofile, sh->sock >= 0 ? sh->sup_pid : 0, backend, redirects,
			    path, o->argv };
	err = keeper_start(k, run_program, &l);
	if (!err && sh->sock < 0)
		pool_prestart(&node);   /* after the fork: a second thread makes a fork dearer */
	close(sv[1]);
	free(prog.filter);
	if (err)
		return log_err(err, "cannot start the keeper process"), EXIT_FAILURE_COLLRUN;
	struct keeper_msg km;
	int r = keeper_recv(k, &km, pidfdp);
	if (r <= 0 || km.event != KEEPER_STARTED || *pidfdp < 0) {
		if (r > 0 && km.event == KEEPER_FAILED)
			log_err(-km.err, "the keeper process could not start the program: %s", km.what);
		else
			log_msg("the keeper process died before starting the program");
		return failed_start(k, EXIT_FAILURE_COLLRUN);
	}
	*pidp = km.pid;
	/* While the program's setup installs its filter: learn what its execve would have
	 * had to wait for. */
	if (sh->sock < 0)
		exec_prelearn(&sup, km.pid, path, environ);
	struct shim_msg m;
	int fd;
	if (unix_recv(sv[0], &m, sizeof m, &fd) <= 0)
		return log_msg("%s: the program's setup died before exec", path), failed_start(k, EXIT_FAILURE_COLLRUN);
	if (m.status == SHIM_FILTER_FAILED) {
		int unsupported = m.err == EINVAL || m.err == ENOSYS;
		log_err(-m.err, "cannot install the seccomp filter%s", unsupported
			? " (collrun needs Linux >= 5.19 with seccomp user notification)" : "");
		return failed_start(k, unsupported ? EXIT_NO_NOTIFY : EXIT_FAILURE_COLLRUN);
	}
	if (m.status == SHIM_BUSY || m.status == SHIM_WANT_TRACER) {
		int code = choose_tracing(o, &m, km.pid, sv[0]);
		if (code)
			return failed_start(k, code);
	}
	sup.listener = m.status == SHIM_LISTENING ? fd : -1;
	if (sup.listener < 0 && !tracer_active)
		log_trace(1, "already under a collrun supervisor: it serves this job");
	if (sh->sock >= 0 && sup.listener < 0)
		share_close(sh);   /* nothing to hand over */
	if (sh->sock >= 0 && (err = share_handover(sh, sup.listener, km.pid, w, nw)) < 0) {
		log_trace(1, "node sharing: the listener could not be handed over (%s); this collrun serves "
			  "its own program", strerror(-err));
		share_close(sh);   /* nothing was taken: no call of ours is lost */
	}
	if (sh->sock < 0 && sup.listener >= 0 && (err = notify_setup(sup.listener)) < 0)
		return log_err(err, "seccomp listener setup"), failed_start(k, EXIT_FAILURE_COLLRUN);
	/* Shared: poll the supervisor's connection in the listener's place (never serve). */
	int serve = sh->sock >= 0 ? -1 : sup.listener;
	/* Second message only if execve failed; end-of-file means it succeeded. The program's
	 * own execve is trapped (its search paths are learned there), so serve the listener
	 * while waiting. */
	for (;;) {
		struct pollfd p[3] = { { sv[0], POLLIN, 0 }, { serve, POLLIN, 0 }, { sh->sock, POLLIN, 0 } };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return log_err(-errno, "poll"), failed_start(k, EXIT_FAILURE_COLLRUN);
		}
		if (p[0].revents)
			break;
		if (p[2].revents)
			return supervisor_lost(k, sh);
		if ((p[1].revents & POLLIN) && (err = notify_serve_one(sup.listener)) < 0)
			return log_err(err, "seccomp listener"), failed_start(k, EXIT_FAILURE_COLLRUN);
	}
	int got = unix_recv(sv[0], &m, sizeof m, &fd);
	if (got > 0 && m.status == SHIM_FILTER_FAILED) {
		log_err(-m.err, "cannot install the ptrace backend's seccomp filter");
		return failed_start(k, EXIT_FAILURE_COLLRUN);
	}
	if (got > 0 && m.status == SHIM_EXEC_FAILED) {
		log_err(-m.err, "%s", path);
		return failed_start(k, m.err == ENOENT ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE);
	}
	close(sv[0]);
	if (sup.listener >= 0 && (err = keeper_give_listener(k, sup.listener)) < 0)
		return log_err(err, "cannot hand the listener to the keeper"), failed_start(k, EXIT_FAILURE_COLLRUN);
	return 0;
}

/* The keeper is gone while the program ran: the job's processes came to us (a subreaper);
 * end them all, and say why. */
static int keeper_lost(struct keeper *k)
{
	pid_t pid = k->pid;
	int st = keeper_reap(k);
	if (st >= 0 && WIFSIGNALED(st))
		log_msg("the job's keeper process (pid %d) was killed by signal %d (%s); stopping the job",
			(int)pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
	else if (st >= 0)
		log_msg("the job's keeper process (pid %d) exited with status %d; stopping the job", (int)pid,
			WEXITSTATUS(st));
	else
		log_msg("the job's keeper process (pid %d) is gone; stopping the job", (int)pid);
	kill_descendants();
	return EXIT_FAILURE_COLLRUN;
}

/* ptrace backend, the program has exited: wait until no process of the job is left (or
 * until collrun is told to stop, which ends them). */
static void wait_tracees(void)
{
	sigset_t set;
	job_forwarded_signals(&set);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	struct pollfd p[2] = { { tracer_done_fd(), POLLIN, 0 }, { sfd, POLLIN, 0 } };
	if (poll(p, 1, 0) == 0)
		log_trace(1, "ptrace backend: waiting until no process of the job is left");
	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	if (sfd >= 0)
		close(sfd);
}

/* Node sharing (share.h): find the job and the node supervisor serving it here, or start
 * it. Any reason not to share is said with -v, and this collrun serves its own program,
 * exactly as without a job. */
static void try_share(const struct options *o, struct share *sh, size_t nwritten)
{
	char id[256], key[512];
	const char *from = NULL;
	int r = jobid_derive(o->job, (jobid_getenv_fn)getenv, id, sizeof id, &from);
	if (r == 0 && sesslink_id) {
		/* In a session the session is asked by node supervisors only: be one, alone. */
		snprintf(id, sizeof id, "session:%s.%d", sesslink_id, (int)getpid());
		from = "--session, for this collrun alone";
		r = 1;
	}
	if (r <= 0) {
		log_trace(1, "node sharing: %s; this collrun serves its own program",
			  r == 0 ? "no job id (--job, COLLRUN_JOB, a batch system or mpiexec)" : "job id too long");
		return;
	}
	const char *vnode = o->virtual_node ? o->virtual_node : getenv("COLLRUN_NODE_ID");
	if (jobid_key(id, vnode, key, sizeof key) < 0 || strlen(key) >= sizeof sh->rv.key)
		return log_trace(1, "node sharing off: the job key is too long");
	log_trace(1, "node sharing: job %s (from %s)", key, from);
	if (nwritten > SHARE_MAX_WRITTEN)
		return log_trace(1, "node sharing off: the program inherits more than %d files open for "
				 "writing", SHARE_MAX_WRITTEN);
	static char fp[SHARE_FP_MAX];   /* static: the node supervisor forked from us keeps it */
	int len = share_fingerprint(fp, sizeof fp);
	if (len < 0)
		return log_trace(1, "node sharing off: the policy is too long to compare with other ranks'");
	share_join(sh, key, fp, len);
}

int main(int argc, char **argv)
{
	/* A subcommand, not a program to run ("collrun -- report" runs one called report). */
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report_main(argc - 1, argv + 1);
	__attribute__((cleanup(options_free))) struct options o;
	int rc = options_parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.end_session)
		return session_end_cmd(o.end_session);
	if (o.start_session)
		return session_start_cmd(&o);
	if (o.nodes && o.argv[0])
		return session_run_cmd(&o, argc, argv);
	const char *sess = o.session ? o.session : getenv("COLLRUN_SESSION");
	sesslink_id = sess && sess[0] ? sess : NULL;
	sesslink_vnode = o.virtual_node ? o.virtual_node : getenv("COLLRUN_NODE_ID");
	if (sesslink_vnode && !sesslink_vnode[0])
		sesslink_vnode = NULL;
	char path[PATH_MAX], msg[1024] = "", note[PATH_MAX * 4] = "";
	int err = o.argv[0] ? find_program(o.argv[0], path, sizeof path) : 0;
	if (o.argv[0] && !(o.print_policy || o.explain)) {
		/* As shells say it: a name searched in PATH is "not found", a path "No such file". */
		if (err == -ENOENT && !strchr(o.argv[0], '/'))
			return log_msg("%s: command not found", o.argv[0]), EXIT_NOT_FOUND;
		if (err == -ENOENT)
			return log_err(err, "%s", o.argv[0]), EXIT_NOT_FOUND;
		if (err)
			return log_err(err, "%s: cannot execute", path), EXIT_NOT_EXECUTABLE;
	}
	/* Before anything runs: a bad audit path is the user's to fix, said with its reason. */
	if (o.audit && !(o.print_policy || o.explain) &&
	    (err = audit_open(o.audit_file, o.audit_format)) < 0)
		return log_err(err, "--audit=%s: cannot write the audit file", o.audit_file), EXIT_USAGE;
	audit_backtrace = o.backtrace;
	const char *why;
	if (o.backtrace && !(o.print_policy || o.explain) && bt_available(&why) < 0)
		return log_msg("--backtrace needs libunwind (apt-get install libunwind8): %s", why), EXIT_FAILURE_COLLRUN;
	if ((err = job_discovery_init(&sup)) < 0)
		return log_err(err, "cannot set up the supervisor"), EXIT_FAILURE_COLLRUN;
	if ((err = policy_setup(&sup.policy, &o, o.argv[0] && !err ? path : NULL, msg, sizeof msg)) < 0) {
		if (msg[0])
			log_msg("%s", msg);
		else
			log_err(err, "cannot build the policy");
		return EXIT_USAGE;
	}
	if (o.argv[0] && (o.print_policy || o.explain)) {
		/* What the job will discover first: PROGRAM's own search paths, and those of
		 * the libraries it needs, as rules with where each came from. */
		struct exec_note note = { .path = getenv("PATH"), .home = getenv("HOME"),
					  .userbase = getenv("PYTHONUSERBASE") };
		static const char *const lists[] = { "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME" };
		for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
			char *v = getenv(lists[i]) ? strdup(getenv(lists[i])) : NULL, *save = NULL, why[128];
			snprintf(why, sizeof why, "%s of collrun's environment", lists[i]);
			for (char *e = v ? strtok_r(v, ":", &save) : NULL; e; e = strtok_r(NULL, ":", &save))
				if (e[0] == '/')
					discover_add_logged(&sup, POL_SRC_ENVIRONMENT, e, why);
			free(v);
		}
		learn_closure(&sup, path, getenv("LD_LIBRARY_PATH"), &note);
	}
	if (o.print_policy)
		return policy_print(&sup.policy);
	if (o.explain)
		return policy_explain(&sup.policy, o.explain);
	if ((err = check_proc()) == -ENOENT)
		return log_msg("/proc is not mounted: collrun needs procfs there to follow the job"), EXIT_FAILURE_COLLRUN;
	if (err < 0)
		return log_err(err, "/proc (collrun needs procfs there to follow the job)"), EXIT_FAILURE_COLLRUN;
	if ((err = supervisor_init(&sup)) < 0)
		return log_err(err, "cannot set up the supervisor"), EXIT_FAILURE_COLLRUN;
	sup.passthrough = o.passthrough;
	replica_disabled = o.no_dir_replica;
	node.data->mode = o.data_mode;
	if (o.max_cache_set)
		node.data->max_bytes = o.max_cache;
	if (o.max_file_size_set)
		node.data->max_file_size = o.max_file_size;
	struct share_devino written[SHARE_MAX_WRITTEN];
	size_t nwritten = note_inherited_writers(written, SHARE_MAX_WRITTEN);
	note_uncached_program(path, note, sizeof note);
	struct share sh = { .sock = -1, .rv = { .dirfd = -1 } };
	/* --audit: this collrun answers its own program, so every call lands in its own audit
	 * file (one per rank), not in that of whichever rank started the node supervisor. */
	if (!o.no_share && !o.audit && o.backend != SHIM_PTRACE)
		try_share(&o, &sh, nwritten);
	else if (o.audit)
		log_trace(1, "node sharing off: --audit (each rank writes its own audit)");
	struct keeper k;
	pid_t pid;
	int pidfd;
	if ((rc = start(&o, path, &k, &pid, &pidfd, &sh, written, nwritten)) != 0)
		return rc;
	sup.child = pid;
	if (sh.sock >= 0)
		share_execed(&sh, pid);   /* the node supervisor checks its credentials */
	else
		job_check_program(&sup, pid);
	job_install_crash_handlers();
	siginfo_t si;
	if ((err = job_supervise(&k, pidfd, sh.sock >= 0 ? -1 : sup.listener, sh.sock, &si)) == -ECHILD)
		return keeper_lost(&k);
	if (err == -EPIPE)
		return supervisor_lost(&k, &sh);
	if (err < 0) {
		log_err(err, "supervisor failed; stopping the job");
		keeper_finish(&k);
		return EXIT_FAILURE_COLLRUN;
	}
	close(pidfd);
	if (o.stats)
		print_stats(&o, note, &sh);
	/* Nested: the outer supervisor serves what the program left running; let it run on.
	 * Otherwise what is left is served by a background copy, or there is nothing left and
	 * the keeper is waited for, so that nothing of collrun outlives it. */
	if (tracer_active) {
		/* A tracer cannot hand its tracees on: like strace -f, wait for the last one. */
		wait_tracees();
		keeper_finish(&k);
	} else if (sup.listener < 0)
		keeper_release(&k);
	else if (!job_linger(&k, sup.listener, sh.sock))
		keeper_finish(&k);
	job_exit_like(&si);
}
