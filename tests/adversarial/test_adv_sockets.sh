#!/bin/bash
# test_adv_sockets.sh - socket kinds that skip connect()/sendmsg() never reach a denied peer
# (issue #8, item 2): raw IP, ping, UDP-Lite, MPTCP and SCTP sockets, and packet sockets
# (with and without PACKET_QDISC_BYPASS, SOCK_RAW and SOCK_DGRAM), plus spoofed frames and
# ARP. The denied peer is the gateway's UDP port 18200 (a listener logs every datagram).
#   monitor (--report-only): every attack gets through (control; no side effects);
#   egress enforce (default deny): refused at socket() or dropped (backstop, veth guard);
#   enforce with default allow and a blacklist holding the peer: raw and ping sockets still
#   work for allowed peers, and nothing reaches the blacklisted one.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

GW=$(gw_addr)
GWMAC=$(cat /sys/class/net/docker0/address)
PORT=18200
LOG=$T_TMP/udp-$PORT.log
adv_container sk -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container nb -- sleep 600
adv_container nbm -- sleep 600
NB=$(container_ip nb)
SK=$(container_ip sk)
start_listener $PORT udp
t_check "the attacker has CAP_NET_RAW (Docker's default)" has_net_raw sk
# The neighbours know the gateway (ARP only overwrites an entry that exists).
docker exec moat-test-nb ping -c 1 -W 2 "$GW" >/dev/null 2>&1
docker exec moat-test-nbm ping -c 1 -W 2 "$GW" >/dev/null 2>&1
arp_gw() { docker exec "moat-test-${1:-nb}" cat /proc/net/arp | awk -v ip="$GW" '$1==ip {print $4}'; }
SKMAC=$(docker inspect -f '{{.NetworkSettings.MacAddress}}' moat-test-sk)
got() { wait_for -t 2 grep -q "$1" "$LOG"; }
tp_attached() { moat_adv status | grep -q '^handle_socket_tp'; }
tp_detached() { ! tp_attached; }
never() { sleep 1; ! grep -q "$1" "$LOG"; }

# Every attack, tagged with its own payload. $1: the mode's letter.
run_attacks() {
	R_RAW=$(attack sk raw-udp auto "$GW" $PORT "raw-$1")
	R_PING=$(attack sk -t 1 ping "$GW")
	R_RICMP=$(attack sk -t 1 raw-icmp "$GW")
	R_LITE=$(attack sk udplite "$GW" $PORT "lite-$1")
	R_LITEC=$(attack sk udplite "$GW" $PORT "litec-$1" connect)
	R_MPTCP=$(attack sk -t 1 mptcp "$GW" $PORT "mptcp-$1")
	R_SCTP=$(attack sk -t 1 sctp "$GW" $PORT)
	R_PKT=$(attack sk packet eth0 "$GWMAC" auto "$GW" $PORT "pkt-$1")
	R_PKTB=$(attack sk packet eth0 "$GWMAC" auto "$GW" $PORT "pktb-$1" bypass)
	R_PKTD=$(attack sk packet-dgram eth0 "$GWMAC" auto "$GW" $PORT "pktd-$1")
	R_SPOOF=$(attack sk packet eth0 "$GWMAC" "$NB" "$GW" $PORT "spoof-$1")
}

# ---- monitor: the control ----
adv_start sk --report-only
t_check "moat run --report-only" test -n "$ADV_PID"
t_check "monitor: the socket() tracepoint is attached (socket_tracepoint auto)" \
	tp_attached
run_attacks m
t_check "monitor: raw UDP arrives ($R_RAW)" got raw-m
t_check "monitor: ping answered ($R_PING)" test "$R_PING" = "ok reply"
t_check "monitor: UDP-Lite sent ($R_LITE, $R_LITEC)" test "${R_LITE%% *}" = ok -a "${R_LITEC%% *}" = ok
t_check "monitor: a packet-socket frame arrives ($R_PKT)" got pkt-m
t_check "monitor: with PACKET_QDISC_BYPASS too ($R_PKTB)" got pktb-m
t_check "monitor: SOCK_DGRAM packet socket too ($R_PKTD)" got pktd-m
t_check "monitor: even a spoofed source ($R_SPOOF)" got spoof-m
t_check "monitor: the raw socket is reported" \
	adv_alert '.rule=="raw-socket" and .container.name=="moat-test-sk" and (.message|test("raw"))'
t_check "monitor: the packet socket is reported" \
	adv_alert '.rule=="raw-socket" and .container.name=="moat-test-sk" and (.message|test("packet"))'
attack sk arp eth0 "$(docker inspect -f '{{.NetworkSettings.MacAddress}}' moat-test-nbm)" "$GW" >/dev/null
t_check "monitor: ARP spoofing makes the neighbour send the gateway's traffic to the attacker" \
	wait_for -t 2 sh -c "[ \"\$(docker exec moat-test-nbm cat /proc/net/arp | awk '\$1==\"$GW\" {print \$4}')\" = '$SKMAC' ]"
adv_stop

# ---- egress enforce, default deny ----
adv_rules "$T_TMP/rules.json" 'allow-domain *.allowed.test'
adv_start sk --egress-enforce --egress-rules "$T_TMP/rules.json"
t_check "moat run --egress-enforce" test -n "$ADV_PID"
run_attacks e
t_check "enforce: raw socket refused ($R_RAW)" test "$R_RAW" = EPERM
t_check "enforce: raw ICMP refused ($R_RICMP)" test "$R_RICMP" = EPERM
t_check "enforce: ping to a denied peer dropped ($R_PING)" test "$R_PING" = EPERM
t_check "enforce: UDP-Lite refused ($R_LITE)" test "$R_LITE" = EPERM
t_check "enforce: connected UDP-Lite refused ($R_LITEC)" test "$R_LITEC" = EPERM
t_check "enforce: MPTCP refused ($R_MPTCP)" test "$R_MPTCP" = EPERM
t_check "enforce: SCTP is not in this kernel or refused ($R_SCTP)" \
	sh -c "[ '$R_SCTP' = EPERM ] || echo '$R_SCTP' | grep -q 'not supported'"
t_check "enforce: no raw or UDP-Lite datagram arrived" never "raw-e\|lite-e\|litec-e"
t_check "enforce: the packet-socket frame was dropped on the veth ($R_PKT)" never pkt-e
t_check "enforce: with PACKET_QDISC_BYPASS too ($R_PKTB)" never pktb-e
t_check "enforce: SOCK_DGRAM packet socket too ($R_PKTD)" never pktd-e
t_check "enforce: the spoofed frame was dropped ($R_SPOOF)" never spoof-e
t_check "enforce: socket-refused alerts name each kind" \
	adv_alert '.rule=="socket-refused" and (.message|test("raw"))'
t_check "enforce: UDP-Lite's refusal is reported" \
	adv_alert '.rule=="socket-refused" and (.process.protocol==136)'
t_check "enforce: the dropped frame is reported: packet-dropped at the veth" \
	adv_alert '.rule=="packet-dropped" and .network.where=="veth" and .network.daddr=="'"$GW"'"'
t_check "enforce: the dropped ping is reported: packet-dropped at the socket" \
	adv_alert '.rule=="packet-dropped" and .network.where=="socket" and .network.protocol=="icmp"'
t_check "enforce: the spoofed frame raises spoofed-traffic (CRITICAL)" \
	adv_alert '.rule=="spoofed-traffic" and .severity=="CRITICAL" and .network.saddr=="'"$NB"'"'
mac0=$(arp_gw)
attack sk arp eth0 "$(docker inspect -f '{{.NetworkSettings.MacAddress}}' moat-test-nb)" "$GW" >/dev/null
sleep 0.5
t_check "enforce: ARP spoofing of the gateway towards a neighbour is dropped ($mac0 = $(arp_gw))" \
	test "$(arp_gw)" = "$mac0"
t_check "enforce: and reported" adv_alert '.rule=="spoofed-traffic" and .network.reason=="arp_spoof"'
# The inbound guard: a neighbour moat does not guard (simulated: the attacker's veth guard is
# taken off, as for a container of another runtime on the same bridge) claims the gateway
# towards an enforced container: the claim is dropped on its way in.
host_veth() {
	local n
	n=$(docker exec "moat-test-$1" cat /sys/class/net/eth0/iflink)
	ip -o link | awk -F': ' -v n="$n" '$1 == n {sub(/@.*/, "", $2); print $2}'
}
VSK=$(host_veth sk)
tc filter del dev "$VSK" ingress pref 1 handle 0x6d6f bpf 2>/dev/null
mac1=$(arp_gw)
attack sk arp eth0 "$(docker inspect -f '{{.NetworkSettings.MacAddress}}' moat-test-nb)" "$GW" >/dev/null
sleep 0.5
t_check "an unguarded neighbour's gateway claim does not reach an enforced container ($mac1 = $(arp_gw))" \
	test "$(arp_gw)" = "$mac1"
t_check "and is reported to the victim (arp-spoof-target)" \
	adv_alert '.rule=="arp-spoof-target" and .container.name=="moat-test-nb"'
t_check "enforce: a real UDP sendto to the peer is refused as before" \
	test "$(docker exec moat-test-sk /netprobe sendto "$GW" $PORT)" = EPERM
t_check "enforce: the container still resolves allowed names" \
	sh -c "docker exec moat-test-sk nslookup ok.allowed.test | grep -q '$GW'"
adv_stop

# ---- monitor with spoof_guard "all": anti-spoofing only ----
printf '{"spoof_guard": "all"}\n' >"$T_TMP/sg.json"
adv_start sk --report-only --config "$T_TMP/sg.json"
t_check "moat run --report-only, spoof_guard all" test -n "$ADV_PID"
R_SPOOF=$(attack sk packet eth0 "$GWMAC" "$NB" "$GW" $PORT "spoof-g")
R_PKT=$(attack sk packet eth0 "$GWMAC" auto "$GW" $PORT "pkt-g")
t_check "spoof_guard all: a monitored container's spoofed frame is dropped" never spoof-g
t_check "spoof_guard all: its honest frames still go (monitor mode)" got pkt-g
adv_stop

# ---- enforce with default allow: a blacklist holds the peer ----
echo "$GW/32" >"$T_TMP/black.txt"
adv_start sk --blacklist "$T_TMP/black.txt"
t_check "moat run (defaults) with the peer blacklisted" test -n "$ADV_PID"
run_attacks b
t_check "blacklist: raw UDP to the blacklisted peer dropped by the backstop ($R_RAW)" \
	test "$R_RAW" = EPERM
t_check "blacklist: ping to it dropped ($R_PING)" test "$R_PING" = EPERM
t_check "blacklist: nothing arrived by a raw, UDP-Lite or packet socket" \
	never "raw-b\|lite-b\|pkt-b\|pktb-b\|pktd-b"
t_check "blacklist: raw sockets still work for allowed peers (ping the neighbour)" \
	test "$(attack sk -t 2 raw-icmp "$NB")" = "ok reply"
t_check "blacklist: ping sockets too" test "$(attack sk -t 2 ping "$NB")" = "ok reply"
t_check "blacklist: and packet sockets to allowed peers (ARP resolution works)" \
	sh -c "docker exec moat-test-sk ping -c 1 -W 2 $NB >/dev/null"
# The socket() tracepoint costs every syscall on the host; when containers are enforced (the
# veth guard judges every frame), "auto" leaves it off.
t_check "defaults: the socket() tracepoint is not attached (socket_tracepoint auto)" \
	tp_detached
t_check "moat run kept running" kill -0 "$ADV_PID"
adv_stop
printf '{"socket_tracepoint": "on"}\n' >"$T_TMP/tp.json"
adv_start sk --config "$T_TMP/tp.json"
t_check "socket_tracepoint on: attached" tp_attached
attack sk packet eth0 "$GWMAC" auto "$NB" $PORT "pkt-on" >/dev/null
t_check "socket_tracepoint on: a packet socket is reported in the default mode too" \
	adv_alert '.rule=="raw-socket" and .container.name=="moat-test-sk" and (.message|test("packet"))'
t_done
