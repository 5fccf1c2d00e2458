/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * trust.h - trusted-binary enforcement: the map layouts and the violation
 * event, shared by bpf/trust.bpf.c, the agent and `vigil trust`.
 *
 * The kernel keeps no hashes.  The trust store records each trusted file's
 * (dev, ino) with its ctime and size at the moment it was hashed; the
 * kernel allows a file only while all four still match.  Every write,
 * truncate, chmod, chown, rename or link change moves ctime, so any change
 * to a trusted file's content or metadata makes it "tainted" without
 * watching writes.
 */
#ifndef VIGIL_BPF_TRUST_H
#define VIGIL_BPF_TRUST_H

#include "trace.h"

#ifndef __VMLINUX_H__
typedef __s64 s64;
#endif

struct vigil_trust_key {
	u64 dev;	/* inode->i_sb->s_dev: major << 20 | minor */
	u64 ino;
};

struct vigil_trust_val {
	s64 ctime_ns;	/* ctime when the file was trusted */
	u64 size;
};

enum vigil_trust_mode {
	VIGIL_TRUST_OFF = 0,
	VIGIL_TRUST_AUDIT = 1,
	VIGIL_TRUST_ENFORCE = 2,
};

/* What one scope (host, a container, containers not classified yet) gets. */
struct vigil_trust_scope {
	u8 mode;	/* enum vigil_trust_mode */
	u8 libraries;	/* judge executable mmaps too */
	u8 modules;	/* judge kernel module loads too */
	u8 _pad;
	u32 rule;	/* agent's index of the deciding rule + 1; 0 = none */
};

/* trust_cfg[0]: written by the agent (policy, heartbeat). */
struct vigil_trust_cfg {
	struct vigil_trust_scope host;
	struct vigil_trust_scope ctr_default;
	u64 heartbeat_ns;	/* CLOCK_BOOTTIME of the agent's last heartbeat */
	u64 grace_ns;		/* fail open after this long without one; 0 = fail closed */
	u32 generation;		/* policy generation, echoed in events */
	u32 _pad;
};

/* trust_switch[0]: the emergency switch (`vigil trust off`); nonzero = allow all. */

enum vigil_trust_hook {
	VIGIL_TRUST_HOOK_EXEC = 1,
	VIGIL_TRUST_HOOK_MMAP = 2,
	VIGIL_TRUST_HOOK_MODULE = 3,	/* finit_module: a file */
	VIGIL_TRUST_HOOK_MODULE_DATA = 4,	/* init_module: a buffer, never trusted */
};

enum vigil_trust_reason {
	VIGIL_TRUST_UNTRUSTED = 1,	/* not in the trust map */
	VIGIL_TRUST_TAINTED = 2,	/* in it, but ctime or size changed since */
};

enum vigil_trust_action {
	VIGIL_TRUST_ACT_AUDIT = 1,	/* reported, allowed */
	VIGIL_TRUST_ACT_DENIED = 2,	/* the LSM hook returned -EPERM */
	VIGIL_TRUST_ACT_KILLED = 3,	/* SIGKILL queued (no BPF LSM) */
	VIGIL_TRUST_ACT_KILL_FAILED = 4,	/* bpf_send_signal() failed */
};

/* vigil_trust_event.flags */
#define VIGIL_TRUST_F_FAIL_OPEN (1u << 0)	/* enforce mode, but the agent's heartbeat is stale */
#define VIGIL_TRUST_F_LSM (1u << 1)		/* judged in an LSM hook */
#define VIGIL_TRUST_F_PATH_TRUNCATED (1u << 2)
#define VIGIL_TRUST_F_NO_ENFORCE (1u << 3)	/* enforce asked, but this hook can only audit */

enum vigil_trust_stat {
	VIGIL_TRUST_STAT_CHECKED = 0,	/* files judged (mode not off) */
	VIGIL_TRUST_STAT_ALLOWED = 1,
	VIGIL_TRUST_STAT_VIOLATIONS = 2,
	VIGIL_TRUST_STAT_SWITCHED_OFF = 3,	/* skipped by the emergency switch */
	VIGIL_TRUST_STAT__MAX,
};

struct vigil_trust_event {
	struct vigil_event_hdr hdr;
	struct vigil_task task;
	u64 container;		/* container root cgroup id, 0 = host */
	u64 dev, ino;
	s64 ctime_ns;		/* the file's ctime now */
	u64 size;		/* and size now */
	u32 hook;		/* enum vigil_trust_hook */
	u32 reason;		/* enum vigil_trust_reason */
	u32 action;		/* enum vigil_trust_action */
	u32 mode;		/* enum vigil_trust_mode that applied */
	u32 rule;		/* vigil_trust_scope.rule that applied */
	u32 generation;		/* vigil_trust_cfg.generation */
	u32 flags;		/* VIGIL_TRUST_F_* */
	u32 path_len;
	char path[VIGIL_PATH_LEN];	/* as the task sees it */
};

#endif
