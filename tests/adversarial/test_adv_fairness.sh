#!/bin/bash
# test_adv_fairness.sh - one container cannot exhaust what the others share (issue #8, item
# 7): the learned-address maps (each container learns at most its share; past it, only its
# own new answers go unlearned), the open prompts of interactive mode (at most 8 per
# container), the DNS queries waiting for answers (kept on each socket, so there is no shared
# table to fill), and the packet reports (rate-limited per container).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

GW=$(gw_addr)
adv_container fl -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container inn -- sleep 600
adv_container fp -- sleep 600
adv_container fe -- sleep 600
adv_container ip -- sleep 600
start_listener 18400 tcp
adv_rules "$T_TMP/rules.json" 'allow-domain *.flood.test' 'allow-domain *.allowed.test'
cat >"$T_TMP/cfg.json" <<'EOF'
{"learn_limit": 64, "prompt_timeout_seconds": 30, "event_rate_per_container": 2000,
 "containers": [{"match": "moat-test-fp", "egress": "interactive"},
                {"match": "moat-test-ip", "egress": "interactive"}]}
EOF
adv_start fair --config "$T_TMP/cfg.json" --egress-enforce --egress-rules "$T_TMP/rules.json"
t_check "moat run --egress-enforce, learn_limit 64" test -n "$ADV_PID"
learned_of() { adv_status ".containers[] | select(.name==\"moat-test-$1\") | .$2"; }
inn_connects() {
	docker exec moat-test-inn sh -c "nslookup ok.allowed.test >/dev/null; /netprobe connect $GW 18400" 2>/dev/null
}
t_check "the innocent container resolves and connects" test "$(inn_connects)" = ok

# 150 distinct addresses (10.77.x.y.flood.test answers 10.77.x.y), all allowed by the rules.
docker exec moat-test-fl sh -c 'i=0; while [ $i -lt 150 ]; do
	nslookup 10-77-$((i / 200))-$((i % 200 + 1)).flood.test >/dev/null 2>&1; i=$((i + 1)); done'
n=$(learned_of fl learned)
r=$(learned_of fl learn_refused)
t_check "the flooder holds at most its share ($n learned, limit 64)" test "${n:-999}" -le 64
t_check "the rest of its answers were refused and counted ($r)" test "${r:-0}" -ge 80
t_check "the innocent container still resolves and connects" test "$(inn_connects)" = ok
t_check "the flooder's own newest address is the one not learned (it pays, nobody else)" \
	test "$(docker exec moat-test-fl /netprobe connect 10.77.0.150 18400 2>/dev/null)" = EPERM

# Interactive mode: the flooder asks about 12 names; it gets 8 open prompts, and another
# container's question still gets one.
# (ask.test names answer with the address they spell, and no rule names them: held.)
docker exec -d moat-test-fp sh -c 'i=0; while [ $i -lt 12 ]; do
	(nslookup 10-78-9-$((i + 1)).ask.test >/dev/null 2>&1 &); i=$((i + 1)); done; sleep 30'
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock
per() { "$MOATBIN" prompt --list --json 2>/dev/null | jq "[.[] | select(.container==\"moat-test-$1\")] | length"; }
fp_capped() { n=$(per fp); [ "${n:-0}" -eq 8 ]; }
ip_asked() { n=$(per ip); [ "${n:-0}" -ge 1 ]; }
t_check "the flooder asked 12 questions and holds 8 prompts" wait_for -t 8 fp_capped
docker exec -d moat-test-ip sh -c 'nslookup 10-78-8-1.ask.test >/dev/null 2>&1'
t_check "another container's question still gets a prompt" wait_for -t 8 ip_asked
n=$(adv_status '.prompts_refused')
t_check "prompts refused to the flooder are counted ($n)" test "${n:-0}" -ge 1
# The ring buffer: a flood of allowed sends from one container is cut at its event budget
# (2,000 a second here); another container's shell is still seen, at once.
: >"$ADV_ALERTS"
docker exec -d moat-test-fe sh -c "nslookup ok.allowed.test >/dev/null 2>&1; /netprobe sendto $GW 18401 60000"
sleep 0.3
docker exec moat-test-inn sh -c true
t_check "during the flood, another container's shell is alerted" \
	adv_alert '.rule=="suspicious-exec" and .container.name=="moat-test-inn"' 3
t_check "the flooder's excess events are left out and reported (events-suppressed)" \
	adv_alert '.rule=="events-suppressed" and .container.name=="moat-test-fe"' 8
t_check "the kernel counts them" \
	sh -c "'$MOATBIN' --pin-dir '$ADV_PIN' status | awk '\$1==\"sendmsg4\" {exit !(\$6 > 1000)}'"
# Its answers may have been among the events left out: its direct connections are INFO
# (no pause, even with --strict), and say why.
docker exec moat-test-fe /netprobe connect "$(container_ip inn)" 18402 >/dev/null 2>&1
t_check "after its flood, the flooder's unexplained connection is INFO and says why" \
	adv_alert '.rule=="direct-connection" and .container.name=="moat-test-fe" and .severity=="INFO" and (.message|test("event budget"))'
t_check "and enforcement did not change: the flooder's denied peer is still denied" \
	test "$(docker exec moat-test-fl /netprobe connect 10.77.0.150 18400 2>/dev/null)" = EPERM
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
