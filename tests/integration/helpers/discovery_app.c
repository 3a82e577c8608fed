/* Test helper (discovery.sh): the application of the Spack-style layout. Linked with
 * liba.so (found through this program's RUNPATH; liba.so finds libb.so through its own),
 * then dlopen()s "libplugin.so" by name, which the loader finds through this program's
 * RUNPATH (a plugins folder) and which finds libcore.so through its own $ORIGIN/../lib.
 * Prints one line: "spack ok a(5)=18 plugin(3)=26". */
#include <dlfcn.h>
#include <stdio.h>

int a(int);

int main(void)
{
	void *h = dlopen("libplugin.so", RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	int (*entry)(int) = (int (*)(int))dlsym(h, "plugin_entry");
	if (!entry) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	printf("spack ok a(5)=%d plugin(3)=%d\n", a(5), entry(3));
	return 0;
}
