#!/bin/bash
# test_export.sh - `moat run --clickhouse` end to end (docs/fleet.md): a real clickhouse-server
# (tests/helpers/clickhouse.sh, 127.0.0.1 only, stopped by PID) takes a real container's exec
# events and alerts, each alert of the alert file exactly once; `moat status` shows the export;
# ClickHouse stopped in the middle: moat run keeps detecting, says the server cannot be reached,
# and delivers what waited in its spool once the server is back, without duplicates; a URL
# nothing listens on at start: moat run runs and detects all the same.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
CHSH=$MOAT_ROOT/tests/helpers/clickhouse.sh
PIN=/sys/fs/bpf/moat-test-export
SOCK=$T_TMP/moat.sock
ALERTS=$T_TMP/alerts.jsonl
STATE=$T_TMP/state
CH=$T_TMP/clickhouse
export MOAT_CONTROL_SOCKET=$SOCK
run_pid=

t_on_exit 'stop_moat; "$CHSH" stop "$CH"; "$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1'
t_on_exit 'cp "$T_TMP/run.log" "$MOAT_ROOT/build/test-logs/test_export.moat.log" 2>/dev/null'

PORT=$("$CHSH" start "$CH") || { t_fail "clickhouse-server starts" "see $CH/log"; t_done; }
t_ok "clickhouse-server starts on 127.0.0.1:$PORT"
TCP=$(cat "$CH/tcp_port")
q() { curl -sS --fail-with-body "http://127.0.0.1:$PORT/" --data-binary "$1"; }

t_check "moat export schema creates the tables" \
	bash -c "'$MOATBIN' export schema | clickhouse-client --port $TCP --multiquery"

cat >"$T_TMP/moat.json" <<JSON
{"export": {"host_id": "itest-host", "batch_ms": 200, "spool_dir": "$T_TMP/spool"},
 "pause_on_critical": false}
JSON

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test export -- sleep 600 || { t_fail "container starts" "docker run"; t_done; }

# start_moat URL: moat run in the background (run_pid), its log appended to run.log.
start_moat() {
	: >"$T_TMP/run.log.cur"
	"$MOATBIN" --pin-dir "$PIN" run --config "$T_TMP/moat.json" --state-dir "$STATE" \
		--alerts-file "$ALERTS" --control-socket "$SOCK" --http off --clickhouse "$1" \
		>"$T_TMP/run.log.cur" 2>&1 &
	run_pid=$!
}
stop_moat() {
	[ -n "$run_pid" ] || return 0
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid"
	run_pid=
	cat "$T_TMP/run.log.cur" >>"$T_TMP/run.log"
}
start_moat "http://127.0.0.1:$PORT/"
t_check "moat run starts with --clickhouse" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log.cur"

rows() { q "SELECT count() FROM moat_events FINAL WHERE host = 'itest-host' AND $1"; }
docker exec moat-test-export sh -c 'echo one' >/dev/null
t_check "the shell's exec arrives in ClickHouse with its container and image" wait_for -t 15 \
	bash -c "[ \"\$(q() { curl -sS 'http://127.0.0.1:$PORT/' --data-binary \"\$1\"; }; q \"SELECT count() FROM moat_events WHERE host = 'itest-host' AND type = 'exec' AND container_name = 'moat-test-export' AND image = '$MOAT_TEST_IMAGE' AND has(argv, 'echo one')\")\" -ge 1 ]"
t_check "the suspicious-exec alert arrives" wait_for -t 15 bash -c \
	"[ \"\$(curl -sS 'http://127.0.0.1:$PORT/' --data-binary \"SELECT count() FROM moat_alerts WHERE rule = 'suspicious-exec' AND container_name = 'moat-test-export'\")\" -ge 1 ]"
"$MOATBIN" --pin-dir "$PIN" status >"$T_TMP/status" 2>&1
t_check "moat status shows the export: server, host, ok, rows sent" \
	grep -Eq "^export to http://127.0.0.1:$PORT/ as itest-host: ok, rows_sent [1-9]" "$T_TMP/status"

# The server goes away (stopped by its PID): moat run keeps detecting and says why rows wait.
"$CHSH" stop "$CH"
docker exec moat-test-export sh -c 'echo two' >/dev/null
t_check "with ClickHouse down, moat run still detects (the alert file has the exec)" \
	wait_for -t 15 some '.rule=="suspicious-exec" and (.process.argv|tostring|contains("echo two"))' "$ALERTS"
down() { "$MOATBIN" --pin-dir "$PIN" status 2>&1 | grep -q "^export to .*cannot reach the server"; }
t_check "moat status says ClickHouse cannot be reached" wait_for -t 20 down
t_check "the rows wait in the spool" wait_for -t 10 bash -c "ls '$T_TMP/spool' | grep -q ."
"$CHSH" start "$CH" >/dev/null || t_fail "clickhouse-server starts again" "see $CH/log"
back() { [ "$(rows "type = 'exec' AND has(argv, 'echo two')")" -ge 1 ] 2>/dev/null; }
t_check "once ClickHouse is back, what waited arrives" wait_for -t 60 back
t_check "and the spool empties" wait_for -t 30 bash -c "[ -z \"\$(ls '$T_TMP/spool')\" ]"
stop_moat

# Exactly once: every alert of the alert file is one row (by trace id), and no key twice.
want=$(jq -r .trace_id "$ALERTS" | sort -u | wc -l)
got=$(q "SELECT uniqExact(trace_id) FROM moat_alerts WHERE host = 'itest-host'")
t_check "each alert of the file is in ClickHouse ($want alerts)" test "$want" -eq "$got"
q "OPTIMIZE TABLE moat_alerts FINAL" >/dev/null
q "OPTIMIZE TABLE moat_events FINAL" >/dev/null
dup=$(q "SELECT count() - uniqExact(host, boot_id, seq) FROM moat_events")
t_check "no event row twice after the restart" test "$dup" -eq 0
t_check "no alert twice" test "$(q "SELECT count() FROM moat_alerts WHERE host = 'itest-host'")" -eq "$want"

# A URL nothing listens on from the start: moat run runs, detects, and says so.
dead=$((PORT + 1))
while curl -s "http://127.0.0.1:$dead/" >/dev/null 2>&1; do dead=$((dead + 1)); done
start_moat "http://127.0.0.1:$dead/"
t_check "moat run starts with an unreachable ClickHouse" \
	wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log.cur"
docker exec moat-test-export sh -c 'echo three' >/dev/null
t_check "and detects as usual" wait_for -t 15 \
	some '.rule=="suspicious-exec" and (.process.argv|tostring|contains("echo three"))' "$ALERTS"
t_check "the log says the server cannot be reached" wait_for -t 15 \
	grep -q "export to ClickHouse http://127.0.0.1:$dead/: cannot reach the server" "$T_TMP/run.log.cur"
t_check "moat run is still running" kill -0 "$run_pid"
stop_moat
"$MOATBIN" --pin-dir "$PIN" run --clickhouse "ftp://x/" --control-socket "$SOCK" >"$T_TMP/bad.log" 2>&1
t_check "a URL that is not http(s): moat run refuses it and says what it wants" \
	grep -q -- "--clickhouse: must be ClickHouse's HTTP interface" "$T_TMP/bad.log"
t_done
