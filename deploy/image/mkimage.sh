#!/usr/bin/env bash
#
# mkimage.sh - build an OCI image archive from scratch with umoci (no daemon).
#
#   mkimage.sh --out FILE.tar --tag TAG [--entrypoint JSON] [--cmd JSON]
#              [--label K=V]... [--env K=V]... SRC:DEST...
#
# Every SRC:DEST pair copies a host file into the image at DEST, or a host
# directory's contents into DEST (one layer for all of them).  The archive is an OCI image layout in a tar
# file (what `podman load`, `ctr images import` and skopeo's oci-archive:
# take); its one manifest is tagged TAG (the org.opencontainers.image.ref.name
# annotation).  --entrypoint and --cmd take JSON arrays of strings.
#
# Examples:
#   mkimage.sh --out build/vigil-image.tar --tag 1.0 \
#       --entrypoint '["/usr/sbin/vigil"]' --cmd '["run"]' \
#       build/vigil-static:/usr/sbin/vigil
set -euo pipefail

die() { echo "mkimage: $*" >&2; exit 2; }

out="" tag="" entry="" cmd="" labels=() envs=() items=()
while (($#)); do
	case $1 in
	--out) out=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	--entrypoint) entry=$2; shift 2 ;;
	--cmd) cmd=$2; shift 2 ;;
	--label) labels+=("$2"); shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	-h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1' (try --help)" ;;
	*) items+=("$1"); shift ;;
	esac
done
[[ -n $out ]] || die "--out FILE.tar is required"
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$ ]] || die "bad --tag '$tag': letters, digits, '.', '_', '-'"
((${#items[@]})) || die "nothing to put in the image: give SRC:DEST pairs"
command -v umoci >/dev/null || die "umoci not found (make deps installs it)"
command -v jq >/dev/null || die "jq not found (make deps installs it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$work"' EXIT
layout=$work/oci
bundle=$work/bundle

umoci init --layout "$layout"
umoci new --image "$layout:$tag"
# Unpack the empty image to get a bundle, fill its rootfs, repack: one layer.
umoci unpack --image "$layout:$tag" "$bundle" >/dev/null
for it in "${items[@]}"; do
	src=${it%%:*} dest=${it#*:}
	[[ $it == *:* && -n $src && $dest == /* ]] || die "bad item '$it': want SRC:/ABSOLUTE/DEST"
	[[ -e $src ]] || die "$src: no such file or directory"
	if [[ -d $src ]]; then
		mkdir -p "$bundle/rootfs$dest"
		cp -a "$src/." "$bundle/rootfs$dest/"
	else
		mkdir -p "$bundle/rootfs$(dirname "$dest")"
		cp -a "$src" "$bundle/rootfs$dest"
	fi
done
umoci repack --image "$layout:$tag" "$bundle"

args=(--image "$layout:$tag" --os linux --architecture amd64
	--created "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --author vigil)
[[ -z $entry ]] || while IFS= read -r a; do args+=(--config.entrypoint "$a"); done < <(jq -r '.[]' <<<"$entry")
[[ -z $cmd ]] || while IFS= read -r a; do args+=(--config.cmd "$a"); done < <(jq -r '.[]' <<<"$cmd")
for l in "${labels[@]}"; do args+=(--config.label "$l" --manifest.annotation "$l"); done
for e in "${envs[@]}"; do args+=(--config.env "$e"); done
umoci config "${args[@]}"
umoci gc --layout "$layout"

mkdir -p "$(dirname "$out")"
tar -C "$layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
echo "mkimage: $out ($tag, $(du -h "$out" | cut -f1))"
