#!/bin/bash
# daemon.sh - benchmarks of `moat run` (the monitor daemon): prints their figures.
#
# Usage (as root, test environment up): tools/bench/daemon.sh [NAME...]
#   latency       BENCH_TRIALS (100) `docker exec C sh -c true` with auto-pause on: the
#                 alerts' latency_us (kernel event -> alert raised; kernel event -> Docker
#                 pause done), p50/p90/p99/max, and the pause API call alone (duration_ms)
#   false-alerts  BENCH_LOOPS (100000) DNS lookup -> connect() to the answer, from one
#                 container, with alert_dedup_seconds 0: direct-connection alerts (should
#                 be 0); then a connect with no lookup from a fresh container (must alert)
#   rss           BENCH_CONTAINERS (200) containers and a BENCH_NAMES (100000)-name DNS
#                 registry: VmRSS/VmHWM of moat run, registry load and startup time,
#                 against the same start with an empty registry
#   flood         BENCH_SECS (10) s of 2 `loadgen dns` and 1 `loadgen connect` generators at
#                 full speed while moat run (--report-only) reads: events/s it read, and
#                 the kernel drops (a dropped DNS answer would be a false alert)
#   guard         BENCH_GUARD_CONNECTS (20000) connect()+close between two containers on the
#                 bridge, BENCH_ROUNDS (5) rounds each without moat and under moat run
#                 (enforce, default allow: every cgroup program and the veth guard on both
#                 veths), alternating; medians and ratio; then ns per run of each program
#                 under moat run (kernel.bpf_stats_enabled)
#   dashboard     BENCH_TRIALS (100) `docker exec C sh -c true` (no pause) with 0 and with
#                 BENCH_WS_CLIENTS (50) live stream clients (build/bench/wsclient) open on
#                 the dashboard: exec -> alert latency_us p50/p99 each time, and moat run's
#                 VmRSS before the clients, with them, and after 100 more execs
#   all           the five above (default; dashboard runs only when named)
#
# BENCH_KEEP=1 keeps the alert file, logs and raw latencies in the temp dir.
# BENCH_RUN_ARGS adds arguments to every moat run (e.g. "--config /tmp/rt0.json" with
# {"realtime_priority": 0} to measure without the real-time event loop).
#
# Everything runs under its own pin directory (MOAT_BENCH_RUN_PIN_DIR,
# /sys/fs/bpf/moat-bench-run), control socket, state dir and alert file in a temp dir,
# with a copy of build/moat taken at start (a rebuild during the run does not change it).
# `moat run` watches EVERY container of this Docker and, in `latency`, pauses on CRITICAL
# alerts: run it when nothing else runs. On exit (also Ctrl-C) it stops its moat run (by
# pid), runs `moat clear` on its pin dir, removes its moat-bench-* containers and its name
# from the test DNS. No figure is asserted: benchmarks print, tests assert.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOADGEN=$ROOT/build/bench/loadgen
. "$ROOT/tools/bench/lib.sh"
# The daemon benchmarks copy their own tools into the containers they need them in.
run_container() { LOADGEN='' bench_container "$@"; }
REGGEN=$ROOT/build/bench/registry_gen
NETPROBE=$ROOT/build/helpers/netprobe
IMAGE=moat-test/busybox
PIN=${MOAT_BENCH_RUN_PIN_DIR:-/sys/fs/bpf/moat-bench-run}
TRIALS=${BENCH_TRIALS:-100}
LOOPS=${BENCH_LOOPS:-100000}
NCONT=${BENCH_CONTAINERS:-200}
NNAMES=${BENCH_NAMES:-100000}
FLOOD_SECS=${BENCH_SECS:-10}
GUARD_CONNECTS=${BENCH_GUARD_CONNECTS:-20000}
GUARD_ROUNDS=${BENCH_ROUNDS:-5}
SVC_NAME=bench-svc.moat.test
SVC_PORT=8080
stats_saved= # kernel.bpf_stats_enabled to restore at exit
HOSTS=/run/moat-testenv/hosts
DNSMASQ_PID=/run/moat-testenv/dnsmasq.pid
export DOCKER_HOST=unix:///var/run/docker.sock

TMP=$(mktemp -d /tmp/moat-bench-daemon.XXXXXX)
MOAT=$TMP/moat
SOCK=$TMP/moat.sock
export MOAT_CONTROL_SOCKET=$SOCK
containers=()
run_pid=
dns_added=0
summary=()

moat() { "$MOAT" --pin-dir "$PIN" "$@"; }

# rm_batches NAME...: docker rm -f, 20 names per call, 4 calls at once.
rm_batches() {
	[ $# -gt 0 ] || return 0
	printf '%s\n' "$@" | xargs -r -n 20 -P 4 docker rm -f -v >/dev/null 2>&1 || true
}

dns_del() {
	[ "$dns_added" -eq 1 ] || return 0
	sed -i "/ $SVC_NAME\$/d" "$HOSTS"
	kill -HUP "$(cat "$DNSMASQ_PID")" 2>/dev/null || true
	dns_added=0
}

cleanup() {
	set +e
	[ -z "${DASH_WS_PID:-}" ] || kill "$DASH_WS_PID" 2>/dev/null
	stop_moat
	[ -d "$PIN" ] && moat -q clear >/dev/null 2>&1
	rm_batches "${containers[@]}"
	dns_del
	[ -z "$stats_saved" ] || sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	if [ -n "${BENCH_KEEP:-}" ]; then
		rm -f "$MOAT"
		log "raw files kept in $TMP (BENCH_KEEP)"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# pct FILE: "n p50 p90 p99 max" of the numbers in FILE (nearest rank).
pct() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		function r(q,  k) { k = int(q * NR + 0.999999); if (k < 1) k = 1; return v[k] }
		END { if (NR) printf "%d %s %s %s %s\n", NR, r(0.5), r(0.9), r(0.99), v[NR];
		      else print "0 - - - -" }'
}

# start_moat LOGNAME ARGS...: moat run in the background with our socket and files, every
# stderr line stamped with $EPOCHREALTIME into $TMP/LOGNAME.log; waits until it watches.
start_moat() {
	local name=$1
	shift
	: >"$TMP/$name.log"
	T_START=$EPOCHREALTIME
	"$MOAT" --pin-dir "$PIN" run --control-socket "$SOCK" --alerts-file "$TMP/alerts.jsonl" \
		${BENCH_RUN_ARGS:-} "$@" 2> >(while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done \
			>>"$TMP/$name.log") >/dev/null &
	run_pid=$!
	if ! wait_for 60 grep -q "moat run: watching" "$TMP/$name.log"; then
		tail -n 5 "$TMP/$name.log" >&2
		die "moat run did not start (log above)"
	fi
	T_UP=$(awk '/moat run: watching/ { print $1; exit }' "$TMP/$name.log")
}

# stop_moat: SIGTERM moat run, then detach: the pinned programs would otherwise keep
# queueing events that the next moat run reads (and alerts on) as if they were new.
stop_moat() {
	[ -n "$run_pid" ] || return 0
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid" || log "warning: moat run exited non-zero"
	run_pid=
	moat -q clear >/dev/null 2>&1 || log "warning: moat clear failed"
}


state_of() { docker inspect -f '{{.State.Status}}' "$1"; }
# is_state NAME STATE: true when container NAME is in STATE (for wait_for).
is_state() { [ "$(state_of "$1")" = "$2" ]; }

# daemon_status: the one-line daemon summary of `moat status`.
daemon_status() { moat status 2>/dev/null | sed -n 's/^moat run: //p' | head -n 1; }

setup() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (sudo make bench)"
	for f in "$ROOT/build/moat" "$LOADGEN" "$REGGEN" "$NETPROBE"; do
		[ -x "$f" ] || die "$f missing: run 'make all build/bench/loadgen build/bench/registry_gen'"
	done
	command -v jq >/dev/null || die "jq missing (apt-get install jq)"
	GW=$("$ROOT/tools/testenv.sh" gw) || die "no test environment: sudo tools/testenv.sh up"
	"$ROOT/tools/testenv.sh" status >/dev/null || die "test environment not up: sudo tools/testenv.sh up"
	cp "$ROOT/build/moat" "$MOAT"
	[ ! -d "$PIN" ] || moat -q clear >/dev/null # a previous run killed hard
	local others
	others=$(docker ps -q | wc -l)
	[ "$others" -eq 0 ] || log "warning: $others containers already run; moat run watches them too"
	log "machine: $(nproc) CPUs, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")," \
		"moat $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
}

# ---- latency ----------------------------------------------------------------------------

bench_latency() {
	local i n0 ex fails=0 a p d
	echo "== latency: $TRIALS x 'docker exec moat-bench-lat sh -c true', moat run with auto-pause"
	run_container lat
	: >"$TMP/alerts.jsonl"
	start_moat latency --state-dir "$TMP/state-lat" --skip-sync
	for ((i = 1; i <= TRIALS; i++)); do
		n0=$(wc -l <"$TMP/alerts.jsonl")
		# In the background: the pause may freeze the exec'd shell before it exits.
		docker exec moat-bench-lat sh -c true &
		ex=$!
		if ! wait_for 10 bash -c "tail -n +$((n0 + 1)) '$TMP/alerts.jsonl' |
			jq -e 'select(.rule == \"action\" and .container.name == \"moat-bench-lat\")'"; then
			fails=$((fails + 1))
			log "warning: trial $i: no pause announced within 10 s"
		fi
		wait_for 10 is_state moat-bench-lat paused || log "warning: trial $i: not paused"
		moat resume moat-bench-lat >/dev/null || docker unpause moat-bench-lat >/dev/null 2>&1 || true
		wait_for 10 is_state moat-bench-lat running ||
			die "trial $i: moat-bench-lat not running again after resume"
		wait "$ex" || true
	done
	stop_moat
	# Alert latency of each suspicious-exec; the pause (action) alert of the same trace id.
	jq -r 'select(.rule == "suspicious-exec" and .container.name == "moat-bench-lat")
		| "\(.trace_id) \(.latency_us // -1)"' "$TMP/alerts.jsonl" | sort >"$TMP/lat-alert"
	jq -r 'select(.rule == "action" and .action.action == "pause"
		and .container.name == "moat-bench-lat")
		| "\(.trace_id) \(.latency_us // -1) \(.action.duration_ms) \(.action.result) \(.action.attempts)"' \
		"$TMP/alerts.jsonl" | sort >"$TMP/lat-action"
	awk '{ print $2 / 1000 }' "$TMP/lat-alert" >"$TMP/lat-a"
	cp "$TMP/alerts.jsonl" "$TMP/alerts-latency.jsonl"
	join "$TMP/lat-alert" "$TMP/lat-action" | awk '{ print $3 / 1000 }' >"$TMP/lat-p"
	join "$TMP/lat-alert" "$TMP/lat-action" | awk '{ print $4 }' >"$TMP/lat-d"
	read -r -a a <<<"$(pct "$TMP/lat-a")"
	read -r -a p <<<"$(pct "$TMP/lat-p")"
	read -r -a d <<<"$(pct "$TMP/lat-d")"
	printf '  %-36s %6s %9s %9s %9s %9s\n' "" n p50 p90 p99 max
	printf '  %-36s %6s %9s %9s %9s %9s  ms\n' "exec -> alert raised" "${a[@]}"
	printf '  %-36s %6s %9s %9s %9s %9s  ms\n' "exec -> container paused" "${p[@]}"
	printf '  %-36s %6s %9s %9s %9s %9s  ms\n' "pause API call (duration_ms)" "${d[@]}"
	echo "  trials $TRIALS, suspicious-exec alerts ${a[0]}, pause alerts ${p[0]}," \
		"failed/not-ok pauses $(awk '$4 != "ok"' "$TMP/lat-action" | wc -l)," \
		"retried $(awk '$5 > 1' "$TMP/lat-action" | wc -l), trials without a pause $fails"
	summary+=("latency: exec->alert p50 ${a[1]} p99 ${a[3]} ms (target p99 <= 1 ms: $(
		awk -v x="${a[3]}" 'BEGIN { print (x != "-" && x <= 1) ? "held" : "MISSED" }'));" \
		"exec->paused p50 ${p[1]} p99 ${p[3]} ms (target <= 50 ms: $(
			awk -v x="${p[3]}" 'BEGIN { print (x != "-" && x <= 50) ? "held" : "MISSED" }'))")
}

# ---- dashboard ---------------------------------------------------------------------------

# rss_kib PID: VmRSS of PID in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

bench_dashboard() {
	local nws port=${BENCH_HTTP_PORT:-19876} i n0 a r0 r1 r2
	local clients=${BENCH_WS_CLIENTS:-50}
	echo "== dashboard: $TRIALS x 'docker exec moat-bench-dash sh -c true' with 0 and $clients live stream clients"
	[ -x "$ROOT/build/bench/wsclient" ] || die "build/bench/wsclient missing: make all"
	run_container dash
	echo '{"alert_dedup_seconds": 0}' >"$TMP/dash.json"
	printf '  %-36s %6s %9s %9s %9s %9s
' "" n p50 p90 p99 max
	for nws in 0 "$clients"; do
		: >"$TMP/alerts.jsonl"
		start_moat "dash-$nws" --state-dir "$TMP/state-dash" --skip-sync --no-pause \
			--config "$TMP/dash.json" --http "127.0.0.1:$port"
		r0=$(rss_kib "$run_pid")
		DASH_WS_PID=
		if [ "$nws" -gt 0 ]; then
			"$ROOT/build/bench/wsclient" "$port" "$(dirname "$SOCK")/web.token" "$nws" 3600 \
				>"$TMP/ws-$nws.out" 2>"$TMP/ws-$nws.err" &
			DASH_WS_PID=$!
			wait_for 10 grep -q "clients open" "$TMP/ws-$nws.err" || die "wsclient did not start"
		fi
		r1=$(rss_kib "$run_pid")
		for ((i = 1; i <= TRIALS; i++)); do
			n0=$(wc -l <"$TMP/alerts.jsonl")
			docker exec moat-bench-dash sh -c true
			wait_for 10 bash -c "tail -n +$((n0 + 1)) '$TMP/alerts.jsonl' | grep -q suspicious-exec" ||
				log "warning: trial $i: no alert within 10 s"
		done
		r2=$(rss_kib "$run_pid")
		if [ -n "$DASH_WS_PID" ]; then
			kill -TERM "$DASH_WS_PID" 2>/dev/null
			wait "$DASH_WS_PID" || true
			DASH_WS_PID=
			log "$(tail -n 2 "$TMP/ws-$nws.err" | tr '\n' ' ')"
		fi
		stop_moat
		jq -r 'select(.rule == "suspicious-exec" and .container.name == "moat-bench-dash")
			| (.latency_us // -1) / 1000' "$TMP/alerts.jsonl" >"$TMP/dash-lat-$nws"
		read -r -a a <<<"$(pct "$TMP/dash-lat-$nws")"
		printf '  %-36s %6s %9s %9s %9s %9s  ms\n' "exec -> alert, $nws clients" "${a[@]}"
		echo "  moat run VmRSS: $r0 KiB at start, $r1 KiB with $nws clients, $r2 KiB after $TRIALS execs"
		summary+=("dashboard: $nws clients: exec->alert p50 ${a[1]} p99 ${a[3]} ms; RSS $r0 -> $r1 -> $r2 KiB")
	done
}

# ---- false alerts ----------------------------------------------------------------------

bench_false_alerts() {
	local svc line loops secs rate errs fa before after ctl
	echo "== false-alerts: $LOOPS x (A query for $SVC_NAME -> connect to the answer), dedup off"
	run_container svc
	docker cp "$NETPROBE" moat-bench-svc:/netprobe >/dev/null
	docker exec -d moat-bench-svc /netprobe listen 0.0.0.0 "$SVC_PORT"
	svc=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' moat-bench-svc)
	# Our name, and only ours, answers with the svc container's address.
	sed -i "/ $SVC_NAME\$/d" "$HOSTS"
	echo "$svc $SVC_NAME" >>"$HOSTS"
	dns_added=1
	kill -HUP "$(cat "$DNSMASQ_PID")"
	wait_for 5 sh -c "busybox nslookup $SVC_NAME $GW 2>/dev/null | grep -q '$svc'" ||
		die "test DNS does not answer $SVC_NAME with $svc"
	run_container client
	docker cp "$LOADGEN" moat-bench-client:/loadgen >/dev/null
	wait_for 5 docker exec moat-bench-client /loadgen connect "$svc" "$SVC_PORT" 1 0 ||
		die "listener in moat-bench-svc does not answer"
	echo '{"alert_dedup_seconds": 0}' >"$TMP/nodedup.json"
	: >"$TMP/alerts.jsonl"
	start_moat false-alerts --no-pause --config "$TMP/nodedup.json" --state-dir "$TMP/state-fa" \
		--skip-sync
	before=$(daemon_status)
	line=$(docker exec moat-bench-client /loadgen resolve "$GW" "$SVC_NAME" "$SVC_PORT" "$LOOPS" 0)
	sleep 0.5 # the daemon drains every 20 ms
	after=$(daemon_status)
	echo "  $line"
	loops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")
	secs=$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$line")
	rate=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$line")
	errs=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
	fa=$(jq -c 'select(.rule == "direct-connection" and .container.name == "moat-bench-client")' \
		"$TMP/alerts.jsonl" | wc -l)
	echo "  daemon before: $before"
	echo "  daemon after:  $after"
	echo "  loops $loops in ${secs}s ($rate/s), loop errors $errs," \
		"direct-connection alerts for moat-bench-client: $fa"
	[ "$fa" -eq 0 ] || jq -c 'select(.rule == "direct-connection")' "$TMP/alerts.jsonl" | head -n 3 |
		sed 's/^/  false alert: /'
	# Positive control: the same address from a container that never resolved it.
	run_container fresh
	docker cp "$LOADGEN" moat-bench-fresh:/loadgen >/dev/null
	docker exec moat-bench-fresh /loadgen connect "$svc" "$SVC_PORT" 1 0 >/dev/null
	if wait_for 5 bash -c "jq -e 'select(.rule == \"direct-connection\" and
		.container.name == \"moat-bench-fresh\" and .network.daddr == \"$svc\")' '$TMP/alerts.jsonl'"; then
		ctl="alerted"
		jq -c 'select(.rule == "direct-connection" and .container.name == "moat-bench-fresh")
			| {severity, message, latency_us}' "$TMP/alerts.jsonl" | head -n 1 | sed 's/^/  control: /'
	else
		ctl="NOT alerted"
	fi
	echo "  control (connect to $svc:$SVC_PORT without a lookup, fresh container): $ctl"
	stop_moat
	dns_del
	summary+=("false-alerts: $loops resolve->connect loops ($rate/s, $errs errors):" \
		"$fa direct-connection alerts (target 0: $([ "$fa" -eq 0 ] && echo held || echo MISSED));" \
		"control without lookup: $ctl")
}

# ---- memory -------------------------------------------------------------------------

# rss_read: "VmRSS VmHWM RssAnon RssFile RING" of moat run, in KiB; RING is the resident
# part of the bpf-map mappings (the ring buffer: its data pages are mapped twice, and
# all of them are resident from mmap on, counted in RssFile).
rss_read() {
	local ring
	ring=$(awk '/^[0-9a-f]+-/ { m = ($6 == "anon_inode:bpf-map") } m && /^Rss:/ { k += $2 }
		END { print k + 0 }' "/proc/$run_pid/smaps")
	awk -v ring="$ring" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 }
		/^RssFile:/ { f = $2 } END { print r, h, a, f, ring }' "/proc/$run_pid/status"
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

bench_rss() {
	local t0 t1 n st label t_reg t_prev line r1 r2 names
	echo "== rss: $NCONT containers, DNS registry of $NNAMES names, moat run --no-pause"
	t0=$EPOCHREALTIME
	names=()
	for ((n = 1; n <= NCONT; n++)); do names+=("moat-bench-rss-$n"); done
	containers+=("${names[@]}")
	printf '%s\n' "${names[@]}" | xargs -P 8 -I{} sh -c \
		'docker rm -f -v {} >/dev/null 2>&1; docker run -d --name {} '"$IMAGE"' sleep 3600 2>&1 >/dev/null |
		grep -v "IPv4 forwarding is disabled" >&2; true' ||
		log "warning: some containers did not start"
	t1=$EPOCHREALTIME
	n=$(docker ps -q --filter name=moat-bench-rss- | wc -l)
	printf '  started %d containers in %.1f s (docker run, 8 at once)\n' "$n" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
	docker ps -q --no-trunc --filter name=moat-bench-rss- >"$TMP/ids"
	mkdir -p "$TMP/state-rss" "$TMP/state-empty"
	line=$("$REGGEN" "$TMP/state-rss/registry.json" "$NNAMES" "$TMP/ids")
	echo "  $line"
	printf '  %-13s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' registry "to-load" "load" "up" \
		"RSS+2s" "RSS+12s" "HWM" "anon" "file" "ring"
	echo "  (ms from start; MiB)"
	for label in empty full; do
		st=$TMP/state-$label
		[ "$label" = full ] && st=$TMP/state-rss
		: >"$TMP/alerts.jsonl"
		start_moat "rss-$label" --no-pause --state-dir "$st"
		wait_for 30 bash -c "[ \$(moat_status_count) -ge $n ]" 2>/dev/null || true
		sleep 2
		read -r -a r1 <<<"$(rss_read)"
		sleep 10
		read -r -a r2 <<<"$(rss_read)"
		# Registry load: from the previous log line (the BPF programs attached, the
		# alert file open) to "DNS registry: N names".
		t_reg=$(awk '/DNS registry:/ { print $1; exit }' "$TMP/rss-$label.log")
		t_prev=$(awk '/DNS registry:/ { print p; exit } { p = $1 }' "$TMP/rss-$label.log")
		[ -n "$t_prev" ] || t_prev=$T_START
		printf '  %-13s %8.0f %8.0f %8.0f %8s %8s %8s %8s %8s %8s\n' \
			"$(sed -n 's/.*DNS registry: \([0-9]*\) names.*/\1 names/p' "$TMP/rss-$label.log" | head -n 1)" \
			"$(awk -v a="$T_START" -v b="$t_prev" 'BEGIN { print (b - a) * 1000 }')" \
			"$(awk -v a="$t_prev" -v b="$t_reg" 'BEGIN { print (b - a) * 1000 }')" \
			"$(awk -v a="$T_START" -v b="$T_UP" 'BEGIN { print (b - a) * 1000 }')" \
			"$(mib "${r1[0]}")" "$(mib "${r2[0]}")" "$(mib "${r2[1]}")" "$(mib "${r2[2]}")" \
			"$(mib "${r2[3]}")" "$(mib "${r2[4]}")"
		echo "  daemon: $(daemon_status)"
		eval "RSS_$label=${r2[0]} HWM_$label=${r2[1]} ANON_$label=${r2[2]} RING_$label=${r2[4]}"
		stop_moat
	done
	rm_batches "${names[@]}"
	containers=("${containers[@]:0:${#containers[@]}-NCONT}")
	summary+=("rss: $n containers + $NNAMES names: VmRSS $(mib "$RSS_full") MiB," \
		"VmHWM $(mib "$HWM_full") MiB, of which ring buffer mapping $(mib "$RING_full") MiB," \
		"anon $(mib "$ANON_full") MiB (empty registry: VmRSS $(mib "$RSS_empty")," \
		"anon $(mib "$ANON_empty") MiB); target <= 32 MiB: $(
			[ "$HWM_full" -le 32768 ] && echo held || echo MISSED)")
}

# moat_status_count: containers the daemon lists.
# ---- flood ----------------------------------------------------------------------------

# n_of WORD STATUS: the number before WORD in a daemon status line ("400002 events").
n_of() { sed -n "s/.* \([0-9][0-9]*\) $1.*/\1/p" <<<"$2" | head -n 1; }

bench_flood() {
	local svc
	echo "== flood: moat run reads while 2 DNS generators and 1 connect generator run at" \
		"full speed for $FLOOD_SECS s"
	run_container fsvc
	docker cp "$NETPROBE" moat-bench-fsvc:/netprobe >/dev/null
	docker exec -d moat-bench-fsvc /netprobe listen 0.0.0.0 "$SVC_PORT"
	svc=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' moat-bench-fsvc)
	for c in fdns1 fdns2 fconn; do bench_container "$c"; done
	wait_for 5 docker exec moat-bench-fconn /loadgen connect "$svc" "$SVC_PORT" 1 0 ||
		die "listener in moat-bench-fsvc does not answer"
	# Capacity: every event reaches the daemon (no fair share). Then the default fair
	# share (event_rate_per_container 25,000/s): the excess is left out in the kernel.
	printf '{"event_rate_per_container": 0}\n' >"$TMP/flood-all.json"
	printf '{}\n' >"$TMP/flood-default.json"
	flood_once "no event budget" "$TMP/flood-all.json" "$svc"
	flood_once "default event budget" "$TMP/flood-default.json" "$svc"
}

# flood_once LABEL CONFIG SVC_IP: one flood under moat run --config CONFIG.
flood_once() {
	local label=$1 conf=$2 svc=$3 before after e0 e1 d0 d1 s0 s1 lines g1 g2 g3
	start_moat flood --no-pause --report-only --skip-sync --state-dir "$TMP/state-fl" \
		--config "$conf"
	before=$(daemon_status)
	s0=$(suppressed_total)
	docker exec moat-bench-fdns1 /loadgen dns "$GW" "$SVC_NAME" 0 "$FLOOD_SECS" >"$TMP/fl-1" &
	g1=$!
	docker exec moat-bench-fdns2 /loadgen dns "$GW" "$SVC_NAME" 0 "$FLOOD_SECS" >"$TMP/fl-2" &
	g2=$!
	docker exec moat-bench-fconn /loadgen connect "$svc" "$SVC_PORT" 0 "$FLOOD_SECS" >"$TMP/fl-3" &
	g3=$!
	wait "$g1" "$g2" "$g3" # not a bare wait: moat run is a background job too
	sleep 0.5 # the daemon drains every 20 ms
	after=$(daemon_status)
	s1=$(suppressed_total)
	stop_moat
	lines=$(cat "$TMP/fl-1" "$TMP/fl-2" "$TMP/fl-3" | sed 's/^/  /')
	echo "  -- $label"
	echo "$lines"
	e0=$(n_of events "$before")
	e1=$(n_of events "$after")
	d0=$(n_of "kernel drops" "$before")
	d1=$(n_of "kernel drops" "$after")
	echo "  daemon before: $before"
	echo "  daemon after:  $after"
	echo "  moat run read $((e1 - e0)) events in ${FLOOD_SECS} s ($(((e1 - e0) / FLOOD_SECS))/s)," \
		"kernel drops $((d1 - d0)), left out by the event budget $((s1 - s0))"
	summary+=("flood ($label): moat run read $(((e1 - e0) / FLOOD_SECS)) events/s with" \
		"$((d1 - d0)) kernel drops (target 0), $((s1 - s0)) left out by the budget")
}

# suppressed_total: events the kernel's event budget left out, over every program.
suppressed_total() {
	moat status 2>/dev/null | awk '/^PROGRAM/ { on = 1; next } on && NF >= 6 { s += $6 }
		on && NF == 0 { exit } END { print s + 0 }'
}

# ---- guard ----------------------------------------------------------------------------

# guard_round MODE SVC: one timed round; appends its seconds to $TMP/guard-MODE.
guard_round() {
	local mode=$1 svc=$2 line veth c0
	if [ "$mode" = moat ]; then
		start_moat guard --no-pause --skip-sync --state-dir "$TMP/state-g" \
			--config "$TMP/guard.json"
		veth=$(host_veth moat-bench-gconn)
		wait_for 10 sh -c "tc filter show dev '$veth' ingress | grep -q 'handle 0x6d6f'" ||
			log "warning: the veth guard is not on $veth"
	fi
	[ "$mode" != moat ] || c0=$(cpu_ticks "$run_pid")
	line=$(docker exec moat-bench-gconn /loadgen connect "$svc" "$SVC_PORT" "$GUARD_CONNECTS" 0)
	[ "$(kv ops "$line")" = "$GUARD_CONNECTS" ] && [ "$(kv errors "$line")" = 0 ] ||
		log "warning: $mode round: $line"
	kv secs "$line" >>"$TMP/guard-$mode"
	if [ "$mode" = moat ]; then
		sleep 0.1 # the daemon drains every 20 ms
		echo $(($(cpu_ticks "$run_pid") - c0)) >>"$TMP/guard-cpu"
		stop_moat
	fi
}

# cpu_ticks PID: user + system CPU time of process PID, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# host_veth CONTAINER: the host-side veth of the container's eth0.
host_veth() {
	local n
	n=$(docker exec "$1" cat /sys/class/net/eth0/iflink)
	ip -o link | awk -F': ' -v n="$n" '$1 == n {sub(/@.*/, "", $2); print $2}'
}

bench_guard() {
	local svc r m n0 n1 ratio name cnt ns per
	echo "== guard: $GUARD_CONNECTS connect()+close from one container to another on the" \
		"bridge, $GUARD_ROUNDS rounds per mode, alternating: no moat, moat run (enforce)"
	run_container gsvc
	docker cp "$NETPROBE" moat-bench-gsvc:/netprobe >/dev/null
	docker exec -d moat-bench-gsvc /netprobe listen 0.0.0.0 "$SVC_PORT"
	svc=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' moat-bench-gsvc)
	bench_container gconn
	wait_for 5 docker exec moat-bench-gconn /loadgen connect "$svc" "$SVC_PORT" 1 0 ||
		die "listener in moat-bench-gsvc does not answer"
	# No fair share: every connect is reported, as in the other cost figures.
	printf '{"event_rate_per_container": 0}\n' >"$TMP/guard.json"
	rm -f "$TMP"/guard-none "$TMP"/guard-moat "$TMP"/guard-cpu
	bpf_stats_off
	docker exec moat-bench-gconn /loadgen connect "$svc" "$SVC_PORT" 2000 0 >/dev/null # warm-up
	for ((r = 1; r <= GUARD_ROUNDS; r++)); do
		if ((r % 2)); then m="none moat"; else m="moat none"; fi
		for mode in $m; do guard_round "$mode" "$svc"; done
	done
	n0=$(median <"$TMP/guard-none")
	n1=$(median <"$TMP/guard-moat")
	ratio=$(awk -v x="$n1" -v y="$n0" 'BEGIN { printf "%.3f", x / y }')
	printf '  %-36s median %8ss (%s/s)  range %s s\n' "no moat" "$n0" \
		"$(awk -v n="$GUARD_CONNECTS" -v s="$n0" 'BEGIN { printf "%.0f", n / s }')" \
		"$(spread "$TMP/guard-none")"
	printf '  %-36s median %8ss (%s/s)  range %s s  ratio %s\n' "moat run (enforce, veth guard)" \
		"$n1" "$(awk -v n="$GUARD_CONNECTS" -v s="$n1" 'BEGIN { printf "%.0f", n / s }')" \
		"$(spread "$TMP/guard-moat")" "$ratio"
	printf '  %-36s median %s us of CPU per connect\n' "moat run itself (reading events)" \
		"$(median <"$TMP/guard-cpu" | awk -v t="$(getconf CLK_TCK)" -v n="$GUARD_CONNECTS" \
			'{ printf "%.2f", $1 / t / n * 1e6 }')"
	summary+=("guard: connect+close between containers under moat run (enforce, veth guard) /" \
		"without moat = $ratio (target <= 1.05)")
	# Per program, with bpf_stats (two clock reads per run added).
	[ -n "$stats_saved" ] || stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	start_moat guard --no-pause --skip-sync --state-dir "$TMP/state-g" --config "$TMP/guard.json"
	wait_for 10 sh -c "tc filter show dev '$(host_veth moat-bench-gconn)' ingress | grep -q 'handle 0x6d6f'" ||
		log "warning: the veth guard is not attached"
	sysctl -q -w kernel.bpf_stats_enabled=1
	prog_snapshot "$TMP/g-before"
	docker exec moat-bench-gconn /loadgen connect "$svc" "$SVC_PORT" "$GUARD_CONNECTS" 0 >/dev/null
	prog_snapshot "$TMP/g-after"
	sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	stats_saved=
	stop_moat
	printf '  %-22s %10s %10s\n' PROGRAM RUNS NS/RUN
	join "$TMP/g-before" "$TMP/g-after" |
		awk '$4 > $2 { printf "%s %d %d\n", $1, $4 - $2, $5 - $3 }' |
		while read -r name cnt ns; do
			per=$(awk -v n="$ns" -v c="$cnt" 'BEGIN { printf "%.0f", n / c }')
			printf '  %-22s %10s %10s\n' "$name" "$cnt" "$per"
		done
}

moat_status_count() {
	moat status 2>/dev/null | awk '/^CONTAINER/ { on = 1; next } on && NF == 0 { exit } on { n++ }
		END { print n + 0 }'
}
export -f moat_status_count moat
export MOAT PIN

# ---- main ---------------------------------------------------------------------------

names=()
for arg in "$@"; do
	case $arg in
	latency | false-alerts | rss | flood | guard | dashboard) names+=("$arg") ;;
	all) names+=(latency false-alerts rss flood guard) ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown benchmark '$arg' (latency, false-alerts, rss, flood, guard, dashboard, all)" ;;
	esac
done
[ "${#names[@]}" -gt 0 ] || names=(latency false-alerts rss flood guard)

setup
for n in "${names[@]}"; do
	case $n in
	latency) bench_latency ;;
	false-alerts) bench_false_alerts ;;
	rss) bench_rss ;;
	flood) bench_flood ;;
	guard) bench_guard ;;
	dashboard) bench_dashboard ;;
	esac
done

echo "== summary, moat run ($(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r))"
for s in "${summary[@]}"; do echo "  $s"; done
