/* Job identity (jobid.h): from the command line, the environment, or hydra's proxy. */
#include "jobid.h"
#include "procfs.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>

/* Set and not empty (an exported but empty SLURM_JOB_ID names no job). */
static const char *var(jobid_getenv_fn env, const char *name)
{
	const char *v = env(name);
	return v && v[0] ? v : NULL;
}

static int put(char *out, size_t size, const char *fmt, const char *a, const char *b)
{
	int n = snprintf(out, size, fmt, a, b);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 1;
}

long long jobid_start_time(pid_t pid)
{
	char buf[1024];
	int n = proc_read(pid, "stat", buf, sizeof buf);
	if (n < 0)
		return n;
	/* The command name (field 2) may hold spaces and parentheses: count from its end. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (int field = 2; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	return strtoll(p + 1, NULL, 10);
}

static pid_t parent_and_name(pid_t pid, char *name, size_t size)
{
	char buf[1024];
	if (proc_read(pid, "stat", buf, sizeof buf) < 0)
		return -ESRCH;
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	if (!open || !close || close < open)
		return -EIO;
	snprintf(name, size, "%.*s", (int)(close - open - 1), open + 1);
	char state;
	int ppid;
	if (sscanf(close + 1, " %c %d", &state, &ppid) != 2)
		return -EIO;
	return ppid;
}

pid_t jobid_hydra_proxy(jobid_getenv_fn env)
{
	/* The PMI socket's peer: credentials of the process that made the pair, the proxy.
	 * Only read (getsockopt): the descriptor belongs to the rank (design §4.20). */
	const char *fdtext = var(env, "PMI_FD");
	if (fdtext) {
		char *end;
		long fd = strtol(fdtext, &end, 10);
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (!*end && fd >= 0 && fd < 1 << 20 &&
		    getsockopt((int)fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0)
			return cred.pid;
	}
	/* PMI_PORT (hydra's TCP form) or a closed PMI_FD: the nearest hydra_pmi_proxy above
	 * us (a shell between it and collrun is fine). */
	pid_t pid = getppid();
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		char name[64];
		pid_t parent = parent_and_name(pid, name, sizeof name);
		if (parent < 0)
			return parent;
		if (strcmp(name, "hydra_pmi_proxy") == 0)
			return pid;
		pid = parent;
	}
	return -ESRCH;
}

int jobid_derive(const char *explicit_id, jobid_getenv_fn env, char *out, size_t size, const char **from)
{
	const char *v;
	if (explicit_id && explicit_id[0])
		return *from = "--job", put(out, size, "%s%s", explicit_id, "");
	if ((v = var(env, "COLLRUN_JOB")))
		return *from = "COLLRUN_JOB", put(out, size, "%s%s", v, "");
	if ((v = var(env, "SLURM_JOB_ID"))) {
		/* One node supervisor per job step: steps may run different programs and
		 * policies; sharing across steps is what sessions are for (issue 10). */
		const char *step = var(env, "SLURM_STEP_ID");
		*from = "SLURM_JOB_ID.SLURM_STEP_ID";
		return put(out, size, "slurm:%s.%s", v, step ? step : "batch");
	}
	if ((v = var(env, "PBS_JOBID")))
		return *from = "PBS_JOBID", put(out, size, "pbs:%s%s", v, "");
	if ((v = var(env, "FLUX_JOB_ID")))
		return *from = "FLUX_JOB_ID", put(out, size, "flux:%s%s", v, "");
	/* MPICH's hydra: every rank gets PMI_RANK and MPI_LOCALNRANKS, but no job id. */
	if (var(env, "PMI_RANK") && var(env, "MPI_LOCALNRANKS")) {
		pid_t proxy = jobid_hydra_proxy(env);
		if (proxy < 0)
			return 0;
		long long start = jobid_start_time(proxy);
		if (start < 0)
			return 0;
		char p[64];
		snprintf(p, sizeof p, "%d.%lld", (int)proxy, start);
		*from = "the hydra proxy (pid.start time)";
		return put(out, size, "hydra:%s%s", p, "");
	}
	return 0;
}

int jobid_key(const char *id, const char *vnode, char *out, size_t size)
{
	int n = vnode && vnode[0] ? snprintf(out, size, "%s@node:%s", id, vnode) : snprintf(out, size, "%s", id);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
