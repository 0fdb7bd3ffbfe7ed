#!/bin/bash
# campaign.sh - `make fuzz`: run every fuzz harness (or the ones named) for SECONDS each
# (or until RUNS executions, whichever comes first), JOBS at a time, and print the
# executions and crashes of each.
#
# usage: tests/fuzz/campaign.sh [-t SECONDS] [-n RUNS] [-j JOBS] [HARNESS...]
#
# Each harness grows its own working corpus in build/fuzz/corpus/<harness> (seeded from the
# committed tests/fuzz/corpus/<harness>, which is never written), keeps its logs in
# build/fuzz/logs/ and its crash inputs in build/fuzz/artifacts/<harness>/. A crash does not
# end the campaign: the input is saved, counted, and the harness restarts for the rest of
# its time (at most 20 times). Reproduce a crash with build/fuzz/<harness> <crash file>.
# fuzz_dns_bpf needs root (BPF_PROG_TEST_RUN); without it, it is skipped.
# Exit status: 0 when no harness crashed, 1 otherwise.
set -u
cd "$(dirname "$0")/../.."
seconds=1200
max_runs=0 # 0: no limit
jobs=$(nproc 2>/dev/null || echo 2)
while getopts "t:n:j:" opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	n) max_runs=$OPTARG ;;
	j) jobs=$OPTARG ;;
	*)
		echo "usage: $0 [-t SECONDS] [-n RUNS] [-j JOBS] [HARNESS...]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
	harnesses=("$@")
else
	mapfile -t harnesses < <(ls tests/fuzz/fuzz_*.c | sed 's|.*/||; s|\.c$||')
fi
out=build/fuzz
# Results of this run only: another campaign may be running beside it.
results=$out/results/$$
mkdir -p "$out/logs" "$results"

# The libFuzzer options of a harness (shared with test_fuzz_smoke.sh).
. tests/fuzz/options.sh

# Run harness $1 for $seconds, restarting after crashes; writes its result line.
campaign_one() {
	local h=$1 bin=$out/$1 start now left rc execs=0 crashes=0 runs=0 n log
	local work=$out/corpus/$h art=$out/artifacts/$h
	log=$out/logs/$h.log
	: >"$log"
	if [ "${h%_bpf}" != "$h" ] && [ "$(id -u)" -ne 0 ]; then
		echo "$h skipped (needs root)" >"$results/$h"
		return
	fi
	mkdir -p "$work" "$art"
	start=$(date +%s)
	left=$seconds
	while [ "$left" -gt 0 ] && [ "$runs" -lt 20 ]; do
		[ "$max_runs" -gt 0 ] && [ "$execs" -ge "$max_runs" ] && break
		runs=$((runs + 1))
		# shellcheck disable=SC2046
		"$bin" $(fuzz_options "$h") -max_total_time="$left" -print_final_stats=1 \
			-runs=$((max_runs > 0 ? max_runs - execs : -1)) \
			-artifact_prefix="$art/" "$work" "tests/fuzz/corpus/$h" >>"$log" 2>&1
		rc=$?
		n=$(grep -a 'stat::number_of_executed_units' "$log" | tail -n 1 | awk '{print $2}')
		# After a crash there are no final stats: count from the last status line.
		[ "$rc" -ne 0 ] && n=$(grep -aoE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
		execs=$((execs + ${n:-0}))
		[ "$rc" -ne 0 ] && crashes=$((crashes + 1))
		echo "# run $runs ended: rc $rc, ${n:-0} executions" >>"$log"
		now=$(date +%s)
		left=$((seconds - (now - start)))
	done
	now=$(date +%s)
	printf '%s %d %d %d\n' "$h" "$((now - start))" "$execs" "$crashes" >"$results/$h"
}

echo "fuzz campaign: ${#harnesses[@]} harnesses, ${seconds}s each$([ "$max_runs" -gt 0 ] &&
	echo " or $max_runs executions"), $jobs at a time"
running=0
for h in "${harnesses[@]}"; do
	if [ ! -x "$out/$h" ]; then
		echo "$h not built (make fuzz-build)" >"$results/$h"
		continue
	fi
	campaign_one "$h" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

status=0
printf '%-22s %8s %14s %10s %8s\n' harness seconds executions exec/s crashes
for h in "${harnesses[@]}"; do
	read -r name secs execs crashes <"$results/$h"
	if ! [[ "${execs:-}" =~ ^[0-9]+$ ]]; then
		printf '%-22s %s\n' "$h" "$(cut -d' ' -f2- "$results/$h")"
		continue
	fi
	printf '%-22s %8d %14d %10d %8d\n' "$name" "$secs" "$execs" \
		"$((execs / (secs > 0 ? secs : 1)))" "$crashes"
	if [ "$crashes" -gt 0 ]; then
		status=1
		ls "$out/artifacts/$h/" | sed "s|^|    $out/artifacts/$h/|"
	fi
	if [ "${h%_bpf}" != "$h" ]; then
		grep -a "^$h: " "$out/logs/$h.log" | tail -n 1 | sed 's/^/    /'
	fi
done
exit $status
