# fuzz.mk - libFuzzer harnesses for every parser of outside input (tests/fuzz/README.md).
# Included by the top Makefile; nothing here is part of `make all`, so the main build
# never needs clang's fuzzer runtime (libclang-rt-14-dev).
#
#   make fuzz-build     build/fuzz/fuzz_<parser> for every tests/fuzz/fuzz_<parser>.c
#   make fuzz           build, then run every harness for FUZZ_SECONDS each (FUZZ_JOBS at a
#                       time) and print the executions and crashes of each
#   make fuzz-clean     remove build/fuzz (the working corpora and crash files too)
#
# The userspace modules the harnesses use (FUZZ_MODULES: the parsers and what they call)
# are compiled with -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/obj and
# archived; each harness links what it needs from the archive. Only these modules, not
# every src/*/*.c: a module the harnesses never call (the daemon, the loader with its BPF
# skeletons) must not stop the parsers' fuzzing while it is being changed. A new call
# from a parser into another module shows as an undefined symbol at link time: add the
# module here. A BPF harness (fuzz_dns_bpf) also needs its programs' skeleton
# (build/dns.skel.h), made by the top Makefile's rules.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 1200
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_SAN := -fsanitize=address,undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Iinclude -I$(BUILD) $(addprefix -I,$(SRC_DIRS:/=)) \
	$(shell $(PKG_CONFIG) --cflags $(LIBS_PC) 2>/dev/null)

FUZZ_MODULES := policy/config policy/config_section policy/config_http policy/config_export decode/event policy/config_learn enrich/baseline enrich/baseline_file policy/config_logs policy/config_resources policy/config_outputs policy/policy policy/rulesfile policy/lists decode/capture \
	enrich/registry enrich/registry_arena enrich/registry_table enrich/registry_edit \
	enrich/registry_query enrich/registry_file \
	docker/docker docker/docker_inspect docker/container docker/dockerwatch docker/dockerlogs \
	detect/detect_logs lib/textesc \
	act/alertlog act/alertlog_line act/alertlog_query act/export_spool decode/format decode/jsonw \
	detect/alert kernel/cgroup lib/log lib/severity lib/cidr lib/clock lib/fs lib/pimutex kernel/netrules \
	kernel/netrules_maps kernel/netrules_domain kernel/netrules_txn
FUZZ_OBJS := $(patsubst %,$(FUZZ_DIR)/obj/%.o,$(FUZZ_MODULES))
FUZZ_LIB := $(FUZZ_DIR)/libmoat-fuzz.a
FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_HARNESSES))

.PHONY: fuzz fuzz-build fuzz-clean

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	tests/fuzz/campaign.sh -t $(FUZZ_SECONDS) -j $(FUZZ_JOBS)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

$(FUZZ_DIR)/obj/%.o: src/%.c src/*/*.h include/moat/*.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

# Any sanitizer report is a crash, except the known ones listed in tests/fuzz/ubsan.supp.
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/fuzz/fuzz_json.h $(FUZZ_LIB) | $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Itests/fuzz -DFUZZ_UBSAN_SUPP='"$(abspath tests/fuzz/ubsan.supp)"' \
		-fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_LIB) $(LDLIBS) -o $@

# A BPF harness, fuzz_<name>_bpf, runs the real programs of bpf/<name>.bpf.c: it needs
# their skeleton.
$(filter %_bpf,$(FUZZ_BINS)): $(FUZZ_DIR)/fuzz_%_bpf: $(BUILD)/%.skel.h

$(FUZZ_DIR) $(FUZZ_DIR)/obj:
	mkdir -p $@
