#!/bin/bash
# fleet.sh - the fleet benchmark of the ClickHouse export (docs/fleet.md, docs/performance.md
# "Fleet export to ClickHouse"): N simulated hosts (build/bench/fleet, the real exporter with a
# realistic event mix, one process each, distinct host ids) export at once into one private
# clickhouse-server (tests/helpers/clickhouse.sh: 127.0.0.1 only, stopped by its PID), then the
# ten queries of docs/fleet.md run over what arrived.
#
# Usage: tools/bench/fleet.sh            (no root, no Docker: needs clickhouse-server)
# Knobs: FLEET_HOSTS (50), FLEET_EVENTS (events per host and phase, 30000), FLEET_RATES
# (events/s per host, one phase each: "1000 4000"), FLEET_QUERY_RUNS (5), FLEET_CAPTURE (a
# capture file, moat trace --record: each host replays its real events in a loop, containers
# renamed HOST/NAME, instead of the generated mix).
# Prints per phase: rows ingested per second (rows ClickHouse took over the phase's wall time,
# from the first event to the last host's flush), rows per host, rows dropped, the exporter's
# CPU per 1,000 events (its two threads' CPU time over the events handed to it) and
# clickhouse-server's CPU; then each query's median latency. Nothing is asserted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FLEET=$ROOT/build/bench/fleet
CHSH=$ROOT/tests/helpers/clickhouse.sh
HOSTS=${FLEET_HOSTS:-50}
EVENTS=${FLEET_EVENTS:-30000}
RATES=${FLEET_RATES:-1000 4000}
CAPTURE=${FLEET_CAPTURE:-} # a capture (moat trace --record): every host replays it in a loop
[ -z "$CAPTURE" ] || CAPTURE=$(realpath "$CAPTURE")
RUNS=${FLEET_QUERY_RUNS:-5}
TMP=$(mktemp -d /tmp/moat-fleet.XXXXXX)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$CHSH" stop "$TMP/ch" || true
	rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$FLEET" ] || make -C "$ROOT" -s build/bench/fleet build/moat
PORT=$("$CHSH" start "$TMP/ch")
URL=http://127.0.0.1:$PORT/
q() { curl -sS --fail-with-body "$URL" --data-binary "$1"; }
"$ROOT/build/moat" export schema | clickhouse-client --port "$(cat "$TMP/ch/tcp_port")" --multiquery
chpid=$(cat "$TMP/ch/pid")
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "# fleet: $HOSTS hosts, $EVENTS events each per phase (${CAPTURE:-generated events}), clickhouse-server $(q 'SELECT version()'), $(nproc) CPUs (shared with other work)"
phase=0
for rate in $RATES; do
	phase=$((phase + 1))
	before=$(q "SELECT count() FROM moat_events")
	before_a=$(q "SELECT count() FROM moat_alerts")
	t0=$(date +%s.%N)
	c0=$(cpu_ticks "$chpid")
	pids=()
	for h in $(seq 1 "$HOSTS"); do
		"$FLEET" "$URL" "host-$h" "$EVENTS" "$rate" "$TMP/spool-$phase-$h" ${CAPTURE:+"$CAPTURE"} \
			>"$TMP/host-$phase-$h.json" 2>"$TMP/host-$phase-$h.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	pids=()
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$chpid")
	cat "$TMP"/host-$phase-*.json | python3 -c "
import json, sys
rows = handed = dropped = cpu = 0
n = 0
for line in sys.stdin:
    d = json.loads(line); n += 1
    rows += d['rows_sent']; handed += d['events_handed'] + d['alerts_handed']
    dropped += d['dropped']; cpu += d['cpu_ns']
wall = $t1 - $t0
ch_cpu = ($c1 - $c0) / $hz
print(f'phase $phase: {n} hosts at $rate events/s each ({n * $rate} events/s offered, {n * $EVENTS} events)')
print(f'  rows ingested: {rows} in {wall:.1f} s = {rows / wall:.0f} rows/s; dropped {dropped}')
print(f'  exporter CPU: {cpu / 1e6 / max(1, handed) * 1000:.1f} ms per 1,000 rows handed ({cpu / 1e9:.1f} s in all)')
print(f'  events per 1,000 generated that the default types export: {handed * 1000 // max(1, n * $EVENTS)}')
print(f'  clickhouse-server CPU: {ch_cpu:.1f} s ({ch_cpu / wall * 100:.0f}% of one CPU)')
"
	after=$(q "SELECT count() FROM moat_events")
	after_a=$(q "SELECT count() FROM moat_alerts")
	echo "  in ClickHouse: $((after - before)) event rows, $((after_a - before_a)) alert rows; keys unique: $(q "SELECT count() = uniqExact(host, boot_id, seq) FROM moat_events")"
	grep -h . "$TMP"/host-$phase-*.err 2>/dev/null | sort | uniq -c | head -5 || true
done

echo "# the ten queries of docs/fleet.md over $(q 'SELECT count() FROM moat_events') event rows, median of $RUNS runs"
awk '/^## Ten queries/{on=1} /^## Fleet figures/{on=0} on' "$ROOT/docs/fleet.md" |
	awk -v dir="$TMP" '/^```sql/{n++; f=dir "/q" n ".sql"; next} /^```/{f=""; next} f{print > f}'
for f in $(ls "$TMP"/q*.sql | sort -V); do
	n=$(basename "$f" .sql)
	times=()
	for _ in $(seq 1 "$RUNS"); do
		times+=("$(curl -sS -o /dev/null -w '%{time_total}' "$URL" --data-binary @"$f")")
	done
	med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	rows=$(curl -sS "$URL" --data-binary "$(cat "$f") FORMAT TabSeparated" | wc -l)
	printf '  %-4s %6.0f ms  %5d rows  %s\n' "$n" "$(python3 -c "print($med * 1000)")" "$rows" \
		"$(grep -v '^--' "$f" | head -1 | cut -c1-70)"
done
