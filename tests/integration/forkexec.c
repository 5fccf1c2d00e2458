/*
 * forkexec.c - exec burst driver for the integration tests and the exec
 * benchmark.
 *
 *   forkexec [-j JOBS] N [PROG [ARGS...]]
 *
 * Runs PROG (default /bin/true) N times: fork + execve from this one process,
 * keeping at most JOBS children in flight.  Every child is a direct child of
 * this process, so a test can pick out the burst's exec events by ppid.
 *
 * stdout: first line "pid PID" (flushed before the first fork), then
 * "cpu SECONDS" (user+system time of this process and its children, which
 * is where in-kernel exec overhead lands), last line "elapsed SECONDS" (wall
 * clock from the first fork to the last reap).
 * Exit status: 0 if every child exited 0; 1 if any child failed, was killed
 * or could not be started; 2 for usage errors.
 *
 * It must not do anything per iteration beyond fork, execve and wait: its
 * own overhead is part of what the benchmark measures.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void usage(FILE *out)
{
	fprintf(out,
		"usage: forkexec [-j JOBS] N [PROG [ARGS...]]\n"
		"  fork+execve PROG (default /bin/true) N times, at most JOBS at once\n"
		"  prints \"pid PID\" first, then \"cpu SECONDS\", and \"elapsed SECONDS\" last\n");
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 1) {
		fprintf(stderr, "forkexec: %s must be a positive integer, got '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* User + system seconds of this process and its reaped children. */
static double cpu_s(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return tv_s(self.ru_utime) + tv_s(self.ru_stime) + tv_s(kids.ru_utime) + tv_s(kids.ru_stime);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reap one child; returns 0 if it exited 0, 1 otherwise. */
static int reap_one(long *failed_reported)
{
	int status;
	pid_t p;

	do
		p = wait(&status);
	while (p < 0 && errno == EINTR);
	if (p < 0) {
		perror("forkexec: wait");
		exit(1);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* Say it once or twice, not twenty thousand times. */
	if ((*failed_reported)++ < 3) {
		if (WIFEXITED(status))
			fprintf(stderr, "forkexec: child %d exited %d\n", (int)p, WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			fprintf(stderr, "forkexec: child %d killed by signal %d\n", (int)p, WTERMSIG(status));
	}
	return 1;
}

int main(int argc, char **argv)
{
	static char *default_argv[] = { "/bin/true", NULL };
	char **child_argv = default_argv;
	long n, jobs = 1, started = 0, running = 0, failed = 0, reported = 0;
	double t0, t1, c0;
	int opt;

	while ((opt = getopt(argc, argv, "+j:h")) != -1) {
		switch (opt) {
		case 'j':
			jobs = parse_count(optarg, "JOBS");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	n = parse_count(argv[optind], "N");
	if (optind + 1 < argc)
		child_argv = &argv[optind + 1];

	printf("pid %d\n", (int)getpid());
	fflush(stdout);

	c0 = cpu_s();
	t0 = now_s();
	while (started < n || running > 0) {
		if (started < n && running < jobs) {
			pid_t p = fork();

			if (p == 0) {
				execve(child_argv[0], child_argv, environ);
				_exit(127);
			}
			if (p < 0) {
				if (errno == EAGAIN && running > 0) {
					/* Out of pids for the moment: drain one and retry. */
					failed += reap_one(&reported);
					running--;
					continue;
				}
				perror("forkexec: fork");
				return 1;
			}
			started++;
			running++;
			continue;
		}
		failed += reap_one(&reported);
		running--;
	}
	t1 = now_s();

	printf("cpu %.6f\n", cpu_s() - c0);
	printf("elapsed %.6f\n", t1 - t0);
	if (failed) {
		fprintf(stderr, "forkexec: %ld of %ld children failed\n", failed, n);
		return 1;
	}
	return 0;
}
