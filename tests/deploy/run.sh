#!/usr/bin/env bash
#
# run.sh - render deploy/kubernetes (base, overlays, components) with
# `kubectl kustomize` and check every rendering offline with check.mjs:
# schema validation (unknown fields included) and the semantic checks.
#
#   tests/deploy/run.sh            (make deploytest)
#
# Needs kubectl with kustomize v4+ (kubectl 1.21+), node and npm; installs
# the pinned npm packages (npm ci) when node_modules is missing.  Exit 77
# (skipped) when a tool is missing, saying which.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
vigil=${VIGIL:-$root/build/vigil}
cd "$root" || exit 1

skip() { echo "SKIP: deploytest: $*" >&2; exit 77; }
command -v kubectl >/dev/null || skip "kubectl not found: it renders the kustomize tree (kubectl 1.21 or later)"
command -v node >/dev/null || skip "node not found (make deps installs it)"
[[ -x $vigil ]] || { echo "deploytest: $vigil not found (run make)" >&2; exit 1; }

"$here/npm-ci.sh" || exit 1

work=$root/build/deploytest
rm -rf "$work"
mkdir -p "$work/with-components"
# kustomize takes only relative paths to other kustomizations.
cat >"$work/with-components/kustomization.yaml" <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../deploy/kubernetes/base
components:
  - ../../../deploy/kubernetes/components/servicemonitor
  - ../../../deploy/kubernetes/components/kernel-pre-5.8
YAML

render() { # NAME DIR
	if ! kubectl kustomize "$2" >"$work/$1.yaml" 2>"$work/$1.err"; then
		cat "$work/$1.err" >&2
		echo "deploytest: kubectl kustomize $2 failed" >&2
		exit 1
	fi
}
render base deploy/kubernetes/base
render enforce deploy/kubernetes/overlays/enforce
render pre-5.8 "$work/with-components"

exec node "$here/check.mjs" --vigil "$vigil" --readme deploy/kubernetes/README.md \
	--policies policies --work "$work/work" \
	base="$work/base.yaml" enforce="$work/enforce.yaml" pre-5.8="$work/pre-5.8.yaml"
