# moat - eBPF container security monitor. `make help` lists the targets.

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CC ?= cc
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
DESTDIR ?=

BUILD := build
LIBS_PC := libbpf libelf zlib json-c libcurl libmnl libzstd
# The syslog output writes to the journal with sd-journal when libsystemd is there
# (docs/outputs.md); without it, syslog only.
ifeq ($(shell $(PKG_CONFIG) --exists libsystemd 2>/dev/null && echo yes),yes)
LIBS_PC += libsystemd
CFLAGS_SD := -DMOAT_HAVE_SD_JOURNAL
endif
CFLAGS ?= -O2 -g
# src/ has a folder per stage of the data flow (src/README.md); every folder is on the
# include path, and tools/lint.sh checks that no module includes a later stage.
SRC_DIRS := $(sort $(dir $(wildcard src/*/*.c src/*/*.h)))
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -I$(BUILD) \
	$(CFLAGS_SD) $(addprefix -I,$(SRC_DIRS:/=)) $(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)
LDLIBS += -pthread -lm $(shell $(PKG_CONFIG) --libs $(LIBS_PC) 2>/dev/null || echo -lbpf -lelf -lz -ljson-c -lcurl -lmnl -lzstd)
# The dashboard's server (src/web/server.c); civetweb ships no pkg-config file.
LDLIBS += -lcivetweb

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-Ivmlinux/$(ARCH) -Iinclude -Ibpf

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

SRCS := $(wildcard src/*/*.c)
OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS)) $(BUILD)/obj/web_assets.o $(BUILD)/obj/tls_compat.o
LIB_OBJS := $(filter-out $(BUILD)/obj/cli/main.o,$(OBJS))

# tests/unit/<folder>/test_<module>.c: one folder per src/ folder (tests/README.md).
UNIT_SRCS := $(wildcard tests/unit/*/*.c)
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(notdir $(basename $(UNIT_SRCS))))
BPFT_SRCS := $(wildcard tests/bpf/*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRCS))

.PHONY: all deps test demo bench lint format install uninstall clean vmlinux help testenv-up testenv-down

# resolve.c is built per C library (resolve-glibc, resolve-musl), not as itself.
HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(filter-out tests/helpers/resolve.c,$(wildcard tests/helpers/*.c))) \
	$(BUILD)/helpers/resolve-glibc $(if $(shell command -v musl-gcc),$(BUILD)/helpers/resolve-musl)

all: $(BUILD)/moat $(UNIT_BINS) $(BPFT_BINS) $(HELPERS) $(BUILD)/bench/wsclient

help:
	@echo "make            build build/moat and the tests"
	@echo "make deps       install the Debian packages moat needs (apt-get, idempotent)"
	@echo "sudo make test  deps + test environment + build + every test; ends 'N passed, N failed'"
	@echo "sudo make demo  deps + test environment + build, then moat catching a container live"
	@echo "sudo make bench benchmarks (tools/bench), figures for docs/performance.md"
	@echo "make lint       clang-format check and banned-function check"
	@echo "make install    binary, man page, systemd unit under PREFIX=$(PREFIX)"
	@echo "make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel's BTF"

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c bpf/*.bpf.h include/moat/*.h | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; false; }

$(BUILD)/obj/%.o: src/%.c include/moat/*.h src/*/*.h $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# The dashboard's files (src/web/assets/) embedded in the binary (tools/embed_assets.sh).
$(BUILD)/web_assets.c: $(shell find src/web/assets -type f 2>/dev/null) tools/embed_assets.sh
	@mkdir -p $(@D)
	tools/embed_assets.sh src/web/assets > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/web_assets.o: $(BUILD)/web_assets.c src/web/server_assets.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# Debian's civetweb 1.15 needs OpenSSL 1.1's libssl for TLS; two small stand-ins named
# libssl.so and libcrypto.so over OpenSSL 3 (src/web/tlscompat/), embedded in the binary and
# loaded from memory when the dashboard serves TLS (src/web/server_tls.c).
$(BUILD)/tlscompat/libssl.so: src/web/tlscompat/ssl_compat.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -fPIC -shared -Wl,-soname,libssl.so $< -l:libssl.so.3 -o $@

$(BUILD)/tlscompat/libcrypto.so: src/web/tlscompat/crypto_compat.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -fPIC -shared -Wl,-soname,libcrypto.so -Wl,--no-as-needed $< -l:libcrypto.so.3 -o $@

$(BUILD)/tls_compat.c: $(BUILD)/tlscompat/libssl.so $(BUILD)/tlscompat/libcrypto.so tools/embed_assets.sh
	tools/embed_assets.sh $(BUILD)/tlscompat tls_compat > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/tls_compat.o: $(BUILD)/tls_compat.c src/web/server_assets.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/moat: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

define unit_test_rule
$(BUILD)/tests/$(notdir $(basename $(1))): $(1) $(LIB_OBJS) | $(BUILD)/tests
	$$(CC) $$(CFLAGS) -Itests $$< $$(LIB_OBJS) $$(LDLIBS) -o $$@
endef
$(foreach t,$(UNIT_SRCS),$(eval $(call unit_test_rule,$(t))))

$(BUILD)/tests/%: tests/bpf/%.c $(LIB_OBJS) $(SKELS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Itests $< $(LIB_OBJS) $(LDLIBS) -o $@

# Static helpers copied into test containers (the busybox image has no libc).
# getaddrinfo in a static glibc binary: glibc >= 2.34 has the files and dns NSS modules
# built in, so it runs in the busybox image; the linker's warning about it is expected.
$(BUILD)/helpers/resolve-glibc: tests/helpers/resolve.c | $(BUILD)/helpers
	$(CC) -O2 -Wall -Werror -static $< -o $@ 2>&1 | grep -v "statically linked applications requires" || true
	@test -x $@

$(BUILD)/helpers/resolve-musl: tests/helpers/resolve.c | $(BUILD)/helpers
	musl-gcc -O2 -Wall -Werror -static $< -o $@

$(BUILD)/helpers/%: tests/helpers/%.c | $(BUILD)/helpers
	$(CC) -O2 -Wall -Werror -static $< -o $@

# Benchmark tools: load generators run in busybox containers (static); the ring
# buffer consumer runs on the host and links libbpf.
BENCH_BINS := $(BUILD)/bench/loadgen $(BUILD)/bench/consume

$(BUILD)/bench/loadgen: tools/bench/loadgen.c | $(BUILD)/bench
	$(CC) -O2 -Wall -Werror -static $< -o $@

$(BUILD)/bench/consume: tools/bench/consume.c include/moat/*.h | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LDLIBS) -o $@

# connect() cost A/B on loopback in a private cgroup: build/bench/connect_ab [PAIRS] [N].
BENCH_BINS += $(BUILD)/bench/connect_ab

$(BUILD)/bench/connect_ab: tools/bench/connect_ab.c $(LIB_OBJS) $(SKELS) | $(BUILD)/bench
	$(CC) $(CFLAGS) -I$(BUILD) $< $(LIB_OBJS) $(LDLIBS) -o $@

# DNS registry memory/speed, no kernel needed: build/bench/registry_mem [DIR].
BENCH_BINS += $(BUILD)/bench/registry_mem

$(BUILD)/bench/registry_mem: tools/bench/registry_mem.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# A registry.json of N names for `moat run` to load (tools/bench/daemon.sh rss).
BENCH_BINS += $(BUILD)/bench/registry_gen

$(BUILD)/bench/registry_gen: tools/bench/registry_gen.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Fills the pinned domain_rules / learned_v4 maps (tools/bench/domains.sh).
BENCH_BINS += $(BUILD)/bench/domain_fill

$(BUILD)/bench/domain_fill: tools/bench/domain_fill.c include/moat/*.h | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LDLIBS) -o $@

# One simulated host of the ClickHouse fleet benchmark (tools/bench/fleet.sh): an event mix
# through the real exporter: build/bench/fleet URL HOST_ID EVENTS RATE SPOOL_DIR.
BENCH_BINS += $(BUILD)/bench/fleet

$(BUILD)/bench/fleet: tools/bench/fleet.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# A synthetic capture of N events and the capture writer's cost (tools/bench/replay.sh):
# build/bench/capture_gen FILE [N].
BENCH_BINS += $(BUILD)/bench/capture_gen

$(BUILD)/bench/capture_gen: tools/bench/capture_gen.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Log pattern scanner cost per line, no Docker needed: build/bench/logscan [LINES] [USER_PATTERNS].
BENCH_BINS += $(BUILD)/bench/logscan

$(BUILD)/bench/logscan: tools/bench/logscan.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Resource sampling cost for N containers (tools/bench/resources.c): build/bench/resources [N].
BENCH_BINS += $(BUILD)/bench/resources

$(BUILD)/bench/resources: tools/bench/resources.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Per-packet cost of per-cgroup byte counters in cgroup_skb (tools/bench/pktcount*.c).
BENCH_BINS += $(BUILD)/bench/pktcount $(BUILD)/bench/pktcount.bpf.o

$(BUILD)/bench/pktcount.bpf.o: tools/bench/pktcount.bpf.c | $(BUILD)/bench
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/pktcount: tools/bench/pktcount.c | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LDLIBS) -o $@

# The alert dispatcher: file + webhook + exec outputs, emit cost and worst stall:
# build/bench/outputs [N] [RATE] (docs/performance.md).
BENCH_BINS += $(BUILD)/bench/outputs

$(BUILD)/bench/outputs: tools/bench/outputs.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Learn mode's detections on realistic names and a long benign run (tools/bench/learn_bench.c):
# build/bench/learn_bench tunnel | fp [HOURS] [LEARN_MIN].
BENCH_BINS += $(BUILD)/bench/learn_bench

$(BUILD)/bench/learn_bench: tools/bench/learn_bench.c $(LIB_OBJS) | $(BUILD)/bench
	$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Live stream clients for the dashboard benchmark and test: build/bench/wsclient.
BENCH_BINS += $(BUILD)/bench/wsclient

$(BUILD)/bench/wsclient: tools/bench/wsclient.c | $(BUILD)/bench
	$(CC) -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter $< -pthread -lcivetweb -o $@

$(BUILD)/bpf $(BUILD)/obj $(BUILD)/tests $(BUILD)/helpers $(BUILD)/bench:
	mkdir -p $@

deps:
	tools/deps.sh

test: deps
	tools/testenv.sh up
	$(MAKE) all
	tests/run.sh

demo: deps
	tools/testenv.sh up
	$(MAKE) all
	tools/demo.sh

bench: all $(BENCH_BINS)
	tools/testenv.sh up
	tools/bench/run.sh

lint:
	tools/lint.sh

format:
	clang-format -i src/*/*.c src/*/*.h include/moat/*.h bpf/*.c bpf/*.h tests/*.h tests/*/*.c tests/unit/*/*.c

install: $(BUILD)/moat
	install -D -m 0755 $(BUILD)/moat $(DESTDIR)$(PREFIX)/sbin/moat
	install -D -m 0644 docs/moat.8 $(DESTDIR)$(PREFIX)/share/man/man8/moat.8
	install -D -m 0644 tools/moat.service $(DESTDIR)/etc/systemd/system/moat.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/moat $(DESTDIR)$(PREFIX)/share/man/man8/moat.8 \
		$(DESTDIR)/etc/systemd/system/moat.service

vmlinux:
	mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

clean:
	rm -rf $(BUILD)

# libFuzzer harnesses (tests/fuzz): `make fuzz`, smoke runs in `make test`.
-include tests/fuzz/fuzz.mk

.SECONDARY: $(BPF_OBJS) $(SKELS)
