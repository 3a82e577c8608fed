/* Sessions from the command line (issue 10): start one as its own MPI job, end one, or run
 * a program under a session of its own. collrun never links MPI: it runs mpiexec. */
#pragma once
#include "options.h"

/* --start-session: start `mpiexec ... collrun-session --serve ID`, wait until every member
 * listens, print ID. Exit status for collrun (0 started). */
int session_start_cmd(const struct options *o);
/* --end-session ID: ask the session to end, wait for its mpiexec, remove what it left
 * (also what a session that died left). Exit status (0 ended or nothing was left). */
int session_end_cmd(const char *id);
/* -n N -- PROGRAM: start a session, run mpiexec -n N collrun --session ID [OPTIONS] --
 * PROGRAM, end it. mpiexec's exit status. argv: collrun's own, to pass its options on. */
int session_run_cmd(const struct options *o, int argc, char **argv);
