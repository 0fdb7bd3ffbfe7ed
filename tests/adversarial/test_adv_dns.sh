#!/bin/bash
# test_adv_dns.sh - forged DNS answers never open an address (issue #8, item 1).
#
# A container under egress enforcement (rules: *.allowed.test allowed, default deny) tries to
# make the kernel learn a denied peer's address as "ok.allowed.test" by answering its own
# query, every way Docker's default capabilities allow: a socket bound to 127.0.0.11:53 (its
# embedded DNS), IP_TRANSPARENT, a raw socket, a packet socket injecting on lo, and a frame
# reflected by the bridge (hairpin). Each time the forged answer must teach nothing, so the
# connect to the peer fails, and the attempt is reported. In monitor mode the same attacks
# work (the control: the attack tool is not broken, and monitor mode has no side effects).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

NET=moat-adv-dns
GW=$(gw_addr)
docker network rm "$NET" >/dev/null 2>&1
t_on_exit "docker rm -f -v moat-test-dnsu moat-test-dnsb moat-test-peer moat-test-peeru >/dev/null 2>&1; docker network rm '$NET' >/dev/null 2>&1"
t_check "a user-defined network (embedded DNS)" docker network create --subnet 172.30.7.0/24 \
	-o com.docker.network.bridge.name=moatadv7 "$NET"
adv_container dnsb -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container dnsu --network "$NET" -- sleep 600
adv_container peer -- sleep 600
adv_container peeru --network "$NET" -- sleep 600
docker exec -d moat-test-peer /netprobe listen 0.0.0.0 18100
docker exec -d moat-test-peeru /netprobe listen 0.0.0.0 18100
PEER=$(container_ip peer)
PEERU=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" moat-test-peeru)
t_check "the attacker has CAP_NET_RAW (Docker's default)" has_net_raw dnsb
t_check "hairpin mode is on for its bridge port (userland-proxy off): frames can come back" \
	sh -c "grep -l 1 /sys/class/net/veth*/brport/hairpin_mode >/dev/null"

# ---- control: monitor mode (moat run --report-only) never denies, so the forgery works ----
adv_start dns --report-only
t_check "moat run --report-only" test -n "$ADV_PID"
r=$(attack dnsu -f dns-forge bind 127.0.0.11 ok.allowed.test "$PEERU" 18100)
t_check "control (monitor): a forged 127.0.0.11 answer, then connect: works ($r)" test "$r" = "ok connected"
t_check "control (monitor): the forged answer arrived" grep -q "forged answer received" "$T_TMP/attack.err"
t_check "monitor mode: the answer sent from the container's own 127.0.0.11:53 is not trusted" \
	adv_alert '.rule=="dns-forged" and .container.name=="moat-test-dnsu"'
r=$(attack dnsb dns-forge packet-lo "$GW" ok.allowed.test "$PEER" 18100)
t_check "control (monitor): packet-socket injection on lo delivers ($r)" \
	grep -q "forged answer received" "$T_TMP/attack.err"
r=$(attack dnsb dns-forge hairpin "$GW" ok.allowed.test "$PEER" 18100)
t_check "control (monitor): a hairpin-reflected forged answer comes back ($r)" \
	grep -q "forged answer received" "$T_TMP/attack.err"
adv_stop

# ---- enforcement ----
adv_rules "$T_TMP/rules.json" 'allow-domain *.allowed.test'
# socket_tracepoint on: the packet-socket attack below is also reported when it is opened
# (in enforce mode "auto" leaves the tracepoint off; the forged answer is caught either way).
printf '{"socket_tracepoint": "on"}\n' >"$T_TMP/tp-on.json"
adv_start dns --egress-enforce --egress-rules "$T_TMP/rules.json" --config "$T_TMP/tp-on.json"
t_check "moat run --egress-enforce, rules: *.allowed.test" test -n "$ADV_PID"
conn_u() { docker exec moat-test-dnsu /netprobe connect "$PEERU" 18100 2>/dev/null; }
conn_b() { docker exec moat-test-dnsb /netprobe connect "$PEER" 18100 2>/dev/null; }
t_check "enforce: the peer is denied" test "$(conn_u)" = EPERM
t_check "enforce: a real lookup of an allowed name works through the embedded DNS" \
	sh -c "docker exec moat-test-dnsu nslookup ok.allowed.test | grep -q '$GW'"

r=$(attack dnsu -f dns-forge bind 127.0.0.11 ok.allowed.test "$PEERU" 18100)
t_check "bind 127.0.0.11:53 and answer: refused ($r)" test "$r" = EPERM
t_check "bind 127.0.0.11:53: the bind itself was refused" grep -q "bind" "$T_TMP/attack.err"
t_check "bind 127.0.0.11:53: alert socket-refused" \
	adv_alert '.rule=="socket-refused" and .container.name=="moat-test-dnsu" and (.message|test("port 53"))'
r=$(attack dnsu -f dns-forge bind 127.0.0.1 ok.allowed.test "$PEERU" 18100)
t_check "bind 127.0.0.1:53 and answer: refused ($r)" test "$r" = EPERM
r=$(attack dnsu -f dns-forge transparent 127.0.0.11 ok.allowed.test "$PEERU" 18100)
t_check "IP_TRANSPARENT bind of the resolver's address: refused ($r)" test "$r" = EPERM
r=$(attack dnsu -f dns-forge raw 127.0.0.11 ok.allowed.test "$PEERU" 18100)
t_check "raw socket forging 127.0.0.11: refused ($r)" test "$r" = EPERM
t_check "raw socket: alert socket-refused names the raw socket" \
	adv_alert '.rule=="socket-refused" and .container.name=="moat-test-dnsu" and (.message|test("raw"))'
r=$(attack dnsb dns-forge raw "$GW" ok.allowed.test "$PEER" 18100)
t_check "raw socket forging the bridge resolver: refused ($r)" test "$r" = EPERM

# A packet socket on lo: the forged answer reaches the resolver socket, but it came in on lo
# from a non-loopback address, which no resolver does: untrusted, nothing learned.
r=$(attack dnsb dns-forge packet-lo "$GW" ok.allowed.test "$PEER" 18100)
t_check "packet socket injecting on lo: the forged answer arrives but connect fails ($r)" \
	test "$r" = EPERM
t_check "packet socket on lo: the answer did reach the socket (a real test)" \
	grep -q "forged answer received" "$T_TMP/attack.err"
t_check "packet socket on lo: alert dns-forged, CRITICAL" \
	adv_alert '.rule=="dns-forged" and .severity=="CRITICAL" and .container.name=="moat-test-dnsb"'
t_check "packet socket on lo: alert packet-socket opened" \
	adv_alert '.rule=="raw-socket" and .container.name=="moat-test-dnsb" and (.message|test("packet"))'

# Hairpin: a frame from "the resolver" sent out of eth0 to the container's own MAC comes back
# through the bridge on eth0. The veth guard drops it on the way out: its source is forged.
r=$(attack dnsb dns-forge hairpin "$GW" ok.allowed.test "$PEER" 18100)
t_check "hairpin reflection of a forged answer: connect fails ($r)" test "$r" = EPERM
t_check "hairpin: the forged frame never came back" \
	grep -q "forged answer not received" "$T_TMP/attack.err"
t_check "hairpin: alert spoofed-traffic, CRITICAL" \
	adv_alert '.rule=="spoofed-traffic" and .severity=="CRITICAL" and .container.name=="moat-test-dnsb"'

# An answer nobody asked for (the forged one arrives first, no query) is not verified either.
r=$(attack dnsb -n dns-forge packet-lo "$GW" ok.allowed.test "$PEER" 18100)
t_check "an unsolicited answer teaches nothing ($r)" test "$r" = EPERM

t_check "after every attempt the peer is still denied (dnsu)" test "$(conn_u)" = EPERM
t_check "after every attempt the peer is still denied (dnsb)" test "$(conn_b)" = EPERM
start_listener 18101 tcp
t_check "the container's own traffic still flows: lookup of an allowed name, then connect" \
	sh -c "docker exec moat-test-dnsb sh -c 'nslookup ok.allowed.test >/dev/null; /netprobe connect $GW 18101' | grep -q ok"
t_check "moat run kept running" kill -0 "$ADV_PID"
n=$(adv_status '.untrusted_dns_answers')
t_check "status counts the untrusted answers ($n)" test "${n:-0}" -ge 1
t_done
