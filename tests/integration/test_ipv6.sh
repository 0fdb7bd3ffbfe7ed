#!/bin/bash
# test_ipv6.sh - domain rules over IPv6, end to end through Docker: an AAAA answer opens a
# container's IPv6 destination in the kernel before the answer reaches it, a denied name's
# AAAA opens nothing, and the TTL closes the door again.
#
# The test dockerd runs without IPv6 on its default bridge; this test makes its own
# user-defined network with a ULA subnet (fd6d:6f61:7400:1::/64). With "ip-forward": false
# in tools/testenv/daemon.json Docker leaves net.ipv6.conf.all.forwarding alone (checked
# below), so nothing on it can be routed off the machine. Each container is on both
# networks; being on a user-defined network gives it Docker's embedded DNS (127.0.0.11,
# DNAT'd inside its namespace to dockerd, which asks dnsmasq), the way compose projects run.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-v6
NET=moat-test-v6
GW=$(gw_addr)
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }

fwd0=$(sysctl -n net.ipv6.conf.all.forwarding)
moat clear >/dev/null 2>&1
docker network rm "$NET" >/dev/null 2>&1
t_on_exit "'$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_on_exit "docker rm -f -v moat-test-va moat-test-vb moat-test-vc >/dev/null 2>&1; docker network rm '$NET' >/dev/null 2>&1"
t_check "an IPv6 test network" docker network create --ipv6 --subnet 172.30.1.0/24 \
	--subnet fd6d:6f61:7400:1::/64 -o com.docker.network.bridge.name=moat6 "$NET"
t_check "IPv6 forwarding stays as it was ($fwd0)" \
	test "$(sysctl -n net.ipv6.conf.all.forwarding)" = "$fwd0"
for n in va vb vc; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker network connect "$NET" moat-test-$n
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
done
v6() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").GlobalIPv6Address}}" "moat-test-$1"; }
B6=$(v6 vb)
C6=$(v6 vc)
t_check "containers have IPv6 addresses ($B6, $C6)" test -n "$B6" -a -n "$C6"
docker exec -d moat-test-vb /netprobe listen :: 8080
docker exec -d moat-test-vc /netprobe listen :: 8080
dns_add v6ok.moat.test "$B6"
dns_add v6no.moat.test "$C6"
t_check "without moat, IPv6 between the containers works" \
	wait_for -t 5 sh -c "docker exec moat-test-va /netprobe connect '$B6' 8080 | grep -q ok"

t_check "moat attach" moat attach
t_check "domain allow v6ok.moat.test" moat domain allow v6ok.moat.test --id 61
t_check "domain deny v6no.moat.test" moat domain deny v6no.moat.test --id 62
moat rule allow 127.0.0.11/32 --cgroup moat-test-va # its resolver: Docker's embedded DNS
t_check "va: enforce, default deny, domains" moat mode moat-test-va enforce deny domains
out=$T_TMP/trace.json
"$MOATBIN" --pin-dir "$PIN" trace --json >"$out" 2>/dev/null &
trace_pid=$!
t_on_exit "kill $trace_pid 2>/dev/null"
sleep 0.5

va() { docker exec moat-test-va sh -c "$1" 2>/dev/null; }
t_check "IPv6, no lookup: EPERM" test "$(va "/netprobe connect $B6 8080")" = EPERM
t_check "IPv6: the AAAA of an allowed name opens it for the first connect" \
	test "$(va "nslookup -type=AAAA v6ok.moat.test >/dev/null && /netprobe connect $B6 8080")" = ok
t_check "IPv6: the AAAA of a denied name opens nothing" \
	test "$(va "nslookup -type=AAAA v6no.moat.test >/dev/null; /netprobe connect $C6 8080")" = EPERM
t_check "IPv6: 200 resolve->connect loops, no false denial" \
	va "i=0; while [ \$i -lt 200 ]; do nslookup -type=AAAA v6ok.moat.test >/dev/null && /netprobe connect $B6 8080 >/dev/null || exit 1; i=\$((i+1)); done"
sleep 0.5
kill -INT "$trace_pid"
wait "$trace_pid"
t_check "trace: the query to the embedded DNS is seen despite its NAT'd port" \
	some ".type==\"dns_query\" and .qname==\"v6ok.moat.test\" and .daddr==\"127.0.0.11\" and .dport==53 and any(.flags[]; .==\"nat\")" "$out"
t_check "trace: the AAAA answer carries the address" \
	some ".type==\"dns_answer\" and .qname==\"v6ok.moat.test\" and any(.answers[]; .addr==\"$B6\")" "$out"
t_check "trace: the allowed IPv6 connect names the domain rule" \
	some ".type==\"connect\" and .family==\"ipv6\" and .daddr==\"$B6\" and .verdict==\"allow\" and .scope==\"domain\" and .rule_id==61" "$out"
t_check "trace: the refused IPv6 connect names the deny rule" \
	some ".type==\"connect\" and .daddr==\"$C6\" and .verdict==\"deny\" and .scope==\"domain\" and .rule_id==62" "$out"
# The answers carry TTL 5 (dnsmasq's local-ttl via the embedded DNS): the address stays open
# for TTL + MOAT_LEARN_MIN_NS (10 s) after the last lookup.
sleep 16
t_check "IPv6: TTL expiry closes the door" test "$(va "/netprobe connect $B6 8080")" = EPERM

# moat run: answers through the embedded DNS match their queries, so they explain connects.
moat clear >/dev/null 2>&1
"$MOATBIN" --pin-dir "$PIN" run --report-only --skip-sync --state-dir "$T_TMP/state" \
	--alerts-file "$T_TMP/alerts.jsonl" --control-socket "$T_TMP/moat.sock" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null"
t_check "moat run is up" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"
t_check "vb: lookup through the embedded DNS, then connect" \
	test "$(docker exec moat-test-vb sh -c "nslookup -type=AAAA v6no.moat.test >/dev/null && /netprobe connect $C6 8080" 2>/dev/null)" = ok
t_check "vc: connect with no lookup" \
	test "$(docker exec moat-test-vc /netprobe connect "$B6" 8080 2>/dev/null)" = ok
t_check "the connect with no lookup raises direct-connection" \
	wait_for -t 5 some ".rule==\"direct-connection\" and .container.name==\"moat-test-vc\"" "$T_TMP/alerts.jsonl"
t_check "the looked-up one does not (the embedded DNS answer matched its query)" \
	none ".rule==\"direct-connection\" and .container.name==\"moat-test-vb\"" "$T_TMP/alerts.jsonl"
t_check "IPv6 forwarding is still as it was" \
	test "$(sysctl -n net.ipv6.conf.all.forwarding)" = "$fwd0"
t_done
