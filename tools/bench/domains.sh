#!/bin/bash
# domains.sh - benchmarks of domain mode (issue #4): prints their figures.
#
# Usage (as root, test environment up): tools/bench/domains.sh [NAME...]
#   cost          BENCH_CONNECTS (60000) connect()+close from moat-bench-dom to a learned,
#                 allowed address (a listener in moat-bench-dsvc): no hook (detached) vs
#                 `moat mode C enforce deny domains` with BENCH_RULES (10000) domain rules and
#                 BENCH_LEARNED (100000) learned addresses of that cgroup; BENCH_ROUNDS (7)
#                 rounds, alternating with monitor mode (attached, empty maps); attached
#                 rounds have a reader (build/bench/consume) so no event takes the ring-full
#                 path; medians, ratios and the median of per-round (paired) ratios; then
#                 ns/run per program (bpf_stats), domain vs monitor container
#   dns-cost      ns per run of handle_dns_ingress (kernel.bpf_stats_enabled) under a
#                 `loadgen dns` loop of BENCH_SECS (5) s: domain mode with an allowed name
#                 (learning), domain mode with a name no rule names, monitor mode; 3 rounds
#   false-denials BENCH_LOOPS (100000) resolve -> connect loops in domain mode, default deny,
#                 the name allowed, the listener's address NOT pre-learned: failures; through
#                 loadgen's own resolver, glibc and musl getaddrinfo (build/helpers/resolve-*)
#                 and busybox nslookup (BENCH_LOOPS_BUSYBOX, default BENCH_LOOPS)
#   approval      `moat run`, a container in interactive egress mode; per resolver (busybox
#                 nslookup, glibc and musl getaddrinfo: build/helpers/resolve-*) BENCH_TRIALS (10)
#                 lookups of distinct names: lookup start -> request in `moat prompt --list`,
#                 `moat prompt --decide ID allow-once` -> lookup done; then one lookup never
#                 decided: how long the resolver keeps retrying (its window)
#   all           the four (default)
#
# Its own pin dir (MOAT_BENCH_DOM_PIN_DIR, /sys/fs/bpf/moat-bench-dom), containers
# moat-bench-dom, -dsvc, -dnsm, -ix, and names *.bench-dom.moat.test in the test DNS. On exit
# (also Ctrl-C) it stops its moat run and listeners by pid, runs `moat clear` on its pin dir,
# removes its containers and DNS names and restores kernel.bpf_stats_enabled. Traffic goes
# only to the test DNS (the bridge gateway) and to its own containers. Nothing is asserted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOADGEN=$ROOT/build/bench/loadgen
. "$ROOT/tools/bench/lib.sh"
FILL=$ROOT/build/bench/domain_fill
CONSUME=$ROOT/build/bench/consume
NETPROBE=$ROOT/build/helpers/netprobe
IMAGE=moat-test/busybox
PIN=${MOAT_BENCH_DOM_PIN_DIR:-/sys/fs/bpf/moat-bench-dom}
ROUNDS=${BENCH_ROUNDS:-7}
CONNECTS=${BENCH_CONNECTS:-60000}
NRULES=${BENCH_RULES:-10000}
NLEARNED=${BENCH_LEARNED:-100000}
SECS=${BENCH_SECS:-5}
LOOPS=${BENCH_LOOPS:-100000}
LOOPS_BB=${BENCH_LOOPS_BUSYBOX:-$LOOPS} # busybox: a shell loop, ~3 ms per loop
TRIALS=${BENCH_TRIALS:-10}
SVC_NAME=svc.bench-dom.moat.test
NORULE_NAME=norule.bench-dom.moat.test
SVC_PORT=8080
HOSTS=/run/moat-testenv/hosts
DNSMASQ_PID=/run/moat-testenv/dnsmasq.pid
export DOCKER_HOST=unix:///var/run/docker.sock

TMP=$(mktemp -d /tmp/moat-bench-dom.XXXXXX)
MOAT=$TMP/moat
SOCK=$TMP/moat.sock
export MOAT_CONTROL_SOCKET=$SOCK
containers=()
run_pid=
stats_saved=
summary=()

moat() { "$MOAT" --pin-dir "$PIN" "$@"; }

dns_del() {
	grep -q 'bench-dom\.moat\.test$' "$HOSTS" 2>/dev/null || return 0
	sed -i '/bench-dom\.moat\.test$/d' "$HOSTS"
	kill -HUP "$(cat "$DNSMASQ_PID")" 2>/dev/null || true
}

cleanup() {
	set +e
	[ -z "${consume_pid:-}" ] || { kill "$consume_pid" 2>/dev/null; wait "$consume_pid" 2>/dev/null; }
	if [ -n "$run_pid" ]; then
		kill -TERM "$run_pid" 2>/dev/null
		wait "$run_pid"
	fi
	[ -d "$PIN" ] && moat -q clear >/dev/null 2>&1
	[ -z "$stats_saved" ] || sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	[ "${#containers[@]}" -eq 0 ] || docker rm -f -v "${containers[@]}" >/dev/null 2>&1
	dns_del
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# pct FILE: "n p50 max" of the numbers in FILE (nearest rank).
pct() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR) printf "%d %s %s\n", NR, v[int((NR + 1) / 2)], v[NR];
		else print "0 - -" }'
}
# note WORDS...: one summary line of WORDS.
note() { summary+=("$*"); }

# dns_add NAME ADDR: the test DNS answers NAME with ADDR (removed on exit).
dns_add() {
	sed -i "/ $1\$/d" "$HOSTS"
	echo "$2 $1" >>"$HOSTS"
	kill -HUP "$(cat "$DNSMASQ_PID")"
	wait_for 5 sh -c "busybox nslookup $1 $GW 2>/dev/null | grep -q '$2'" ||
		die "test DNS does not answer $1 with $2"
}



# denied: the denied counters summed over moat's programs (`moat status`).
denied() {
	# No early awk exit: moat status would die of SIGPIPE (pipefail).
	moat status | awk '/^PROGRAM/ { on = 1; next } on && NF >= 5 { d += $4 } on && NF == 0 { on = 0 }
		END { print d + 0 }'
}

# arm [learn-svc]: attach; moat-bench-dom in `enforce deny domains`, the resolver allowed,
# NRULES + 1 domain rules, NLEARNED learned addresses (+ the listener's with learn-svc).
arm() {
	local extra=()
	[ "${1:-}" = learn-svc ] && extra=("$SVC_IP")
	moat -q attach >/dev/null || die "moat attach failed (run '$MOAT --pin-dir $PIN attach')"
	# As moat run has it with containers enforced (socket_tracepoint auto): no socket()
	# tracepoint, which would tax every syscall on the host.
	rm -f "$PIN/links/handle_socket_tp"
	moat -q mode moat-bench-dom enforce deny domains >/dev/null || die "moat mode failed"
	moat -q rule allow "$GW/32" --cgroup moat-bench-dom --id 7 >/dev/null
	"$FILL" "$PIN" rules "$NRULES" >"$TMP/fill-rules" || die "domain_fill rules failed"
	moat -q domain allow "$SVC_NAME" --id $((NRULES + 1)) >/dev/null || die "moat domain allow failed"
	"$FILL" "$PIN" learned "$DOM_CG" "$NLEARNED" 10.200.0.0 "${extra[@]}" >"$TMP/fill-learned" ||
		die "domain_fill learned failed"
}

disarm() { [ ! -d "$PIN" ] || moat -q clear >/dev/null || die "moat clear failed"; }

setup() {
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	for f in "$ROOT/build/moat" "$LOADGEN" "$FILL" "$NETPROBE"; do
		[ -x "$f" ] || die "$f missing: run 'make all build/bench/loadgen build/bench/domain_fill'"
	done
	command -v jq >/dev/null || die "jq missing (apt-get install jq)"
	GW=$("$ROOT/tools/testenv.sh" gw) || die "no test environment: sudo tools/testenv.sh up"
	"$ROOT/tools/testenv.sh" status >/dev/null || die "test environment not up: sudo tools/testenv.sh up"
	cp "$ROOT/build/moat" "$MOAT"
	disarm # a previous run killed hard
	bench_container dsvc
	docker cp "$NETPROBE" moat-bench-dsvc:/netprobe >/dev/null
	docker exec -d moat-bench-dsvc /netprobe listen 0.0.0.0 "$SVC_PORT"
	SVC_IP=$(docker inspect -f '{{.NetworkSettings.IPAddress}}' moat-bench-dsvc)
	bench_container dom
	docker cp "$NETPROBE" moat-bench-dom:/netprobe >/dev/null
	for f in "$ROOT"/build/helpers/resolve-*; do
		[ ! -x "$f" ] || docker cp "$f" "moat-bench-dom:/$(basename "$f")" >/dev/null
	done
	bench_container dnsm
	DOM_CG=$(cgroup_id moat-bench-dom)
	dns_add "$SVC_NAME" "$SVC_IP"
	dns_add "$NORULE_NAME" "$SVC_IP"
	wait_for 5 docker exec moat-bench-dom /loadgen connect "$SVC_IP" "$SVC_PORT" 1 0 ||
		die "listener in moat-bench-dsvc does not answer"
	log "machine: $(nproc) CPUs, kernel $(uname -r), moat $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')"
}

# ---- connect() cost ---------------------------------------------------------------------

cost_round() {
	local mode=$1 r=$2 line
	disarm
	case $mode in
	domain) arm learn-svc ;;
	monitor) moat -q attach >/dev/null || die "moat attach failed" ;;
	esac
	# Attached rounds have a reader, as under moat run: every event takes the full path
	# (reserve, fill, submit), none the cheaper ring-full path.
	consume_pid=
	if [ "$mode" != detached ]; then
		MOAT_PIN_DIR=$PIN "$CONSUME" 600 "$PIN" >/dev/null &
		consume_pid=$!
	fi
	line=$(docker exec moat-bench-dom /loadgen connect "$SVC_IP" "$SVC_PORT" "$CONNECTS" 0)
	[ "$(kv ops "$line")" = "$CONNECTS" ] && [ "$(kv errors "$line")" = 0 ] ||
		log "warning: $mode round: $line"
	if [ "$mode" = domain ]; then
		COST_ERRS=$((COST_ERRS + $(kv errors "$line")))
		# Ring drops would put the round on the cheaper drop path.
		COST_DROPS=$((COST_DROPS + $(moat status | awk '/^PROGRAM/ { on = 1; next }
			on && NF >= 5 { d += $3 } on && NF == 0 { on = 0 } END { print d + 0 }')))
	fi
	if [ -n "$consume_pid" ]; then
		kill "$consume_pid" 2>/dev/null
		wait "$consume_pid" 2>/dev/null || true
		consume_pid=
	fi
	kv secs "$line" >>"$TMP/cost-$mode"
	echo "$r $(kv secs "$line")" >>"$TMP/round-$mode"
	echo "$r $(kv cpu "$line")" >>"$TMP/cpu-$mode"
	printf '  round %2d %-9s %s\n' "$r" "$mode" "$line"
}

bench_cost() {
	local r d a ratio ctl mo ratio_m ratio_dm m mode c line pd pm cd_ cm_
	echo "== cost: $CONNECTS connect()+close from moat-bench-dom to $SVC_IP:$SVC_PORT (learned," \
		"allowed); domain mode with $NRULES domain rules + $NLEARNED learned addresses vs detached;" \
		"$ROUNDS rounds, alternating"
	rm -f "$TMP"/cost-* "$TMP"/round-* "$TMP"/cpu-*
	COST_ERRS=0
	COST_DROPS=0
	# Checks: the maps are full, and the mode denies what it should.
	arm learn-svc
	echo "  $(cat "$TMP/fill-rules"); $(cat "$TMP/fill-learned")"
	echo "  domain_rules entries: $(bpftool -j map dump pinned "$PIN/domain_rules" | jq length)," \
		"learned_v4: $(bpftool -j map dump pinned "$PIN/learned_v4" | jq length)"
	ctl=$(docker exec moat-bench-dom /loadgen connect "$(docker inspect -f \
		'{{.NetworkSettings.IPAddress}}' moat-bench-dnsm)" "$SVC_PORT" 1 0 || true)
	echo "  control: connect to moat-bench-dnsm (not learned): $ctl (errors=1 expected: denied)"
	bpf_stats_off
	docker exec moat-bench-dom /loadgen connect "$SVC_IP" "$SVC_PORT" "$CONNECTS" 0 >/dev/null # warm-up
	for ((r = 1; r <= ROUNDS; r++)); do
		# Rotate the order so drift over the run does not favour one mode.
		case $((r % 3)) in
		1) m="detached domain monitor" ;;
		2) m="domain monitor detached" ;;
		0) m="monitor detached domain" ;;
		esac
		for mode in $m; do cost_round "$mode" "$r"; done
	done
	# Per program, same attachment: moat-bench-dom (domain mode, full maps) and
	# moat-bench-dnsm (no cgroup_cfg entry: monitor mode) connecting to the same listener.
	[ -n "$stats_saved" ] || stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
	for c in dom dnsm; do
		disarm
		arm learn-svc
		prog_snapshot "$TMP/ps-before"
		line=$(docker exec "moat-bench-$c" /loadgen connect "$SVC_IP" "$SVC_PORT" "$CONNECTS" 0)
		prog_snapshot "$TMP/ps-after"
		join "$TMP/ps-before" "$TMP/ps-after" | awk -v c="$c" '$4 > $2 {
			printf "  bpf_stats moat-bench-%-5s %-20s %8d runs %6.0f ns/run\n", c, $1, $4 - $2, ($5 - $3) / ($4 - $2) }'
	done
	sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	stats_saved=
	disarm
	d=$(median <"$TMP/cost-detached")
	a=$(median <"$TMP/cost-domain")
	ratio=$(awk -v x="$a" -v y="$d" 'BEGIN { printf "%.3f", x / y }')
	mo=$(median <"$TMP/cost-monitor")
	ratio_m=$(awk -v x="$mo" -v y="$d" 'BEGIN { printf "%.3f", x / y }')
	ratio_dm=$(awk -v x="$a" -v y="$mo" 'BEGIN { printf "%.3f", x / y }')
	# Paired: the modes of one round ran back to back, so a slow patch of the machine hits
	# all three; the median of the per-round ratios is the steadier figure.
	for m in domain monitor detached; do
		sort -k1,1 "$TMP/round-$m" >"$TMP/round-$m.s"
		sort -k1,1 "$TMP/cpu-$m" >"$TMP/cpu-$m.s"
	done
	pd=$(join "$TMP/round-domain.s" "$TMP/round-detached.s" | awk '{ print $2 / $3 }' | median)
	pm=$(join "$TMP/round-monitor.s" "$TMP/round-detached.s" | awk '{ print $2 / $3 }' | median)
	# The client's CPU time (its system calls, where the hooks run) per round: steadier than
	# wall time on a shared machine, because time spent waiting for a CPU is not in it.
	cd_=$(join "$TMP/cpu-domain.s" "$TMP/cpu-detached.s" | awk '{ print $2 / $3 }' | median)
	cm_=$(join "$TMP/cpu-monitor.s" "$TMP/cpu-detached.s" | awk '{ print $2 / $3 }' | median)
	printf '  %-40s median %8ss (%s/s)  range %s s\n' "detached" "$d" \
		"$(awk -v n="$CONNECTS" -v s="$d" 'BEGIN { printf "%.0f", n / s }')" "$(spread "$TMP/cost-detached")"
	printf '  %-40s median %8ss (%s/s)  range %s s  ratio %s\n' "domain mode, enforce, default deny" "$a" \
		"$(awk -v n="$CONNECTS" -v s="$a" 'BEGIN { printf "%.0f", n / s }')" "$(spread "$TMP/cost-domain")" "$ratio"
	printf '  %-40s median %8ss (%s/s)  range %s s  ratio %s (domain/monitor %s)\n' \
		"attached, monitor mode, empty maps" "$mo" \
		"$(awk -v n="$CONNECTS" -v s="$mo" 'BEGIN { printf "%.0f", n / s }')" "$(spread "$TMP/cost-monitor")" \
		"$ratio_m" "$ratio_dm"
	printf '  %-40s domain/detached %.3f, monitor/detached %.3f\n' "median of per-round ratios" "$pd" "$pm"
	printf '  %-40s domain/detached %.3f, monitor/detached %.3f (median cpu s: detached %s, domain %s, monitor %s)\n' \
		"client CPU time, per-round ratios" "$cd_" "$cm_" "$(cut -d' ' -f2 "$TMP/cpu-detached" | median)" \
		"$(cut -d' ' -f2 "$TMP/cpu-domain" | median)" "$(cut -d' ' -f2 "$TMP/cpu-monitor" | median)"
	summary+=("cost: monitor/detached = $ratio_m, domain/monitor = $ratio_dm;" \
		"median per-round ratio domain/detached $(printf %.3f "$pd"), monitor/detached $(printf %.3f "$pm");" \
		"client CPU domain/detached $(printf %.3f "$cd_"), monitor/detached $(printf %.3f "$cm_")")
	note "cost: domain/detached = $ratio (target <= 1.05: $(awk -v x="$ratio" \
		'BEGIN { print x <= 1.05 ? "held" : "MISSED" }')); connect errors in domain rounds: $COST_ERRS," \
		"ring drops: $COST_DROPS"
}

# ---- DNS answer cost --------------------------------------------------------------------

# dns_prog: "run_cnt run_time_ns" of handle_dns_ingress.
dns_prog() {
	local link id
	for link in "$PIN"/links/*; do
		id=$(bpftool -j link show pinned "$link" | jq -r .prog_id)
		bpftool -j prog show id "$id" | jq -r 'select(.name == "handle_dns_ingress")
			| "\(.run_cnt // 0) \(.run_time_ns // 0)"'
	done | head -n 1
}

bench_dns_cost() {
	local r case c name b a line n ns
	echo "== dns-cost: handle_dns_ingress ns/run under 'loadgen dns' (${SECS}s, 4 in flight);" \
		"$NRULES + 1 domain rules, $NLEARNED learned addresses"
	stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -q -w kernel.bpf_stats_enabled=1
	arm
	rm -f "$TMP"/dnsc-*
	for ((r = 1; r <= 3; r++)); do
		for case in domain-allowed domain-norule monitor; do
			case $case in
			domain-allowed) c=moat-bench-dom name=$SVC_NAME ;;
			domain-norule) c=moat-bench-dom name=$NORULE_NAME ;;
			monitor) c=moat-bench-dnsm name=$SVC_NAME ;;
			esac
			read -r -a b <<<"$(dns_prog)"
			line=$(docker exec "$c" /loadgen dns "$GW" "$name" 0 "$SECS")
			read -r -a a <<<"$(dns_prog)"
			n=$((a[0] - b[0]))
			ns=$((a[1] - b[1]))
			echo "$ns $n" >>"$TMP/dnsc-$case"
			printf '  round %d %-15s %s  runs %d  ns/run %s\n' "$r" "$case" "$line" "$n" \
				"$(awk -v x="$ns" -v y="$n" 'BEGIN { printf "%.0f", y ? x / y : 0 }')"
		done
	done
	for case in domain-allowed domain-norule monitor; do
		read -r ns n <<<"$(awk '{ t += $1; c += $2 } END { print t, c }' "$TMP/dnsc-$case")"
		# shellcheck disable=SC2034 # DNS_domain_allowed etc., read in the summary below
		eval "DNS_${case//-/_}=$(awk -v x="$ns" -v y="$n" 'BEGIN { printf "%.0f", y ? x / y : 0 }')"
		printf '  %-15s %10d runs  %6s ns/run (all rounds)\n' "$case" "$n" \
			"$(awk -v x="$ns" -v y="$n" 'BEGIN { printf "%.0f", y ? x / y : 0 }')"
	done
	echo "  learned_v4 entries now: $(bpftool -j map dump pinned "$PIN/learned_v4" | jq length)"
	sysctl -q -w kernel.bpf_stats_enabled="$stats_saved"
	stats_saved=
	disarm
	# shellcheck disable=SC2154 # set by the eval above
	note "dns-cost: handle_dns_ingress ns/run: domain+allowed $DNS_domain_allowed," \
		"domain+no rule $DNS_domain_norule, monitor $DNS_monitor"
}

# ---- false denials ----------------------------------------------------------------------

bench_false_denials() {
	local ctl line d0 d1
	echo "== false-denials: $LOOPS x (A query for $SVC_NAME -> connect to the answer) from" \
		"moat-bench-dom, domain mode, default deny, $NRULES + 1 rules, $NLEARNED learned"
	arm # the listener's address is NOT pre-learned: only the answers open it
	ctl=$(docker exec moat-bench-dom /loadgen connect "$SVC_IP" "$SVC_PORT" 1 0 || true)
	echo "  control: connect to $SVC_IP:$SVC_PORT before any lookup: $ctl (errors=1 expected)"
	d0=$(denied)
	line=$(docker exec moat-bench-dom /loadgen resolve "$GW" "$SVC_NAME" "$SVC_PORT" "$LOOPS" 0 2>&1) ||
		log "warning: loadgen resolve exited non-zero"
	d1=$(denied)
	echo "  $line"
	echo "  kernel denied counter during the loops: $((d1 - d0))"
	moat status | sed -n '/^PROGRAM/,/^$/p' | sed 's/^/  status /'
	disarm
	note "false-denials: $(kv ops "$line") loops in $(kv secs "$line")s ($(kv rate "$line")/s)," \
		"failures $(kv errors "$line"), kernel denials $((d1 - d0)) (target 0: $(
			[ "$(kv errors "$line")" = 0 ] && echo held || echo MISSED))"
	# The same through the C libraries' own resolvers: glibc and musl getaddrinfo (A and
	# AAAA in parallel on one socket) and busybox nslookup, each from a fresh arming.
	local res fails
	for res in glibc musl busybox; do
		if [ "$res" != busybox ] && [ ! -x "$ROOT/build/helpers/resolve-$res" ]; then
			log "build/helpers/resolve-$res missing: $res skipped"
			continue
		fi
		arm
		ctl=$(docker exec moat-bench-dom /netprobe connect "$SVC_IP" "$SVC_PORT" 2>/dev/null || true)
		d0=$(denied)
		if [ "$res" = busybox ]; then
			line=$(docker exec moat-bench-dom sh -c "t0=\$(date +%s); i=0; f=0; e=0
				while [ \$i -lt $LOOPS_BB ]; do
					nslookup $SVC_NAME >/dev/null 2>&1 || f=\$((f + 1))
					r=\$(/netprobe connect $SVC_IP $SVC_PORT 2>/dev/null)
					[ \"\$r\" = ok ] || e=\$((e + 1))
					i=\$((i + 1))
				done
				echo loops=\$i lookup_fail=\$f connect_fail=\$e secs=\$((\$(date +%s) - t0))")
		else
			line=$(docker exec moat-bench-dom "/resolve-$res" -n "$LOOPS" -p "$SVC_PORT" "$SVC_NAME") ||
				true
		fi
		d1=$(denied)
		disarm
		echo "  $res: $line; control before any lookup: $ctl; kernel denied $((d1 - d0))"
		fails=$(($(kv lookup_fail "$line") + $(kv connect_fail "$line")))
		note "false-denials ($res): $(kv loops "$line") loops in $(kv secs "$line")s, failures" \
			"$fails, kernel denials $((d1 - d0)) (target 0: $([ "$fails" = 0 ] &&
				[ "$((d1 - d0))" = 0 ] && echo held || echo MISSED))"
	done
}

# ---- approval round trip --------------------------------------------------------------

# lookup_cmd RESOLVER NAME: the command that resolves NAME inside moat-bench-ix.
lookup_cmd() {
	case $1 in
	busybox) echo "nslookup $2" ;;
	glibc) echo "/resolve-glibc $2" ;;
	musl) echo "/resolve-musl $2" ;;
	esac
}

# approval_trial RESOLVER NAME DECIDE: one lookup; with DECIDE=1 it waits for the pending
# request and allows it once, else it never decides. Appends ms figures to
# $TMP/ap-{seen,done,total,nodecide}-RESOLVER.
approval_trial() {
	local res=$1 name=$2 decide=$3 t0 t1 t2 t3 id out ex ok
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2046 # the command is words on purpose
	docker exec moat-bench-ix $(lookup_cmd "$res" "$name") >"$TMP/ap-out" 2>&1 &
	ex=$!
	id=
	while [ "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print (b - a > 20) }')" = 0 ]; do
		out=$("$MOAT" --pin-dir "$PIN" prompt --list --json 2>/dev/null || true)
		id=$(jq -r --arg n "$name" '.. | objects | select(.domain? == $n) | .id' <<<"$out" 2>/dev/null |
			head -n 1)
		[ -z "$id" ] || break
		sleep 0.01
	done
	t1=$EPOCHREALTIME
	if [ -z "$id" ]; then
		log "warning: $res $name: no pending request within 20 s"
		wait "$ex" || true
		return
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/ap-seen-$res"
	if [ "$decide" = 0 ]; then
		# The resolver's whole window: how long it keeps asking before it gives up.
		ok=0
		wait "$ex" && grep -q "$SVC_IP" "$TMP/ap-out" && ok=1
		t3=$EPOCHREALTIME
		awk -v a="$t0" -v b="$t3" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/ap-nodecide-$res"
		printf '  %-8s %-32s no decision: lookup %s after %7.1f ms (%s)\n' "$res" "$name" \
			"$([ "$ok" = 1 ] && echo succeeded || echo failed)" "$(tail -n 1 "$TMP/ap-nodecide-$res")" \
			"$(tr '\n' ' ' <"$TMP/ap-out" | cut -c1-60)"
		"$MOAT" --pin-dir "$PIN" prompt --decide "$id" deny-once >/dev/null 2>&1 || true
		return
	fi
	t2=$EPOCHREALTIME
	"$MOAT" --pin-dir "$PIN" prompt --decide "$id" allow-once >/dev/null ||
		log "warning: $res $name: decide failed"
	wait "$ex" || log "warning: $res $name: lookup failed: $(tail -n 2 "$TMP/ap-out" | tr '\n' ' ')"
	t3=$EPOCHREALTIME
	grep -q "$SVC_IP" "$TMP/ap-out" || log "warning: $res $name: answer without $SVC_IP"
	awk -v a="$t2" -v b="$t3" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/ap-done-$res"
	awk -v a="$t0" -v b="$t3" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }' >>"$TMP/ap-total-$res"
	printf '  %-8s %-32s pending after %7.1f ms, done %7.1f ms after decide\n' "$res" "$name" \
		"$(tail -n 1 "$TMP/ap-seen-$res")" "$(tail -n 1 "$TMP/ap-done-$res")"
}

bench_approval() {
	local i res s d t e w t0 resolvers=(busybox glibc musl)
	[ -x "$ROOT/build/helpers/resolve-musl" ] || {
		log "build/helpers/resolve-musl missing (musl-tools not installed): musl skipped"
		resolvers=(busybox glibc)
	}
	echo "== approval: moat run, moat-bench-ix interactive, default deny; per resolver" \
		"(${resolvers[*]}) $TRIALS lookups of new names decided allow-once at once, and one" \
		"never decided"
	bench_container ix
	for res in glibc musl; do
		[ ! -x "$ROOT/build/helpers/resolve-$res" ] ||
			docker cp "$ROOT/build/helpers/resolve-$res" moat-bench-ix:/resolve-$res >/dev/null
	done
	echo '{"containers":[{"match":"moat-bench-ix","egress":"interactive"}],"prompt_timeout_seconds":120}' \
		>"$TMP/ix.json"
	echo '{"default":"deny","rules":[]}' >"$TMP/rules.json"
	for res in "${resolvers[@]}"; do
		for ((i = 0; i <= TRIALS; i++)); do
			echo "$SVC_IP ix-$res-$i.bench-dom.moat.test" >>"$HOSTS"
		done
	done
	kill -HUP "$(cat "$DNSMASQ_PID")"
	: >"$TMP/run.log"
	"$MOAT" --pin-dir "$PIN" run --config "$TMP/ix.json" --egress-rules "$TMP/rules.json" \
		--control-socket "$SOCK" --alerts-file "$TMP/alerts.jsonl" --state-dir "$TMP/state" \
		--skip-sync --no-pause 2>>"$TMP/run.log" >/dev/null &
	run_pid=$!
	wait_for 60 grep -q "moat run: watching" "$TMP/run.log" || {
		tail -n 5 "$TMP/run.log" >&2
		die "moat run did not start"
	}
	sleep 1
	# docker exec's own overhead, to read the figures against.
	for i in 1 2 3; do
		t0=$EPOCHREALTIME
		docker exec moat-bench-ix true
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
	done >"$TMP/ap-exec"
	rm -f "$TMP"/ap-seen-* "$TMP"/ap-done-* "$TMP"/ap-total-* "$TMP"/ap-nodecide-*
	for res in "${resolvers[@]}"; do
		for ((i = 1; i <= TRIALS; i++)); do
			approval_trial "$res" "ix-$res-$i.bench-dom.moat.test" 1
		done
		approval_trial "$res" "ix-$res-0.bench-dom.moat.test" 0
	done
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid" || log "warning: moat run exited non-zero"
	run_pid=
	disarm
	read -r -a e <<<"$(pct "$TMP/ap-exec")"
	printf '  %-8s %-40s %4s %9s %9s\n' "" "" n p50 max
	for res in "${resolvers[@]}"; do
		read -r -a s <<<"$(pct "$TMP/ap-seen-$res")"
		read -r -a d <<<"$(pct "$TMP/ap-done-$res")"
		read -r -a t <<<"$(pct "$TMP/ap-total-$res")"
		w=$(cat "$TMP/ap-nodecide-$res" 2>/dev/null || echo -)
		printf '  %-8s %-40s %4s %9s %9s  ms\n' "$res" "lookup start -> pending in prompt --list" "${s[@]}"
		printf '  %-8s %-40s %4s %9s %9s  ms\n' "$res" "decide allow-once -> lookup done" "${d[@]}"
		printf '  %-8s %-40s %4s %9s %9s  ms\n' "$res" "lookup start -> done (with decide)" "${t[@]}"
		printf '  %-8s %-40s %4s %9s\n' "$res" "no decision: lookup gives up after" 1 "$w"
		note "approval $res: pending p50 ${s[1]} ms; decide -> done p50 ${d[1]} max ${d[2]} ms;" \
			"window (no decision) ${w} ms"
	done
	printf '  %-8s %-40s %4s %9s %9s  ms\n' "" "docker exec C true (overhead, in all above)" "${e[@]}"
}

# ---- main ---------------------------------------------------------------------------

names=()
for arg in "$@"; do
	case $arg in
	cost | dns-cost | false-denials | approval) names+=("$arg") ;;
	all) names+=(cost dns-cost false-denials approval) ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown benchmark '$arg' (cost, dns-cost, false-denials, approval, all)" ;;
	esac
done
[ "${#names[@]}" -gt 0 ] || names=(cost dns-cost false-denials approval)

setup
for n in "${names[@]}"; do
	case $n in
	cost) bench_cost ;;
	dns-cost) bench_dns_cost ;;
	false-denials) bench_false_denials ;;
	approval) bench_approval ;;
	esac
done

echo "== summary, domain mode ($(date -u +%Y-%m-%d), $(nproc) CPUs, kernel $(uname -r))"
for s in "${summary[@]}"; do echo "  $s"; done
