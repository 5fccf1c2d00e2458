#!/usr/bin/env bash
#
# Per-container metrics stay bounded the documented way and count right,
# with `metrics_max_containers: 2` and four Kubernetes-looking containers
# (cgroups made by this test; C1 also has two nested child cgroups, as a
# container running systemd or its own sub-cgroups has):
#   - vigil_containers_tracked rises by exactly the four containers (nested
#     cgroups are not extra containers) and falls back when their cgroups
#     are removed;
#   - at most 2 distinct containers have their own vigil_container_events_total
#     series; the rest land in the overflow series: one per event type, with
#     every other label "_overflow" (so per-type totals stay whole);
#   - a container that has its own series has all of its events there (the
#     cap is on containers, so no container is split between its own series
#     and the overflow): C1's exec series sum to the 6 execs its processes
#     made, C2's to its 2;
#   - once containers are gone their slots are free again: a fifth
#     container started after the first four were removed gets its own
#     series instead of the overflow (otherwise, on a node where pods come
#     and go, per-container metrics would stop working for good after the
#     first metrics_max_containers containers).
set -u -o pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed: this test needs the Debian package 'curl' (make deps)"
"$VIGIL" run --help 2>/dev/null | grep -q -- '--metrics-addr' ||
	fail "$VIGIL run has no --metrics-addr option"

CAP=2


attribution_hierarchy
[[ -n $cgroot ]] || skip "no cgroup v1 memory hierarchy and no cgroup2 mount"

# run_in CGROUP: a subshell joins CGROUP and runs /bin/true twice: fork,
# exec, exit, SIGCHLD generation and delivery, all inside the container.
run_in() {
	(
		echo "$BASHPID" >"$cgroot$1/cgroup.procs" || exit 97
		/bin/true "$T_MARK" && /bin/true "$T_MARK"
	) || fail "could not run processes in cgroup $cgroot$1"
}

gauge() { awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }' "$1"; }
# ctr_sum FILE ID TYPE: sum of ID's vigil_container_events_total{type=TYPE}.
ctr_sum() {
	grep "^vigil_container_events_total{.*container=\"$2\"" "$1" | grep -F "type=\"$3\"" |
		awk '{ s += $NF } END { print s + 0 }'
}

deferred=()
later() { log "FAILED (reported at the end): $*"; deferred+=("$*"); }

port=$(free_port)
out=$T_TMP/events.json
cat >"$T_TMP/vigil.yaml" <<EOF
# vigil integration test ($T_MARK): per-container metrics cap
cgroup_hierarchy: $hier
metrics_addr: "127.0.0.1:$port"
metrics_max_containers: $CAP
EOF
vigil_start "$T_TMP/vigil.out" "$T_TMP/vigil.err" run --config "$T_TMP/vigil.yaml" --output "$out"

scrape "$T_TMP/c0.txt"
g0=$(gauge "$T_TMP/c0.txt" vigil_containers_tracked) || fail "no vigil_containers_tracked sample"

ids=() cgs=()
for i in 1 2 3 4 5; do
	ids+=("$(rand_container_id)")
	cgs+=("/kubepods/besteffort/pod$(rand_pod_uid)/${ids[-1]}")
done

# C1 (with two nested cgroups), then C2, C3, C4, one after the other, so
# C1 and C2 are the first containers the agent sees.
for i in 0 1 2 3; do
	mkcg "${cgs[i]}"
done
mkcg "${cgs[0]}/init.scope"
mkcg "${cgs[0]}/workers"
for i in 0 1 2 3; do
	run_in "${cgs[i]}"
	if ((i == 0)); then
		run_in "${cgs[0]}/init.scope"
		run_in "${cgs[0]}/workers"
	fi
	# Let the agent take this container's events before the next one's.
	wait_jq "$out" "has_arg(\"$T_MARK\") and .container.id == \"${ids[i]}\"" 5 ||
		fail "no exec event from container C$((i + 1)) within 5 s"
done
sleep 0.3

scrape "$T_TMP/c1.txt"
s=$T_TMP/c1.txt
grep '^vigil_container_events_total' "$s" | cut -c1-200 | sed 's/^/    /' >&2

# --- vigil_containers_tracked: the four containers, not their nested cgroups
g1=$(gauge "$s" vigil_containers_tracked)
d=$((${g1%.*} - ${g0%.*}))
if ((d < 4)); then
	later "vigil_containers_tracked went from $g0 to $g1 with 4 new containers: not all of them counted"
elif ((d >= 6)); then
	later "vigil_containers_tracked went from $g0 to $g1 (+$d) for 4 new containers, one of them with 2 nested cgroups: it counts cgroups, not containers"
fi
log "vigil_containers_tracked: $g0 -> $g1 with 4 new containers (one with 2 nested cgroups)"

# --- the cap: at most CAP containers with their own series, plus one overflow series
distinct=$(grep '^vigil_container_events_total{' "$s" | sed -nE 's/.*[{,]container="([^"]*)".*/\1/p' |
	grep -vx '_overflow' | sort -u | wc -l)
((distinct <= CAP)) ||
	later "$distinct distinct containers have their own vigil_container_events_total series; metrics_max_containers is $CAP"
ov=$(grep '^vigil_container_events_total{.*container="_overflow"' "$s")
if [[ -z $ov ]]; then
	later "no overflow series although 4 containers had events and metrics_max_containers is $CAP"
else
	dup=$(sed -nE 's/.*[{,]type="([^"]*)".*/\1/p' <<<"$ov" | sort | uniq -d)
	[[ -z $dup ]] || later "more than one overflow series for type(s) $dup: $ov"
	while read -r line; do
		labels=${line#*\{}
		labels=${labels%\}*}
		bad=$(tr ',' '\n' <<<"$labels" | grep -v '="_overflow"$' | grep -v '^type="')
		[[ -z $bad ]] || later "overflow series has labels that are not \"_overflow\": $bad"
		awk -v v="${line##* }" 'BEGIN { exit !(v > 0) }' || later "overflow series counts nothing: $line"
	done <<<"$ov"
	log "overflow: $ov"
fi

# --- no container split between its own series and the overflow
c1=$(ctr_sum "$s" "${ids[0]}" exec) c2=$(ctr_sum "$s" "${ids[1]}" exec)
((c1 == 6)) || later "C1 made 6 execs (2 in each of its 3 cgroups); its own exec series count $c1"
((c2 == 2)) || later "C2 made 2 execs; its own exec series count $c2"
for i in 2 3; do
	n=$(grep -c "^vigil_container_events_total{.*container=\"${ids[i]}\"" "$s")
	((n == 0)) || log "note: C$((i + 1)) has $n series of its own (the first $CAP containers should hold the slots)"
done
log "own exec counts: C1 $c1 (of 6), C2 $c2 (of 2)"

# --- containers removed: tracked count falls, slots are freed
for d in "${cgs[0]}/init.scope" "${cgs[0]}/workers" "${cgs[@]:0:4}"; do
	for _ in $(seq 1 20); do
		rmdir "$cgroot$d" 2>/dev/null && break
		sleep 0.1
	done
	[[ -d $cgroot$d ]] && fail "cannot remove cgroup $cgroot$d"
done
deadline=$((SECONDS + 5))
while :; do
	scrape "$T_TMP/c2.txt"
	g2=$(gauge "$T_TMP/c2.txt" vigil_containers_tracked)
	((${g2%.*} <= ${g0%.*})) && break
	if ((SECONDS >= deadline)); then
		later "vigil_containers_tracked is $g2 5 s after our 4 containers' cgroups were removed (it was $g0 before them)"
		break
	fi
	sleep 0.3
done
log "vigil_containers_tracked after removing them: $g2"

mkcg "${cgs[4]}"
run_in "${cgs[4]}"
wait_jq "$out" "has_arg(\"$T_MARK\") and .container.id == \"${ids[4]}\"" 5 || fail "no exec event from container C5 within 5 s"
sleep 0.3
scrape "$T_TMP/c3.txt"
c5=$(ctr_sum "$T_TMP/c3.txt" "${ids[4]}" exec)
((c5 == 2)) ||
	later "a container started after the first $CAP containers were gone has no series of its own ($c5 of its 2 execs counted there): slots of departed containers are never freed, so after $CAP containers per-container metrics only ever grow the overflow"

rc=0
vigil_stop INT || rc=$?
[[ $rc == 0 ]] || { dump_file "$T_TMP/vigil.err"; fail "vigil run exited $rc after SIGINT"; }
((${#deferred[@]} == 0)) || { printf '    %s\n' "${deferred[@]}" >&2; fail "${#deferred[@]} check(s) failed (above)"; }
log "ok"
