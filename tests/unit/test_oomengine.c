// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The handoff watchdog against a real cgroup v1 memcg: whatever happens to
 * the agent, oom_kill_disable goes back to 0.  (The engine as a whole is
 * tested with real hogs in tests/integration/test_oom_policy.sh.)
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oomengine.h"

#define V1 "/sys/fs/cgroup/memory"

static char cg[256];

static void make_cg(void)
{
	struct stat st;

	if (geteuid() != 0)
		cr_skip_test("needs root to make a cgroup v1 memcg");
	if (stat(V1 "/memory.oom_control", &st))
		cr_skip_test("no cgroup v1 memory hierarchy at " V1 " (handoff is v1 only)");
	snprintf(cg, sizeof(cg), V1 "/vigil-test-oomwd-%d", (int)getpid());
	cr_assert(mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg, strerror(errno));
}

static void drop_cg(void)
{
	if (cg[0])
		rmdir(cg);
	cg[0] = 0;
}

static void set_disable(int v)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.oom_control", cg);
	f = fopen(path, "w");
	cr_assert(f, "open %s: %s", path, strerror(errno));
	fprintf(f, "%d", v);
	cr_assert_eq(fclose(f), 0);
}

static int get_disable(void)
{
	char path[300], key[64];
	unsigned long long v;
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "%s/memory.oom_control", cg);
	f = fopen(path, "r");
	cr_assert(f);
	while (fscanf(f, "%63s %llu", key, &v) == 2)
		if (!strcmp(key, "oom_kill_disable"))
			r = (int)v;
	fclose(f);
	return r;
}

static pid_t start_wd(int *fd)
{
	int sv[2];
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(oom_watchdog_main(sv[1]));
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static void say(int fd, const char *fmt, const char *arg)
{
	char line[512];
	int n = snprintf(line, sizeof(line), fmt, arg);

	cr_assert_eq(write(fd, line, (size_t)n), n);
}

static int wait_exit(pid_t pid)
{
	int st = -1;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

TestSuite(oomwd, .fini = drop_cg);

Test(oomwd, agent_gone_restores_the_kernel_oom_killer)
{
	int fd;
	pid_t pid;

	make_cg();
	set_disable(1);
	pid = start_wd(&fd);
	say(fd, "add %s 1000\n", cg);
	usleep(100000);
	cr_assert_eq(get_disable(), 1, "the watchdog must not touch a memcg that is not in OOM");
	close(fd);	/* what kill -9 of the agent looks like to the watchdog */
	cr_assert(WIFEXITED(wait_exit(pid)));
	cr_assert_eq(get_disable(), 0, "oom_kill_disable still 1 after the agent went away");
}

Test(oomwd, del_and_quit_restore_it)
{
	int fd;
	pid_t pid;

	make_cg();
	set_disable(1);
	pid = start_wd(&fd);
	say(fd, "add %s 1000\n", cg);
	say(fd, "del %s\n", cg);
	usleep(200000);
	cr_assert_eq(get_disable(), 0, "del did not restore oom_kill_disable");
	set_disable(1);
	say(fd, "add %s 1000\n", cg);
	say(fd, "quit\n", "");
	cr_assert(WIFEXITED(wait_exit(pid)));
	cr_assert_eq(get_disable(), 0, "quit did not restore oom_kill_disable");
	close(fd);
}

Test(oomwd, memcgs_it_was_never_told_about_are_left_alone)
{
	int fd;
	pid_t pid;

	make_cg();
	set_disable(1);
	pid = start_wd(&fd);
	say(fd, "add %s/does-not-exist 1000\n", cg);
	close(fd);
	cr_assert(WIFEXITED(wait_exit(pid)));
	cr_assert_eq(get_disable(), 1, "the watchdog touched a memcg it was not given");
	set_disable(0);
}
