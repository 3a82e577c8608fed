/* Test helper (discovery.sh): a program whose code is in a shared library it finds only
 * through the loader's search (LD_LIBRARY_PATH or RUNPATH, given when it is built).
 * Prints "TAG ok VALUE" (VALUE from dep_value() of that library; TAG is -DTAG=...), with
 * " rank R" when PMI_RANK is set (under mpiexec). Then, for "check PATH...", for each PATH
 * whether it exists (stat) and, if it does, its first line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef TAG
#define TAG "prog"
#endif

int dep_value(void);

int main(int argc, char **argv)
{
	const char *rank = getenv("PMI_RANK");
	printf("%s ok %d%s%s\n", TAG, dep_value(), rank ? " rank " : "", rank ? rank : "");
	if (argc > 1 && strcmp(argv[1], "check") == 0) {
		for (int i = 2; i < argc; i++) {
			struct stat st;
			char line[256] = "";
			if (stat(argv[i], &st) != 0) {
				printf("%s: absent\n", argv[i]);
				continue;
			}
			FILE *f = fopen(argv[i], "r");
			if (!f || !fgets(line, sizeof line, f))
				snprintf(line, sizeof line, "(unreadable)\n");
			if (f)
				fclose(f);
			printf("%s: present, %lld bytes: %s", argv[i], (long long)st.st_size, line);
		}
	}
	fflush(stdout);
	return 0;
}
