#!/bin/bash
# test_web_api.sh - the dashboard's HTTP API (docs/api.md) served by a real `moat run
# --http`, with a real container: every endpoint answers a good request, and refuses bad
# input with the status docs/api.md gives (400 bad input, 404 unknown container/prompt/rule,
# 405 wrong method); a shell in the container shows up in /api/alerts, pause and resume
# through the API act on the real container, and a rule added through the API is in the
# file and in force in moat run.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PIN=/sys/fs/bpf/moat-test-webapi
RULES=$T_TMP/rules.json
PORT=${MOAT_TEST_HTTP_PORT:-19876}
API=http://127.0.0.1:$PORT
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test webapi -- sleep 600 || { t_fail "container starts" "docker run"; t_done; }
echo '{"default": "allow", "rules": []}' >"$RULES"
"$MOATBIN" --pin-dir "$PIN" run --no-pause --egress-rules "$RULES" --http "127.0.0.1:$PORT" \
	--access-log "$T_TMP/access.jsonl" --state-dir "$T_TMP/state" --alerts-file "$T_TMP/alerts.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
if ! wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"; then
	t_fail "moat run --http is up" "$(tail -n 3 "$T_TMP/run.log" | tr '\n' ' ')"
	t_done
fi
t_ok "moat run --http is up"
TOKEN_FILE=$T_TMP/web.token
t_check "the token is written next to the control socket, 0600" \
	bash -c "[ -s '$TOKEN_FILE' ] && [ \"\$(stat -c %a '$TOKEN_FILE')\" = 600 ]"
TOKEN=$(cat "$TOKEN_FILE" 2>/dev/null)
wait_for -t 5 curl -s -o /dev/null "$API/api/status"

# req METHOD PATH [BODY]: the body to $T_TMP/body, the status on stdout.
req() {
	local args=(-s -o "$T_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN")
	[ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	curl "${args[@]}" "$API$2"
}
# expect NAME STATUS JQ METHOD PATH [BODY]: the status, and the jq filter true on the body.
expect() {
	local name=$1 want=$2 filter=$3 got
	shift 3
	got=$(req "$@")
	if [ "$got" = "$want" ] && jq -e "$filter" "$T_TMP/body" >/dev/null 2>&1; then
		t_ok "$name"
	else
		t_fail "$name" "$* -> $got $(head -c 300 "$T_TMP/body")"
	fi
}
ERR='(.error | type) == "string" and (.error | length) > 10'

# ---- reads ------------------------------------------------------------------------------
expect "GET /api/status: mode and containers" 200 '.mode == "enforce" and (.containers | type) == "array"' GET /api/status
expect "GET /api/containers: the test container with its fields" 200 \
	'[.containers[] | select(.name == "moat-test-webapi") | ["id","image","state","policy","egress","kill_exec","paused_by_moat","learned","resources"] - keys] == [[]]' \
	GET /api/containers
expect "GET /api/egress: domains, containers, log" 200 '(.domains|type)=="array" and (.containers|type)=="array" and (.log|type)=="array"' GET /api/egress
expect "GET /api/registry?q=: entries" 200 '(.entries|type)=="array"' GET "/api/registry?q=moat.test"
expect "GET /api/policies: the built-in policy" 200 '(.policies|length) >= 1' GET /api/policies
expect "GET /api/prompts: none pending" 200 '.pending == []' GET /api/prompts
expect "GET /api/counters: one row per BPF program" 200 '(.programs|length) > 5 and ([.programs[] | select(.program == "exec")] | length) == 1' GET /api/counters
expect "GET /api/resources?container=&history=1" 200 '(.resources|type)=="array"' GET "/api/resources?container=moat-test-webapi&history=1"
expect "GET /api/resources?history=maybe is a 400" 400 "$ERR" GET "/api/resources?history=maybe"
expect "GET /api/nope is a 404" 404 "$ERR" GET /api/nope
expect "DELETE /api/rules is a 405" 405 "$ERR" DELETE /api/rules

# ---- alerts: a shell in the container ---------------------------------------------------
docker exec moat-test-webapi sh -c true
t_check "the shell's alert is in the alert log" wait_for -t 10 some '.rule=="suspicious-exec"' "$T_TMP/alerts.jsonl"
expect "GET /api/alerts: the shell alert, newest first" 200 \
	'[.alerts[] | select(.rule == "suspicious-exec" and .container.name == "moat-test-webapi")] | length >= 1' \
	GET "/api/alerts?container=moat-test-webapi"
expect "GET /api/alerts?severity=CRITICAL&rule=&limit=1: one alert and a cursor or null" 200 \
	'(.alerts|length) == 1 and .alerts[0].severity == "CRITICAL" and has("next")' \
	GET "/api/alerts?severity=CRITICAL&rule=suspicious-exec&limit=1"
expect "GET /api/alerts?since= in the future: none" 200 '.alerts == [] and .next == null' GET "/api/alerts?since=2099-01-01T00:00:00Z"
expect "GET /api/alerts?severity=LOUD is a 400" 400 "$ERR" GET "/api/alerts?severity=LOUD"
expect "GET /api/alerts?limit=5000 is a 400" 400 "$ERR" GET "/api/alerts?limit=5000"
expect "GET /api/alerts?cursor=garbage is a 400" 400 "$ERR" GET "/api/alerts?cursor=garbage"

# ---- rules ------------------------------------------------------------------------------
expect "POST /api/rules: deny a domain, its id" 200 '.id == 1 and .applied == true' POST /api/rules '{"verdict":"deny","match":"blocked.moat.test","comment":"from the API"}'
t_check "the rule is in the rules file" some '.match=="blocked.moat.test" and .kind=="deny-domain"' <(jq -c '.rules[]' "$RULES")
in_force() { echo '{"cmd":"rules"}' | socat - "UNIX-CONNECT:$MOAT_CONTROL_SOCKET" | jq -c '.rules[]'; }
t_check "and in force in moat run (control command rules)" some '.match=="blocked.moat.test"' <(in_force)
expect "GET /api/rules: lists it" 200 '.rules[0].match == "blocked.moat.test" and .default == "allow"' GET /api/rules
expect "POST /api/rules with an invalid domain is a 400" 400 "$ERR" POST /api/rules '{"verdict":"deny","match":"bad domain!"}'
expect "POST /api/rules with an invalid CIDR is a 400" 400 "$ERR" POST /api/rules '{"verdict":"deny","match":"10.0.0.0/40"}'
expect "POST /api/rules with verdict maybe is a 400" 400 "$ERR" POST /api/rules '{"verdict":"maybe","match":"a.moat.test"}'
expect "POST /api/rules without match is a 400" 400 "$ERR" POST /api/rules '{"verdict":"allow"}'
expect "POST /api/rules with a body that is not JSON is a 400" 400 "$ERR" POST /api/rules 'verdict=allow'
expect "POST /api/rules/default deny" 200 '.applied == true' POST /api/rules/default '{"default":"deny"}'
expect "POST /api/rules/default block is a 400" 400 "$ERR" POST /api/rules/default '{"default":"block"}'
expect "POST /api/rules/import (the seed's format)" 200 '.imported == 1' POST /api/rules/import '{"text":"{\"web.moat.test\": \"allow-domain\"}"}'
expect "POST /api/rules/import of no rules file is a 400" 400 "$ERR" POST /api/rules/import '{"text":"[1,2"}'
t_check "GET /api/rules/export: the file's text" bash -c "[ \"\$(curl -s -H 'Authorization: Bearer $TOKEN' $API/api/rules/export | jq -r '.default')\" = deny ]"
expect "POST /api/rules/remove by match" 200 '.applied == true' POST /api/rules/remove '{"rule":"blocked.moat.test"}'
expect "POST /api/rules/remove of no rule is a 404" 404 "$ERR" POST /api/rules/remove '{"rule":"blocked.moat.test"}'
t_check "the removed rule is gone from the file" none '.match=="blocked.moat.test"' <(jq -c '.rules[]' "$RULES")

# ---- prompts ----------------------------------------------------------------------------
expect "POST /api/prompts/decide of no prompt is a 404" 404 "$ERR" POST /api/prompts/decide '{"id":4242,"choice":"allow-once"}'
expect "POST /api/prompts/decide with an unknown choice is a 400" 400 "$ERR" POST /api/prompts/decide '{"id":1,"choice":"allow-forever"}'
expect "POST /api/prompts/decide with a string id is a 400" 400 "$ERR" POST /api/prompts/decide '{"id":"1","choice":"allow-once"}'

# ---- pause and resume the real container -----------------------------------------------
expect "POST /api/containers/pause: done" 200 '.action == "pause"' POST /api/containers/pause '{"container":"moat-test-webapi"}'
t_check "Docker says it is paused" bash -c "[ \"\$(docker inspect -f '{{.State.Status}}' moat-test-webapi)\" = paused ]"
expect "GET /api/containers: paused_by_moat" 200 '[.containers[] | select(.name == "moat-test-webapi") | .paused_by_moat] == [true]' GET /api/containers
expect "POST /api/containers/resume: done" 200 '.action == "unpause"' POST /api/containers/resume '{"container":"moat-test-webapi"}'
t_check "Docker says it runs again" bash -c "[ \"\$(docker inspect -f '{{.State.Status}}' moat-test-webapi)\" = running ]"
expect "POST /api/containers/pause of an unknown container is a 404" 404 "$ERR" POST /api/containers/pause '{"container":"no-such-container"}'
expect "POST /api/containers/pause without container is a 400" 400 "$ERR" POST /api/containers/pause '{}'

# ---- metrics ----------------------------------------------------------------------------
t_check "GET /metrics: text/plain; version=0.0.4" bash -c "curl -s -D - -o /dev/null -H 'Authorization: Bearer $TOKEN' $API/metrics | grep -qi '^content-type: text/plain; version=0.0.4'"
curl -s -H "Authorization: Bearer $TOKEN" "$API/metrics" >"$T_TMP/metrics.txt"
t_check "promtool check metrics accepts it" promtool check metrics <"$T_TMP/metrics.txt"
t_check "moat_events_total{program=\"exec\"} is above 0" awk '$1 == "moat_events_total{program=\"exec\"}" && $2 > 0 {f=1} END {exit !f}' "$T_TMP/metrics.txt"
t_check "moat_alerts_total counts the shell alert" grep -q '^moat_alerts_total{rule="suspicious-exec",severity="CRITICAL"} [1-9]' "$T_TMP/metrics.txt"
t_check "moat_actions_total counts the pause" grep -q '^moat_actions_total{kind="pause",result="ok"} 1$' "$T_TMP/metrics.txt"
t_done
