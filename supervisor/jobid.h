/* Job identity: which collruns on one node belong to one job and so may share one node
 * supervisor (rendezvous.h). Taken from the user (--job, COLLRUN_JOB), from the batch
 * system (Slurm, PBS, Flux), or derived from MPICH's hydra launcher, which names no job
 * but runs every local rank of one mpiexec under one hydra_pmi_proxy process: that
 * process's pid and start time are the same for those ranks and differ between two
 * concurrent mpiexecs (and a reused pid has another start time). */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/* Where the variables come from: getenv in collrun, a table in the unit tests. */
typedef const char *(*jobid_getenv_fn)(const char *name);

/* The job's id into out (with the source it came from, for -v, into *from):
 * 1 found; 0 no job id (a plain `collrun -- ./app`: serve ourselves); -errno
 * (-ENAMETOOLONG when it does not fit). explicit_id: --job, or NULL. */
int jobid_derive(const char *explicit_id, jobid_getenv_fn env, char *out, size_t size, const char **from);

/* The hydra proxy serving this process: the peer of the PMI_FD socket (hydra makes the
 * socket pair itself before it forks the rank), else the nearest ancestor named
 * hydra_pmi_proxy. Its pid, or -errno. */
pid_t jobid_hydra_proxy(jobid_getenv_fn env);

/* The start time (field 22 of /proc/PID/stat, clock ticks since boot), or -errno. */
long long jobid_start_time(pid_t pid);

/* The rendezvous key: job id plus the virtual node (COLLRUN_NODE_ID, --virtual-node) when
 * one is given, as "ID" or "ID@node:K". 0 or -ENAMETOOLONG. */
int jobid_key(const char *id, const char *vnode, char *out, size_t size);
