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

static int count_hosts(const char *hostfile)
{
	FILE *f = fopen(hostfile, "re");
	if (!f)
		return -errno;
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		char *p = line + strspn(line, " \t");
		if (*p && *p != '#' && *p != '\n')
			n++;
	}
	fclose(f);
	return n;
}

/* Start it; the id into id (17 bytes). 0, or an exit status (said). */
static int start(const struct options *o, int nodes, char *id, size_t idsize)
{
	uint8_t r[8];
	if (getrandom(r, sizeof r, 0) != sizeof r)
		return log_err(-errno, "cannot make a session id"), EXIT_FAILURE_COLLRUN;
	snprintf(id, idsize, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	char dir[256], prog[PATH_MAX], nbuf[16];
	int err = session_dir(id, dir, sizeof dir);
	if (err)
		return log_err(err, "session: no private rendezvous directory"), EXIT_FAILURE_COLLRUN;
	session_program(prog, sizeof prog);
	const char *argv[16];
	int k = 0;
	argv[k++] = "mpiexec";
	bool virt = !o->hosts && !o->hostfile;
	if (!virt) {
		argv[k++] = "-ppn";
		argv[k++] = "1";
		if (o->hosts) {
			argv[k++] = "-hosts";
			argv[k++] = o->hosts;
			nodes = 1;
			for (const char *c = o->hosts; *c; c++)
				nodes += *c == ',';
		} else {
			argv[k++] = "-f";
			argv[k++] = o->hostfile;
			if ((nodes = count_hosts(o->hostfile)) <= 0)
				return log_msg("session: no hosts in %s", o->hostfile), EXIT_USAGE;
		}
	}
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
		 * members' lines go to our standard error. */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (log_verbosity == 0)
			dup2(null, 2);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	/* Wait until every member listens, or mpiexec gives up. */
	char ready[300], pidfile[300];
	snprintf(ready, sizeof ready, "%s/ready", dir);
	snprintf(pidfile, sizeof pidfile, "%s/mpiexec.pid", dir);
	for (;;) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			session_end_cmd(id);
			log_msg("session: mpiexec of %s ended (%s %d) before the session was up%s", prog,
				WIFEXITED(st) ? "status" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
				log_verbosity ? "" : "; -v shows its output");
			return EXIT_FAILURE_COLLRUN;
		}
		if (access(ready, F_OK) == 0)
			break;
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
	/* mpiexec leaves after its members (bounded: a session that will not end is killed). */
	for (int i = 0; pid > 0 && waitpid(pid, NULL, WNOHANG) != pid && kill(pid, 0) == 0; i++) {
		/* (waitpid: under -n N -- PROGRAM it is our own child, a zombie once it ends) */
		if (i == 6000)
			kill(-pid, SIGTERM);
		if (i == 9000)
			kill(-pid, SIGKILL);
		nap();
	}
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
