#!/bin/bash
# test_capture.sh - capture and replay against a real container: `moat trace --json --record F`
# while a container runs a shell, a DNS lookup to the test dnsmasq and a connect; then
# `moat replay F --json` must print the live trace's lines byte for byte, and
# `moat replay F --detect` the shell alert that `moat run` raises for the same workload.
# Needs the test environment (tools/testenv.sh up).
. "$(dirname "$0")/lib.sh"

MOAT=${MOAT:-build/moat}
GW=$(gw_addr)
PIN=/sys/fs/bpf/moat-test-capture
CAP=$T_TMP/cap.mcap
LIVE=$T_TMP/live.jsonl
ALERTS=$T_TMP/alerts.jsonl
trace_pid=
run_pid=

stop_pid() {
	[ -n "$1" ] || return 0
	kill -INT "$1" 2>/dev/null
	wait "$1"
}
t_on_exit 'stop_pid "$trace_pid"; stop_pid "$run_pid"; "$MOAT" --pin-dir "$PIN" clear >/dev/null 2>&1'

workload() {
	docker exec moat-test-cap sh -c "nslookup web.moat.test $GW >/dev/null; \
		/netprobe connect $GW 18082 >/dev/null"
}

"$MOAT" clear >/dev/null 2>&1
"$MOAT" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test cap -- sleep 600 || { t_fail "container starts" "docker run failed"; t_done; }
start_listener 18082 tcp
docker cp build/helpers/netprobe moat-test-cap:/netprobe >/dev/null

# ---- live trace, recorded -------------------------------------------------------------
"$MOAT" trace --json --record "$CAP" >"$LIVE" 2>"$T_TMP/trace.err" &
trace_pid=$!
wait_for -t 10 bash -c 'ls /sys/fs/bpf/moat-trace-*/links/ 2>/dev/null | grep -q handle_exec' ||
	t_fail "trace attaches" "$(cat "$T_TMP/trace.err")"
sleep 0.5
workload || t_fail "workload in the container" "exit $?"
sleep 1.5 # a frame ends at least every second: the live file has the workload now
t_check "a live capture is readable while it is written" \
	bash -c "'$MOAT' replay '$CAP' --json 2>/dev/null | grep -q '\"moat-test-cap\"'"
sleep 0.5
stop_pid "$trace_pid"
rc=$?
trace_pid=
t_check "trace --record exits cleanly on SIGINT" test "$rc" -eq 0
t_check "the live trace saw the shell" some '.type=="exec" and .container.name=="moat-test-cap" and .filename=="/bin/sh"' "$LIVE"
t_check "the live trace saw the DNS answer" some '.type=="dns_answer" and .qname=="web.moat.test" and .container.name=="moat-test-cap"' "$LIVE"
t_check "the live trace saw the connect" some ".type==\"connect\" and .dport==18082 and .container.name==\"moat-test-cap\"" "$LIVE"
t_check "the capture is zstd-compressed events (MOATCAP magic)" \
	bash -c "head -c 7 '$CAP' | grep -q MOATCAP"

# MOAT_CAPTURE_KEEP=DIR keeps the capture and the live lines (how tests/data/capture-v1.* were made).
[ -n "${MOAT_CAPTURE_KEEP:-}" ] && cp "$CAP" "$LIVE" "$MOAT_CAPTURE_KEEP/"

# ---- replay: the same lines -----------------------------------------------------------
"$MOAT" replay "$CAP" --json >"$T_TMP/replay.jsonl" 2>"$T_TMP/replay.err"
t_check "replay exits 0" test $? -eq 0
t_check "replay --json prints the live trace's lines byte for byte ($(wc -l <"$LIVE") lines)" \
	cmp "$LIVE" "$T_TMP/replay.jsonl"
"$MOAT" replay "$CAP" --json --type exec --container moat-test-cap >"$T_TMP/exec.jsonl"
t_check "replay --type exec --container: only that container's execs" \
	test "$(jq -c 'select(.type=="exec" and .container.name=="moat-test-cap")' "$LIVE")" = "$(jq -c . "$T_TMP/exec.jsonl")"
"$MOAT" trace --help 2>&1 | grep -q -- --record
t_check "trace --help lists --record" test $? -eq 0
"$MOAT" replay "$CAP" >"$T_TMP/replay.txt"
t_check "replay prints text lines like trace (one per event, after the header)" \
	test "$(grep -c "moat-test-cap" "$T_TMP/replay.txt")" -eq "$(grep -c '"moat-test-cap"' "$LIVE")"

# ---- replay --detect against moat run ------------------------------------------------
"$MOAT" replay "$CAP" --detect >"$T_TMP/detect.jsonl" 2>"$T_TMP/detect.err"
t_check "replay --detect: the shell alert" \
	some '.rule=="suspicious-exec" and .container.name=="moat-test-cap" and .process.filename=="/bin/sh"' "$T_TMP/detect.jsonl"

"$MOAT" --pin-dir "$PIN" run --report-only --state-dir "$T_TMP/state" --alerts-file "$ALERTS" \
	--control-socket "$T_TMP/moat.sock" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log" || t_fail "moat run starts" "$(tail -n 3 "$T_TMP/run.log")"
workload
wait_for -t 5 some '.rule=="suspicious-exec" and .container.name=="moat-test-cap"' "$ALERTS"
sleep 1
stop_pid "$run_pid"
run_pid=
key='select(.container.name=="moat-test-cap") | [.rule, .severity, .source, .process.filename // "", .container.name] | join(" ")'
live_alerts=$(jq -r "$key" "$ALERTS" | sort -u)
replay_alerts=$(jq -r "$key" "$T_TMP/detect.jsonl" | sort -u)
t_check "moat run raised the shell alert" grep -q "suspicious-exec CRITICAL process /bin/sh" <<<"$live_alerts"
t_check "replay --detect raises what moat run raised for the same workload" \
	test "$live_alerts" = "$replay_alerts"
[ "$live_alerts" = "$replay_alerts" ] || { echo "# moat run:"; sed 's/^/#   /' <<<"$live_alerts"; echo "# replay:"; sed 's/^/#   /' <<<"$replay_alerts"; }
t_check "replay --detect: the alert's message is moat run's" test \
	"$(jq -r 'select(.rule=="suspicious-exec" and .container.name=="moat-test-cap") | .message' "$ALERTS" | head -n 1 | sed 's/pid [0-9]*//')" = \
	"$(jq -r 'select(.rule=="suspicious-exec" and .container.name=="moat-test-cap") | .message' "$T_TMP/detect.jsonl" | head -n 1 | sed 's/pid [0-9]*//')"

# ---- a damaged capture ------------------------------------------------------------------
head -c $(($(stat -c %s "$CAP") - 20)) "$CAP" >"$T_TMP/cut.mcap"
"$MOAT" replay "$T_TMP/cut.mcap" --json >/dev/null 2>"$T_TMP/cut.err"
rc=$?
t_check "a truncated capture: exit 1 with the file and offset named" \
	bash -c "[ $rc -eq 1 ] && grep -q 'capture $T_TMP/cut.mcap: offset [0-9]*:' '$T_TMP/cut.err'"
t_done
