/*
 * proc.c - process table (see proc.h).  Entries are heap-allocated so a
 * caller may hold one across an insert that grows the map.  Memory is
 * O(live processes): exit events remove entries.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"

int proc_table_init(struct vigil_proc_table *t, size_t hint)
{
	return idmap_init(&t->map, hint);
}

static void proc_free(struct vigil_proc *p)
{
	if (!p)
		return;
	free(p->binary);
	free(p->args);
	free(p);
}

static void free_one(uint64_t key, void *val, void *ctx)
{
	proc_free(val);
}

void proc_table_free(struct vigil_proc_table *t)
{
	idmap_each(&t->map, free_one, NULL);
	idmap_free(&t->map);
}

struct vigil_proc *proc_lookup(const struct vigil_proc_table *t, uint32_t pid)
{
	return idmap_get(&t->map, pid);
}

static void drop_image(struct vigil_proc *p)
{
	free(p->binary);
	free(p->args);
	p->binary = NULL;
	p->args = NULL;
	p->args_len = 0;
	p->args_truncated = false;
}

struct vigil_proc *proc_upsert(struct vigil_proc_table *t, const struct vigil_task *task)
{
	struct vigil_proc *p = idmap_get(&t->map, task->pid);

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return NULL;
		if (idmap_put(&t->map, task->pid, p) < 0) {
			free(p);
			return NULL;
		}
	} else if (task->start_ns && p->start_ns != task->start_ns) {
		drop_image(p);	/* pid reused by a new process */
	}
	p->pid = task->pid;
	p->ppid = task->ppid;
	p->uid = task->uid;
	p->cgroup_id = task->cgroup_id;
	if (task->start_ns)
		p->start_ns = task->start_ns;
	memcpy(p->comm, task->comm, sizeof(p->comm));
	p->comm[sizeof(p->comm) - 1] = 0;
	return p;
}

int proc_set_image(struct vigil_proc *p, const char *binary, size_t binary_len,
		   const char *args, size_t args_len, bool truncated)
{
	char *b = strndup(binary, binary_len), *a = NULL;

	if (!b)
		return -ENOMEM;
	if (args_len) {
		a = malloc(args_len);
		if (!a) {
			free(b);
			return -ENOMEM;
		}
		memcpy(a, args, args_len);
	}
	drop_image(p);
	p->binary = b;
	p->args = a;
	p->args_len = a ? args_len : 0;
	p->args_truncated = truncated;
	return 0;
}

int proc_inherit_image(struct vigil_proc *child, const struct vigil_proc *parent)
{
	if (!parent->binary || child == parent)
		return 0;
	return proc_set_image(child, parent->binary, strlen(parent->binary),
			      parent->args, parent->args_len, parent->args_truncated);
}

void proc_remove(struct vigil_proc_table *t, uint32_t pid)
{
	proc_free(idmap_del(&t->map, pid));
}
