#!/bin/bash
# test_policy.sh - policies (container-guard seed): filters by name, image and
# label, priority order with first match, severity thresholds, and the
# actions stop and network_disconnect through real Docker, with action alerts
# carrying the trace id; a bad policies file keeps the policies in force.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-policy
POL=$T_TMP/policies.json
ALERTS=$T_TMP/alerts.jsonl
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test pci-1 -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
docker_run_test pu --label tier=untrusted -- sleep 600
docker_run_test pw -- sleep 600
docker_run_test psvc -- sleep 600
for n in pu psvc; do docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null; done
docker exec -d moat-test-psvc /netprobe listen 0.0.0.0 8080
SVC=$(container_ip psvc)
cat >"$POL" <<JSON
{"policies": [
  {"id": "watch-only", "priority": 30, "target": {"images": ["moat-test/*"]}, "actions": ["alert"]},
  {"id": "stop-ci", "priority": 10, "target": {"names": ["moat-test-pci-*"]},
   "severity_threshold": "CRITICAL", "actions": ["stop"]},
  {"id": "iso-net", "priority": 20, "target": {"labels": ["tier=untrusted"]},
   "severity_threshold": "WARNING", "actions": [{"network_disconnect": ["bridge"]}]}
]}
JSON
"$MOATBIN" --pin-dir "$PIN" run --policies "$POL" --state-dir "$T_TMP/state" --alerts-file "$ALERTS" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run loads 3 policies" wait_for -t 15 grep -q "3 policies" "$T_TMP/run.log"
t_check "status shows each container's policy (priority, first match)" bash -c \
	"'$MOATBIN' --pin-dir '$PIN' status | grep -q 'moat-test-pci-1' && '$MOATBIN' stats --json | jq -e '[.status.containers[] | {(.name): .policy}] | add | .\"moat-test-pci-1\" == \"stop-ci\" and .\"moat-test-pu\" == \"iso-net\" and .\"moat-test-pw\" == \"watch-only\"' >/dev/null"

state_of() { docker inspect -f '{{.State.Status}}' "moat-test-$1"; }
nets_of() { docker inspect -f '{{len .NetworkSettings.Networks}}' "moat-test-$1"; }
docker exec moat-test-pci-1 sh -c true
t_check "stop-ci: a shell (CRITICAL) stops the container" wait_for -t 20 bash -c "[ \"\$(docker inspect -f '{{.State.Status}}' moat-test-pci-1)\" = exited ]"
t_check "the stop is announced with the alert's trace id" \
	some '.rule=="action" and .action.action=="stop" and .action.result=="ok" and .container.name=="moat-test-pci-1"' "$ALERTS"
docker exec moat-test-pu /netprobe connect "$SVC" 8080 >/dev/null
t_check "iso-net: a direct connection (WARNING) disconnects the bridge" wait_for -t 10 bash -c "[ \"\$(docker inspect -f '{{len .NetworkSettings.Networks}}' moat-test-pu)\" = 0 ]"
t_check "the disconnect is an action alert" some '.rule=="action" and .action.action=="network_disconnect" and .container.name=="moat-test-pu"' "$ALERTS"
docker exec moat-test-pw sh -c true
t_check "watch-only: the shell is alerted" wait_for -t 5 some '.rule=="suspicious-exec" and .container.name=="moat-test-pw"' "$ALERTS"
sleep 1
t_check "watch-only: nothing is done to it" test "$(state_of pw)" = running
echo '{"policies": [{"id": "x", "actions": ["explode"]}]}' >"$POL.new"
mv "$POL.new" "$POL"
t_check "a bad policies file is refused with its line" wait_for -t 5 grep -q 'policies.json:1: policy 1: unknown action' "$T_TMP/run.log"
t_check "and the policies in force stay" bash -c "'$MOATBIN' stats --json | jq -e '.status.containers[] | select(.name==\"moat-test-pw\") | .policy == \"watch-only\"' >/dev/null"
t_done
