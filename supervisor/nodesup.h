/* The node supervisor: one process serving the seccomp listeners of every rank of one job
 * on one node (share.h is the ranks' side). It is a fork of the first rank's collrun made
 * after that collrun built its policy, so it holds the same policy and node state; the
 * job state `sup` is shared by all the ranks it serves (policy, discovered trees, written
 * inodes, mutations in flight), so one rank's write is seen by every rank at once.
 * One poll loop: the job's socket, each rank's connection, each rank's listener. It never
 * blocks there; it leaves when no rank's connection and no listener is left, and removes
 * its socket and lock file. */
#pragma once
#include "rendezvous.h"
#include <stddef.h>
#include <sys/types.h>

/* In the winner of the election, holding lockfd: fork the node supervisor (detached: a
 * grandchild, in its own session) serving lsock, which compares every rank's fingerprint
 * with fp. Its pid (as a hint; ranks learn it from its welcome), or -errno. */
pid_t nodesup_spawn(const struct rendezvous *rv, int lsock, int lockfd, const char *fp, size_t fp_len);
