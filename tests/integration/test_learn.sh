#!/bin/bash
# test_learn.sh - learn mode end to end, step by step as docs/learn.md walks it: moat learn
# start for an image, a workload in two containers of it (lookups and connects to names of
# the test DNS zone, a few programs), moat learn status/show, moat learn stop, moat learn
# policy -> the policies file, enforced in the kernel: the workload runs again with zero
# denials; a new name is denied and alerted (new-domain), a new program is killed and
# alerted (new-exec), also one on no exec list (exec allow-only: exec-not-allowed); a direct
# connection to a new address is refused and alerted.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
RESOLVE=$MOAT_ROOT/build/helpers/resolve-glibc
PIN=/sys/fs/bpf/moat-test-learn
POL=$T_TMP/policies.json
RULES=$T_TMP/learned.rules.json
ALERTS=$T_TMP/alerts.jsonl
ACCESS=$T_TMP/access.jsonl
IMAGE=moat-test/learn:1
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
# An image of its own, so that only this test's containers are in its baseline.
docker tag "$MOAT_TEST_IMAGE" "$IMAGE" || { t_fail "docker tag" "$IMAGE"; t_done; }
t_on_exit "docker rmi '$IMAGE' >/dev/null 2>&1"
# Two servers (the test image, not learned) and the names of the test zone.
for n in lsrv1 lsrv2 lsrv3; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	docker exec -d moat-test-$n /netprobe listen 0.0.0.0 8080
done
S1=$(container_ip lsrv1)
S2=$(container_ip lsrv2)
S3=$(container_ip lsrv3)
dns_add la.moat.test "$S1"
dns_add lb.moat.test "$S2"
dns_add lc.moat.test "$S3"
# The workload: two lookups and connects by name, two programs of its own.
cat >"$T_TMP/workload.sh" <<EOF
#!/bin/sh
/resolve la.moat.test >/dev/null || exit 11
[ "\$(/netprobe connect $S1 8080)" = ok ] || exit 12
nslookup lb.moat.test >/dev/null || exit 13
[ "\$(/netprobe connect $S2 8080)" = ok ] || exit 14
exit 0
EOF
chmod +x "$T_TMP/workload.sh"
echo '{"policies": []}' >"$POL"

MOAT_TEST_IMAGE=$IMAGE
"$MOATBIN" --pin-dir "$PIN" run --policies "$POL" --no-pause \
	--state-dir "$T_TMP/state" --alerts-file "$ALERTS" --access-log "$ACCESS" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run is watching" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

# Step 1: learn.
t_check "moat learn start IMAGE" moat learn start "$IMAGE"
for n in lw1 lw2; do
	docker_run_test $n -- sleep 600 || { t_fail "workload containers start" "docker run"; t_done; }
	for f in "$PROBE:/netprobe" "$RESOLVE:/resolve" "$T_TMP/workload.sh:/workload.sh"; do
		docker cp "${f%%:*}" "moat-test-$n:${f#*:}" >/dev/null
	done
done
t_check "the workload runs while learning (container 1)" docker exec moat-test-lw1 /workload.sh
t_check "the workload runs while learning (container 2)" docker exec moat-test-lw2 /workload.sh
t_check "and again (a second run adds counts, not items)" docker exec moat-test-lw1 /workload.sh

# Step 2: what was learned.
show=$T_TMP/show.json
t_check "moat learn show IMAGE --json" sh -c "'$MOATBIN' learn show '$IMAGE' --json >'$show'"
has() { jq -e --arg k "$1" --arg v "$2" '[.items[] | select(.kind==$k and .key==$v)] | length == 1' "$show" >/dev/null; }
t_check "the baseline has la.moat.test (resolved)" has domain la.moat.test
t_check "the baseline has lb.moat.test (resolved)" has domain lb.moat.test
t_check "the baseline has the connect by name la.moat.test:8080/tcp" has connect la.moat.test:8080/tcp
t_check "the baseline has the connect by name lb.moat.test:8080/tcp" has connect lb.moat.test:8080/tcp
t_check "the baseline has the programs (/netprobe, /resolve, /workload.sh)" \
	sh -c "has() { jq -e --arg v \"\$1\" '[.items[] | select(.kind==\"exec\" and .key==\$v)] | length == 1' '$show' >/dev/null; }; has /netprobe && has /resolve && has /workload.sh"
t_check "the workload script's interpreter is recorded" \
	jq -e '[.items[] | select(.key=="/workload.sh" and (.interp // "" | endswith("sh")))] | length == 1' "$show"
t_check "the baseline merged both containers" jq -e '.containers == 2' "$show"
t_check "no direct-IP destination was learned" jq -e '[.items[] | select(.kind=="direct")] | length == 0' "$show"
t_check "moat learn status says learning, with 2 containers" \
	sh -c "'$MOATBIN' learn status | grep -E '^$IMAGE +learning +(stable|changing) .* +2 +[0-9]+ '"
t_check "moat learn show IMAGE (readable) lists the domains" \
	sh -c "'$MOATBIN' learn show '$IMAGE' | grep -q '^  la.moat.test '"

# Step 3: stop learning; the baseline is in force.
t_check "moat learn stop IMAGE" moat learn stop "$IMAGE"
t_check "moat learn status says in force" sh -c "'$MOATBIN' learn status | grep -E '^$IMAGE +in-force '"

# Step 4: the policy, checked by moat's own loaders, installed, enforced.
t_check "moat learn policy IMAGE --rules F > policies.json" \
	sh -c "'$MOATBIN' learn policy '$IMAGE' --rules '$RULES' >'$POL.new' 2>'$T_TMP/policy.err' && mv '$POL.new' '$POL'"
t_check "the policy enforces egress with the learned rule set" \
	jq -e --arg r "$RULES" '.policies[0].egress == "enforce" and .policies[0].egress_rules == $r and (.policies[0].actions | index("kill_exec"))' "$POL"
t_check "the policy's exec_allow has the programs run" \
	jq -e '.policies[0].exec_allow as $a | ["netprobe","resolve","workload.sh","sh"] | all(. as $x | $a | index($x))' "$POL"
t_check "the rule set allows exactly the learned names, default deny" \
	jq -e '.default == "deny" and ([.rules[].match] | sort) == ["la.moat.test","lb.moat.test"]' "$RULES"
t_check "moat learn diff: the baseline and the installed policy agree" \
	moat learn diff "$IMAGE" --policies "$POL"
kill -HUP "$run_pid"
t_check "moat run loads the generated policy and its rule set" \
	wait_for -t 15 grep -q "policy learned-moat-test-learn-1: .*learned.rules.json: 2 egress rule(s), default deny" "$T_TMP/run.log"
sleep 1
: >"$ACCESS.mark"
lines_before=$(wc -l <"$ACCESS")

# Step 5: the workload again, enforced: zero denials.
t_check "enforced: the workload runs again (container 1)" docker exec moat-test-lw1 /workload.sh
t_check "enforced: the workload runs again (container 2)" docker exec moat-test-lw2 /workload.sh
docker_run_test lw3 -- sleep 600
for f in "$PROBE:/netprobe" "$RESOLVE:/resolve" "$T_TMP/workload.sh:/workload.sh"; do
	docker cp "${f%%:*}" "moat-test-lw3:${f#*:}" >/dev/null
done
t_check "enforced: a new container of the image runs the workload" docker exec moat-test-lw3 /workload.sh
tail -n +"$((lines_before + 1))" "$ACCESS" >"$T_TMP/access.after"
t_check "enforced: the workload's decisions are in the access log" \
	some '.container.name=="moat-test-lw1" and .verdict=="allow"' "$T_TMP/access.after"
t_check "enforced: zero denials for the workload" none '.verdict=="deny"' "$T_TMP/access.after"

# Step 6: what the baseline never had.
t_check "a new name's address stays shut (EPERM)" \
	test "$(docker exec moat-test-lw1 sh -c "nslookup lc.moat.test >/dev/null; /netprobe connect $S3 8080" 2>/dev/null)" = EPERM
t_check "the new name is denied in the access log" \
	wait_for -t 5 some '.kind=="dns" and .container.name=="moat-test-lw1" and .domain=="lc.moat.test" and .verdict=="deny"' "$ACCESS"
t_check "a new-domain alert names it, with the baseline's age" \
	wait_for -t 5 some '.rule=="new-domain" and .container.name=="moat-test-lw1" and (.message|test("lc.moat.test")) and (.message|test("learned over"))' "$ALERTS"
docker exec moat-test-lw1 nc -w 1 "$S1" 8080 </dev/null >/dev/null 2>&1
rc=$?
t_check "a new program (nc) is killed in the kernel (exit 137)" test "$rc" = 137
t_check "a new-exec alert says it was killed" \
	wait_for -t 5 some '.rule=="new-exec" and .container.name=="moat-test-lw1" and (.message|test("nc")) and (.message|test("killed"))' "$ALERTS"
t_check "a shell, then a connection to a new address: refused" \
	test "$(docker exec moat-test-lw2 sh -c "/netprobe connect $S3 8080" 2>/dev/null)" = EPERM
t_check "and alerted CRITICAL as exec-then-egress" \
	wait_for -t 5 some ".rule==\"exec-then-egress\" and .severity==\"CRITICAL\" and .container.name==\"moat-test-lw2\" and (.message|test(\"$S3:8080/tcp\"))" "$ALERTS"
# A program on none of the configuration's exec lists: killed too (exec allow-only).
docker cp "$PROBE" moat-test-lw1:/newtool >/dev/null
docker exec moat-test-lw1 /newtool connect "$S1" 8080 >/dev/null 2>&1
rc=$?
t_check "a new binary on no exec list (/newtool) is killed in the kernel (exit 137)" test "$rc" = 137
t_check "alerted as exec-not-allowed, CRITICAL" \
	wait_for -t 5 some '.rule=="exec-not-allowed" and .severity=="CRITICAL" and .container.name=="moat-test-lw1" and .process.filename=="/newtool"' "$ALERTS"
t_check "and as new-exec, killed" \
	wait_for -t 5 some '.rule=="new-exec" and .container.name=="moat-test-lw1" and (.message|test("/newtool")) and (.message|test("killed"))' "$ALERTS"
t_check "a busybox applet the baseline never ran (uname) is killed" \
	sh -c "docker exec moat-test-lw1 uname >/dev/null 2>&1; test \$? = 137"
t_check "the learned programs still run" docker exec moat-test-lw2 /workload.sh
docker_run_test lw4 -- sleep 600
docker cp "$PROBE" moat-test-lw4:/netprobe >/dev/null
t_check "no shell, a direct connection to a new address: refused" \
	test "$(docker exec moat-test-lw4 /netprobe connect "$S3" 8080 2>/dev/null)" = EPERM
t_check "and alerted as new-destination" \
	wait_for -t 5 some ".rule==\"new-destination\" and .container.name==\"moat-test-lw4\" and (.message|test(\"$S3:8080/tcp\"))" "$ALERTS"

# The store survives moat run's restart.
kill "$run_pid"
wait "$run_pid" 2>/dev/null
t_check "the store was saved at exit" test -s "$T_TMP/state/baseline.json"
t_check "moat learn show reads the file when moat run is gone" \
	sh -c "'$MOATBIN' learn show '$IMAGE' --state-dir '$T_TMP/state' --json | jq -e '.containers == 2' >/dev/null"
t_done
