/* The keeper: a small process between collrun and the program (collrun -> keeper ->
 * program) that makes the job live and die as one. It is a child subreaper, so every
 * process the job orphans becomes its child and is reaped; it tells collrun the program's
 * pid and wait status; and when the last holder of the liveness pipe (collrun, then the
 * lingering copy) is gone — done, killed or crashed — it kills every process left in the
 * job. It does not rely on PR_SET_PDEATHSIG, which the kernel clears when a program
 * changes its credentials (setpriv, gosu). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct keeper {
	pid_t pid;      /* the keeper process; -1 once reaped */
	int sock;       /* collrun's end of the socket to the keeper */
	int alive;      /* write end of the liveness pipe: the job lives while it is held */
};

enum keeper_event {
	/* keeper -> collrun */
	KEEPER_STARTED,   /* pid: the program; its pidfd travels with the message */
	KEEPER_EXITED,    /* code, status: the program's si_code and si_status */
	KEEPER_FAILED,    /* err, what: the keeper could not start the program */
	KEEPER_IDLE,      /* answer to RELEASE: no process of the job is left */
	KEEPER_BUSY,      /* answer to RELEASE: some are; the keeper stays until they end */
	/* collrun -> keeper */
	KEEPER_LISTENER,  /* the seccomp listener travels with it */
	KEEPER_RELEASE,   /* collrun ends normally: let the job's remaining processes run on */
};

struct keeper_msg {
	int event;
	int pid;
	int code, status;
	int err;
	char what[32];
};

/* Make collrun a child subreaper and fork the keeper, which forks the program by calling
 * run_program(arg) (which must not return) in its child. 0 or -errno. */
int keeper_start(struct keeper *k, void (*run_program)(void *arg), void *arg);
/* The next message from the keeper and the descriptor it carries (else *fd = -1).
 * 1: a message; 0: the keeper is gone; -errno. */
int keeper_recv(const struct keeper *k, struct keeper_msg *m, int *fd);
/* Give the keeper a copy of the seccomp listener: while any process holds it, trapped calls
 * of the job wait for an answer instead of failing with ENOSYS. 0 or -errno. */
int keeper_give_listener(const struct keeper *k, int listener);
/* Nested collrun, program done: processes it left run on (the outer supervisor serves
 * them). Returns true if the keeper has exited (nothing was left), false if it stays, in
 * its own session, until they end. Either way collrun may exit. */
bool keeper_release(struct keeper *k);
/* collrun is done with the job: drop the liveness pipe, which makes the keeper kill what
 * is left of the job, and wait until it has. */
void keeper_finish(struct keeper *k);
/* After keeper_recv returned 0: reap the keeper; its wait status (as waitpid gives it),
 * or -errno. */
int keeper_reap(struct keeper *k);

/* SIGKILL every process descended from the caller (a subreaper: orphans of the job are its
 * children), sweeping /proc until a sweep finds none left, and reap its own children.
 * Returns the number of processes killed, or -errno if /proc cannot be read. */
int kill_descendants(void);

/* One datagram over a SOCK_SEQPACKET Unix socket, with at most one descriptor. send: 0 or
 * -errno. recv: 1 (a whole message of len bytes), 0 (end of file or short), -errno. */
int unix_send(int sock, const void *buf, size_t len, int fd);
int unix_recv(int sock, void *buf, size_t len, int *fd);
