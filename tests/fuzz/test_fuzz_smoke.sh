#!/bin/bash
# test_fuzz_smoke.sh - the fuzz smoke run of `make test`: build the harnesses
# (make fuzz-build), then run each one briefly over its committed corpus and fresh
# mutations of it (-runs=20000, at most 10 s each, two at a time). Prints per harness
#   ok - fuzz smoke: <harness> (<N> runs)
#   not ok - fuzz smoke: <harness>: <why>
# The long campaign is `make fuzz` (tests/fuzz/README.md). New inputs go to a scratch
# directory; the committed corpus is only read. fuzz_dns_bpf needs root.
set -u
cd "$(dirname "$0")/../.."
. tests/fuzz/options.sh
RUNS=${FUZZ_SMOKE_RUNS:-20000}
SECS=${FUZZ_SMOKE_SECONDS:-10}
mapfile -t harnesses < <(ls tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
scratch=$(mktemp -d /tmp/moat-fuzz-smoke-XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# Build what can be built; each harness that is missing afterwards is reported below.
if ! make -s -k fuzz-build >"$scratch/build.log" 2>&1; then
	echo "# make fuzz-build failed; its last lines:"
	tail -n 15 "$scratch/build.log" | sed 's/^/#   /'
fi
build_why() {
	if grep -q "libclang_rt.fuzzer\|fuzzer.*No such file\|unsupported option '-fsanitize=fuzzer" \
		"$scratch/build.log"; then
		echo "not built: clang's libFuzzer runtime is missing (install libclang-rt-14-dev: make deps)"
	else
		echo "not built: $(grep -m1 -E 'error|Error' "$scratch/build.log" || echo 'make fuzz-build failed')"
	fi
}

# Run harness $1; write its result line to $scratch/$1.result.
smoke_one() {
	local h=$1 log=$scratch/$1.log rc n why
	if [ ! -x "build/fuzz/$h" ] || [ "build/fuzz/$h" -ot "tests/fuzz/$h.c" ]; then
		echo "not ok - fuzz smoke: $h: $(build_why)" >"$scratch/$h.result"
		return
	fi
	if [ "${h%_bpf}" != "$h" ] && [ "$(id -u)" -ne 0 ]; then
		echo "ok - fuzz smoke: $h # SKIP needs root (BPF_PROG_TEST_RUN)" >"$scratch/$h.result"
		return
	fi
	mkdir -p "$scratch/$h.corpus" "$scratch/$h.crash"
	# shellcheck disable=SC2046
	"build/fuzz/$h" $(fuzz_options "$h") -runs="$RUNS" -max_total_time="$SECS" \
		-print_final_stats=1 -artifact_prefix="$scratch/$h.crash/" \
		"$scratch/$h.corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1
	rc=$?
	n=$(grep -a 'stat::number_of_executed_units' "$log" | awk '{print $2}')
	if [ "$rc" -eq 0 ] && [ -n "$n" ]; then
		echo "ok - fuzz smoke: $h ($n runs)" >"$scratch/$h.result"
		return
	fi
	why=$(grep -a -m1 -E '^fuzz(_dns_bpf|_veth_bpf)?: |^SUMMARY: |ERROR: ' "$log" || echo "exit $rc")
	mkdir -p build/fuzz/smoke-crashes
	cp "$scratch/$h.crash/"* build/fuzz/smoke-crashes/ 2>/dev/null
	cp "$log" "build/fuzz/smoke-crashes/$h.log"
	echo "not ok - fuzz smoke: $h: $why (input and log in build/fuzz/smoke-crashes/)" \
		>"$scratch/$h.result"
}

running=0
for h in "${harnesses[@]}"; do
	smoke_one "$h" &
	running=$((running + 1))
	if [ "$running" -ge 2 ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
status=0
for h in "${harnesses[@]}"; do
	cat "$scratch/$h.result"
	grep -q '^not ok' "$scratch/$h.result" && status=1
done
exit $status
