/*
 * trustbpf.h - the trust object's lifecycle: load, attach, pin, adopt.
 *
 * Pinned under <bpffs>/trust/: the maps by name (trust_inodes, trust_cfg,
 * trust_scope, trust_switch, trust_stats) and one link per attached
 * program (link_<program>).  The pins keep enforcement in force after the
 * agent is gone.  Loading when pins exist adopts them: the pinned maps are
 * reused as they are (the trust map keeps every entry), the new programs
 * are attached next to the old ones, and only then are the old links'
 * pins replaced, which detaches them.  Some program is attached at every
 * instant.
 */
#ifndef VIGIL_TRUSTBPF_H
#define VIGIL_TRUSTBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trust_bpf;
struct vigil_bpf;

struct vigil_trust_bpf_opts {
	const char *bpffs;		/* pin root (VIGIL_BPFFS_DEFAULT if NULL) */
	bool lsm;			/* BPF LSM hooks; else the SIGKILL fallback */
	uint32_t max_entries;		/* trust map size; 0 = the object's default */
	uint32_t cg_source, cg_hierarchy_id;	/* as the trace object's */
};

struct vigil_trust_bpf {
	struct trust_bpf *skel;
	bool lsm;
	char pin_dir[256];
	int inodes_fd, cfg_fd, scope_fd, stats_fd;
};

/* 0 or -errno with a reason.  trace: the loaded trace object (shared maps). */
int trust_bpf_load(struct vigil_trust_bpf *t, const struct vigil_bpf *trace,
		   const struct vigil_trust_bpf_opts *o, char *why, size_t whylen);

/*
 * Without BPF LSM, executable mmaps are judged from the mmap syscall
 * tracepoint, and any syscall tracepoint sends every syscall on the node
 * through the kernel's tracing slow path.  So that hook is attached (and
 * pinned) only while some rule judges libraries.  0 or -errno.
 */
int trust_bpf_mmap_hook(struct vigil_trust_bpf *t, bool on, char *why, size_t whylen);

/* Close the object; pinned links stay attached. */
void trust_bpf_close(struct vigil_trust_bpf *t);

/* Pinned state exists under bpffs (something to adopt, or to switch off). */
bool trust_bpf_pinned(const char *bpffs);

/* Remove a pin directory left by an earlier agent (links detach). 0 or -errno. */
int trust_bpf_unpin_dir(const char *bpffs, char *why, size_t whylen);

#endif
