/* Node sharing, the rank's side: the ranks of one job on one node share one node
 * supervisor (nodesup.h). A rank's collrun takes the job's lock, connects to the job's
 * socket or, if nobody serves it, starts the node supervisor (a fork of itself, holding
 * its policy and node state); then shows its fingerprint (policy and serving options),
 * and, if the supervisor serves the same, hands over its program's seccomp listener and
 * serves nothing itself. The messages of the socket are defined here too. */
#pragma once
#include "rendezvous.h"
#include "stats.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHARE_VERSION 1
#define SHARE_FP_MAX 60000       /* a larger fingerprint: serve ourselves */
#define SHARE_MAX_WRITTEN 64     /* inherited files open for writing, sent with the listener */

enum share_kind {
	SHARE_HELLO = 1,   /* rank -> sup: key and fingerprint */
	SHARE_WELCOME,     /* sup -> rank: served; pid is the supervisor's */
	SHARE_REFUSE,      /* sup -> rank: why; the rank serves itself */
	SHARE_LISTENER,    /* rank -> sup: the program's listener travels with it */
	SHARE_EXECED,      /* rank -> sup: the program's exec succeeded (check its credentials) */
	SHARE_STATS_REQ,   /* rank -> sup */
	SHARE_STATS,       /* sup -> rank: the node's counters, for --stats */
	SHARE_NOTE,        /* sup -> rank: one line for the user (the session is lost) */
};

struct share_hdr { uint32_t kind, version; };
struct share_hello {
	struct share_hdr h;
	char key[256];
	uint32_t fp_len;
	char fp[SHARE_FP_MAX];   /* sent only up to fp_len */
};
struct share_reply { struct share_hdr h; int32_t pid; char why[160]; };
struct share_devino { uint64_t dev, ino; };
struct share_listener {
	struct share_hdr h;
	int32_t pid;
	uint32_t nwritten;
	struct share_devino written[SHARE_MAX_WRITTEN];
};
struct share_note { struct share_hdr h; char text[512]; };
struct share_execed { struct share_hdr h; int32_t pid; };
struct share_stats {
	struct share_hdr h;
	struct stats s;
	uint64_t files, bytes, fsops, marks;
};

/* The rank's connection to its node supervisor. */
struct share {
	int sock;            /* -1: not shared (serve ourselves) */
	pid_t sup_pid;
	bool started_it;     /* this collrun started the node supervisor */
	struct rendezvous rv;
};

/* What must be equal for a rank to be served by another's supervisor: the policy as
 * --print-policy shows it, the serving options, our credentials and our view of the file
 * system (root and mount namespace). Into out; its length, or -errno (-E2BIG: too long). */
int share_fingerprint(char *out, size_t size);

/* Join the node supervisor of key (or start it). 0: joined (s->sock, s->sup_pid); -errno:
 * serve ourselves — the reason was said with -v. */
int share_join(struct share *s, const char *key, const char *fp, size_t fp_len);
/* Hand the program's listener over, with the inherited files it has open for writing.
 * 0 or -errno (then serve ourselves: the supervisor has not taken it). */
int share_handover(struct share *s, int listener, pid_t prog, const struct share_devino *w, size_t nw);
int share_execed(struct share *s, pid_t prog);
/* The node's counters. 0 or -errno (the supervisor is gone). */
int share_stats(struct share *s, struct share_stats *out);
/* The supervisor died: remove its socket and lock if nobody serves there now. */
void share_cleanup_dead(struct share *s);
void share_close(struct share *s);
