#!/bin/bash
# test_egress.sh - `moat run` with an egress rules file: containers whose
# config says "egress": "enforce" reach only what allowed names resolve to,
# the rules file reloads on change (moat rules), others are unaffected.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-egress
RULES=$T_TMP/rules.json
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
for n in ea eb; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	docker exec -d moat-test-$n /netprobe listen 0.0.0.0 8080
done
A=$(container_ip ea)
B=$(container_ip eb)
dns_add ea.moat.test "$A"
dns_add eb.moat.test "$B"
for n in eg-agent other; do
	docker_run_test $n -- sleep 600
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
done
printf '{"github.com": "allow-domain", "eb.moat.test": "deny-domain", "https://x/y": "deny", "*": "deny"}\n' >"$T_TMP/seed.json"
t_check "seed rules imported" bash -c "'$MOATBIN' rules --file '$RULES' import '$T_TMP/seed.json' | grep -q '3 rule'"
t_check "allow rule added" "$MOATBIN" rules --file "$RULES" allow ea.moat.test
printf '{"containers": [{"match": "moat-test-eg-*", "egress": "enforce"}], "alert_dedup_seconds": 0}\n' >"$T_TMP/cfg.json"

"$MOATBIN" --pin-dir "$PIN" run --no-pause --config "$T_TMP/cfg.json" --egress-rules "$RULES" \
	--state-dir "$T_TMP/state" --alerts-file "$T_TMP/alerts.jsonl" --access-log "$T_TMP/access.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run is up with the rules" wait_for -t 15 grep -q "egress rule(s), default deny" "$T_TMP/run.log"
wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

ag() { docker exec moat-test-eg-agent sh -c "$1" 2>/dev/null; }
t_check "enforced: no lookup, no connect (EPERM)" test "$(ag "/netprobe connect $A 8080")" = EPERM
t_check "enforced: allowed name, then the first connect works" \
	test "$(ag "nslookup ea.moat.test >/dev/null && /netprobe connect $A 8080")" = ok
t_check "enforced: denied name opens nothing" \
	test "$(ag "nslookup eb.moat.test >/dev/null; /netprobe connect $B 8080")" = EPERM
t_check "not enforced: the other container connects without a lookup" \
	test "$(docker exec moat-test-other /netprobe connect "$B" 8080 2>/dev/null)" = ok
t_check "moat rules allow eb.moat.test" "$MOATBIN" rules --file "$RULES" allow eb.moat.test
t_check "the rules file reloads on change" wait_for -t 5 bash -c "[ \$(grep -c 'egress rule' '$T_TMP/run.log') -ge 2 ]"
sleep 0.5
t_check "after the reload the name opens its address" \
	test "$(ag "nslookup eb.moat.test >/dev/null && /netprobe connect $B 8080")" = ok
t_check "moat rules deny eb.moat.test" "$MOATBIN" rules --file "$RULES" deny eb.moat.test
t_check "the deny reloads and shuts the address eb.moat.test opened" \
	wait_for -t 5 grep -q "learned address(es) shut" "$T_TMP/run.log"
t_check "a connect to it without a new lookup is refused at once, not at the TTL" \
	test "$(ag "/netprobe connect $B 8080")" = EPERM
ACC=$T_TMP/access.jsonl
t_check "access log: the allowed DNS answer with its rule" some ".kind==\"dns\" and .domain==\"ea.moat.test\" and .verdict==\"allow\" and .rule==\"ea.moat.test\" and any(.addresses[]; . == \"$A\")" "$ACC"
t_check "access log: the denied name's answer" some ".kind==\"dns\" and .domain==\"eb.moat.test\" and .verdict==\"deny\"" "$ACC"
t_check "access log: the refused connect, default deny" some ".kind==\"connect\" and .address==\"$A\" and .verdict==\"deny\" and .container.name==\"moat-test-eg-agent\"" "$ACC"
t_check "access log: the allowed connect names its domain" some ".kind==\"connect\" and .address==\"$A\" and .verdict==\"allow\" and .domain==\"ea.moat.test\"" "$ACC"
t_check "access log: the other container is not logged" none '.container.name=="moat-test-other"' "$ACC"
t_check "moat stats: per-domain counts" bash -c "'$MOATBIN' stats | grep -E '^ea.moat.test +[1-9]'"
t_check "moat stats --json: totals" bash -c "'$MOATBIN' stats --json | jq -e '.totals.allowed > 0 and .totals.denied > 0' >/dev/null"
# Reload under load: a deny-ip rule stays while the file is rewritten 20
# times; a container not under egress rules (enforce mode, default allow)
# hammers the denied address the whole time. Nothing may get through.
t_check "deny-ip for the storm target" "$MOATBIN" rules --file "$RULES" deny "$B/32"
sleep 1
docker exec -d moat-test-other sh -c "i=0; while [ \$i -lt 400 ]; do /netprobe connect $B 8080 >>/tmp/storm 2>/dev/null; i=\$((i+1)); done; touch /tmp/storm.done"
for i in $(seq 20); do
	"$MOATBIN" rules --file "$RULES" allow "churn$i.moat.test" >/dev/null
	sleep 0.1
done
t_check "the storm finished" wait_for -t 60 docker exec moat-test-other test -f /tmp/storm.done
n_ok=$(docker exec moat-test-other grep -c '^ok' /tmp/storm)
n_eperm=$(docker exec moat-test-other grep -c '^EPERM' /tmp/storm)
t_check "20 reloads during 400 connects to a denied address: none got through ($n_eperm refused)" \
	test "$n_ok" -eq 0 -a "$n_eperm" -eq 400
printf '{"rules": [{"kind": "allow-domain", "match": "a..b"}]}\n' >"$RULES.new"
mv "$RULES.new" "$RULES"
t_check "a bad rules file is refused with its line" wait_for -t 5 grep -q "rules.json:1: rule 1: a..b" "$T_TMP/run.log"
t_check "and the rules in force stay" \
	test "$(ag "nslookup ea.moat.test >/dev/null && /netprobe connect $A 8080")" = ok
t_done
