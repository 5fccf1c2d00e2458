# link.sh - what a benchmark program needs to link against the agent's own
# code (source it from a bench script that defines die()): sets `libs` to
# the Makefile's LIBS and `objs` to build/obj/agent/*.o (but main.o) and
# build/obj/exporters/*.o.  Run `make` first.
libs=$(make --no-print-directory -s -f Makefile -f - bench-print-libs 2>/dev/null <<'MK'
bench-print-libs:
	@echo $(LIBS)
MK
) || libs=
[[ -n $libs ]] || die "cannot read LIBS from the Makefile"
objs=()
for o in build/obj/agent/*.o build/obj/exporters/*.o; do
	[[ -e $o && $o != build/obj/agent/main.o ]] && objs+=("$o")
done
((${#objs[@]})) || die "no objects under build/obj (run make)"
