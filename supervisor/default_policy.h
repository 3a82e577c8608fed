/* The built-in safe policy for a job, from its environment and executable. */
#pragma once
#include "policy.h"

/* exe: the program's absolute path. extra: --cache dirs (first, most specific). */
int default_policy(struct policy *p, const char *exe, const char **extra, int nextra);
