/* member.h — collrun-session's session member mode (member.c). */
#ifndef COLLRUN_SESSION_MEMBER_H
#define COLLRUN_SESSION_MEMBER_H
#include <stdbool.h>
/* After MPI_Init: serve session id until it ends. Exit status: 0 ended, 3 broken. */
int member_main(const char *id, bool virtual_nodes);
#endif
