#!/bin/bash
# test_resources.sh - resource stats and their rules against real containers under `moat run`:
# a CPU burn of 35 s raises cpu-sustained at the defaults (80 % of one CPU for 30 s, sampled
# every 2 s), a short burn under a policy with a 3 s window raises it and clears it, a
# process holding 185 MiB in a container started with --memory 200m raises memory-high
# against Docker's limit (this host's memory controller is on cgroup v1: the memory comes
# from the procs fallback and the limit from Docker, and the alert says the kernel does not
# enforce it; on a pure-v2 host memory.current/memory.max answer instead), a policy's
# absolute memory_bytes threshold, pids-high from a policy's pids_count, the sources shown by
# moat status, and moat stats --resources with a container's history.
# OOM kills are not provoked here (no safe way on this host: docs/alerts.md, oom-kill);
# tests/bpf/test_oom.c runs the OOM program on a real task.
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
 "policies": "$T_TMP/policies.json", "access_log": ""}
EOF
cat >"$T_TMP/policies.json" <<'EOF'
{"policies": [
 {"id": "res-quick", "priority": 1, "target": {"names": ["moat-test-res-quick"]},
  "resources": {"cpu_sustain_seconds": 3}},
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

moat clear >/dev/null 2>&1
docker_run_test res-burn -- sleep 3600 || { t_fail "containers start" "docker run"; t_done; }
docker_run_test res-quick -- sleep 3600
docker_run_test res-mem --memory 200m -- sleep 3600
docker_run_test res-mem2 -- sleep 3600
docker_run_test res-pids -- sleep 3600
docker cp "$MEMHOG" moat-test-res-mem:/memhog >/dev/null
docker cp "$MEMHOG" moat-test-res-mem2:/memhog >/dev/null

if ! start_moat; then
	t_fail "moat run starts" "$(tail -n 5 "$T_TMP/run.log" | tr '\n' ' ')"
	t_done
fi
t_ok "moat run starts with a resources policy file"
t0=$(date +%s)
# The burn at the defaults: one busy loop, 35 s.
docker exec -d moat-test-res-burn timeout 35 sh -c 'while :; do :; done'
# The short burn: 8 s under a 3 s window.
docker exec -d moat-test-res-quick timeout 8 sh -c 'while :; do :; done'
docker exec -d moat-test-res-mem /memhog 185 600
docker exec -d moat-test-res-mem2 /memhog 150 600
docker exec -d moat-test-res-pids sh -c 'for i in $(seq 30); do sleep 600 & done; wait'

t_check "short burn, 3 s window (policy): cpu-sustained WARNING" \
	wait_for -t 12 has_alert cpu-sustained res-quick WARNING
a=$(alerts cpu-sustained res-quick WARNING | head -n 1)
t_check "cpu-sustained names the CPU and the window" \
	test "$(jq -r '.source + " " + .resource.kind + " " + .resource.state + " " +
		(.resource.sustain_seconds|tostring) + " " + ((.resource.value > 50)|tostring)' <<<"$a")" \
	= "stats cpu raised 3 true"
t_check "memory-high against Docker's --memory (fallback: procs)" \
	wait_for -t 10 has_alert memory-high res-mem WARNING
a=$(alerts memory-high res-mem WARNING | head -n 1)
t_check "memory-high: 185 MiB of 200 MiB, limit from docker, said unenforced" \
	test "$(jq -r '.resource.source + " " + .resource.limit_source + " " +
		((.resource.percent > 85 and .resource.percent < 100)|tostring) + " " +
		((.message|test("Docker limit.*does not enforce"))|tostring)' <<<"$a")" \
	= "procs docker true true"
t_check "memory-high from a policy's memory_bytes (150 MiB > 100 MiB)" \
	wait_for -t 10 has_alert memory-high res-mem2 WARNING
t_check "pids-high from a policy's pids_count (30 sleeps > 20)" \
	wait_for -t 10 has_alert pids-high res-pids WARNING
t_check "the burn at the defaults raises nothing before 30 s" \
	test "$(count_alerts cpu-sustained res-burn)" -eq 0 -o $(($(date +%s) - t0)) -ge 30

# moat status: which source each resource comes from.
src=$(echo '{"cmd":"status"}' | socat - "UNIX-CONNECT:$SOCK" 2>/dev/null |
	jq -r '.status.containers[] | select(.name=="moat-test-res-mem") | .resource_sources |
		.cpu + " " + .memory + " " + .memory_limit + " " + .pids + " " + .network')
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	want="cgroup cgroup cgroup cgroup veth"
else
	want="cgroup procs docker threads veth"
fi
t_check "status names the sources ($want)" test "$src" = "$want"

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
docker exec moat-test-res-mem2 sh -c 'kill $(pidof memhog)'
t_check "memory back down: memory-high cleared (INFO)" \
	wait_for -t 10 has_alert memory-high res-mem2 INFO

# The burn at the defaults: 80 % for 30 s.
t_check "35 s burn at the defaults: cpu-sustained WARNING" \
	wait_for -t 45 has_alert cpu-sustained res-burn WARNING
a=$(alerts cpu-sustained res-burn WARNING | head -n 1)
t_check "raised after 30 s of it, once" \
	test "$(jq -r '(.resource.for_seconds >= 30) and (.resource.threshold == 80)' <<<"$a") $(count_alerts cpu-sustained res-burn WARNING)" = "true 1"
echo "# burn -> alert after $(($(date +%s) - t0)) s"
t_check "no alert for the idle containers" \
	test -z "$(jq -c 'select(.rule=="cpu-sustained" and .container.name=="moat-test-res-mem")' "$ALERTS")"
t_check "SIGTERM exits 0" stop_moat
t_done
