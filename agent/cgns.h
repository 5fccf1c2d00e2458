/*
 * cgns.h - cgroup paths read inside a private cgroup namespace, turned back
 * into paths relative to the hierarchy's mount.
 *
 * /proc/PID/cgroup renders each path relative to the READER's cgroup
 * namespace root: a process outside the agent's namespace root reads as
 * "/../../kubepods/...", one inside it as "/x" (its path below that root).
 * A hostPath bind of the host's /sys/fs/cgroup, though, is the whole
 * hierarchy, and the rest of vigil uses paths from its root.  The
 * namespace root's place in the hierarchy is not printed anywhere; it is
 * found here from two facts the kernel does show:
 *   - the mount's root in /proc/self/mountinfo is rendered relative to the
 *     reader's namespace root too: "/../../.." for a mount of the hierarchy
 *     root seen from a namespace root 3 levels below it;
 *   - the agent's own cgroup (R, from /proc/self/cgroup) is below that
 *     root, and its cgroup.procs lists the agent's pid.
 * So the root is the one directory P, 3 levels below the mount, where
 * P + R lists the agent: a bounded search (cgns_find_root).
 */
#ifndef VIGIL_CGNS_H
#define VIGIL_CGNS_H

#include <stddef.h>
#include <sys/types.h>

/* Directories cgns_find_root() looks at before giving up. */
#define CGNS_FIND_MAX_DIRS 100000
/* Deepest namespace root searched for (mountinfo root "/.." repeated at most this often). */
#define CGNS_MAX_DEPTH 32

/*
 * The mount root field (4th) of the last /proc/self/mountinfo line whose
 * mount point is `mount`, unescaped ("\040" -> ' ').  0, -ENOENT (no such
 * mount point), -EINVAL (a malformed line for it), -ENAMETOOLONG.
 */
int cgns_mount_root(const char *mountinfo, const char *mount, char *root, size_t len);

/*
 * How many levels the mount's root (a mountinfo root field) lies above the
 * reader's namespace root: "/" -> 0, "/.." -> 1, "/../../.." -> 3.  -EINVAL
 * for any other form ("/x": a subdirectory of the namespace root is
 * mounted; "/../x": a directory beside it), and beyond CGNS_MAX_DEPTH.
 */
int cgns_root_depth(const char *root);

/*
 * base + "/" + path with "." and ".." resolved and "//" collapsed, in out:
 * ("/kubepods/pod1/c1", "/../../besteffort/x") -> "/kubepods/besteffort/x";
 * ("/a", "/") -> "/a"; ("/", "/") -> "/".  base must start with '/'.
 * -ERANGE when ".." climbs above base's root (a path outside the mount),
 * -EINVAL for a relative base or path, -ENAMETOOLONG.
 */
int cgns_join(const char *base, const char *path, char *out, size_t len);

/*
 * The namespace root: the directory `depth` levels below `mount` such that
 * mount + cgns_join(it, self_rel) has `pid` in its cgroup.procs.  Its path
 * relative to the mount ("/a/b"; "/" for depth 0) goes to out.  At most
 * CGNS_FIND_MAX_DIRS directories are looked at.  An agent outside its
 * namespace root (self_rel "/../x") may be reached from several roots
 * (siblings): then exactly one must match.  0, -ENOENT (not found),
 * -ENOTUNIQ (more than one root fits), -E2BIG (the bound was hit first),
 * -ENAMETOOLONG, other -errno (the mount is unreadable).
 */
int cgns_find_root(const char *mount, int depth, const char *self_rel, pid_t pid, char *out,
		   size_t len);

#endif
