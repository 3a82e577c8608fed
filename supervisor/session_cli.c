/* Session commands (session_cli.h). The session is `mpiexec` of collrun-session, started in
 * a session of its own (not in the caller's process group: a Ctrl-C meant for a job step
 * must not end it) and left to run; its members write <dir>/ready once all listen. */
#include "session_cli.h"
#include "log.h"
#include "rendezvous.h"
#include "session/link.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int session_dir(const char *id, char *out, size_t size)
{
	char rd[128];
	int err = rundir_pick((jobid_getenv_fn)getenv, getuid(), rd, sizeof rd);
	int fd = err ? err : rundir_open(rd, getuid());
	if (fd < 0)
		return fd;
	close(fd);
	int n = snprintf(out, size, SL_DIR_FMT, rd, id);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* collrun-session beside collrun (the build tree, or the installed pair), else PATH's. */
static void session_program(char *out, size_t size)
{
	const char *env = getenv("COLLRUN_SESSION_PROGRAM");
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (env && env[0]) {
		snprintf(out, size, "%s", env);
		return;
	}
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			snprintf(out, size, "%.*s/collrun-session", (int)(slash - self), self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, size, "collrun-session");
}

static void nap(void)
{
	struct timespec t = { 0, 10 * 1000 * 1000 };
	nanosleep(&t, NULL);
}

/* One host of the session, as --hosts or a hostfile names it (hydra's "NAME[:SLOTS]"):
 * its name must resolve, or mpiexec's launcher would fail later (and hydra 4.0 then
 * waits forever). 0, or EXIT_USAGE (said). */
static int check_host(const char *h, size_t len, const char *where)
{
	char name[256];
	size_t n = strcspn(h, ": \t\r\n");
	if (n > len)
		n = len;
	if (n == 0)
		return log_msg("session: %s: an empty host name", where), EXIT_USAGE;
	if (n >= sizeof name)
		return log_msg("session: %s: host name too long", where), EXIT_USAGE;
	memcpy(name, h, n);
	name[n] = '\0';
	struct addrinfo *ai = NULL, hints = { .ai_socktype = SOCK_STREAM };
	int rc = getaddrinfo(name, NULL, &hints, &ai);
	if (ai)
		freeaddrinfo(ai);
	if (rc)
		return log_msg("session: host %s (%s) cannot be resolved: %s", name, where,
			       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc)), EXIT_USAGE;
	return 0;
}

/* The hosts of --hosts=H1,H2: checked, counted into *n. 0 or EXIT_USAGE (said). */
static int list_hosts(const char *list, int *n)
{
	char where[PATH_MAX];
	*n = 0;
	for (const char *h = list;; h++) {
		size_t len = strcspn(h, ",");
		snprintf(where, sizeof where, "entry %d of --hosts=%s", *n + 1, list);
		int rc = check_host(h, len, where);
		if (rc)
			return rc;
		++*n;
		h += len;
		if (!*h)
			return 0;
	}
}

/* The hosts of a hostfile (one a line, hydra's format; # comments and blank lines
 * skipped): checked, counted into *n. 0 or EXIT_USAGE (said). */
static int file_hosts(const char *hostfile, int *n)
{
	FILE *f = fopen(hostfile, "re");
	if (!f)
		return log_err(-errno, "session: hostfile %s", hostfile), EXIT_USAGE;
	char line[1024], where[PATH_MAX + 32];
	int rc = 0, no = 0;
	*n = 0;
	errno = 0;
	while (!rc && fgets(line, sizeof line, f)) {
		char *p = line + strspn(line, " \t");
		no++;
		if (!*p || *p == '#' || *p == '\n' || *p == '\r')
			continue;
		snprintf(where, sizeof where, "%s line %d", hostfile, no);
		if (!(rc = check_host(p, strlen(p), where)))
			++*n;
	}
	if (!rc && ferror(f))
		rc = (log_err(-(errno ? errno : EIO), "session: hostfile %s", hostfile), EXIT_USAGE);
	fclose(f);
	if (!rc && !*n)
		rc = (log_msg("session: hostfile %s names no host", hostfile), EXIT_USAGE);
	return rc;
}

/* A process mpiexec started that has exited before the session is up: hydra's launcher
 * (ssh, rsh, srun) could not reach a host. hydra 4.0 does not reap it, nor notice: it would
 * wait for that host's proxy forever. Its pid and comm into comm, or 0. */
static pid_t dead_launcher(pid_t parent, char *comm, size_t size)
{
	DIR *d = opendir("/proc");
	pid_t found = 0;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char p[300], st[512];
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, st, sizeof st - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		st[n] = '\0';
		char *open_paren = strchr(st, '('), *close_paren = strrchr(st, ')');
		char state;
		int ppid;
		if (!open_paren || !close_paren || sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2)
			continue;
		if (ppid == parent && state == 'Z') {
			found = atoi(e->d_name);
			snprintf(comm, size, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
		}
	}
	if (d)
		closedir(d);
	return found;
}

/* The first lines of mpiexec's log, on one line, for a message. */
static void log_head(const char *log, char *out, size_t size)
{
	FILE *f = fopen(log, "re");
	size_t k = 0;
	out[0] = '\0';
	for (char line[512]; f && k + 1 < size && fgets(line, sizeof line, f);) {
		line[strcspn(line, "\n")] = '\0';
		k += snprintf(out + k, size - k, "%s%s", k ? " | " : "", line);
	}
	if (f)
		fclose(f);
}

static void remove_all(const char *dir);
static void wait_mpiexec(pid_t pid, int term_after);

/* Start it; the id into id (17 bytes). 0, or an exit status (said). */
static int start(const struct options *o, int nodes, char *id, size_t idsize)
{
	uint8_t r[8];
	if (getrandom(r, sizeof r, 0) != sizeof r)
		return log_err(-errno, "cannot make a session id"), EXIT_FAILURE_COLLRUN;
	snprintf(id, idsize, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	char dir[256], prog[PATH_MAX], nbuf[16], log[300];
	const char *argv[16];
	int k = 0, err;
	argv[k++] = "mpiexec";
	bool virt = !o->hosts && !o->hostfile;
	if (!virt) {   /* the hosts first: bad ones fail here, before anything runs */
		argv[k++] = "-ppn";
		argv[k++] = "1";
		argv[k++] = o->hosts ? "-hosts" : "-f";
		argv[k++] = o->hosts ? o->hosts : o->hostfile;
		if ((err = o->hosts ? list_hosts(o->hosts, &nodes) : file_hosts(o->hostfile, &nodes)))
			return err;
	}
	if ((err = session_dir(id, dir, sizeof dir)))
		return log_err(err, "session: no private rendezvous directory"), EXIT_FAILURE_COLLRUN;
	if (mkdir(dir, 0700) < 0)
		return log_err(-errno, "session: %s", dir), EXIT_FAILURE_COLLRUN;
	snprintf(log, sizeof log, "%s/mpiexec.log", dir);
	session_program(prog, sizeof prog);
	snprintf(nbuf, sizeof nbuf, "%d", nodes);
	argv[k++] = "-n";
	argv[k++] = nbuf;
	argv[k++] = prog;
	argv[k++] = "--serve";
	argv[k++] = id;
	if (virt && nodes > 1)
		argv[k++] = "--virtual";
	argv[k] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return log_err(-errno, "session: fork"), EXIT_FAILURE_COLLRUN;
	if (pid == 0) {
		setsid();
		/* Its output is not ours: a caller reading our stdout must see it end. With -v the
		 * members' lines go to our standard error, else to <dir>/mpiexec.log (shown if
		 * the session does not come up). */
		int null = open("/dev/null", O_RDWR);
		int out = log_verbosity ? null : open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		/* Under Slurm, hydra starts the members with srun, as a job step that would hold
		 * the allocation's CPUs for the session's life: the job's own steps (`srun collrun
		 * --session=ID ...`) would then wait forever. The members use next to no CPU:
		 * their step shares the CPUs with every other (srun --overlap). */
		if (getenv("SLURM_JOB_ID"))
			setenv("SLURM_OVERLAP", "1", 1);
		dup2(null, 0);
		dup2(out < 0 ? null : out, 1);
		if (log_verbosity == 0)
			dup2(out < 0 ? null : out, 2);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	/* Wait until every member listens, or mpiexec gives up. */
	char ready[300], pidfile[300];
	snprintf(ready, sizeof ready, "%s/ready", dir);
	snprintf(pidfile, sizeof pidfile, "%s/mpiexec.pid", dir);
	char said[1024], comm[64];
	for (int i = 0;; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			log_head(log, said, sizeof said);
			session_end_cmd(id);
			log_msg("session: mpiexec of %s ended (%s %d) before the session was up%s%s", prog,
				WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
				said[0] ? ": " : "", said);
			return EXIT_FAILURE_COLLRUN;
		}
		if (access(ready, F_OK) == 0)
			break;
		pid_t dead = i % 10 == 9 ? dead_launcher(pid, comm, sizeof comm) : 0;
		if (dead) {
			/* No member can be asked to end (none is in its loop): mpiexec ends its
			 * proxies, and with them the members, on SIGTERM. */
			log_head(log, said, sizeof said);
			wait_mpiexec(pid, 0);
			remove_all(dir);
			log_msg("session: a host cannot be reached: %s (pid %d), which mpiexec started to reach it, "
				"exited before the session was up%s%s", comm, (int)dead, said[0] ? ": " : "", said);
			return EXIT_FAILURE_COLLRUN;
		}
		nap();
	}
	FILE *f = fopen(pidfile, "we");
	if (f) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	log_trace(1, "session %s: up (%d member%s, mpiexec pid %d)", id, nodes, nodes > 1 ? "s" : "", (int)pid);
	return 0;
}

int session_start_cmd(const struct options *o)
{
	char id[32];
	int rc = start(o, o->nodes ? o->nodes : 1, id, sizeof id);
	if (rc)
		return rc;
	printf("%s\n", id);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILURE_COLLRUN;
}

static int member_socket(const char *dir)
{
	DIR *d = opendir(dir);
	int s = -1;
	for (struct dirent *e; d && s < 0 && (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 5, ".sock"))
			continue;
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		if ((size_t)snprintf(a.sun_path, sizeof a.sun_path, "%s/%s", dir, e->d_name) >= sizeof a.sun_path)
			continue;
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
			close(s);
			s = -1;
		}
	}
	if (d)
		closedir(d);
	return s;
}

static void remove_all(const char *dir)
{
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* Wait until the session's mpiexec (pid, a group leader) has gone: SIGTERM after
 * term_after naps, SIGKILL 3000 naps later (bounded: a session that will not end is
 * killed). */
static void wait_mpiexec(pid_t pid, int term_after)
{
	for (int i = 0; pid > 0 && waitpid(pid, NULL, WNOHANG) != pid && kill(pid, 0) == 0; i++) {
		/* (waitpid: when we started it, it is our own child, a zombie once it ends) */
		if (i == term_after)
			kill(-pid, SIGTERM);
		if (i == term_after + 3000)
			kill(-pid, SIGKILL);
		nap();
	}
}

int session_end_cmd(const char *id)
{
	char dir[256], pidfile[300];
	int err = session_dir(id, dir, sizeof dir);
	if (err)
		return log_err(err, "session: no private rendezvous directory"), EXIT_FAILURE_COLLRUN;
	struct stat st;
	if (stat(dir, &st) < 0)
		return log_msg("session %s: not found (ended already?)", id), 1;
	snprintf(pidfile, sizeof pidfile, "%s/mpiexec.pid", dir);
	int pid = 0;
	FILE *f = fopen(pidfile, "re");
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	int s = member_socket(dir);
	if (s >= 0) {
		/* The member passes it to the root, which ends the stream; every member leaves
		 * once it has seen the end, closing our connection. */
		struct sl_hdr h = { .kind = SL_END };
		if (send(s, &h, sizeof h, MSG_NOSIGNAL) == sizeof h) {
			char buf[4096];
			while (recv(s, buf, sizeof buf, 0) > 0)
				;
		}
		close(s);
	}
	wait_mpiexec(pid, 6000);
	remove_all(dir);
	log_trace(1, "session %s: ended", id);
	return 0;
}

int session_run_cmd(const struct options *o, int argc, char **argv)
{
	char id[32];
	int rc = start(o, o->nodes, id, sizeof id);
	if (rc)
		return rc;
	/* mpiexec -n N [-hosts|-f] collrun --session ID <our options> PROGRAM...: our options
	 * are argv[1 .. first program word), less -n/--hosts/-f, which were the session's. */
	char **av = calloc(argc + 12, sizeof *av);
	char nbuf[16], sess[64], self[PATH_MAX];
	if (!av)
		return session_end_cmd(id), EXIT_FAILURE_COLLRUN;
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	self[sl > 0 ? sl : 0] = '\0';
	int k = 0;
	av[k++] = "mpiexec";
	if (o->hosts)
		av[k++] = "-hosts", av[k++] = (char *)o->hosts;
	if (o->hostfile)
		av[k++] = "-f", av[k++] = (char *)o->hostfile;
	snprintf(nbuf, sizeof nbuf, "%d", o->nodes);
	av[k++] = "-n";
	av[k++] = nbuf;
	av[k++] = sl > 0 ? self : argv[0];
	snprintf(sess, sizeof sess, "--session=%s", id);
	av[k++] = sess;
	for (int i = 1; i < argc && argv + i != o->argv; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if (!strcmp(a, "-n") || !strcmp(a, "-f") || !strcmp(a, "--hosts")) {
			i++;
			continue;
		}
		if (!strncmp(a, "-n", 2) || !strncmp(a, "-f", 2) || !strncmp(a, "--hosts=", 8))
			continue;
		av[k++] = argv[i];
	}
	av[k++] = "--";
	for (char **p = o->argv; *p; p++)
		av[k++] = *p;
	av[k] = NULL;
	pid_t pid = fork();
	if (pid == 0) {
		execvp(av[0], av);
		log_err(-errno, "mpiexec");
		_exit(127);
	}
	/* mpiexec gets the terminal's signals itself; we only wait, then end the session. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, oint, oterm;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGTERM, &ign, &oterm);
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	free(av);
	session_end_cmd(id);
	if (pid < 0)
		return EXIT_FAILURE_COLLRUN;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
