#!/bin/bash
# run.sh - moat's benchmarks (`sudo make bench`): prints their figures and a summary.
#
# Usage (as root, test environment up): tools/bench/run.sh [--markdown] [NAME...]
#   throughput    events/s through the ring buffer at the generators' top rate, per load
#                 (connect, exec, dns, all three) and per consumer (consume, moat trace);
#                 kernel-side drops and errors from moat's stats map
#   connect-cost  time of BENCH_CONNECTS connect()s from a container: detached, attached,
#                 attached + consumer, alternating for BENCH_ROUNDS rounds; medians, ratio
#   prog-cost     ns per invocation of each moat program (kernel.bpf_stats_enabled),
#                 under each load alone
#   daemon        `moat run`: exec->alert/paused latency, false alerts over resolve->connect
#                 loops, RSS with 200 containers and a 100,000-name registry
#                 (tools/bench/daemon.sh all; its own knobs are in its header)
#   domains       domain mode (issue #4): connect() cost with 10,000 domain rules and
#                 100,000 learned addresses, DNS answer cost, false denials over
#                 resolve->connect loops, interactive approval round trip
#                 (tools/bench/domains.sh all; its own knobs are in its header)
#   trace-cost    `moat trace --json` against `consume` (the minimal reader), per load
#                 (connect, exec, dns, all): the reader's CPU per event (user+sys over
#                 events delivered), kernel drops, and the generators' rates under each
#                 reader (slowdown); docs/performance.md section 11
#   outputs       the alert dispatcher (build/bench/outputs): emit cost and the loop's worst
#                 stall with file + webhook + exec outputs, flat out and paced; no kernel,
#                 no Docker (docs/performance.md §10)
#   fleet         the ClickHouse export (tools/bench/fleet.sh): 50 simulated hosts through the
#                 real exporter into one clickhouse-server; rows/s, exporter CPU per 1,000
#                 rows, the latency of docs/fleet.md's queries (docs/performance.md)
#   all           every one above (default)
#   --markdown    also print the table rows for docs/performance.md
#
# Knobs (environment): BENCH_SECS (10, seconds per throughput run), BENCH_ROUNDS (7),
# BENCH_TC_ROUNDS (3, trace-cost rounds per load),
# BENCH_CONNECTS (60000: their events fit the 8 MiB ring with no consumer), BENCH_PORT
# (9591, TCP listener on the gateway), MOAT_BENCH_PIN_DIR (/sys/fs/bpf/moat-bench).
#
# moat is attached under its own pin directory, so a moat already attached under
# /sys/fs/bpf/moat is left alone (but its programs then run too: a warning says so).
# Everything started here (containers moat-bench-*, the listener, consumers, the
# attachment, bpf_stats) is undone on exit, by name or pid. No figure here is asserted:
# benchmarks print, tests assert.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOAT=$ROOT/build/moat
LOADGEN=$ROOT/build/bench/loadgen
. "$ROOT/tools/bench/lib.sh"
CONSUME=$ROOT/build/bench/consume
NETPROBE=$ROOT/build/helpers/netprobe
IMAGE=moat-test/busybox
PIN=${MOAT_BENCH_PIN_DIR:-/sys/fs/bpf/moat-bench}
SECS=${BENCH_SECS:-10}
ROUNDS=${BENCH_ROUNDS:-7}
CONNECTS=${BENCH_CONNECTS:-60000}
PORT=${BENCH_PORT:-9591}
DNS_NAME=web.moat.test
export DOCKER_HOST=unix:///var/run/docker.sock
export MOAT_PIN_DIR=$PIN

MARKDOWN=0
TMP=$(mktemp -d /tmp/moat-bench.XXXXXX)
containers=()
pids=()
stats_saved=
md_throughput=()
md_cost=()
md_prog=()
md_tc=()
summary=()


cleanup() {
	local pid
	set +e
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	[ -d "$PIN" ] && "$MOAT" -q clear >/dev/null 2>&1
	[ -z "$stats_saved" ] || sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	[ "${#containers[@]}" -eq 0 ] || docker rm -f -v "${containers[@]}" >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM




# stats: "EVENTS DROPS ERRORS" summed over moat's programs, from `moat status`.
stats() {
	"$MOAT" status | awk '/^PROGRAM/ { on = 1; next } on && NF >= 5 { e += $2; d += $3; x += $5 }
		on && NF == 0 { exit } END { printf "%d %d %d\n", e, d, x }'
}

# stats_per_prog: "prog events drops denied errors" lines from `moat status`.
stats_per_prog() {
	"$MOAT" status | awk '/^PROGRAM/ { on = 1; next } on && NF >= 5 { print } on && NF == 0 { exit }'
}

attach() {
	"$MOAT" -q attach >/dev/null || die "moat attach failed (run '$MOAT attach' to see why)"
}

detach() {
	"$MOAT" -q clear >/dev/null || die "moat clear failed"
}

# other_bpf: warn when programs that are not ours are attached to Docker's cgroup.
other_bpf() {
	local parent n
	parent=$("$ROOT/tools/testenv.sh" cgroup-parent 2>/dev/null) || return 0
	n=$(bpftool cgroup show "$parent" 2>/dev/null | awk 'NR > 1' | wc -l)
	[ "$n" -eq 0 ] || log "warning: $n BPF programs already attached to $parent" \
		"(another moat?); every figure below includes their cost"
}


# gen KIND [SECS [COUNT]]: run one generator in moat-bench-KIND; prints its line.
gen() {
	local kind=$1 secs=${2:-$SECS} count=${3:-0}
	case $kind in
	connect) docker exec moat-bench-connect /loadgen connect "$GW" "$PORT" "$count" "$secs" ;;
	exec) docker exec moat-bench-exec /loadgen exec "$count" "$secs" ;;
	dns) docker exec moat-bench-dns /loadgen dns "$GW" "$DNS_NAME" "$count" "$secs" ;;
	esac
}

setup() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (sudo make bench)"
	for f in "$MOAT" "$LOADGEN" "$CONSUME" "$NETPROBE"; do
		[ -x "$f" ] || die "$f missing: run 'make all build/bench/loadgen build/bench/consume'"
	done
	command -v jq >/dev/null || die "jq missing (apt-get install jq)"
	GW=$("$ROOT/tools/testenv.sh" gw) || die "no test environment: sudo tools/testenv.sh up"
	"$ROOT/tools/testenv.sh" status >/dev/null || die "test environment not up: sudo tools/testenv.sh up"
	[ ! -d "$PIN" ] || detach # a previous run killed hard
	[ ! -d /sys/fs/bpf/moat ] || log "warning: moat is also attached under /sys/fs/bpf/moat;" \
		"its programs run on every event too"
	other_bpf
	bench_container connect
	bench_container exec
	bench_container dns
	# The accept-and-close server; `timeout` bounds it if this script dies hard.
	timeout 3600 "$NETPROBE" listen "$GW" "$PORT" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		[ -z "$(ss -Hlnt src "$GW:$PORT")" ] || break
		sleep 0.1
	done
	[ -n "$(ss -Hlnt src "$GW:$PORT")" ] || die "listener on $GW:$PORT did not start"
	log "machine: $(nproc) CPUs, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
}

# ---- throughput ---------------------------------------------------------------------

# throughput_run LOAD CONSUMER: one run; prints a line and records a table row.
throughput_run() {
	local load=$1 consumer=$2 kinds b a cpid out=$TMP/consumer.out line ops="" k gpids
	local delivered ev drops errs rate
	case $load in
	all) kinds="connect exec dns" ;;
	*) kinds=$load ;;
	esac
	read -r -a b <<<"$(stats)"
	case $consumer in
	consume) "$CONSUME" $((SECS + 2)) "$PIN" >"$out" & ;;
	trace) "$MOAT" trace --json --duration $((SECS + 4)) 2>"$TMP/trace.err" | wc -l >"$out" & ;;
	esac
	cpid=$!
	pids+=("$cpid")
	sleep 1
	gpids=()
	for k in $kinds; do
		gen "$k" >"$TMP/gen-$k.out" &
		gpids+=($!)
	done
	wait "${gpids[@]}" || log "warning: a generator failed (load $load)"
	wait "$cpid" || log "warning: consumer $consumer exited non-zero"
	read -r -a a <<<"$(stats)"
	for k in $kinds; do
		line=$(cat "$TMP/gen-$k.out")
		[ -n "$line" ] || die "generator $k printed nothing"
		[ "$(kv errors "$line")" = 0 ] || log "warning: $k generator: $line"
		ops+="${ops:+, }$k $(kv rate "$line")/s"
	done
	if [ "$consumer" = consume ]; then
		delivered=$(kv events "$(cat "$out")")
	else
		delivered=$(tr -d ' ' <"$out")
		grep -v '^$' "$TMP/trace.err" | sed 's/^/bench: trace: /' >&2 || true
	fi
	ev=$((a[0] - b[0]))
	drops=$((a[1] - b[1]))
	errs=$((a[2] - b[2]))
	rate=$((delivered / SECS))
	printf '%-8s %-8s %10s ev/s delivered  %9s written  %7s dropped  %5s errors  gen: %s\n' \
		"$load" "$consumer" "$rate" "$ev" "$drops" "$errs" "$ops"
	md_throughput+=("| $load | $consumer | $ops | $rate | $delivered | $ev | $drops | $errs |")
	[ "$drops" -eq 0 ] || summary+=("DROPS: $drops events lost with load=$load consumer=$consumer")
	[ "$errs" -eq 0 ] || summary+=("ERRORS: $errs error counts with load=$load consumer=$consumer")
	if [ "$consumer" = consume ]; then
		TP_MAX_RATE=$((rate > ${TP_MAX_RATE:-0} ? rate : ${TP_MAX_RATE:-0}))
		TP_DROPS_CONSUME=$((${TP_DROPS_CONSUME:-0} + drops))
	else
		TP_MAX_RATE_TRACE=$((rate > ${TP_MAX_RATE_TRACE:-0} ? rate : ${TP_MAX_RATE_TRACE:-0}))
		TP_DROPS_TRACE=$((${TP_DROPS_TRACE:-0} + drops))
	fi
}

bench_throughput() {
	local load consumer
	echo "== throughput: ${SECS}s per run, generators at full speed, moat attached (monitor mode)"
	attach
	for load in connect exec dns all; do
		for consumer in consume trace; do
			throughput_run "$load" "$consumer"
		done
	done
	stats_per_prog | sed 's/^/  stats /'
	detach
	local c=${TP_DROPS_CONSUME:-0} t=${TP_DROPS_TRACE:-0}
	summary+=("throughput, consume: up to ${TP_MAX_RATE:-0} events/s; drops $c (target 0: $(
		[ "$c" -eq 0 ] && echo held || echo MISSED))")
	summary+=("throughput, moat trace --json: up to ${TP_MAX_RATE_TRACE:-0} events/s; drops $t" \
		"(target 0: $([ "$t" -eq 0 ] && echo held || echo MISSED))")
}

# ---- connect() cost ---------------------------------------------------------------------

# cost_round MODE: one round of $CONNECTS connects; appends its seconds to $TMP/cost-MODE.
cost_round() {
	local mode=$1 line cpid="" s
	[ "$mode" = detached ] || attach
	if [ "$mode" = consumer ]; then
		"$CONSUME" 600 "$PIN" >"$TMP/cost-consume.out" &
		cpid=$!
		pids+=("$cpid")
		sleep 0.5
	fi
	line=$(gen connect 0 "$CONNECTS")
	[ "$(kv ops "$line")" = "$CONNECTS" ] && [ "$(kv errors "$line")" = 0 ] ||
		log "warning: $mode round: $line"
	if [ "$mode" != detached ]; then
		read -r -a s <<<"$(stats)"
		[ "${s[1]}" -eq 0 ] || summary+=("DROPS: ${s[1]} in connect-cost round $r ($mode)")
		[ "${s[2]}" -eq 0 ] || summary+=("ERRORS: ${s[2]} in connect-cost round $r ($mode)")
	fi
	if [ -n "$cpid" ]; then
		kill -INT "$cpid"
		wait "$cpid" || true
	fi
	[ "$mode" = detached ] || detach
	kv secs "$line" >>"$TMP/cost-$mode"
	printf '  round %-9s %s\n' "$mode" "$line"
}

bench_connect_cost() {
	local r m d a c
	echo "== connect-cost: $CONNECTS connect()+close from a container to $GW:$PORT," \
		"$ROUNDS rounds per mode, alternating"
	rm -f "$TMP"/cost-*
	bpf_stats_off
	gen connect 0 "$CONNECTS" >/dev/null # warm-up: caches, listener, conntrack-free path
	for ((r = 1; r <= ROUNDS; r++)); do
		# Rotate the order so drift over the run does not favour one mode.
		case $((r % 3)) in
		1) m="detached attached consumer" ;;
		2) m="attached consumer detached" ;;
		0) m="consumer detached attached" ;;
		esac
		for mode in $m; do cost_round "$mode"; done
	done
	d=$(median <"$TMP/cost-detached")
	a=$(median <"$TMP/cost-attached")
	c=$(median <"$TMP/cost-consumer")
	local rd ra rc ratio_a ratio_c
	rd=$(awk -v n="$CONNECTS" -v s="$d" 'BEGIN { printf "%.0f", n / s }')
	ra=$(awk -v n="$CONNECTS" -v s="$a" 'BEGIN { printf "%.0f", n / s }')
	rc=$(awk -v n="$CONNECTS" -v s="$c" 'BEGIN { printf "%.0f", n / s }')
	ratio_a=$(awk -v x="$a" -v y="$d" 'BEGIN { printf "%.3f", x / y }')
	ratio_c=$(awk -v x="$c" -v y="$d" 'BEGIN { printf "%.3f", x / y }')
	printf '  %-28s median %8ss (%s/s)  range %s s\n' "detached" "$d" "$rd" "$(spread "$TMP/cost-detached")"
	printf '  %-28s median %8ss (%s/s)  range %s s  ratio %s\n' "attached (no consumer)" "$a" "$ra" \
		"$(spread "$TMP/cost-attached")" "$ratio_a"
	printf '  %-28s median %8ss (%s/s)  range %s s  ratio %s\n' "attached + consume" "$c" "$rc" \
		"$(spread "$TMP/cost-consumer")" "$ratio_c"
	md_cost+=("| detached | $d | $rd | $(spread "$TMP/cost-detached") | 1.000 |")
	md_cost+=("| attached, monitor mode, no consumer | $a | $ra | $(spread "$TMP/cost-attached") | $ratio_a |")
	md_cost+=("| attached, monitor mode, \`consume\` reading | $c | $rc | $(spread "$TMP/cost-consumer") | $ratio_c |")
	summary+=("connect-cost: attached/detached = $ratio_a (with consumer $ratio_c); target <= 1.05: $(
		awk -v x="$ratio_a" -v y="$ratio_c" 'BEGIN { print (x <= 1.05 && y <= 1.05) ? "held" : "MISSED" }'
	) (per-round ranges overlap: see the figures)")
}

# ---- per-program cost ---------------------------------------------------------------

bench_prog_cost() {
	local secs=$((SECS < 5 ? SECS : 5)) cpid k name cnt ns per s
	echo "== prog-cost: kernel.bpf_stats_enabled=1; each load alone for ${secs}s, consume reading"
	[ -n "$stats_saved" ] || stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
	attach
	"$CONSUME" $((3 * secs + 5)) "$PIN" >"$TMP/prog-consume.out" &
	cpid=$!
	pids+=("$cpid")
	sleep 0.5
	printf '  %-8s %-20s %10s %10s\n' LOAD PROGRAM RUNS NS/RUN
	for k in connect exec dns; do
		prog_snapshot "$TMP/prog-before"
		gen "$k" "$secs" >"$TMP/prog-$k.out"
		prog_snapshot "$TMP/prog-after"
		echo "  $(cat "$TMP/prog-$k.out")"
		# Programs that ran under this load: run_cnt and run_time_ns deltas.
		join "$TMP/prog-before" "$TMP/prog-after" |
			awk '$4 > $2 { printf "%s %d %d\n", $1, $4 - $2, $5 - $3 }' >"$TMP/prog-delta"
		while read -r name cnt ns; do
			per=$(awk -v n="$ns" -v c="$cnt" 'BEGIN { printf "%.0f", n / c }')
			printf '  %-8s %-20s %10s %10s\n' "$k" "$name" "$cnt" "$per"
			md_prog+=("| $k | $name | $cnt | $per |")
		done <"$TMP/prog-delta"
	done
	kill -INT "$cpid" 2>/dev/null || true
	wait "$cpid" || true
	# Again with nobody reading: no ring buffer wakeups. A fresh attachment (empty
	# ring), and few enough operations that their events fit the 8 MiB ring.
	detach
	attach
	for k in connect exec; do
		prog_snapshot "$TMP/prog-before"
		case $k in
		connect) gen connect 0 50000 >"$TMP/prog-$k.out" ;;
		exec) gen exec 0 1000 >"$TMP/prog-$k.out" ;;
		esac
		prog_snapshot "$TMP/prog-after"
		echo "  $(cat "$TMP/prog-$k.out") (no consumer)"
		join "$TMP/prog-before" "$TMP/prog-after" |
			awk '$4 > $2 { printf "%s %d %d\n", $1, $4 - $2, $5 - $3 }' >"$TMP/prog-delta"
		while read -r name cnt ns; do
			per=$(awk -v n="$ns" -v c="$cnt" 'BEGIN { printf "%.0f", n / c }')
			printf '  %-8s %-20s %10s %10s  (no consumer)\n' "$k" "$name" "$cnt" "$per"
			md_prog+=("| $k, no consumer | $name | $cnt | $per |")
		done <"$TMP/prog-delta"
	done
	read -r -a s <<<"$(stats)"
	[ "${s[1]}" -eq 0 ] || summary+=("DROPS: ${s[1]} in prog-cost without a consumer (ring too small)")
	sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	stats_saved=
	detach
}


# ---- trace cost -----------------------------------------------------------------------

# trace_cost_run LOAD CONSUMER: one run; prints a line and appends "generator-ops/s
# reader-cpu-s delivered dropped" to $TMP/tc-LOAD-CONSUMER.
trace_cost_run() {
	local load=$1 consumer=$2 kinds b a cpid out=$TMP/tc.out line ops="" k gpids=() gsum=0
	local delivered drops cpu lostline=""
	case $load in
	all) kinds="connect exec dns" ;;
	idle) kinds="" ;;
	*) kinds=$load ;;
	esac
	read -r -a b <<<"$(stats)"
	case $consumer in
	consume) "$CONSUME" $((SECS + 2)) "$PIN" >"$out" & ;;
	trace) "$MOAT" trace --json --duration $((SECS + 2)) 2>"$TMP/tc.err" | wc -l >"$out" & ;;
	esac
	cpid=$!
	pids+=("$cpid")
	sleep 1
	for k in $kinds; do
		gen "$k" >"$TMP/tcgen-$k.out" &
		gpids+=($!)
	done
	[ -n "$kinds" ] || sleep "$SECS"
	[ "${#gpids[@]}" -eq 0 ] || wait "${gpids[@]}" || log "warning: a generator failed (load $load)"
	wait "$cpid" || log "warning: consumer $consumer exited non-zero"
	read -r -a a <<<"$(stats)"
	for k in $kinds; do
		line=$(cat "$TMP/tcgen-$k.out")
		[ -n "$line" ] || die "generator $k printed nothing"
		ops+="${ops:+, }$k $(kv rate "$line")/s"
		gsum=$(awk -v x="$gsum" -v y="$(kv rate "$line")" 'BEGIN { printf "%.0f", x + y }')
	done
	drops=$((a[1] - b[1]))
	if [ "$consumer" = consume ]; then
		delivered=$(kv events "$(cat "$out")")
		cpu=$(kv cpu "$(cat "$out")")
	else
		# trace's exit summary: "trace: N events in S s, CPU C s (X us/event) ...; lost L ..."
		line=$(grep -a 'trace: [0-9]* events in' "$TMP/tc.err" | tail -n 1)
		[ -n "$line" ] || die "moat trace printed no summary: $(cat "$TMP/tc.err")"
		delivered=$(sed -E 's/.*trace: ([0-9]+) events in.*/\1/' <<<"$line")
		cpu=$(sed -E 's/.*CPU ([0-9.]+) s.*/\1/' <<<"$line")
		lostline=$(sed -E 's/.*; (lost .*)/\1/' <<<"$line")
		[ "$(tr -d ' ' <"$out")" -ge "$delivered" ] ||
			log "warning: trace says $delivered events but wc counted $(cat "$out") lines"
	fi
	printf '  %-7s %-8s %9s events  CPU %7ss  %7s dropped  gen: %s%s\n' "$load" "$consumer" \
		"$delivered" "$cpu" "$drops" "${ops:-none}" "${lostline:+  (trace: $lostline)}"
	echo "$gsum $cpu $delivered $drops" >>"$TMP/tc-$load-$consumer"
	[ "$drops" -eq 0 ] || summary+=("DROPS: $drops events lost with load=$load consumer=$consumer (trace-cost)")
}

# col N FILE: column N of FILE, one value a line.
col() { awk -v n="$1" '{ print $n }' "$2"; }

bench_trace_cost() {
	local load r c t rounds=${BENCH_TC_ROUNDS:-3} ic it gc gt cpu_c cpu_t per_c per_t mc mt slow
	local drops_t worst=0 drops_all=0 slows=""
	echo "== trace-cost: ${SECS}s per run, $rounds rounds per load alternating the readers," \
		"generators at full speed, moat attached (monitor mode); CPU = the reader's user+sys"
	rm -f "$TMP"/tc-*
	attach
	for load in idle connect exec dns all; do
		for ((r = 1; r <= rounds; r++)); do
			if [ $((r % 2)) -eq 1 ]; then
				trace_cost_run "$load" consume
				trace_cost_run "$load" trace
			else
				trace_cost_run "$load" trace
				trace_cost_run "$load" consume
			fi
		done
	done
	detach
	ic=$(col 2 "$TMP/tc-idle-consume" | median)
	it=$(col 2 "$TMP/tc-idle-trace" | median)
	printf '  %-7s %12s %12s %14s %14s %14s %14s %8s %9s\n' LOAD "GEN consume" "GEN trace" \
		"us/ev consume" "us/ev trace" "above idle c" "above idle t" DROPS SLOWDOWN
	md_tc+=("| idle (${SECS}+2 s) | - | - | $ic s | $it s | - | - | - | - |")
	for load in connect exec dns all; do
		c=$TMP/tc-$load-consume
		t=$TMP/tc-$load-trace
		gc=$(col 1 "$c" | median)
		gt=$(col 1 "$t" | median)
		# Per run: CPU / delivered, and (CPU - idle) / delivered; medians over the rounds.
		per_c=$(awk '{ if ($3 > 0) printf "%.2f\n", $2 * 1e6 / $3 }' "$c" | median)
		per_t=$(awk '{ if ($3 > 0) printf "%.2f\n", $2 * 1e6 / $3 }' "$t" | median)
		mc=$(awk -v i="$ic" '{ if ($3 > 0) printf "%.2f\n", ($2 - i) * 1e6 / $3 }' "$c" | median)
		mt=$(awk -v i="$it" '{ if ($3 > 0) printf "%.2f\n", ($2 - i) * 1e6 / $3 }' "$t" | median)
		drops_t=$(col 4 "$t" | awk '{ s += $1 } END { print s + 0 }')
		slow=$(awk -v c="$gc" -v t="$gt" 'BEGIN { if (c > 0) printf "%.1f%%", 100 * (c - t) / c; else print "-" }')
		printf '  %-7s %12s %12s %14s %14s %14s %14s %8s %9s\n' "$load" "$gc" "$gt" "$per_c" \
			"$per_t" "$mc" "$mt" "$drops_t" "$slow"
		md_tc+=("| $load | $gc | $gt | $per_c | $per_t | $mc | $mt | $drops_t | $slow |")
		worst=$(awk -v x="$worst" -v y="$per_t" 'BEGIN { print (y + 0 > x + 0) ? y : x }')
		drops_all=$((drops_all + drops_t))
		slows+="${slows:+, }$load $slow"
	done
	summary+=("trace-cost, moat trace --json: worst $worst us CPU/event (target <= 2: $(awk -v x="$worst" 'BEGIN { print (x <= 2) ? "held" : "MISSED" }')); drops $drops_all (target 0: $([ "$drops_all" -eq 0 ] && echo held || echo MISSED)); generator slowdown vs consume (medians): $slows (target <= 10%)")
}

# ---- main ---------------------------------------------------------------------------

names=()
for arg in "$@"; do
	case $arg in
	--markdown) MARKDOWN=1 ;;
	throughput | connect-cost | prog-cost | trace-cost | daemon | domains | outputs | fleet) names+=("$arg") ;;
	all) names+=(throughput connect-cost prog-cost trace-cost daemon domains outputs fleet) ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown benchmark '$arg' (throughput, connect-cost, prog-cost, trace-cost, daemon, domains, outputs, fleet, all)" ;;
	esac
done
[ "${#names[@]}" -gt 0 ] || names=(throughput connect-cost prog-cost trace-cost daemon domains outputs fleet)

# daemon and domains have their own scripts, pin dirs and cleanup.
case " ${names[*]} " in
*" throughput "* | *" connect-cost "* | *" prog-cost "* | *" trace-cost "*) setup ;;
esac
for n in "${names[@]}"; do
	case $n in
	throughput) bench_throughput ;;
	connect-cost) bench_connect_cost ;;
	prog-cost) bench_prog_cost ;;
	trace-cost) bench_trace_cost ;;
	daemon)
		# Its own script, pin dir and cleanup; it prints its own summary.
		"$ROOT/tools/bench/daemon.sh" all || summary+=("daemon: tools/bench/daemon.sh failed")
		;;
	domains)
		# Its own script, pin dir (/sys/fs/bpf/moat-bench-dom) and cleanup; its own summary.
		"$ROOT/tools/bench/domains.sh" all || summary+=("domains: tools/bench/domains.sh failed")
		;;
	outputs)
		# No kernel, no Docker: the dispatcher with a file, a webhook and an exec output.
		for a in "20000 0" "20000 10000" "3000 300"; do
			# shellcheck disable=SC2086
			"$ROOT/build/bench/outputs" $a fwe | tee "$TMP/outputs.out" ||
				summary+=("outputs: build/bench/outputs $a failed")
			summary+=("outputs $a: $(grep '^emit' "$TMP/outputs.out" | sed 's/^emit (the event loop.s share): //')")
		done
		;;
	fleet)
		# No kernel, no Docker: 50 simulated hosts into one private clickhouse-server.
		"$ROOT/tools/bench/fleet.sh" | tee "$TMP/fleet.out" || summary+=("fleet: tools/bench/fleet.sh failed")
		summary+=("fleet: $(grep -m1 'rows ingested' "$TMP/fleet.out" | sed 's/^ *//')")
		;;
	esac
done

echo "== summary ($(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r))"
for s in "${summary[@]}"; do echo "  $s"; done
if [ "$MARKDOWN" -eq 1 ]; then
	if [ "${#md_throughput[@]}" -gt 0 ]; then
		echo
		echo "| load | consumer | generator rate | delivered ev/s | delivered | written | dropped | errors |"
		echo "|---|---|---|---:|---:|---:|---:|---:|"
		printf '%s\n' "${md_throughput[@]}"
	fi
	if [ "${#md_cost[@]}" -gt 0 ]; then
		echo
		echo "| mode | median s per $CONNECTS connects | connects/s | range s | ratio |"
		echo "|---|---:|---:|---|---:|"
		printf '%s\n' "${md_cost[@]}"
	fi
	if [ "${#md_tc[@]}" -gt 0 ]; then
		echo
		echo "| load | generators, ops/s under consume | under trace | µs CPU/event consume | trace | µs/event above idle, consume | trace | trace drops | generator slowdown |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		printf '%s\n' "${md_tc[@]}"
	fi
	if [ "${#md_prog[@]}" -gt 0 ]; then
		echo
		echo "| load | program | runs | ns per run |"
		echo "|---|---|---:|---:|"
		printf '%s\n' "${md_prog[@]}"
	fi
fi
