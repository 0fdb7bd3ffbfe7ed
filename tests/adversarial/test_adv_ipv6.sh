#!/bin/bash
# test_adv_ipv6.sh - IPv6 neighbour discovery cannot make a container the man in the middle
# (issue #8). NDP is IPv6's ARP: a container with CAP_NET_RAW can advertise the gateway's
# address at its own MAC, or announce itself as a router, and Docker's IPv6 bridge passes it.
#   monitor (--report-only): both attacks work (the control);
#   enforce (moat run's default): the attacker's veth guard drops them (spoofed-traffic), and
#   IPv6 between the containers and to the gateway still works;
#   an unguarded attacker (its guard taken off, as for a container of another runtime): the
#   victim's inbound guard drops them (arp-spoof-target).
# The network is this test's own ULA subnet; with "ip-forward": false nothing is routed off
# the machine (checked).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

NET=moat-adv6
GW6=fd6d:6f61:7400:2::1
fwd0=$(sysctl -n net.ipv6.conf.all.forwarding)
docker rm -f -v moat-test-a6 moat-test-v6 >/dev/null 2>&1
docker network rm "$NET" >/dev/null 2>&1
t_on_exit "docker rm -f -v moat-test-a6 moat-test-v6 >/dev/null 2>&1; docker network rm '$NET' >/dev/null 2>&1"
t_check "an IPv6 test network" docker network create --ipv6 --subnet 172.30.2.0/24 \
	--subnet fd6d:6f61:7400:2::/64 -o com.docker.network.bridge.name=moatadv6 "$NET"
adv_container a6 --network "$NET" -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container v6 --network "$NET" -- sleep 600
t_check "IPv6 forwarding stays as it was ($fwd0)" \
	test "$(sysctl -n net.ipv6.conf.all.forwarding)" = "$fwd0"

net6() { docker inspect -f "{{(index .NetworkSettings.Networks \"$NET\").$2}}" "moat-test-$1"; }
A6=$(net6 a6 GlobalIPv6Address)
V6=$(net6 v6 GlobalIPv6Address)
AMAC=$(net6 a6 MacAddress)
VMAC=$(net6 v6 MacAddress)
BRMAC=$(cat /sys/class/net/moatadv6/address)
t_check "the containers have IPv6 addresses ($A6, $V6)" test -n "$A6" -a -n "$V6"
t_check "the attacker has CAP_NET_RAW (Docker's default)" has_net_raw a6
docker exec -d moat-test-v6 /netprobe listen :: 8080
docker exec -d moat-test-a6 /netprobe listen :: 8080

# The victim's view: the MAC it sends the gateway's IPv6 traffic to, and routers it learnt.
gw_mac6() {
	docker exec moat-test-v6 ip -6 neigh show | awk -v ip="$GW6" '$1 == ip {print $5}'
}
ra_routes() { docker exec moat-test-v6 ip -6 route | grep -c 'via fe80' || true; }
# Back to a clean victim: it knows the real gateway, and no router it learnt.
reset_victim() {
	local pid
	pid=$(container_pid v6) || return 1
	nsenter -t "$pid" -n ip -6 neigh flush dev eth0
	nsenter -t "$pid" -n ip -6 route flush proto ra 2>/dev/null
	docker exec moat-test-v6 ping6 -c 1 -W 2 "$GW6" >/dev/null 2>&1
}
# The attacks: a neighbour advertisement "the gateway is at my MAC" to the victim, and a
# router advertisement to every node.
attack_na() { attack a6 ndp eth0 "$VMAC" "$V6" na "$GW6" "$@" >/dev/null; }
attack_ra() { attack a6 ndp eth0 33:33:00:00:00:01 ff02::1 ra - >/dev/null; }

# ---- monitor: the control ----
adv_start v6 --report-only
t_check "moat run --report-only" test -n "$ADV_PID"
reset_victim
t_check "the victim knows the real gateway ($(gw_mac6) = $BRMAC)" test "$(gw_mac6)" = "$BRMAC"
attack_na
t_check "monitor: a forged NA makes the victim send the gateway's IPv6 traffic to the attacker" \
	wait_for -t 2 sh -c "[ \"\$(docker exec moat-test-v6 ip -6 neigh show | awk '\$1 == \"$GW6\" {print \$5}')\" = '$AMAC' ]"
attack_ra
t_check "monitor: a forged router advertisement gives the victim a route via the attacker" \
	wait_for -t 2 sh -c "docker exec moat-test-v6 ip -6 route | grep -q 'via fe80'"
adv_stop

# ---- enforce: the attacker's own veth guard ----
reset_victim
adv_start v6
t_check "moat run (enforce, default allow)" test -n "$ADV_PID"
t_check "enforce: IPv6 to the gateway still works through the guard" \
	docker exec moat-test-v6 ping6 -c 1 -W 2 "$GW6"
t_check "enforce: IPv6 between the containers still works" \
	test "$(docker exec moat-test-v6 /netprobe connect "$A6" 8080 2>/dev/null)" = ok
t_check "enforce: and the other way" \
	test "$(docker exec moat-test-a6 /netprobe connect "$V6" 8080 2>/dev/null)" = ok
reset_victim
attack_na
sleep 0.5
t_check "enforce: the forged NA is dropped ($(gw_mac6) = $BRMAC)" test "$(gw_mac6)" = "$BRMAC"
t_check "enforce: and reported" \
	adv_alert '.rule=="spoofed-traffic" and .container.name=="moat-test-a6" and .network.reason=="ndp_spoof"'
attack_ra
sleep 0.5
t_check "enforce: the forged router advertisement is dropped (no route via the attacker)" \
	test "$(ra_routes)" = 0
attack_na - ext
sleep 0.5
t_check "enforce: an NA behind a destination options header is dropped too" \
	test "$(gw_mac6)" = "$BRMAC"
# The victim holds a wrong MAC for the attacker's address; the attacker's honest NA (its own
# address at its own MAC, override) corrects it.
nsenter -t "$(container_pid v6)" -n ip -6 neigh replace "$A6" lladdr 02:00:00:00:00:99 dev eth0 nud stale
attack a6 ndp eth0 "$VMAC" "$V6" na "$A6" >/dev/null
t_check "enforce: an honest NA (its own address, its own MAC) still goes" \
	wait_for -t 2 sh -c "docker exec moat-test-v6 ip -6 neigh show | grep -q '^$A6 .*$AMAC'"

# ---- an unguarded attacker: the victim's inbound guard ----
host_veth() {
	local n
	n=$(docker exec "moat-test-$1" cat /sys/class/net/eth0/iflink)
	ip -o link | awk -F': ' -v n="$n" '$1 == n {sub(/@.*/, "", $2); print $2}'
}
tc filter del dev "$(host_veth a6)" ingress pref 1 handle 0x6d6f bpf 2>/dev/null
reset_victim
attack_na
attack_na "$BRMAC" # even naming the bridge's MAC in the option, from the attacker's port
attack_ra
sleep 0.5
t_check "unguarded attacker: the NA claiming the gateway does not reach the victim ($(gw_mac6))" \
	test "$(gw_mac6)" = "$BRMAC"
t_check "unguarded attacker: nor its router advertisement" test "$(ra_routes)" = 0
t_check "and the victim is told (arp-spoof-target)" \
	adv_alert '.rule=="arp-spoof-target" and .container.name=="moat-test-v6" and .network.reason=="gateway_claim"'
t_check "the victim still reaches the gateway" docker exec moat-test-v6 ping6 -c 1 -W 2 "$GW6"
adv_stop
t_check "IPv6 forwarding is still as it was" \
	test "$(sysctl -n net.ipv6.conf.all.forwarding)" = "$fwd0"
t_done
