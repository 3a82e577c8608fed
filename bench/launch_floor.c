/* bench/launch_floor: the least any launcher built like collrun pays to start a program:
 * it forks a keeper, the keeper forks the program and waits, the launcher waits for the
 * keeper. No filter, no supervisor. `launch_floor PROGRAM [ARGS...]` against PROGRAM alone
 * is the part of collrun's start-up that is not collrun's work (bench/run-fastpath.sh). */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: launch_floor PROGRAM [ARGS...]\n"), 2;
	pid_t keeper = fork();
	if (keeper == 0) {
		pid_t prog = fork();
		if (prog == 0) {
			execv(argv[1], argv + 1);
			_exit(127);
		}
		int st;
		waitpid(prog, &st, 0);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128);
	}
	int st;
	if (keeper < 0 || waitpid(keeper, &st, 0) < 0)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}
