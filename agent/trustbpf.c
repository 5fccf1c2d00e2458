/*
 * trustbpf.c - the trust object's lifecycle (see trustbpf.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "trace.skel.h"
#include "trust.skel.h"
#include "trustbpf.h"
#include "trustmap.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define TRACEFS_MAGIC 0x74726163

static const char *root_of(const char *bpffs)
{
	return bpffs ? bpffs : VIGIL_BPFFS_DEFAULT;
}

/* mkdir -p for the pin directory, mounting bpffs at its parent when needed. */
static int make_pin_dir(const char *dir, char *why, size_t whylen)
{
	char parent[256];
	struct statfs fs;
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = 0;
	/* dir is <root>/trust: the root must live on a bpf filesystem. */
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		char fsroot[256];

		snprintf(fsroot, sizeof(fsroot), "%.*s", (int)(slash - parent), parent);
		if (statfs(fsroot, &fs) == 0 && fs.f_type != BPF_FS_MAGIC &&
		    mount("bpf", fsroot, "bpf", 0, "mode=0700") && errno != EBUSY) {
			snprintf(why, whylen, "%s is not a bpf filesystem and mounting one failed: %s",
				 fsroot, strerror(errno));
			return -errno;
		}
	}
	if (mkdir(parent, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "creating %s: %s", parent, strerror(errno));
		return -errno;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "creating %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (statfs(dir, &fs) || fs.f_type != BPF_FS_MAGIC) {
		snprintf(why, whylen, "%s is not on a bpf filesystem; pinning needs one", dir);
		return -ENOTSUP;
	}
	return 0;
}

/* The syscall tracepoints the fallback uses need tracefs (libbpf reads ids there). */
static bool tracepoint_exists(const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[PATH_MAX];
	struct statfs fs;

	if (statfs(roots[0], &fs) == 0 && fs.f_type != TRACEFS_MAGIC)
		mount("tracefs", roots[0], "tracefs", 0, NULL);
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/events/syscalls/%s", roots[i], name);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

bool trust_bpf_pinned(const char *bpffs)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/trust/trust_inodes", root_of(bpffs));
	return access(path, F_OK) == 0;
}

int trust_bpf_unpin_dir(const char *bpffs, char *why, size_t whylen)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "%s/trust", root_of(bpffs));
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && !err) {
			err = -errno;
			snprintf(why, whylen, "removing %s: %s", path, strerror(errno));
		}
	}
	closedir(d);
	if (!err && rmdir(dir) && errno != ENOENT) {
		err = -errno;
		snprintf(why, whylen, "removing %s: %s", dir, strerror(errno));
	}
	return err;
}

/* Replace the link pin for one program: the new link is attached already. */
static int pin_link(struct vigil_trust_bpf *t, struct bpf_link *l, const char *prog,
		    char *why, size_t whylen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/link_%s", t->pin_dir, prog);
	/* bpffs refuses names with dots. */
	snprintf(tmp, sizeof(tmp), "%s_new", path);
	unlink(tmp);
	if (bpf_link__pin(l, tmp)) {
		snprintf(why, whylen, "pinning %s: %s", tmp, strerror(errno));
		return -errno;
	}
	/* bpffs renames are atomic: the old link loses its pin (and detaches) here. */
	if (rename(tmp, path)) {
		snprintf(why, whylen, "renaming %s: %s", tmp, strerror(errno));
		return -errno;
	}
	return 0;
}

int trust_bpf_load(struct vigil_trust_bpf *t, const struct vigil_bpf *trace,
		   const struct vigil_trust_bpf_opts *o, char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct trust_bpf *skel;
	struct bpf_program *p;
	struct bpf_map *m;
	bool adopted;
	int err;

	memset(t, 0, sizeof(*t));
	t->inodes_fd = t->cfg_fd = t->scope_fd = t->stats_fd = -1;
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s/trust", root_of(o->bpffs));
	err = make_pin_dir(t->pin_dir, why, whylen);
	if (err)
		return err;
	adopted = trust_bpf_pinned(o->bpffs);
	oo.pin_root_path = t->pin_dir;
	skel = trust_bpf__open_opts(&oo);
	if (!skel) {
		err = -errno;
		snprintf(why, whylen, "opening the trust BPF object: %s", strerror(errno));
		return err;
	}
	skel->rodata->vigil_cg_source = o->cg_source;
	skel->rodata->vigil_cg_hierarchy_id = o->cg_hierarchy_id;
	if (o->max_entries)
		bpf_map__set_max_entries(skel->maps.trust_inodes, o->max_entries);
	/* One ring, one set of loss counters, one view of containers. */
	if ((err = bpf_map__reuse_fd(skel->maps.events, bpf_map__fd(trace->skel->maps.events))) ||
	    (err = bpf_map__reuse_fd(skel->maps.lost, bpf_map__fd(trace->skel->maps.lost))) ||
	    (err = bpf_map__reuse_fd(skel->maps.ctr_roots,
				     bpf_map__fd(trace->skel->maps.ctr_roots)))) {
		snprintf(why, whylen, "sharing the trace object's maps: %s", strerror(-err));
		goto fail;
	}
	bpf_program__set_autoload(skel->progs.vigil_trust_bprm, o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_mmap, o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_mprotect, o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_kread, o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_kload, o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_exec_kill, !o->lsm);
	bpf_program__set_autoload(skel->progs.vigil_trust_mmap_kill,
				  !o->lsm && tracepoint_exists("sys_enter_mmap"));
	bpf_program__set_autoload(skel->progs.vigil_trust_finit_audit,
				  !o->lsm && tracepoint_exists("sys_enter_finit_module"));
	bpf_program__set_autoload(skel->progs.vigil_trust_init_audit,
				  !o->lsm && tracepoint_exists("sys_enter_init_module"));

	err = trust_bpf__load(skel);
	if (err && adopted) {
		/*
		 * The pinned maps do not fit this object (an upgrade changed a
		 * layout, or trust.max_entries changed).  Start afresh: the old
		 * links keep their own maps until the new ones replace them.
		 */
		bpf_object__for_each_map(m, skel->obj)
			if (bpf_map__pin_path(m))
				unlink(bpf_map__pin_path(m));
		trust_bpf__destroy(skel);
		return trust_bpf_load(t, trace, o, why, whylen);
	}
	if (err) {
		snprintf(why, whylen, "loading the trust BPF programs: %s", strerror(-err));
		goto fail;
	}
	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_link *l;

		/* The mmap tracepoint costs every syscall: trust_bpf_mmap_hook() decides. */
		if (!bpf_program__autoload(p) || p == skel->progs.vigil_trust_mmap_kill)
			continue;
		l = bpf_program__attach(p);
		if (!l) {
			err = -errno;
			snprintf(why, whylen, "attaching %s: %s", bpf_program__name(p),
				 strerror(errno));
			goto fail;
		}
		/* The skeleton owns the link from here on (destroy detaches it). */
		for (int i = 0; i < skel->skeleton->prog_cnt; i++)
			if (*skel->skeleton->progs[i].prog == p)
				*skel->skeleton->progs[i].link = l;
		err = pin_link(t, l, bpf_program__name(p), why, whylen);
		if (err)
			goto fail;
	}
	t->skel = skel;
	t->lsm = o->lsm;
	t->inodes_fd = bpf_map__fd(skel->maps.trust_inodes);
	t->cfg_fd = bpf_map__fd(skel->maps.trust_cfg);
	t->scope_fd = bpf_map__fd(skel->maps.trust_scope);
	t->stats_fd = bpf_map__fd(skel->maps.trust_stats);
	/* Pins of programs this agent does not run (an earlier agent's other flavour) go now. */
	bpf_object__for_each_program(p, skel->obj) {
		char path[PATH_MAX];

		if (bpf_program__autoload(p))
			continue;
		snprintf(path, sizeof(path), "%s/link_%s", t->pin_dir, bpf_program__name(p));
		unlink(path);
	}
	return 0;
fail:
	trust_bpf__destroy(skel);
	return err;
}

int trust_bpf_mmap_hook(struct vigil_trust_bpf *t, bool on, char *why, size_t whylen)
{
	struct bpf_program *p = t->skel->progs.vigil_trust_mmap_kill;
	struct bpf_link **l = &t->skel->links.vigil_trust_mmap_kill;
	char path[PATH_MAX];

	if (t->lsm || !bpf_program__autoload(p))
		return 0;
	if (on) {
		if (*l)
			return 0;
		*l = bpf_program__attach(p);
		if (!*l) {
			int err = -errno;

			snprintf(why, whylen, "attaching %s: %s", bpf_program__name(p), strerror(-err));
			return err;
		}
		return pin_link(t, *l, bpf_program__name(p), why, whylen);
	}
	/* Off: drop our link and any pinned one an earlier agent left. */
	snprintf(path, sizeof(path), "%s/link_%s", t->pin_dir, bpf_program__name(p));
	unlink(path);
	bpf_link__destroy(*l);
	*l = NULL;
	return 0;
}

void trust_bpf_close(struct vigil_trust_bpf *t)
{
	if (t->skel)
		trust_bpf__destroy(t->skel);
	t->skel = NULL;
}
