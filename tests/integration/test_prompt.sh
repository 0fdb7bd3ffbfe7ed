#!/bin/bash
# test_prompt.sh - interactive egress: an answer for a name with no rule is
# held back in the kernel while moat asks; the test answers through the
# control socket (moat prompt --decide) and the container's own lookup, still
# retrying, then succeeds. "Always" choices land in the rules file; once
# choices do not; no decision in time means deny once.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PIN=/sys/fs/bpf/moat-test-prompt
RULES=$T_TMP/rules.json
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test ix -- sleep 600 || { t_fail "container starts" "docker run"; t_done; }
echo '{"default": "deny", "rules": []}' >"$RULES"
echo '{"containers": [{"match": "moat-test-ix", "egress": "interactive"}], "prompt_timeout_seconds": 4}' >"$T_TMP/cfg.json"
"$MOATBIN" --pin-dir "$PIN" run --no-pause --config "$T_TMP/cfg.json" --egress-rules "$RULES" \
	--access-log "$T_TMP/access.jsonl" --state-dir "$T_TMP/state" --alerts-file "$T_TMP/alerts.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run is up" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

pending() { "$MOATBIN" prompt --list | awk -v d="$1" '$4 == d {print $1}' | head -n 1; }
lookup_bg() { docker exec -d moat-test-ix sh -c "nslookup $1 >/tmp/$1.out 2>&1; echo \$? >/tmp/$1.rc"; }
rc_of() { docker exec moat-test-ix cat "/tmp/$1.rc" 2>/dev/null; }
rc_is() { [ "$(rc_of "$1")" = "$2" ]; }

# allow-domain: the held lookup completes once decided, and the rule is saved.
lookup_bg web.moat.test
t_check "the answer is held and a request is pending" wait_for -t 5 bash -c "[ -n \"\$('$MOATBIN' prompt --list | awk '\$4 == \"web.moat.test\"')\" ]"
t_check "still waiting while nobody decides" test -z "$(rc_of web.moat.test)"
id=$(pending web.moat.test)
t0=$(date +%s%N)
t_check "decide: always allow the domain" "$MOATBIN" prompt --decide "$id" allow-domain
t_check "the container's own retry then succeeds" wait_for -t 10 rc_is web.moat.test 0
t1=$(date +%s%N)
echo "# decision -> lookup done: $(((t1 - t0) / 1000000)) ms (busybox nslookup retries)"
t_check "the lookup got the address" docker exec moat-test-ix grep -q "$(gw_addr)" /tmp/web.moat.test.out
t_check "allow-domain is written to the rules file" some '.match=="web.moat.test" and .kind=="allow-domain"' <(jq -c '.rules[]' "$RULES")
t_check "a warning alert announced the request" some '.rule=="egress-prompt"' "$T_TMP/alerts.jsonl"

# allow-once: not saved.
lookup_bg dual.moat.test
t_check "second request pending" wait_for -t 5 bash -c "[ -n \"\$('$MOATBIN' prompt --list | awk '\$4 == \"dual.moat.test\"')\" ]"
t_check "decide: allow once" "$MOATBIN" prompt --decide "$(pending dual.moat.test)" allow-once
t_check "allow once lets the retry through" wait_for -t 10 rc_is dual.moat.test 0
t_check "allow once is not saved" none '.match=="dual.moat.test"' <(jq -c '.rules[]' "$RULES")

# No decision: deny once after prompt_timeout_seconds (4 s).
lookup_bg gw.moat.test
t_check "third request pending" wait_for -t 5 bash -c "[ -n \"\$('$MOATBIN' prompt --list | awk '\$4 == \"gw.moat.test\"')\" ]"
t_check "no decision in time: deny once, request gone" wait_for -t 10 bash -c "[ -z \"\$('$MOATBIN' prompt --list | awk '\$4 == \"gw.moat.test\"')\" ]"
t_check "the timeout is in the access log" some '.kind=="decision" and .domain=="gw.moat.test" and .rule=="deny-once"' "$T_TMP/access.jsonl"
t_check "a bad choice is refused" bash -c "! '$MOATBIN' prompt --decide 999 allow-forever 2>/dev/null"
t_done
