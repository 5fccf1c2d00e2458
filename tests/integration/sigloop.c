/*
 * sigloop - send a signal to one process in a tight loop, and count what
 * kill(2) said.  For the policy reload tests: the sender waits until the
 * file GO exists (the test creates it once vigil has seen this process's
 * exec), then sends until the file STOP exists, and prints
 * "sent=N denied=M other=K" on stdout.
 *
 * Usage: sigloop PID SIGNAL GO STOP
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long sent = 0, denied = 0, other = 0, i = 0;
	struct timespec gap = { 0, 200 * 1000 };	/* 200 us: thousands of signals a second */
	pid_t pid;
	int sig;

	if (argc != 5) {
		fprintf(stderr, "usage: sigloop PID SIGNAL GO STOP\n");
		return 2;
	}
	pid = atoi(argv[1]);
	sig = atoi(argv[2]);
	while (access(argv[3], F_OK) != 0)
		nanosleep(&gap, NULL);
	for (;;) {
		/* Checking for STOP costs a syscall; do it every 64 signals. */
		if ((i++ & 63) == 0 && access(argv[4], F_OK) == 0)
			break;
		if (kill(pid, sig) == 0)
			sent++;
		else if (errno == EPERM)
			denied++;
		else
			other++;
		nanosleep(&gap, NULL);
	}
	printf("sent=%lu denied=%lu other=%lu\n", sent, denied, other);
	return 0;
}
