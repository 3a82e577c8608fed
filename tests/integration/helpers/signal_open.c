/* Test helper: open PATH with a SIGUSR1 handler installed (SA_RESTART), after writing our
 * pid to PIDFILE. The handler writes to fd 3 whether MARKER exists when it runs: natively a
 * signal that comes while an open waits on a file system runs its handler only after the
 * open has returned, so a marker made just before the open is let through is seen.
 * Usage: signal_open PATH MARKER PIDFILE 3>HANDLER-OUT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *marker;

static void on_usr1(int sig)
{
	(void)sig;
	const char *m = access(marker, F_OK) == 0 ? "handler: marker seen\n" : "handler: marker not seen\n";
	ssize_t w = write(3, m, strlen(m));
	(void)w;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: signal_open PATH MARKER PIDFILE\n"), 2;
	marker = argv[2];
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	FILE *p = fopen(argv[3], "w");
	if (!p)
		return perror(argv[3]), 2;
	fprintf(p, "%d\n", (int)getpid());
	fclose(p);
	int fd = open(argv[1], O_RDONLY);
	char buf[64] = "";
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	printf("open: %s, read %zd bytes: %s", fd >= 0 ? "ok" : strerror(errno), n, n > 0 ? buf : "\n");
	return 0;
}
