#!/bin/bash
# logs.sh - the log pattern scanner under a real `moat run` (issue 10): prints its figures.
#
# Usage (as root, test environment up): tools/bench/logs.sh
#   1. BENCH_IDLE (100) idle containers, each followed (one log stream each): moat run's
#      RSS and threads before and after, so the cost of a followed container that says
#      nothing;
#   2. BENCH_WRITERS (4) containers each writing BENCH_LINES (200000) access-log-like lines
#      (1 in 50 an ERROR) as fast as busybox can: moat run's CPU time (utime + stime from
#      /proc/PID/stat) over the lines it read (`moat stats --json`: status.logs.lines), so
#      the cost per log line end to end (Docker's log API, libcurl, the splitter, the
#      scanner), and the alerts (rate limited: one per container and pattern per 60 s).
#   build/bench/logscan gives the splitter and scanner alone, without Docker.
#
# Its own pin directory (/sys/fs/bpf/moat-bench-logs), control socket, state dir and alert
# file in a temp dir; a scan budget of BENCH_BUDGET (1 GiB/s: every line scanned) bytes per
# container and second; moat run --report-only and a policy that only alerts, so it acts on
# nothing. On exit (also Ctrl-C) it stops its moat run (by pid), runs `moat clear` on its
# pin dir and removes its moat-bench-lg-* containers. No figure is asserted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IDLE=${BENCH_IDLE:-100}
WRITERS=${BENCH_WRITERS:-4}
LINES=${BENCH_LINES:-200000}
PIN=/sys/fs/bpf/moat-bench-logs
IMAGE=moat-test/busybox
export DOCKER_HOST=unix:///var/run/docker.sock
TMP=$(mktemp -d /tmp/moat-bench-logs.XXXXXX)
MOAT=$TMP/moat
cp "$ROOT/build/moat" "$MOAT"
export MOAT_CONTROL_SOCKET=$TMP/moat.sock
run_pid=

cleanup() {
	[ -z "$run_pid" ] || { kill "$run_pid" 2>/dev/null || true; wait "$run_pid" 2>/dev/null || true; }
	"$MOAT" --pin-dir "$PIN" clear >/dev/null 2>&1 || true
	docker ps -aq --filter name=moat-bench-lg- | xargs -r docker rm -f >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

status() { "$MOAT" stats --json | jq -r "$1"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$run_pid/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$run_pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$run_pid/stat"; }

echo '{"policies": [{"id": "bench", "actions": ["alert"]}]}' >"$TMP/policies.json"
# The budget never bites: every line is scanned (BENCH_BUDGET to measure with one).
echo "{\"logs\": {\"max_bytes_per_second\": ${BENCH_BUDGET:-1073741824}}}" >"$TMP/moat.json"
"$MOAT" --pin-dir "$PIN" clear >/dev/null 2>&1 || true
"$MOAT" --pin-dir "$PIN" run --report-only --config "$TMP/moat.json" --policies "$TMP/policies.json" \
	--state-dir "$TMP/state" --alerts-file "$TMP/alerts.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$TMP/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 75); do grep -q "moat run: watching" "$TMP/run.log" && break; sleep 0.2; done
sleep 1
base_streams=$(status .status.logs.streams)
rss0=$(rss_kib)
thr0=$(threads)
for i in $(seq "$IDLE"); do
	docker run -d --name "moat-bench-lg-idle-$i" --label moat.bench=1 "$IMAGE" sleep 3600 >/dev/null 2>&1
done
for _ in $(seq 100); do
	[ "$(status .status.logs.streams)" -ge $((base_streams + IDLE)) ] && break
	sleep 0.2
done
sleep 2
rss1=$(rss_kib)
thr1=$(threads)
echo "idle: $IDLE containers followed ($(status .status.logs.streams) streams): RSS ${rss0} -> ${rss1} KiB ($(((rss1 - rss0) / IDLE)) KiB each), threads $thr0 -> $thr1"
docker ps -aq --filter name=moat-bench-lg-idle- | xargs -r docker rm -f >/dev/null 2>&1

lines0=$(status .status.logs.lines)
t0=$(cpu_ticks)
start=$(date +%s.%N)
for i in $(seq "$WRITERS"); do
	docker run -d --name "moat-bench-lg-w$i" --label moat.bench=1 "$IMAGE" sh -c \
		"i=0; while [ \$i -lt $LINES ]; do
			if [ \$((i % 50)) -eq 49 ]; then echo \"2024-05-01 ERROR db: connection reset (\$i)\";
			else echo \"172.17.0.\$((i % 250)) - - [01/May/2024:10:11:12 +0000] \\\"GET /api/v1/items/\$i HTTP/1.1\\\" 200 512\"; fi
			i=\$((i + 1)); done; sleep 3600" >/dev/null 2>&1
done
want=$((lines0 + WRITERS * LINES))
for _ in $(seq 600); do
	[ "$(status .status.logs.lines)" -ge "$want" ] && break
	sleep 0.5
done
end=$(date +%s.%N)
t1=$(cpu_ticks)
lines1=$(status .status.logs.lines)
hz=$(getconf CLK_TCK)
n=$((lines1 - lines0))
awk -v n="$n" -v t="$((t1 - t0))" -v hz="$hz" -v s="$start" -v e="$end" -v w="$WRITERS" 'BEGIN {
	cpu = t / hz; wall = e - s;
	printf "writers: %d containers, %d lines read in %.1f s (%.0f lines/s)\n", w, n, wall, n / wall;
	printf "moat run CPU: %.2f s = %.0f ns per log line end to end (%.1f%% of one core)\n", cpu, cpu * 1e9 / n, 100 * cpu / wall }'
echo "alerts: $(grep -c '"rule":"log-pattern"' "$TMP/alerts.jsonl" || true) log-pattern, $(grep -c '"rule":"log-flood"' "$TMP/alerts.jsonl" || true) log-flood"
echo "status.logs: $("$MOAT" stats --json | jq -c .status.logs)"
