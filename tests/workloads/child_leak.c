/*
 * child_leak - a leak inside a child process.  The parent allocates nothing
 * after start-up and only waits; it forks one child that leaks 1 MiB per
 * second (x --scale) from leak_child_grow(), never freeing it.  The child is
 * the leak; the parent, flat and small, is not, and a scorer must tell the
 * two apart even though they share a name and a cgroup.
 *
 * Prints "child_leak: child PID" once the child exists.  SIGTERM to the
 * parent ends the child too (the parent forwards it; the child also has a
 * parent-death signal, in case the parent is killed outright).  With
 * --duration both stop at the same time: the child exits, the parent
 * collects it and exits with its status.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "workload.h"

struct node {
	struct node *next;
	char *buf;
};

static struct node *kept;

/* Allocates n bytes and keeps them on a list nothing ever frees. */
__attribute__((noinline)) void leak_child_grow(size_t n)
{
	struct node *x = malloc(sizeof(*x));

	if (!x)
		exit(1);
	x->buf = wl_alloc(n);
	x->next = kept;
	kept = x;
}

static void child(pid_t parent, const sigset_t *waited)
{
	size_t step = wl_bytes(WL_MIB / 8);	/* eight steps a second */
	long i;

	sigprocmask(SIG_UNBLOCK, waited, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		exit(1);	/* the parent is already gone */
	for (i = 0;; i++) {
		wl_at(i / 8.0);
		leak_child_grow(step);
	}
}

int main(int argc, char **argv)
{
	sigset_t waited;
	pid_t parent, pid;
	int sig, status, stopped = 0;

	wl_init(argc, argv, "child_leak");
	/* Both signals are taken with sigwaitinfo, so none can slip in between
	 * a check and a blocking call. */
	sigemptyset(&waited);
	sigaddset(&waited, SIGTERM);
	sigaddset(&waited, SIGCHLD);
	sigprocmask(SIG_BLOCK, &waited, NULL);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		child(parent, &waited);
	printf("child_leak: child %d\n", (int)pid);
	for (;;) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		sig = sigwaitinfo(&waited, NULL);
		if (sig == SIGTERM && !stopped) {
			kill(pid, SIGTERM);
			stopped = 1;
		} else if (sig < 0 && errno != EINTR) {
			perror("sigwaitinfo");
			return 1;
		}
	}
	if (stopped)
		return 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
