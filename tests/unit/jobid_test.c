/* Job identity for node sharing (jobid.h): which source wins, what a batch system's ids
 * become, that an empty variable names no job, and hydra's id from its PMI socket's peer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "jobid.h"

static const char *vars[32][2];

static const char *fake(const char *name)
{
	for (size_t i = 0; i < 32 && vars[i][0]; i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

static void set(const char *name, const char *value)
{
	size_t i = 0;
	while (vars[i][0] && strcmp(vars[i][0], name) != 0)
		i++;
	vars[i][0] = name;
	vars[i][1] = value;
}

static void clear(void) { memset(vars, 0, sizeof vars); }

TestSuite(jobid, .init = clear);

static int derive(const char *explicit_id, char *out, const char **from)
{
	return jobid_derive(explicit_id, fake, out, 256, from);
}

Test(jobid, none_without_any_source)
{
	char id[256];
	const char *from = NULL;
	cr_assert_eq(derive(NULL, id, &from), 0);
	set("SLURM_JOB_ID", "");   /* exported but empty: no job */
	cr_assert_eq(derive(NULL, id, &from), 0);
	set("PMI_RANK", "0");      /* PMI_RANK alone (another launcher): no hydra job */
	cr_assert_eq(derive(NULL, id, &from), 0);
}

Test(jobid, explicit_then_env_then_batch_systems_in_order)
{
	char id[256];
	const char *from;
	set("FLUX_JOB_ID", "f1");
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, "flux:f1");
	set("PBS_JOBID", "42.server");
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, "pbs:42.server");
	set("SLURM_JOB_ID", "7");
	set("SLURM_STEP_ID", "3");
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, "slurm:7.3");
	cr_assert_str_eq(from, "SLURM_JOB_ID.SLURM_STEP_ID");
	set("COLLRUN_JOB", "mine");
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, "mine");
	cr_assert_eq(derive("given", id, &from), 1);
	cr_assert_str_eq(id, "given");
	cr_assert_str_eq(from, "--job");
}

Test(jobid, slurm_batch_script_without_step)
{
	char id[256];
	const char *from;
	set("SLURM_JOB_ID", "99");
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, "slurm:99.batch");
}

Test(jobid, too_long_is_an_error_not_a_truncated_id)
{
	char id[16];
	const char *from;
	cr_assert_eq(jobid_derive("a-job-id-longer-than-sixteen", fake, id, sizeof id, &from), -ENAMETOOLONG);
}

/* hydra makes the PMI socket pair itself and forks the rank: the peer's pid is the proxy.
 * Here this process made the pair, so it plays the proxy. */
Test(jobid, hydra_from_the_pmi_socket_peer)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char fd[16], want[64], id[256];
	snprintf(fd, sizeof fd, "%d", sv[1]);
	set("PMI_RANK", "1");
	set("MPI_LOCALNRANKS", "4");
	set("PMI_FD", fd);
	cr_assert_eq(jobid_hydra_proxy(fake), getpid());
	long long start = jobid_start_time(getpid());
	cr_assert_gt(start, 0);
	snprintf(want, sizeof want, "hydra:%d.%lld", (int)getpid(), start);
	const char *from;
	cr_assert_eq(derive(NULL, id, &from), 1);
	cr_assert_str_eq(id, want);
	/* The same for every rank of that proxy: another descriptor of the same pair's peer. */
	int other[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, other), 0);
	snprintf(fd, sizeof fd, "%d", other[1]);
	char id2[256];
	cr_assert_eq(derive(NULL, id2, &from), 1);
	cr_assert_str_eq(id2, id);
}

Test(jobid, hydra_without_a_proxy_names_no_job)
{
	char id[256];
	const char *from;
	set("PMI_RANK", "0");
	set("MPI_LOCALNRANKS", "2");
	set("PMI_FD", "987654");   /* not open: and no hydra_pmi_proxy above the test */
	cr_assert_eq(derive(NULL, id, &from), 0);
}

Test(jobid, key_adds_the_virtual_node)
{
	char key[64];
	cr_assert_eq(jobid_key("slurm:7.3", NULL, key, sizeof key), 0);
	cr_assert_str_eq(key, "slurm:7.3");
	cr_assert_eq(jobid_key("slurm:7.3", "", key, sizeof key), 0);
	cr_assert_str_eq(key, "slurm:7.3");
	cr_assert_eq(jobid_key("slurm:7.3", "1", key, sizeof key), 0);
	cr_assert_str_eq(key, "slurm:7.3@node:1");
	cr_assert_eq(jobid_key("x", "0123456789012345678901234567890123456789012345678901234567890123", key,
			       sizeof key), -ENAMETOOLONG);
}
