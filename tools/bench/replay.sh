#!/bin/bash
# replay.sh - offline replay through the detections, and the capture writer (issue 12): prints
# its figures. No kernel, no Docker, no root.
#
# Usage: tools/bench/replay.sh [EVENTS]   (default 10,000,000; make first)
#   1. build/bench/capture_gen writes EVENTS synthetic events of a realistic mix from 50
#      containers through the capture writer (`moat trace --record`'s code): the writer's CPU
#      ns per event and the bytes per event on disk;
#   2. `moat replay FILE --detect >/dev/null` pinned to one core (taskset -c $BENCH_CPU,
#      default 1): decode, containers from the capture, DNS registry fed by the captured
#      answers, the detections with the default configuration, alerts formatted as the alert
#      log's JSON lines: events per second of wall time and of CPU (user+sys);
#   3. `moat replay FILE --json >/dev/null` and `moat replay FILE --type exit >/dev/null`
#      (reading and filtering only) on the same core, for comparison.
# Each replay runs BENCH_RUNS (3) times; all runs are printed. No figure is asserted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${1:-10000000}
CPU=${BENCH_CPU:-1}
RUNS=${BENCH_RUNS:-3}
TMP=$(mktemp -d /tmp/moat-bench-replay.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
CAP=$TMP/bench.mcap

[ -x "$ROOT/build/moat" ] && [ -x "$ROOT/build/bench/capture_gen" ] ||
	{ echo "replay.sh: run make first (build/moat, build/bench/capture_gen)" >&2; exit 1; }

echo "== capture writer: $N events"
taskset -c "$CPU" "$ROOT/build/bench/capture_gen" "$CAP" "$N"

TIMEFORMAT='%U %S'
# run LABEL ARGS...: time `moat replay ARGS` on one core, output to /dev/null.
run() {
	local label=$1 i t0 t1 cpu0 cpu1
	shift
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		{ time taskset -c "$CPU" "$ROOT/build/moat" replay "$CAP" "$@" \
			>/dev/null 2>"$TMP/err"; } 2>"$TMP/time" || true
		t1=$(date +%s%N)
		read -r u s <"$TMP/time"
		awk -v n="$N" -v w="$(((t1 - t0) / 1000))" -v u="$u" -v s="$s" -v l="$label" 'BEGIN {
			printf "%-24s %8.2f s wall  %8.0f k events/s wall  %6.2f s cpu  %8.0f k events/s cpu\n",
				l, w / 1e6, n / (w / 1e6) / 1000, u + s, n / (u + s) / 1000 }'
	done
}
echo "== moat replay on CPU $CPU ($(nproc) CPUs, shared with other work: see docs/performance.md)"
run "--detect" --detect
echo "   alerts raised: $("$ROOT/build/moat" replay "$CAP" --detect 2>/dev/null | wc -l)"
run "--json" --json
run "--type exit (read only)" --type exit
