/*
 * killbench - kill(2) throughput: send SIGNAL to PID N times, print the
 * mean wall-clock nanoseconds per call.  The target should ignore SIGNAL.
 *
 * Usage: killbench PID SIGNAL N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	long n, fails = 0;
	pid_t pid;
	int sig;

	if (argc != 4) {
		fprintf(stderr, "usage: killbench PID SIGNAL N\n");
		return 2;
	}
	pid = atoi(argv[1]);
	sig = atoi(argv[2]);
	n = atol(argv[3]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		fails += kill(pid, sig) != 0;
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (fails) {
		fprintf(stderr, "killbench: %ld of %ld kill() calls failed\n", fails, n);
		return 1;
	}
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
