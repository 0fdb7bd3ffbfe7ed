#!/bin/bash
# test_adv_resolvers.sh - a container cannot widen its own egress through its resolv.conf
# (issue #8, item 3): the DNS servers it may reach come from Docker's configuration of it
# (docker run --dns, 127.0.0.11 on user-defined networks, the host's nameservers, moat's own
# `resolvers`), one address each and port 53 only; nothing it writes changes that.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

GW=$(gw_addr)
adv_container rc -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container rpeer -- sleep 600
PEER=$(container_ip rpeer)
adv_container rdns --dns "$PEER" -- sleep 600
docker exec -d moat-test-rpeer /netprobe listen 0.0.0.0 18300
adv_rules "$T_TMP/rules.json" 'allow-domain *.allowed.test'
adv_start rc --egress-enforce --egress-rules "$T_TMP/rules.json"
t_check "moat run --egress-enforce" test -n "$ADV_PID"
sendto() { docker exec "moat-test-$1" /netprobe sendto "$2" "$3" 2>/dev/null; }

t_check "its Docker DNS server (--dns $GW) is reachable on port 53" test "$(sendto rc "$GW" 53)" = ok
t_check "the same server on another port is not" test "$(sendto rc "$GW" 54)" = EPERM
t_check "the peer is not reachable" \
	test "$(docker exec moat-test-rc /netprobe connect "$PEER" 18300 2>/dev/null)" = EPERM
docker exec moat-test-rc sh -c "printf 'nameserver 0.0.0.0/0\nnameserver $PEER\nnameserver 0.0.0.0\n' >/etc/resolv.conf"
kill -HUP "$ADV_PID"
sleep 1
docker restart -t 1 moat-test-rc >/dev/null
docker cp "$PROBE_BIN" moat-test-rc:/netprobe >/dev/null 2>&1
t_check "after a rewrite of resolv.conf, a reload and a restart: the peer's port 53 stays shut" \
	wait_for -t 10 sh -c "[ \"\$(docker exec moat-test-rc /netprobe sendto $PEER 53 2>/dev/null)\" = EPERM ]"
t_check "and 0.0.0.0/0 opened nothing" \
	test "$(docker exec moat-test-rc /netprobe connect "$PEER" 18300 2>/dev/null)" = EPERM
t_check "its real resolver still works (allowed name)" \
	sh -c "docker exec moat-test-rc nslookup ok.allowed.test $GW | grep -q '$GW'"
t_check "docker run --dns PEER makes the peer that container's resolver (port 53)" \
	test "$(sendto rdns "$PEER" 53)" = ok
t_check "and only for it: port 53 of the peer stays shut to the other container" \
	test "$(sendto rc "$PEER" 53)" = EPERM
t_check "and only port 53" test "$(sendto rdns "$PEER" 18300)" = EPERM
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
