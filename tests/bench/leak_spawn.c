/*
 * leak_spawn - fork N sleeping children for tests/bench/leak_bench.sh.
 *
 * Usage: leak_spawn N
 *
 * Forks N children that do nothing but wait, then prints
 * "leak_spawn: N ready" (flushed) and waits too.  On SIGTERM it SIGKILLs
 * every child, reaps them all and exits 0, so no zombie is left to
 * whichever init would inherit it.  Should the spawner itself be killed,
 * each child gets SIGKILL from the kernel (PR_SET_PDEATHSIG), and the
 * script also runs them in a cgroup of its own and sweeps that.
 *
 * It is built static and kept tiny on purpose: a child costs its kernel
 * structures and a few page-table pages, nothing more (fork copies page
 * tables only for written private memory, and there is hardly any).
 *
 * If a fork fails, prints "leak_spawn: fork failed after K children:
 * ERROR", kills and reaps the K and exits 1.  Exit 2 on usage errors.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static void kill_all(const pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	sigset_t term, orig;
	pid_t self = getpid(), *pids;
	long n, i;
	char *end;

	if (argc != 2)
		goto usage;
	n = strtol(argv[1], &end, 10);
	if (*end || n < 1 || n > 1000000)
		goto usage;
	pids = malloc(n * sizeof(*pids));
	if (!pids) {
		fprintf(stderr, "leak_spawn: out of memory\n");
		return 1;
	}
	/* SIGTERM is only taken inside sigsuspend(): no lost wakeup. */
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &orig);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			fprintf(stderr, "leak_spawn: fork failed after %ld children: %s\n", i,
				strerror(errno));
			kill_all(pids, i);
			return 1;
		}
		if (pid == 0) {
			signal(SIGTERM, SIG_DFL);
			sigprocmask(SIG_SETMASK, &orig, NULL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* The spawner may have gone before the request was made. */
			if (getppid() != self)
				_exit(0);
			for (;;)
				pause();
		}
		pids[i] = pid;
	}
	printf("leak_spawn: %ld ready\n", n);
	fflush(stdout);
	while (!stop)
		sigsuspend(&orig);
	kill_all(pids, n);
	return 0;
usage:
	fprintf(stderr, "usage: leak_spawn N\n");
	return 2;
}
