# containerd.sh - a private containerd for integration tests (source it after
# lib.sh).  The daemon gets its own root, state and sockets under $T_TMP, so
# it never touches a containerd the host may run, and it is stopped (with
# every container it started) when the test exits.  The CRI plugin is off:
# tests drive it with `ctr`, as the kubelet's CRI calls would.
#
#   containerd_start        start it; fails the test (never skips) if it can't
#   t_ctr ARGS...           ctr against it
#   image_import TAR NAME   import an OCI archive into namespace k8s.io as NAME:TAG
#   busybox_image REF       a busybox image built here, imported as REF (NAME:TAG)
#
# Paths it sets: CTRD_DIR, CTRD_SOCK, CTRD_ROOT, CTRD_STATE; CTRD_TASKS is
# the runtime's bundle directory ($CTRD_STATE/io.containerd.runtime.v2.task),
# where every running container's config.json lives under <namespace>/<id>/.

t_ctr() { ctr --address "$CTRD_SOCK" "$@"; }

containerd_start() {
	local i
	command -v containerd >/dev/null && command -v ctr >/dev/null ||
		fail "containerd/ctr not installed: make deps installs Debian's containerd"
	# The socket path must fit in sun_path (108 bytes): keep it short.
	CTRD_DIR=$(mktemp -d /tmp/vctrd.XXXXXX) || fail "mktemp"
	CTRD_SOCK=$CTRD_DIR/c.sock CTRD_ROOT=$CTRD_DIR/root CTRD_STATE=$CTRD_DIR/state
	CTRD_TASKS=$CTRD_STATE/io.containerd.runtime.v2.task
	cat >"$CTRD_DIR/config.toml" <<EOC
version = 2
root = "$CTRD_ROOT"
state = "$CTRD_STATE"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$CTRD_DIR/debug.sock"
EOC
	containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
	CTRD_PID=$!
	T_ON_EXIT+=("_containerd_stop")
	for ((i = 0; i < 150; i++)); do
		t_ctr version >/dev/null 2>&1 && break
		kill -0 "$CTRD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! t_ctr version >/dev/null 2>&1; then
		dump_file "$CTRD_DIR/containerd.log" 40
		fail "containerd did not start (log above)"
	fi
	log "containerd $(t_ctr version 2>/dev/null | awk '/Server:/{s=1} s&&/Version:/{print $2; exit}') on $CTRD_SOCK (pid $CTRD_PID)"
}

# Kill every task in every namespace, then the daemon; the shims go with
# their tasks.  Unmount what the snapshotter left before removing the dir.
_containerd_stop() {
	local ns id m
	[[ -n ${CTRD_PID:-} ]] || return 0
	for ns in $(t_ctr namespaces ls -q 2>/dev/null); do
		for id in $(t_ctr -n "$ns" tasks ls -q 2>/dev/null); do
			t_ctr -n "$ns" tasks kill -s KILL "$id" >/dev/null 2>&1
		done
		sleep 0.2
		for id in $(t_ctr -n "$ns" containers ls -q 2>/dev/null); do
			t_ctr -n "$ns" tasks delete -f "$id" >/dev/null 2>&1
			t_ctr -n "$ns" containers delete "$id" >/dev/null 2>&1
		done
	done
	kill "$CTRD_PID" 2>/dev/null
	wait "$CTRD_PID" 2>/dev/null
	for m in $(awk -v d="$CTRD_DIR" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$CTRD_DIR"
	CTRD_PID=
}

# image_import TAR NAME: the archive's manifest is tagged (ref.name) TAG;
# it becomes NAME:TAG in namespace k8s.io.
image_import() {
	local out
	out=$(t_ctr -n k8s.io images import --base-name "$2" "$1" 2>&1) || {
		printf '%s\n' "$out" >&2
		fail "ctr images import $1 failed"
	}
	log "imported: $out"
}

# busybox_image NAME:TAG: busybox-static with its applet links, from scratch.
busybox_image() {
	local ref=$1 dir=$T_TMP/busybox-image
	make_rootfs "$dir/rootfs" || fail "cannot make a busybox rootfs"
	"$T_ROOT/deploy/image/mkimage.sh" --out "$dir/busybox.tar" --tag "${ref#*:}" \
		--cmd '["/bin/sh"]' "$dir/rootfs:/" >"$dir/mkimage.log" 2>&1 || {
		dump_file "$dir/mkimage.log"
		fail "mkimage for busybox failed"
	}
	image_import "$dir/busybox.tar" "${ref%%:*}"
}
