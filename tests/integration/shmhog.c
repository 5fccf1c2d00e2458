/*
 * shmhog - hold shared anonymous memory (shmem) and some idle threads, for
 * the memory sampler's test.
 *
 * Usage: shmhog SHMEM_KIB [THREADS]
 *
 *   SHMEM_KIB  size of a MAP_SHARED|MAP_ANONYMOUS mapping, in KiB (rounded
 *              up to whole pages), every page of which is written, so it is
 *              resident and counted in the process's RssShmem
 *   THREADS    extra threads (default 0) that only wait, so the process has
 *              tasks other than its leader
 *
 * Prints "shmhog: pid PID ready" (flushed) once everything is in place,
 * then waits until killed.  Exit status: 1 on a failed mmap or thread
 * start, 2 on usage errors.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

int main(int argc, char **argv)
{
	long page = sysconf(_SC_PAGESIZE), kib, threads = 0, i;
	size_t len;
	char *end, *p;

	if (argc < 2 || argc > 3)
		goto usage;
	kib = strtol(argv[1], &end, 10);
	if (*end || kib <= 0)
		goto usage;
	if (argc == 3) {
		threads = strtol(argv[2], &end, 10);
		if (*end || threads < 0 || threads > 64)
			goto usage;
	}
	len = ((size_t)kib * 1024 + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("shmhog: mmap");
		return 1;
	}
	for (size_t off = 0; off < len; off += page)
		p[off] = 1;
	for (i = 0; i < threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle, NULL)) {
			fprintf(stderr, "shmhog: cannot start thread %ld\n", i);
			return 1;
		}
	}
	printf("shmhog: pid %d ready\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
usage:
	fprintf(stderr, "usage: shmhog SHMEM_KIB [THREADS]\n");
	return 2;
}
