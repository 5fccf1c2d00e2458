#!/usr/bin/env bash
# npm-ci.sh - install tests/deploy's pinned npm packages (package-lock.json)
# when node_modules is missing or older than the lock file.  Idempotent:
# quiet when they are there.  Used by `make deps` and tests/deploy/run.sh.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp=$here/node_modules/.package-lock.json
if [[ -f $stamp && ! $here/package-lock.json -nt $stamp ]]; then
	exit 0
fi
command -v npm >/dev/null || { echo "deps: npm not found (install Node.js and npm)" >&2; exit 1; }
echo "deps: npm ci in tests/deploy"
# The packages ask for a newer Node.js in their metadata but work on 20;
# the engine warnings are noise here.
cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null || {
	echo "deps: npm ci in tests/deploy failed" >&2
	exit 1
}
