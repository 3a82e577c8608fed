/* TEMPORARY stub (replaced by the real module from branch h11). */
#include "pyenv.h"
int pyenv_discover(const char *exe_named, const char *exe_real, const char *user_base, const char *home, struct found_dirs *out)
{ (void)exe_named; (void)exe_real; (void)user_base; (void)home; (void)out; return 0; }
void found_dirs_free(struct found_dirs *d) { (void)d; }
int found_dirs_add(struct found_dirs *d, const char *dir, const char *why) { (void)d; (void)dir; (void)why; return 0; }
