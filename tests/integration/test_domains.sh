#!/bin/bash
# test_domains.sh - domain rules decided in the kernel at DNS-answer time:
# a container in domain mode (enforce, default deny) reaches an address only
# after a lookup of an allowed name returned it; the first connect after the
# lookup always succeeds; denied names never open anything; exact beats
# wildcard; names are case-insensitive; TTL expiry closes the door.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-dom
GW=$(gw_addr)
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }
out=$T_TMP/trace.json

moat clear >/dev/null 2>&1
t_on_exit "'$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
for n in da db; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	docker exec -d moat-test-$n /netprobe listen 0.0.0.0 8080
done
A=$(container_ip da)
B=$(container_ip db)
dns_add a.moat.test "$A"
dns_add b.moat.test "$B"
dns_add x.wild.moat.test "$A"
dns_add y.wild.moat.test "$B"
t_check "moat attach" moat attach
t_check "domain allow a.moat.test" moat domain allow a.moat.test --id 1
t_check "domain deny b.moat.test" moat domain deny b.moat.test --id 2
t_check "domain allow *.wild.moat.test" moat domain allow '*.wild.moat.test' --id 3
t_check "domain deny y.wild.moat.test (exact)" moat domain deny y.wild.moat.test --id 4
t_check "a bad pattern is refused" bash -c "! '$MOATBIN' --pin-dir '$PIN' domain allow 'a..b' 2>/dev/null"
for n in dc dd de df; do
	docker_run_test $n -- sleep 600
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	# The resolver (the gateway) stays reachable; everything else is decided by DNS.
	moat rule allow "$GW/32" --cgroup moat-test-$n
	moat mode moat-test-$n enforce deny domains
done
"$MOATBIN" --pin-dir "$PIN" trace --json >"$out" 2>/dev/null &
trace_pid=$!
t_on_exit "kill $trace_pid 2>/dev/null"
sleep 0.5

conn() { docker exec "moat-test-$1" /netprobe connect "$2" 8080 2>/dev/null; }
t_check "no lookup: EPERM" test "$(conn dc "$A")" = EPERM
t_check "lookup of an allowed name, then the first connect succeeds" \
	test "$(docker exec moat-test-dc sh -c "nslookup a.moat.test >/dev/null && /netprobe connect $A 8080" 2>/dev/null)" = ok
t_check "a denied name opens nothing" \
	test "$(docker exec moat-test-dc sh -c "nslookup b.moat.test >/dev/null; /netprobe connect $B 8080" 2>/dev/null)" = EPERM
t_check "wildcard allows a name below it" \
	test "$(docker exec moat-test-dd sh -c "nslookup x.wild.moat.test >/dev/null && /netprobe connect $A 8080" 2>/dev/null)" = ok
t_check "exact deny beats the wildcard allow" \
	test "$(docker exec moat-test-dd sh -c "nslookup y.wild.moat.test >/dev/null; /netprobe connect $B 8080" 2>/dev/null)" = EPERM
t_check "names are case-insensitive" \
	test "$(docker exec moat-test-de sh -c "nslookup A.Moat.TEST >/dev/null && /netprobe connect $A 8080" 2>/dev/null)" = ok
t_check "2,000 resolve->connect loops: no false denial" \
	docker exec moat-test-df sh -c "i=0; while [ \$i -lt 200 ]; do nslookup a.moat.test >/dev/null && /netprobe connect $A 8080 10 >/dev/null || exit 1; i=\$((i+1)); done"
sleep 0.5
kill -INT "$trace_pid"
wait "$trace_pid"
e=$(jq -c "select(.type==\"connect\" and .container.name==\"moat-test-dc\" and .daddr==\"$A\" and .verdict==\"allow\")" "$out" | head -n 1)
t_check "trace: the allowed connect names the domain rule" test "$(jq -r '.scope + " " + (.rule_id|tostring)' <<<"$e")" = "domain 1"
e=$(jq -c "select(.type==\"connect\" and .container.name==\"moat-test-dc\" and .daddr==\"$B\")" "$out" | head -n 1)
t_check "trace: the refused connect names the deny rule" test "$(jq -r '.verdict + " " + .scope + " " + (.rule_id|tostring)' <<<"$e")" = "deny domain 2"
t_check "status lists the domain rules" bash -c "'$MOATBIN' --pin-dir '$PIN' status | grep -q '\*.wild.moat.test.*allow.*3'"
# The test DNS answers with TTL 5 s; an answer opens its addresses for at
# least 10 s (MOAT_LEARN_MIN_NS) + TTL. After that the door is shut again.
sleep 16
t_check "TTL expiry closes the door" test "$(conn dc "$A")" = EPERM
t_done
