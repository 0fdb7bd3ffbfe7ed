#!/bin/bash
# test_web_server.sh - the dashboard's server inside `moat run` against a real container:
# the URL with the token in the log, the token file (0600, next to the control socket,
# removed at exit), the API through the real control socket, the live stream (civetweb's
# client, build/bench/wsclient) carrying the alert of a shell exec exactly as the alert log
# has it and the container's pause, a taken port (moat run goes on and says so), --http off.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
WSCLIENT=$MOAT_ROOT/build/bench/wsclient
PIN=/sys/fs/bpf/moat-test-web
SOCK=$T_TMP/moat.sock
TOKEN=$T_TMP/web.token
ALERTS=$T_TMP/alerts.jsonl
PORT=$((20000 + RANDOM % 20000))
export MOAT_CONTROL_SOCKET=$SOCK
run_pid=

start_moat() {
	: >"$T_TMP/run.log"
	"$MOATBIN" --pin-dir "$PIN" run --state-dir "$T_TMP/state" --alerts-file "$ALERTS" \
		--control-socket "$SOCK" --no-pause --skip-sync "$@" >>"$T_TMP/run.log" 2>&1 &
	run_pid=$!
	wait_for -t 20 grep -q "moat run: watching" "$T_TMP/run.log"
}
stop_moat() {
	[ -n "$run_pid" ] || return 0
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid"
	run_pid=
}
t_on_exit 'stop_moat; "$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1'
[ -x "$WSCLIENT" ] || { t_fail "wsclient built" "$WSCLIENT missing (make all)"; t_done; }

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test web -- sleep 600 || { t_fail "container starts" "docker run"; t_done; }

start_moat --http "127.0.0.1:$PORT" || t_fail "moat run starts" "$(tail -n 3 "$T_TMP/run.log")"
url=$(grep -o "http://127.0.0.1:$PORT/?token=[0-9a-f]*" "$T_TMP/run.log" | head -n 1)
tok=${url##*token=}
t_check "moat run logs the dashboard URL with a 64-hex token" test "${#tok}" -eq 64
t_check "the token file is next to the control socket, mode 0600, holding the token" \
	bash -c "[ \"\$(stat -c %a '$TOKEN')\" = 600 ] && [ \"\$(cat '$TOKEN')\" = '$tok' ]"
t_check "GET /api/status with the token answers moat run's status" \
	bash -c "curl -sf -H 'Authorization: Bearer $tok' http://127.0.0.1:$PORT/api/status | jq -e '.uptime_s >= 0'"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/status")
t_check "without the token: 401" test "$code" = 401

# The live stream: a shell exec's alert and a pause.
"$WSCLIENT" "$PORT" "$TOKEN" 1 30 >"$T_TMP/ws.out" 2>"$T_TMP/ws.err" &
ws_pid=$!
_t_pids+=("$ws_pid")
wait_for -t 10 grep -q '"type":"hello"' "$T_TMP/ws.out"
t_check "the stream opens with hello" grep -q '"type":"hello"' "$T_TMP/ws.out"
docker exec moat-test-web sh -c true
t_check "a shell exec's alert arrives on the stream" \
	wait_for -t 10 bash -c "jq -c 'select(.type == \"alert\" and .data.rule == \"suspicious-exec\")' '$T_TMP/ws.out' | grep -q ."
ws_alert=$(jq -c 'select(.type == "alert" and .data.rule == "suspicious-exec") | .data' "$T_TMP/ws.out" | head -n 1)
trace=$(jq -r '.trace_id' <<<"$ws_alert")
log_alert=$(jq -c "select(.trace_id == \"$trace\")" "$ALERTS" | head -n 1)
t_check "the stream's alert is the alert log's line" \
	bash -c "[ -n '$trace' ] && [ \"\$(jq -S . <<<'$ws_alert')\" = \"\$(jq -S . <<<'$log_alert')\" ]"
docker pause moat-test-web >/dev/null
t_check "a pause arrives as a container message (state paused)" \
	wait_for -t 10 bash -c "jq -c 'select(.type == \"container\" and .data.event == \"pause\" and .data.name == \"moat-test-web\" and .data.state == \"paused\")' '$T_TMP/ws.out' | grep -q ."
docker unpause moat-test-web >/dev/null
t_check "seq grows by one per message" \
	bash -c "jq -s '[.[] | select(.seq > 0) | .seq] | . as \$s | all(range(1; length); \$s[.] == \$s[. - 1] + 1)' '$T_TMP/ws.out' | grep -q true"
# moat run exits promptly with a client still on the stream.
kill -TERM "$run_pid" 2>/dev/null
t_check "moat run exits with a live stream client connected" \
	wait_for -t 15 bash -c "! kill -0 $run_pid"
wait "$run_pid" 2>/dev/null
run_pid=
kill "$ws_pid" 2>/dev/null
wait "$ws_pid" 2>/dev/null
t_check "the token file is removed at exit" test ! -e "$TOKEN"

# The port taken: moat run says so and goes on watching.
socat TCP-LISTEN:"$PORT",bind=127.0.0.1,reuseaddr,fork /dev/null &
sp=$!
_t_pids+=("$sp")
wait_for -t 5 bash -c "ss -ltn | grep -q '127.0.0.1:$PORT '"
start_moat --http "127.0.0.1:$PORT" || t_fail "moat run starts with the port taken" "$(tail -n 3 "$T_TMP/run.log")"
t_check "a taken port is logged with the address and --http off" \
	bash -c "grep 'cannot listen on 127.0.0.1:$PORT' '$T_TMP/run.log' | grep -q -- '--http off'"
n0=$(wc -l <"$ALERTS")
docker exec moat-test-web sh -c true
t_check "detection goes on without the dashboard" \
	wait_for -t 10 bash -c "tail -n +$((n0 + 1)) '$ALERTS' | jq -c 'select(.rule == \"suspicious-exec\")' | grep -q ."
stop_moat
kill "$sp" 2>/dev/null

start_moat --http off
t_check "--http off: no server, no token file" \
	bash -c "grep -q 'dashboard: off' '$T_TMP/run.log' && [ ! -e '$TOKEN' ]"
stop_moat
t_done
