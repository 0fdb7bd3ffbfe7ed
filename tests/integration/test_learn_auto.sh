#!/bin/bash
# test_learn_auto.sh - the opt-in automatic switch (learn.auto_enforce, docs/learn.md): a policy
# with "egress": "learn" records its image's baseline; once the baseline is stable
# (learn.stable_seconds, 4 s here) moat run switches the policy to enforce with the generated
# rule set and exec_allow: the workload runs with zero denials, a new name is refused, a new
# program killed; the switch survives a restart of moat run; moat learn start IMAGE goes back.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-learnauto
POL=$T_TMP/policies.json
CFG=$T_TMP/moat.json
ALERTS=$T_TMP/alerts.jsonl
ACCESS=$T_TMP/access.jsonl
IMAGE=moat-test/learnauto:1
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker tag "$MOAT_TEST_IMAGE" "$IMAGE" || { t_fail "docker tag" "$IMAGE"; t_done; }
t_on_exit "docker rmi '$IMAGE' >/dev/null 2>&1"
for n in asrv1 asrv2; do
	docker_run_test $n -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
	docker cp "$PROBE" moat-test-$n:/netprobe >/dev/null
	docker exec -d moat-test-$n /netprobe listen 0.0.0.0 8080
done
S1=$(container_ip asrv1)
S2=$(container_ip asrv2)
dns_add aa.moat.test "$S1"
dns_add ab.moat.test "$S2"
echo '{"learn": {"stable_seconds": 4, "auto_enforce": true}}' >"$CFG"
cat >"$POL" <<JSON
{"policies": [{"id": "auto", "target": {"images": ["$IMAGE"]}, "egress": "learn",
  "actions": ["alert"]}]}
JSON
start_moat() {
	"$MOATBIN" --pin-dir "$PIN" run --config "$CFG" --policies "$POL" --no-pause \
		--state-dir "$T_TMP/state" --alerts-file "$ALERTS" --access-log "$ACCESS" \
		--control-socket "$MOAT_CONTROL_SOCKET" >>"$T_TMP/run.log" 2>&1 &
	run_pid=$!
}
start_moat
t_on_exit "kill \$run_pid 2>/dev/null; wait \$run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run is watching" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

MOAT_TEST_IMAGE=$IMAGE
docker_run_test aw1 -- sleep 600 || { t_fail "workload container starts" "docker run"; t_done; }
docker cp "$PROBE" moat-test-aw1:/netprobe >/dev/null
work() { docker exec moat-test-aw1 sh -c "nslookup aa.moat.test >/dev/null && /netprobe connect $S1 8080" 2>/dev/null; }
t_check "learning under the policy: the workload runs" test "$(work)" = ok
t_check "moat learn status: the image learns (its policy says learn)" \
	sh -c "'$MOATBIN' learn status | grep -E '^$IMAGE +(learning|in-force) '"
t_check "once stable, moat run switches the policy to enforce" \
	wait_for -t 30 grep -q "policy auto: the baseline of $IMAGE is stable: enforced (learn.auto_enforce)" "$T_TMP/run.log"
t_check "moat learn status says enforced" sh -c "'$MOATBIN' learn status | grep -E '^$IMAGE +enforced +stable '"
t_check "the generated rule set allows exactly aa.moat.test" \
	jq -e '.default == "deny" and ([.rules[].match]) == ["aa.moat.test"]' "$T_TMP/state/learned/learned-moat-test-learnauto-1.rules.json"
sleep 1
lines_before=$(wc -l <"$ACCESS" 2>/dev/null || echo 0)
t_check "enforced: the workload runs again" test "$(work)" = ok
tail -n +"$((lines_before + 1))" "$ACCESS" >"$T_TMP/access.after"
t_check "enforced: its decisions are allowed ones" \
	some '.container.name=="moat-test-aw1" and .verdict=="allow" and .domain=="aa.moat.test"' "$T_TMP/access.after"
t_check "enforced: zero denials for the workload" none '.verdict=="deny"' "$T_TMP/access.after"
t_check "enforced: a name never learned stays shut" \
	test "$(docker exec moat-test-aw1 sh -c "nslookup ab.moat.test >/dev/null; /netprobe connect $S2 8080" 2>/dev/null)" = EPERM
docker exec moat-test-aw1 nc -w 1 "$S1" 8080 </dev/null >/dev/null 2>&1
rc=$?
t_check "enforced: a program never run (nc) is killed (exit 137)" test "$rc" = 137

kill "$run_pid"
wait "$run_pid" 2>/dev/null
: >"$T_TMP/run.log"
start_moat
t_check "after a restart the switch stays (from the saved store)" \
	wait_for -t 15 grep -q "policy auto: the baseline of $IMAGE is stable: enforced" "$T_TMP/run.log"
t_check "moat run is watching again" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"
t_check "after the restart a name never learned stays shut" \
	test "$(docker exec moat-test-aw1 sh -c "nslookup ab.moat.test >/dev/null; /netprobe connect $S2 8080" 2>/dev/null)" = EPERM
t_check "moat learn start IMAGE: back to learning" "$MOATBIN" learn start "$IMAGE"
t_check "learning again: the other name opens (nothing enforced)" \
	test "$(docker exec moat-test-aw1 sh -c "nslookup ab.moat.test >/dev/null; /netprobe connect $S2 8080" 2>/dev/null)" = ok
t_done
