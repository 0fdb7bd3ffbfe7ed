#!/bin/bash
# test_run.sh - `moat run` against real containers: suspicious-exec (docker
# exec shell, busybox applet, copied binary, #! script, entrypoint shell not
# flagged), auto-pause and resume, kill-exec in the kernel, direct-connection
# with and without a prior lookup, blacklist deny / report-only / reload,
# bad config and list files, a restart that keeps the DNS registry.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-run
SOCK=$T_TMP/moat.sock
ALERTS=$T_TMP/alerts.jsonl
STATE=$T_TMP/state
GW=$(gw_addr)
export MOAT_CONTROL_SOCKET=$SOCK
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }
run_pid=

start_moat() {
	"$MOATBIN" --pin-dir "$PIN" run --state-dir "$STATE" --alerts-file "$ALERTS" \
		--control-socket "$SOCK" "$@" >>"$T_TMP/run.log" 2>&1 &
	run_pid=$!
	wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"
}
stop_moat() {
	[ -n "$run_pid" ] || return 0
	kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid"
	local rc=$?
	run_pid=
	: >"$T_TMP/run.log"
	return $rc
}
# t_do NAME CMD...: like t_check, but CMD runs in this shell (start_moat and
# stop_moat change its variables; t_check runs its command in a subshell).
t_do() {
	local name=$1
	shift
	if "$@"; then t_ok "$name"; else t_fail "$name" "'$*' failed; moat run said: $(tail -n 3 "$T_TMP/run.log" | tr '\n' ' ')"; fi
}
t_on_exit 'stop_moat; "$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1'

# alerts RULE CONTAINER: the matching alert lines.
alerts() { jq -c "select(.rule==\"$1\" and .container.name==\"moat-test-$2\")" "$ALERTS" 2>/dev/null; }
has_alert() { [ -n "$(alerts "$1" "$2")" ]; }
state_of() { docker inspect -f '{{.State.Status}}' "moat-test-$1"; }

moat clear >/dev/null 2>&1
docker_run_test web -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
docker_run_test ep --entrypoint sh -- -c "sleep 600"
docker cp "$PROBE" moat-test-web:/netprobe >/dev/null
docker_run_test svc -- sleep 600
docker cp "$PROBE" moat-test-svc:/netprobe >/dev/null
docker exec -d moat-test-svc /netprobe listen 0.0.0.0 8080
SVC=$(container_ip svc)

# ---- auto-pause on a shell from docker exec --------------------------------
t_do "moat run starts with defaults" start_moat
t0=$(date +%s%N)
docker exec moat-test-web sh -c true
t_check "shell from docker exec: CRITICAL suspicious-exec" wait_for -t 5 has_alert suspicious-exec web
t_check "the container is paused" wait_for -t 5 test "$(state_of web)" = paused
t1=$(date +%s%N)
echo "# exec -> paused observed by the test in $(((t1 - t0) / 1000000)) ms (bench: tools/bench)"
a=$(alerts suspicious-exec web | head -n 1)
t_check "alert names the process" test "$(jq -r '.process.filename + " " + .process.matched + " " + .severity' <<<"$a")" = "/bin/sh sh CRITICAL"
t_check "alert has a trace id and the image" test "$(jq -r '(.trace_id|length) == 32 and .container.image == "moat-test/busybox"' <<<"$a")" = true
t_check "follow-up CRITICAL announces the pause, same trace id" \
	test "$(jq -r "select(.rule==\"action\" and .trace_id==\"$(jq -r .trace_id <<<"$a")\") | .action.action + \" \" + .action.result + \" \" + .severity" "$ALERTS")" = "pause ok CRITICAL"
t_check "moat resume through the daemon" moat resume moat-test-web
t_check "running again" test "$(state_of web)" = running
t_check "entrypoint shell is not suspicious" none '.rule=="suspicious-exec" and .container.name=="moat-test-ep"' "$ALERTS"
t_check "alerts --last / --severity" bash -c "'$MOATBIN' alerts --file '$ALERTS' --severity CRITICAL --last 50 | grep -q 'Shell process detected: /bin/sh'"
t_check "moat status through the daemon lists containers" bash -c "'$MOATBIN' --pin-dir '$PIN' status | grep -q moat-test-web"
t_do "SIGTERM exits 0" stop_moat
t_check "enforcement pins stay after exit" test -d "$PIN/links"

# ---- variants, network: no auto-pause -----------------------------------------
: >"$ALERTS"
echo "$SVC" >"$T_TMP/black.txt"
printf '10.0.0.0/33\nnot-an-ip\n' >>"$T_TMP/black.txt"
t_do "moat run --no-pause with a blacklist that has bad lines" start_moat --no-pause --blacklist "$T_TMP/black.txt"
t_check "bad list lines are named file:line" grep -q "black.txt:2" "$T_TMP/run.log"
docker exec moat-test-web busybox sh -c true
t_check "busybox applet (busybox sh) caught" wait_for -t 5 some ".rule==\"suspicious-exec\" and .container.name==\"moat-test-web\" and .process.argv[0]==\"busybox\"" "$ALERTS"
docker exec moat-test-web cp /bin/busybox /tmp/innocent
docker exec moat-test-web /tmp/innocent >/dev/null 2>&1
t_check "renamed copy of the shell caught" wait_for -t 5 some ".rule==\"suspicious-exec\" and .process.filename==\"/tmp/innocent\" and (.message|test(\"copy of\"))" "$ALERTS"
docker exec moat-test-web sh -c 'printf "#!/bin/sh\ntrue\n" >/tmp/s.sh; chmod +x /tmp/s.sh'
docker exec moat-test-web /tmp/s.sh
t_check "#! script caught through its interpreter" wait_for -t 5 some ".rule==\"suspicious-exec\" and .process.filename==\"/tmp/s.sh\" and .process.interp==\"/bin/sh\"" "$ALERTS"
t_check "no pause with --no-pause" test "$(state_of web)" = running

msg=$(docker exec moat-test-web /netprobe connect "$SVC" 8080 2>&1)
t_check "blacklisted destination denied with EPERM" grep -q EPERM <<<"$msg"
t_check "blacklisted-destination CRITICAL alert" wait_for -t 5 has_alert blacklisted-destination web
t_check "it names the list line" some ".rule==\"blacklisted-destination\" and (.message|test(\"line 1\"))" "$ALERTS"
echo "# empty" >"$T_TMP/black.txt"
t_check "list reload on change lifts the deny" wait_for -t 5 docker exec moat-test-web /netprobe connect "$SVC" 8080

# direct connection: an address no DNS answer explains, then one a lookup explains.
docker exec moat-test-web /netprobe connect "$SVC" 8080 >/dev/null
t_check "direct connection without a lookup: WARNING" wait_for -t 5 some ".rule==\"direct-connection\" and .severity==\"WARNING\" and .network.daddr==\"$SVC\"" "$ALERTS"
t_check "svc name added to the test DNS" dns_add svc.moat.test "$SVC"
docker_run_test client -- sleep 600
docker cp "$PROBE" moat-test-client:/netprobe >/dev/null
docker exec moat-test-client sh -c "nslookup svc.moat.test >/dev/null && /netprobe connect $SVC 8080" >/dev/null
sleep 1
t_check "connect after a lookup: no direct-connection alert" none '.rule=="direct-connection" and .container.name=="moat-test-client"' "$ALERTS"
t_check "connect to the gateway is never direct" none ".rule==\"direct-connection\" and .network.daddr==\"$GW\"" "$ALERTS"
t_check "moat registry answers from the daemon" bash -c "'$MOATBIN' registry svc.moat.test | grep -q '$SVC'"

# 2,000 resolve-then-connect loops: zero false alerts (the bench runs 100,000).
docker exec moat-test-client sh -c "i=0; while [ \$i -lt 200 ]; do nslookup svc.moat.test >/dev/null; /netprobe connect $SVC 8080 10 >/dev/null || exit 1; i=\$((i+1)); done"
t_check "2,000 resolve->connect: no direct-connection alert" none '.rule=="direct-connection" and .container.name=="moat-test-client"' "$ALERTS"
t_do "stop" stop_moat

# ---- restart keeps the registry: a new container's connect is still explained
t_check "registry saved in the state dir" test -s "$STATE/registry.json"
: >"$ALERTS"
t_do "moat run again" start_moat --no-pause
docker exec moat-test-client /netprobe connect "$SVC" 8080 >/dev/null
docker exec moat-test-ep sh -c true # the control: this one must alert
t_check "after restart: detection is live" wait_for -t 5 some ".rule==\"suspicious-exec\" and .container.name==\"moat-test-ep\"" "$ALERTS"
t_check "after restart: no false direct-connection alert" none '.rule=="direct-connection" and .container.name=="moat-test-client"' "$ALERTS"
t_do "stop again" stop_moat

# ---- report-only: alert, never act -------------------------------------------
echo "$SVC" >"$T_TMP/black.txt"
: >"$ALERTS"
t_do "moat run --report-only" start_moat --report-only --blacklist "$T_TMP/black.txt"
t_check "report-only: blacklisted connect goes through" docker exec moat-test-web /netprobe connect "$SVC" 8080
t_check "report-only: still alerted" wait_for -t 5 has_alert blacklisted-destination web
docker exec moat-test-web sh -c true
t_check "report-only: shell alerted" wait_for -t 5 has_alert suspicious-exec web
sleep 0.5
t_check "report-only: not paused" test "$(state_of web)" = running
t_do "stop report-only" stop_moat

# ---- kill-exec in the kernel ---------------------------------------------------
# The client is not paused either: its shell below is CRITICAL too, and a pause landing
# while `docker exec` runs would freeze the exec (and the test) for good.
printf '{"containers":[{"match":"moat-test-web","kill_exec":true,"pause":false},{"match":"moat-test-client","pause":false}]}\n' >"$T_TMP/kill.json"
: >"$ALERTS"
t_do "moat run with kill_exec for one container" start_moat --config "$T_TMP/kill.json"
out=$(docker exec moat-test-web sh -c 'echo ran' 2>&1)
t_check "kill-exec: the shell never runs" bash -c "! grep -q ran <<<'$out'"
t_check "kill-exec: alert says killed" wait_for -t 5 some ".rule==\"suspicious-exec\" and .process.killed==true" "$ALERTS"
t_check "kill-exec: other containers unaffected" bash -c "docker exec moat-test-client sh -c 'echo ran' | grep -q ran"
t_do "stop kill-exec" stop_moat

# ---- bad configuration ---------------------------------------------------------
printf '{\n  "strict": true,\n  "registry": {"max_entries": "lots"}\n}\n' >"$T_TMP/bad.json"
"$MOATBIN" --pin-dir "$PIN" run --config "$T_TMP/bad.json" --control-socket "$SOCK" >"$T_TMP/bad.log" 2>&1
rc=$?
t_check "bad config refused (exit 1)" test "$rc" -eq 1
t_check "bad config error names file:line and key" grep -q "bad.json:3: max_entries: must be a whole number" "$T_TMP/bad.log"
printf '{\n  "stirct": true\n}\n' >"$T_TMP/typo.json"
"$MOATBIN" --pin-dir "$PIN" run --config "$T_TMP/typo.json" --control-socket "$SOCK" >"$T_TMP/typo.log" 2>&1
t_check "unknown key refused with its line" grep -q 'typo.json:2: unknown key "stirct"' "$T_TMP/typo.log"
printf '{"strict": tru' >"$T_TMP/syntax.json"
"$MOATBIN" --pin-dir "$PIN" run --config "$T_TMP/syntax.json" --control-socket "$SOCK" >"$T_TMP/syntax.log" 2>&1
t_check "JSON syntax error named" grep -q "syntax.json:1: not valid JSON" "$T_TMP/syntax.log"
t_done
