#!/bin/bash
# test_resources.sh - resource stats and their rules against real containers under `moat run`
# (report-only: it never acts on anyone's containers): a 35 s CPU burn raises cpu-sustained at
# the defaults (80 % of one CPU for 30 s, sampled every 2 s), once; a short burn under a policy
# with a 3 s window raises it and clears it; a process holding 185 MiB in a container started
# with --memory 200m raises memory-high (pure v2: memory.current against memory.max; on this
# hybrid host Docker discards --memory, so: the procs fallback against a policy's
# memory_bytes of 170 MiB, i.e. 85 % of 200 MiB); a policy's memory_bytes raises and clears;
# pids-high from a policy's pids_count; the sources shown by moat status; moat stats
# --resources with a container's history.
# OOM kills are not provoked here (no safe way on this host: docs/alerts.md, oom-kill): the
# OOM program moat run attached is run on a process in a test container's cgroup instead
# (tests/bpf/test_oom.c --fire), and the oom-kill alert checked.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
MEMHOG=$MOAT_ROOT/build/helpers/memhog
PIN=/sys/fs/bpf/moat-test-res
SOCK=$T_TMP/moat.sock
ALERTS=$T_TMP/alerts.jsonl
export MOAT_CONTROL_SOCKET=$SOCK
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }
run_pid=

cat >"$T_TMP/moat.json" <<EOF
{"state_dir": "$T_TMP/state", "alerts_file": "$ALERTS", "control_socket": "$SOCK",
 "policies": "$T_TMP/policies.json", "access_log": "", "report_only": true}
EOF
cat >"$T_TMP/policies.json" <<'EOF'
{"policies": [
 {"id": "res-quick", "priority": 1, "target": {"names": ["moat-test-res-quick"]},
  "resources": {"cpu_sustain_seconds": 3, "cpu_percent": 20}},
 {"id": "res-mem", "priority": 4, "target": {"names": ["moat-test-res-mem"]},
  "resources": {"memory_bytes": 178257920}},
 {"id": "res-mem2", "priority": 2, "target": {"names": ["moat-test-res-mem2"]},
  "resources": {"memory_bytes": 104857600}},
 {"id": "res-pids", "priority": 3, "target": {"names": ["moat-test-res-pids"]},
  "resources": {"pids_count": 20}},
 {"id": "rest", "priority": 10}
]}
EOF

start_moat() {
	"$MOATBIN" --pin-dir "$PIN" run --config "$T_TMP/moat.json" >>"$T_TMP/run.log" 2>&1 &
	run_pid=$!
	wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"
}
stop_moat() {
	[ -n "$run_pid" ] || return 0
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid"
	local rc=$?
	run_pid=
	return $rc
}
t_on_exit 'stop_moat; "$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1'

# alerts RULE CONTAINER [SEVERITY]: the matching alert lines.
alerts() {
	jq -c "select(.rule==\"$1\" and .container.name==\"moat-test-$2\" and
		(\"${3:-}\" == \"\" or .severity == \"${3:-}\"))" "$ALERTS" 2>/dev/null
}
has_alert() { [ -n "$(alerts "$@")" ]; }
count_alerts() { alerts "$@" | wc -l; }

# The workloads are the containers' own commands, not docker exec: an exec'd shell is a
# suspicious-exec, which another moat run on the machine could act on. Each waits for a
# file moat-go (or its helper) before it starts, so that moat run sees it from its start.
moat clear >/dev/null 2>&1
wait_go='while [ ! -e /moat-go ]; do sleep 0.2; done'
docker_run_test res-burn -- sh -c "$wait_go; timeout 35 sh -c 'while :; do :; done'; sleep 3600" ||
	{ t_fail "containers start" "docker run"; t_done; }
quick="timeout 8 sh -c 'while :; do :; done'"
docker_run_test res-quick -- sh -c "$wait_go; $quick & $quick & wait; sleep 3600"
docker_run_test res-mem --memory 200m -- sh -c "$wait_go; /memhog 185 600"
docker_run_test res-mem2 -- sh -c "$wait_go; /memhog 150 20; sleep 3600"
docker_run_test res-pids -- sh -c "$wait_go; for i in \$(seq 30); do sleep 600 & done; wait"
# The burn is one thread, as the issue's; with autogroup scheduling (a container is one
# session) a busy machine gives a session a share, not a CPU: two fuzzers running here leave
# any one container 65 % of a CPU (measured). The burn's session gets nice -10 so that it can
# have a whole CPU; where that cannot be set the check below says what it measured.
echo -10 >"/proc/$(container_pid res-burn)/autogroup" 2>/dev/null || true
docker cp "$MEMHOG" moat-test-res-mem:/memhog >/dev/null
docker cp "$MEMHOG" moat-test-res-mem2:/memhog >/dev/null

if ! start_moat; then
	t_fail "moat run starts" "$(tail -n 5 "$T_TMP/run.log" | tr '\n' ' ')"
	t_done
fi
t_ok "moat run starts with a resources policy file"
t_check "the OOM program is attached (no warning)" bash -c "! grep -q 'OOM program' '$T_TMP/run.log'"
touch "$T_TMP/moat-go"
t0=$(date +%s)
for c in res-burn res-quick res-mem res-mem2 res-pids; do
	docker cp "$T_TMP/moat-go" "moat-test-$c:/moat-go" >/dev/null
done

t_check "short burn, 3 s window (policy): cpu-sustained WARNING" \
	wait_for -t 12 has_alert cpu-sustained res-quick WARNING
a=$(alerts cpu-sustained res-quick WARNING | head -n 1)
t_check "cpu-sustained names the CPU and the window" \
	test "$(jq -r '.source + " " + .resource.kind + " " + .resource.state + " " +
		(.resource.sustain_seconds|tostring) + " " + ((.resource.value > 20)|tostring)' <<<"$a")" \
	= "stats cpu raised 3 true"
t_check "memory-high: 185 MiB against 85 % of 200 MiB (--memory; here a policy's memory_bytes)" \
	wait_for -t 10 has_alert memory-high res-mem WARNING
a=$(alerts memory-high res-mem WARNING | head -n 1)
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	# Pure v2: memory.current against memory.max.
	t_check "memory-high: memory.current of memory.max, above 85 %" \
		test "$(jq -r '.resource.source + " " + .resource.limit_source + " " +
			((.resource.percent > 85)|tostring)' <<<"$a")" = "cgroup cgroup true"
else
	# Hybrid: Docker discards --memory here (no v2 memory controller); the procs fallback
	# against the policy's threshold.
	t_check "memory-high: procs fallback, above the 170 MiB threshold, host memory as limit" \
		test "$(jq -r '.resource.source + " " + .resource.limit_source + " " +
			(.resource.value > 178257920|tostring) + " " +
			(.message|test("above the 170 MiB threshold")|tostring)' <<<"$a")" \
		= "procs host true true"
fi
t_check "memory-high from a policy's memory_bytes (150 MiB > 100 MiB)" \
	wait_for -t 10 has_alert memory-high res-mem2 WARNING
t_check "pids-high from a policy's pids_count (30 sleeps > 20)" \
	wait_for -t 10 has_alert pids-high res-pids WARNING
t_check "the burn at the defaults raises nothing before 30 s" \
	test "$(count_alerts cpu-sustained res-burn)" -eq 0 -o $(($(date +%s) - t0)) -ge 30

# oom-kill through moat run's real program, ring buffer and loop: the OOM program it attached
# is run (BPF_PROG_TEST_RUN) on a process that joined a test container's cgroup, as the
# tracepoint would run it for a victim there (a real OOM kill cannot be provoked safely here).
fired=$("$MOAT_ROOT/build/tests/test_oom" --fire "$PIN" "$(container_cgroup_path res-pids)" |
	sed -n 's/^fired //p')
t_check "the OOM program moat run attached runs on a process of the container" test -n "$fired"
oom='select(.rule=="oom-kill" and .container.name=="moat-test-res-pids")'
t_check "oom-kill: CRITICAL, naming the process and the container" \
	wait_for -t 5 some '.rule=="oom-kill" and .container.name=="moat-test-res-pids" and .severity=="CRITICAL" and .process.comm=="moat-oom-fire"' "$ALERTS"
echo "# oom-kill alert written $(( ($(date +%s%N) - ${fired:-0}) / 1000000 )) ms or less after the program ran; latency_us in the alert: $(jq -r "$oom | .latency_us" "$ALERTS" | head -n 1)"
t_check "oom-kill names it by pid and carries the victim's memory" \
	test "$(jq -r "$oom | (.message|test(\"OOM killer killed process [0-9]+ \\\\(moat-oom-fire\\\\) in container moat-test-res-pids\")) and (.resource.anon_rss_kb > 0)" "$ALERTS" | head -n 1)" = true

# moat status: which source each resource comes from.
src=$(echo '{"cmd":"status"}' | socat - "UNIX-CONNECT:$SOCK" 2>/dev/null |
	jq -r '.status.containers[] | select(.name=="moat-test-res-mem") | .resource_sources |
		.cpu + " " + .memory + " " + .memory_limit + " " + .pids + " " + .network')
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	want="cgroup cgroup cgroup cgroup veth"
else
	want="cgroup procs host threads veth"
fi
t_check "status names the sources ($want)" test "$src" = "$want"
t_check "moat status prints them" bash -c "'$MOATBIN' --pin-dir '$PIN' status | grep -E '^moat-test-res-mem +cgroup +procs \\(host\\)'"

# moat stats --resources.
t_check "moat stats --resources lists the containers" \
	bash -c "'$MOATBIN' stats --resources | grep -q moat-test-res-mem2"
h=$("$MOATBIN" stats --resources moat-test-res-mem --json)
t_check "moat stats --resources C --json: a history of samples with network bytes" \
	test "$(jq -r '.[0].history | (length >= 2) and (.[-1].memory_bytes > 150000000) and
		(.[-1] | has("net_rx_bytes"))' <<<"$h")" = true
t_check "moat stats --resources C prints its history" \
	bash -c "'$MOATBIN' stats --resources moat-test-res-mem | grep -q 'sources: cpu cgroup'"

# Clearing: the short burn ended; memory goes when memhog does.
t_check "short burn over: one INFO, cleared" wait_for -t 10 has_alert cpu-sustained res-quick INFO
t_check "short burn: exactly one WARNING" test "$(count_alerts cpu-sustained res-quick WARNING)" -eq 1
t_check "memory back down (memhog ended after 20 s): memory-high cleared (INFO)" \
	wait_for -t 30 has_alert memory-high res-mem2 INFO

# The burn at the defaults: 80 % of one CPU for 30 s. Whether the burn got 80 % for 30 s
# depends on the machine's other work, so the check is that moat's alert agrees with moat's
# own samples of the burn: raised once when 16 samples in a row were above 80 %, not raised
# when no 14 were; in between either is right, and says so without counting.
wait_for -t 60 test $(($(date +%s) - t0)) -ge 40
run=$("$MOATBIN" stats --resources moat-test-res-burn --json |
	jq '[.[0].history[] | select(.cpu_percent != null) | (.cpu_percent > 80)] |
		reduce .[] as $x ({cur: 0, best: 0}; if $x then .cur += 1 | .best = ([.best, .cur] | max)
		else .cur = 0 end) | .best')
n=$(count_alerts cpu-sustained res-burn WARNING)
echo "# 35 s burn: $run samples in a row above 80 % of one CPU; $n alert(s); load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "${run:-0}" -ge 16 ]; then
	t_check "35 s burn at the defaults, 80 % held for 30 s: one cpu-sustained WARNING" test "$n" -eq 1
	a=$(alerts cpu-sustained res-burn WARNING | head -n 1)
	t_check "raised after 30 s of it, threshold 80" \
		test "$(jq -r '(.resource.for_seconds >= 30) and (.resource.threshold == 80)' <<<"$a")" = true
elif [ "${run:-0}" -le 13 ]; then
	t_check "35 s burn at the defaults, never 30 s above 80 % here: no cpu-sustained" test "$n" -eq 0
	echo "# skip: the burn at the defaults did not get 80 % of a CPU for 30 s on this busy machine"
else
	echo "# skip: the burn held 80 % for about 30 s: either answer is right"
fi
t_check "no alert for the idle containers" \
	test -z "$(jq -c 'select(.rule=="cpu-sustained" and .container.name=="moat-test-res-mem")' "$ALERTS")"
if stop_moat; then t_ok "SIGTERM exits 0"; else t_fail "SIGTERM exits 0" "$(tail -n 3 "$T_TMP/run.log")"; fi
t_done
