/*
 * proc.h - the agent's table of live processes, keyed by pid.
 * Seeded from the task iterator at start-up, then kept current by fork,
 * exec and exit events, so every event can name its process's binary,
 * arguments and parent even when the process was already running.
 */
#ifndef VIGIL_PROC_H
#define VIGIL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "idmap.h"
#include "trace.h"

struct vigil_proc {
	uint32_t pid;
	uint32_t ppid;
	uint32_t uid;
	uint32_t args_len;	/* bytes in args, NUL separators included */
	uint64_t start_ns;	/* CLOCK_MONOTONIC; tells a reused pid from the old process */
	uint64_t cgroup_id;
	char comm[VIGIL_COMM_LEN];
	bool args_truncated;
	char *binary;		/* owned; "" when unknown */
	char *args;		/* owned; may be NULL */
};

struct vigil_proc_table {
	struct vigil_idmap map;	/* pid -> struct vigil_proc * */
};

int proc_table_init(struct vigil_proc_table *t, size_t hint);
void proc_table_free(struct vigil_proc_table *t);

struct vigil_proc *proc_lookup(const struct vigil_proc_table *t, uint32_t pid);
/*
 * Insert or refresh the entry for task->pid from an event's task snapshot.
 * A different start time means the pid was reused: the old entry's image
 * (binary, args) is dropped.  Returns NULL only on allocation failure.
 */
struct vigil_proc *proc_upsert(struct vigil_proc_table *t, const struct vigil_task *task);
/* Replace binary/args (exec).  0 or -ENOMEM. */
int proc_set_image(struct vigil_proc *p, const char *binary, size_t binary_len,
		   const char *args, size_t args_len, bool truncated);
/* Child inherits the parent's image (fork). */
int proc_inherit_image(struct vigil_proc *child, const struct vigil_proc *parent);
void proc_remove(struct vigil_proc_table *t, uint32_t pid);

#endif
