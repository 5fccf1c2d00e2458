#!/usr/bin/env bash
#
# run.sh - run the host integration tests: every tests/integration/test_*.sh
# (or the ones named on the command line), one at a time, each in its own
# process under a timeout.
#
#   tests/integration/run.sh [-t SECONDS] [test_name ...]
#
# A test passes with exit 0, is skipped with exit 77 (it cannot run here:
# not root, a tool missing; its "SKIP: reason" line is shown), and fails
# otherwise; a failing or timed-out test's output is printed.  The last line
# is "N passed, N failed, N skipped"; the exit status is 1 if any test failed.
#
# The C helpers the tests use are built first into build/test-helpers/.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
timeout_s=${VIGIL_TEST_TIMEOUT:-120}

while getopts 't:h' opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	h)
		sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))

tests=()
if (($#)); then
	for t in "$@"; do
		t=${t##*/}
		t=${t%.sh}
		[[ -f $here/$t.sh ]] || { echo "run.sh: no such test: $here/$t.sh" >&2; exit 2; }
		tests+=("$here/$t.sh")
	done
else
	for t in "$here"/test_*.sh; do
		[[ -e $t ]] && tests+=("$t")
	done
fi

# Helpers first: a test that finds a helper missing would build it itself,
# but building here makes a compile error one clear failure, not N.
# Not root: every test skips itself before it needs a helper.
helpers_ok=1
[[ $(id -u) == 0 ]] && mkdir -p "$root/build/test-helpers"
for src in "$here"/*.c; do
	[[ -e $src && $(id -u) == 0 ]] || continue
	name=$(basename "$src" .c)
	# Tools linked with the agent's objects are make's (build/test-tools/).
	grep -q 'Test tool: built by make' "$src" && continue
	if ! cc -O2 -Wall -Wextra -o "$root/build/test-helpers/$name" "$src"; then
		echo "run.sh: cannot build helper $name" >&2
		helpers_ok=0
	fi
done

logdir=$(mktemp -d /tmp/vigil-it-logs.XXXXXX)
passed=0 failed=0 skipped=0
failed_names=()

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$logdir/$name.log
	start=$SECONDS
	if ((!helpers_ok)); then
		rc=1
		echo "helpers failed to build" >"$log"
	else
		rc=0
		timeout -k 15 "$timeout_s" bash "$t" >"$log" 2>&1 </dev/null || rc=$?
	fi
	dur=$((SECONDS - start))
	case $rc in
	0)
		echo "PASS $name (${dur}s)"
		passed=$((passed + 1))
		;;
	77)
		reason=$(grep -m1 -oE 'SKIP: .*' "$log" | sed 's/^SKIP: //')
		echo "SKIP $name: ${reason:-no reason given}"
		skipped=$((skipped + 1))
		;;
	*)
		if ((rc == 124 || rc == 137)); then
			echo "FAIL $name (timed out after ${timeout_s}s)"
		else
			echo "FAIL $name (exit $rc, ${dur}s)"
		fi
		sed 's/^/    | /' "$log"
		failed=$((failed + 1))
		failed_names+=("$name")
		;;
	esac
done

if ((failed == 0)); then
	rm -rf "$logdir"
else
	echo "logs: $logdir (failed: ${failed_names[*]})"
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0))
