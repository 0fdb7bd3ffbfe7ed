#!/bin/bash
# test_adv_misc.sh - the smaller holes of issue #8 (item 8), and two more:
#  - a wildcard deny holds for a name of 40+ labels (it used to stop at 16);
#  - a rules file that both allows and denies a name is refused, and moat run keeps the
#    rules in force;
#  - one DNS answer cannot open an address for long: its TTL is capped (dns_max_ttl_seconds);
#  - `null` where a policy or rules file wants a value never crashes moat run;
#  - a container's child cgroup is held to the container's rules and named as the container;
#  - a container is held to moat run's defaults from its first instruction (a blacklisted
#    address is refused before Docker even reports the start);
#  - container-supplied text (argv, comm, file names) reaches terminals escaped.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

GW=$(gw_addr)
start_listener 18500 tcp
adv_container mx -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
cat >"$T_TMP/rules.json" <<'EOF'
{"default": "deny", "rules": [
  {"kind": "allow-domain", "match": "*.allowed.test"},
  {"kind": "allow-domain", "match": "ttl.moat.test"},
  {"kind": "deny-domain", "match": "*.evil.test"},
  {"kind": "allow-domain", "match": "*"}
]}
EOF
echo '{"dns_max_ttl_seconds": 30}' >"$T_TMP/cfg.json"
echo "$GW/32" >"$T_TMP/black.txt"
adv_start misc --config "$T_TMP/cfg.json" --egress-enforce --egress-rules "$T_TMP/rules.json"
t_check "moat run --egress-enforce" test -n "$ADV_PID"
mx() { docker exec moat-test-mx sh -c "$1" 2>/dev/null; }

# ---- deep wildcard ----
deep=$(i=0; while [ $i -lt 42 ]; do printf 'l%d.' $i; i=$((i + 1)); done)evil.test
t_check "a name of 44 labels under *.evil.test resolves" sh -c "docker exec moat-test-mx nslookup $deep | grep -q '$GW'"
t_check "and the wildcard deny holds for it (not the * allow)" \
	test "$(mx "/netprobe connect $GW 18500")" = EPERM
t_check "a name under the allowed wildcard opens the same address (control)" \
	test "$(mx "nslookup ok.allowed.test >/dev/null; /netprobe connect $GW 18500")" = ok

# ---- TTL cap: ttl.moat.test answers with a TTL of 10 days ----
t_check "a ten-day TTL answer" sh -c "docker exec moat-test-mx nslookup ttl.moat.test | grep -q '$GW'"
until_s=$(bpftool -j map dump pinned "$ADV_PIN/learned_v4" 2>/dev/null |
	jq -r '[.[] | (.formatted.value.allow_until_ns // .value.allow_until_ns // 0)] | max // 0')
read -r up _ </proc/uptime
left=$((until_s / 1000000000 - ${up%%.*}))
t_check "opens the address for at most dns_max_ttl_seconds + 10 s ($left s left)" \
	test "$left" -le 41 -a "$left" -gt 0

# ---- conflicting rules, and null values, on reload ----
cp "$T_TMP/rules.json" "$T_TMP/rules.good"
cat >"$T_TMP/rules.json" <<'EOF'
{"default": "deny", "rules": [
  {"kind": "allow-domain", "match": "*.allowed.test"},
  {"kind": "deny-domain", "match": "*.Allowed.TEST."}
]}
EOF
t_check "a rules file that allows and denies one name is refused, file:line named" \
	wait_for -t 5 grep -q "rules.json:3: rule 2 (deny-domain \*.Allowed.TEST.) conflicts with rule 1" "$ADV_LOG"
t_check "and the rules in force stay (the allowed wildcard still works)" \
	test "$(mx "nslookup ok.allowed.test >/dev/null; /netprobe connect $GW 18500")" = ok
printf '{"default": null, "rules": [{"kind": null, "match": null}, null]}\n' >"$T_TMP/rules.json"
printf '{"policies": [{"id": "p", "egress": null, "actions": [null], "target": null}]}\n' \
	>"$T_TMP/none-policies.json"
kill -HUP "$ADV_PID"
sleep 2
t_check "null in the rules and policies files: moat run is still running" kill -0 "$ADV_PID"
t_check "and says what is wrong" grep -q "rules.json" "$ADV_LOG"
cp "$T_TMP/rules.good" "$T_TMP/rules.json"
printf '{"policies": []}\n' >"$T_TMP/none-policies.json"
adv_stop

# ---- child cgroups, and a container's first instruction ----
adv_start misc --blacklist "$T_TMP/black.txt"
t_check "moat run with the gateway blacklisted" test -n "$ADV_PID"
docker exec -d moat-test-mx sh -c 'while :; do if [ -f /tmp/go ]; then rm /tmp/go; /netprobe connect '"$GW"' 18500 >/tmp/out 2>&1; fi; sleep 0.2; done'
sleep 0.5
cg=$(container_cgroup_path mx)
loop=$(for p in $(cat "$cg/cgroup.procs"); do
	tr '\0' ' ' <"/proc/$p/cmdline" | grep -q 'tmp/go' && echo "$p"; done | head -n 1)
t_check "a child cgroup of the container holds one of its processes" \
	sh -c "mkdir -p '$cg/moat-sub' && echo $loop >'$cg/moat-sub/cgroup.procs'"
t_on_exit "for p in \$(cat '$cg/moat-sub/cgroup.procs' 2>/dev/null); do echo \$p >'$cg/cgroup.procs'; done; rmdir '$cg/moat-sub' 2>/dev/null"
docker exec moat-test-mx touch /tmp/go
t_check "from the child cgroup the blacklisted address is refused" \
	wait_for -t 5 sh -c "docker exec moat-test-mx cat /tmp/out 2>/dev/null | grep -q EPERM"
t_check "and the alert names the container" \
	adv_alert '.rule=="blacklisted-destination" and .container.name=="moat-test-mx"'
docker create --name moat-test-first --label moat.test=1 --dns "$GW" moat-test/busybox \
	/netprobe connect "$GW" 18500 >/dev/null 2>&1
t_on_exit "docker rm -f moat-test-first >/dev/null 2>&1"
docker cp "$PROBE_BIN" moat-test-first:/netprobe >/dev/null
docker start -a moat-test-first >"$T_TMP/first.out" 2>&1
t_check "a container whose first instruction connects to a blacklisted address is refused" \
	grep -q EPERM "$T_TMP/first.out"
adv_stop

# ---- escaping: moat trace shows container text escaped ----
"$MOATBIN" --pin-dir /sys/fs/bpf/moat-adv-trace trace >"$T_TMP/trace.txt" 2>/dev/null &
tp=$!
t_on_exit "kill $tp 2>/dev/null; '$MOATBIN' --pin-dir /sys/fs/bpf/moat-adv-trace clear >/dev/null 2>&1"
sleep 1
docker exec moat-test-mx sh -c 'cp /bin/busybox "/tmp/$(printf "x\033[2Jy")"; "/tmp/$(printf "x\033[2Jy")" true'
docker exec moat-test-mx /attack exec-argv0 "$(printf 'a\rb\033]0;pwned\007c')" /bin/true
sleep 1
kill -INT $tp
wait $tp 2>/dev/null
t_check "the trace saw the hostile file name" grep -q 'x\\x1b\[2Jy' "$T_TMP/trace.txt"
t_check "and the hostile argv[0]" grep -q 'a\\rb\\x1b\]0;pwned\\x07c' "$T_TMP/trace.txt"
t_check "not one raw escape, bell or carriage return reached the terminal" \
	sh -c "! grep -q \"\$(printf '[\033\007\r]')\" '$T_TMP/trace.txt'"
t_done
