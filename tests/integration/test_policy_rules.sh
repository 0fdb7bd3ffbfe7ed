#!/bin/bash
# test_policy_rules.sh - a policy's own egress rule set ("egress_rules" in policies.json):
# containers its policy covers are bound by that rule set, the others by the global rules
# file, in the kernel at DNS-answer time; the policy's file reloads on change (moat rules
# --file), and a bad one keeps its rules in force.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-polrules
POL=$T_TMP/policies.json
GLOBAL=$T_TMP/rules.json
AGENTS=$T_TMP/agents-rules.json
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
for n in rs1 rs2; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	docker exec -d moat-test-$n /netprobe listen 0.0.0.0 8080
done
docker_run_test ragent --label role=agent -- sleep 600
docker_run_test rother -- sleep 600
for n in ragent rother; do docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null; done
S1=$(container_ip rs1)
S2=$(container_ip rs2)
dns_add pa.moat.test "$S1"
dns_add pb.moat.test "$S2"
t_check "the global rules allow pb.moat.test" "$MOATBIN" rules --file "$GLOBAL" allow pb.moat.test
t_check "the global rules default to deny" "$MOATBIN" rules --file "$GLOBAL" default deny
t_check "the agents' own rules allow pa.moat.test" "$MOATBIN" rules --file "$AGENTS" allow pa.moat.test
t_check "the agents' own rules default to deny" "$MOATBIN" rules --file "$AGENTS" default deny
cat >"$POL" <<JSON
{"policies": [
  {"id": "agents", "priority": 10, "target": {"labels": ["role=agent"]}, "egress": "enforce",
   "egress_rules": "$AGENTS", "actions": ["alert"]},
  {"id": "rest", "priority": 100, "egress": "enforce", "actions": ["alert"]}
]}
JSON
"$MOATBIN" --pin-dir "$PIN" run --policies "$POL" --egress-rules "$GLOBAL" --no-pause \
	--state-dir "$T_TMP/state" --alerts-file "$T_TMP/alerts.jsonl" --access-log "$T_TMP/access.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run loads the policy's rule set" \
	wait_for -t 15 grep -q "policy agents: .*agents-rules.json: 1 egress rule(s), default deny" "$T_TMP/run.log"
t_check "moat run is watching" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

try() { docker exec "moat-test-$1" sh -c "nslookup $2 >/dev/null; /netprobe connect $3 8080" 2>/dev/null; }
t_check "agent: its policy's allowed name opens its address" test "$(try ragent pa.moat.test "$S1")" = ok
t_check "agent: a name only the global rules allow stays shut" test "$(try ragent pb.moat.test "$S2")" = EPERM
t_check "other: the global rules' allowed name opens its address" test "$(try rother pb.moat.test "$S2")" = ok
t_check "other: the agents' name stays shut for it" test "$(try rother pa.moat.test "$S1")" = EPERM
t_check "access log: the agent's answer names its policy's rule" \
	some '.kind=="dns" and .container.name=="moat-test-ragent" and .domain=="pa.moat.test" and .verdict=="allow" and .rule=="pa.moat.test"' "$T_TMP/access.jsonl"
t_check "access log: the agent's refused name is its policy's default" \
	some '.kind=="dns" and .container.name=="moat-test-ragent" and .domain=="pb.moat.test" and .verdict=="deny" and .rule=="default deny"' "$T_TMP/access.jsonl"

t_check "moat rules --file on the policy's file" "$MOATBIN" rules --file "$AGENTS" allow pb.moat.test
t_check "the policy's file reloads on change" \
	wait_for -t 5 grep -q "policy agents: .*agents-rules.json: 2 egress rule(s)" "$T_TMP/run.log"
t_check "agent: after the reload pb.moat.test opens" test "$(try ragent pb.moat.test "$S2")" = ok
printf '{"rules": [{"kind": "allow-domain", "match": "a..b"}]}\n' >"$AGENTS.new"
mv "$AGENTS.new" "$AGENTS"
t_check "a bad policy rules file is refused with its line" \
	wait_for -t 5 grep -q "agents-rules.json:1: rule 1: a..b" "$T_TMP/run.log"
t_check "and the policy's rules in force stay" test "$(try ragent pa.moat.test "$S1")" = ok
t_done
