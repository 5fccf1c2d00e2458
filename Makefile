# vigil - eBPF node agent.  `make help` lists the targets.
#
# Layout of generated files: everything lands under $(BUILD)/, never in the
# source tree, so `make clean` is `rm -rf build`.

BUILD      ?= build
ARCH       ?= x86
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
PREFIX     ?= /usr/local
V          ?= 0
VERSION    := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg = @printf '  %-8s %s\n'
endif

# Warnings are errors in CI (CI=true) and with WERROR=1.
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WERR := -Werror
endif

WARN      := -Wall -Wextra -Wno-unused-parameter $(WERR)
CFLAGS    ?= -O2 -g
AGENT_INC := -iquote $(BUILD) -iquote bpf -iquote agent -iquote exporters
AGENT_CFLAGS := $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(AGENT_INC) \
	-DVIGIL_VERSION='"$(VERSION)"' -MMD -MP
# libdw (elfutils' libdwfl, for `vigil leaks --trace`) reads compressed ELF
# sections: statically it needs liblzma and libbz2 too (zlib is already here).
LIBS        := -lbpf -ldw -lelf -lz -lyaml -ljson-c -lcrypto -levent_extra -levent_core -lm
STATIC_LIBS := -Wl,-Bstatic -lbpf -ldw -lelf -lz -llzma -lbz2 -lyaml -ljson-c -lcrypto \
	-Wl,--start-group -levent_extra -levent_core -Wl,--end-group -lm

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) \
	-Wno-missing-field-initializers -Wno-unused-function \
	-I$(BUILD) -Ivmlinux/$(ARCH) -Ibpf

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS   := $(filter-out agent/main.c,$(wildcard agent/*.c exporters/*.c))
LIB_OBJS   := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
MAIN_OBJ   := $(BUILD)/obj/agent/main.o

# Integration-test tools that link the agent's own objects (a header comment
# in each marks it, so tests/integration/run.sh leaves them to make).
TEST_TOOLS := $(BUILD)/test-tools/memsample_dump

# Unit tests: the same sources, rebuilt with ASan+UBSan.
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
UNIT_SRCS  := $(wildcard tests/unit/*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
ASAN_OBJS  := $(patsubst %.c,$(BUILD)/asan/%.o,$(LIB_SRCS))

# Debian packages every target here needs.  `make deps` installs the missing.
DEPS := clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libcriterion-dev \
	runc busybox-static libyaml-dev libjson-c-dev pkg-config jq make gcc \
	libclang-rt-14-dev iproute2 procps util-linux qemu-system-x86 cpio gzip \
	libevent-dev prometheus curl libssl-dev libdw-dev liblzma-dev libbz2-dev \
	umoci containerd

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps static image test unit integration vmtest bench fuzz run install clean vmlinux help

all: $(BUILD)/vigil

help:
	@echo 'make            build build/vigil (BPF objects embedded)'
	@echo 'make deps       install build/test dependencies (Debian packages)'
	@echo 'make run        deps + build + `vigil run` on the built-in default config'
	@echo 'make test       deps + unit tests (ASan/UBSan) + host integration + VM tests + fuzz (60 s + 20 s)'
	@echo 'make vmtest     boot a stock Debian kernel under qemu and run tests/vm/cases'
	@echo 'make static     build/vigil-static'
	@echo 'make image      OCI image archive build/vigil-image.tar (vigil:$$(IMAGE_TAG), from scratch, umoci)'
	@echo 'make bench      exec-throughput benchmark, with vs without the agent'
	@echo 'make fuzz       replay fuzz regressions, fuzz the policy loader (FUZZ_SECONDS=$(FUZZ_SECONDS)) and the trust store parser (TRUST_FUZZ_SECONDS=$(TRUST_FUZZ_SECONDS))'
	@echo 'make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel'
	@echo 'make install    install vigil into $$(PREFIX)/sbin (PREFIX=$(PREFIX))'
	@echo 'V=1 shows commands; WERROR=1 (or CI=true) turns warnings into errors'

# Quiet when everything is present; otherwise one apt-get run.
deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: run as root (apt-get)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h bpf/lib/*.h) vmlinux/$(ARCH)/vmlinux.h
	$(msg) BPF $@
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(msg) SKEL $@
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BUILD)/obj/%.o: %.c | $(SKELS)
	$(msg) CC $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -c $< -o $@

$(BUILD)/asan/%.o: %.c | $(SKELS)
	$(msg) CC-SAN $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -O1 $(SAN) -c $< -o $@

# The version is compiled into main.c and telemetry.c: rebuild them when it
# changes (a new commit), or `vigil version` and vigil_build_info disagree.
VERSION_STAMP := $(BUILD)/version.stamp
$(shell mkdir -p $(BUILD) && { [ "$$(cat $(VERSION_STAMP) 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $(VERSION_STAMP); })
$(BUILD)/obj/agent/main.o $(BUILD)/obj/agent/telemetry.o $(BUILD)/asan/agent/telemetry.o: $(VERSION_STAMP)

$(BUILD)/vigil: $(MAIN_OBJ) $(LIB_OBJS)
	$(msg) LD $@
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/test-tools/%: tests/integration/%.c $(LIB_OBJS)
	$(msg) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -o $@ $< $(LIB_OBJS) $(LIBS)

static: $(BUILD)/vigil-static
$(BUILD)/vigil-static: $(MAIN_OBJ) $(LIB_OBJS)
	$(msg) LD $@
	$(Q)$(CC) $(CFLAGS) -static -o $@ $^ $(STATIC_LIBS)

$(BUILD)/unit/%: tests/unit/%.c $(ASAN_OBJS)
	$(msg) CC-TEST $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(AGENT_CFLAGS) -iquote tests/unit -O1 $(SAN) -o $@ $^ $(LIBS) -lcriterion

unit: deps $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t --jobs 1 || fail=1; \
	done; exit $$fail

# The container image: build/vigil-static alone in one layer, from scratch,
# built by umoci (no daemon).  `podman load` / `ctr images import
# --base-name vigil` take the archive; its tag is IMAGE_TAG.
IMAGE_TAG ?= $(subst +,-,$(VERSION))
image: $(BUILD)/vigil-image.tar
$(BUILD)/vigil-image.tar: $(BUILD)/vigil-static deploy/image/mkimage.sh $(VERSION_STAMP)
	$(msg) IMAGE $@
	$(Q)deploy/image/mkimage.sh --out $@ --tag $(IMAGE_TAG) \
		--entrypoint '["/usr/sbin/vigil"]' --cmd '["run"]' \
		--label org.opencontainers.image.title=vigil \
		--label org.opencontainers.image.version=$(VERSION) \
		--label org.opencontainers.image.description="vigil eBPF node agent" \
		$(BUILD)/vigil-static:/usr/sbin/vigil >/dev/null

integration: deps $(BUILD)/vigil $(TEST_TOOLS) $(BUILD)/vigil-image.tar
	$(Q)tests/integration/run.sh

vmtest: deps $(BUILD)/vigil-static
	$(Q)tests/vm/run.sh

# Every tier runs even if an earlier one fails, so one CI run shows all
# failures; the target fails if any tier did.
test: deps
	@rc=0; \
	$(MAKE) --no-print-directory unit || rc=1; \
	$(MAKE) --no-print-directory integration || rc=1; \
	$(MAKE) --no-print-directory vmtest || rc=1; \
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) || rc=1; \
	exit $$rc

bench: deps $(BUILD)/vigil
	$(Q)tests/bench/exec_bench.sh
	$(Q)MICRO_NO_MAKE=1 tests/bench/micro.sh
	$(Q)tests/bench/signal_bench.sh
	$(Q)tests/bench/trust_bench.sh
	$(Q)tests/bench/oom_bench.sh
	$(Q)LEAK_NO_MAKE=1 tests/bench/leak_bench.sh
	$(Q)tests/bench/trace_bench.sh

# Fuzzing: libFuzzer (clang 14's, from libclang-rt-14-dev) on the policy
# loader.  Inputs that once crashed it are replayed first; then it fuzzes for
# FUZZ_SECONDS from a scratch copy of the seed corpus, so the corpus in the
# repository is never grown by a run.  A crash input lands in
# $(BUILD)/fuzz/crash-*; it belongs in tests/fuzz/regressions/policy/.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -std=gnu11 -D_GNU_SOURCE -iquote agent -iquote bpf
FUZZ_SRCS    := tests/fuzz/fuzz_policy.c agent/policy.c agent/selector.c
FUZZ_REGRESS := $(filter-out %/README.md,$(wildcard tests/fuzz/regressions/policy/*))

$(BUILD)/fuzz/fuzz_policy: $(FUZZ_SRCS) agent/policy.h agent/selector.h
	$(msg) FUZZ-CC $@
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS) -lyaml

# The trust store's parser: every input must parse or be refused with a
# reason, and an accepted store must survive a format/parse round trip.
TRUST_FUZZ_SECONDS ?= 20
$(BUILD)/fuzz/fuzz_truststore: tests/fuzz/fuzz_truststore.c agent/truststore.c agent/truststore.h
	$(msg) FUZZ-CC $@
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_truststore.c agent/truststore.c -lcrypto

fuzz: deps $(BUILD)/fuzz/fuzz_policy $(BUILD)/fuzz/fuzz_truststore
	$(Q)set -e; f=$(BUILD)/fuzz/fuzz_policy; \
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1; \
	if [ -n "$(FUZZ_REGRESS)" ]; then \
		echo "fuzz: replaying $(words $(FUZZ_REGRESS)) regression input(s)"; \
		$$f $(FUZZ_REGRESS) >$(BUILD)/fuzz/regressions.log 2>&1 || { \
			tail -n 60 $(BUILD)/fuzz/regressions.log; \
			echo "fuzz: a regression input in tests/fuzz/regressions/policy/ fails again" \
				"(log: $(BUILD)/fuzz/regressions.log)" >&2; exit 1; }; \
	fi; \
	rm -rf $(BUILD)/fuzz/corpus; mkdir -p $(BUILD)/fuzz/corpus; \
	cp tests/fuzz/corpus/policy/* policies/*.yaml $(BUILD)/fuzz/corpus/; \
	echo "fuzz: fuzzing the policy loader for $(FUZZ_SECONDS)s (log: $(BUILD)/fuzz/fuzz.log)"; \
	rm -f $(BUILD)/fuzz/crash-*; \
	if ! $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=$(BUILD)/fuzz/crash- -dict=tests/fuzz/policy.dict -print_final_stats=1 \
		$(BUILD)/fuzz/corpus >$(BUILD)/fuzz/fuzz.log 2>&1; then \
		sed -n '/==ERROR\|deadly signal\|runtime error\|ERROR: libFuzzer/,$$p' \
			$(BUILD)/fuzz/fuzz.log | head -n 80 | grep . || tail -n 60 $(BUILD)/fuzz/fuzz.log; \
		echo "fuzz: the policy loader failed; input: $$(ls $(BUILD)/fuzz/crash-* 2>/dev/null | tr '\n' ' ')" >&2; \
		echo "fuzz: replay it with $$f FILE, fix the loader, and add the file, named after" \
			"what it broke, to tests/fuzz/regressions/policy/" >&2; \
		exit 1; \
	fi; \
	grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units)' $(BUILD)/fuzz/fuzz.log | tail -n 2; \
	echo "fuzz: no crash in $(FUZZ_SECONDS)s"; \
	f=$(BUILD)/fuzz/fuzz_truststore; \
	rm -rf $(BUILD)/fuzz/corpus-ts; mkdir -p $(BUILD)/fuzz/corpus-ts; \
	cp tests/fuzz/corpus/truststore/* $(BUILD)/fuzz/corpus-ts/; \
	echo "fuzz: fuzzing the trust store parser for $(TRUST_FUZZ_SECONDS)s (log: $(BUILD)/fuzz/fuzz-truststore.log)"; \
	if ! $$f -max_total_time=$(TRUST_FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=$(BUILD)/fuzz/crash-truststore- -print_final_stats=1 \
		$(BUILD)/fuzz/corpus-ts >$(BUILD)/fuzz/fuzz-truststore.log 2>&1; then \
		sed -n '/==ERROR\|deadly signal\|runtime error\|ERROR: libFuzzer/,$$p' \
			$(BUILD)/fuzz/fuzz-truststore.log | head -n 80 | grep . || tail -n 60 $(BUILD)/fuzz/fuzz-truststore.log; \
		echo "fuzz: the trust store parser failed; input: $$(ls $(BUILD)/fuzz/crash-truststore-* 2>/dev/null | tr '\n' ' ')" >&2; \
		exit 1; \
	fi; \
	echo "fuzz: trust store parser: no crash in $(TRUST_FUZZ_SECONDS)s"

run: deps $(BUILD)/vigil
	$(BUILD)/vigil run

install: $(BUILD)/vigil
	install -D -m 0755 $(BUILD)/vigil $(DESTDIR)$(PREFIX)/sbin/vigil

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/asan/*/*.d $(BUILD)/unit/*.d $(BUILD)/test-tools/*.d)
