#!/bin/bash
# test_logs_health.sh - the log pattern scanner, the health checker and Docker's lifecycle
# events under a real moat run and real containers:
#  - a log line containing FATAL raises log-pattern once, with the line; a flood of them is
#    rate limited (one alert, the rest counted in a summary); a TTY container's raw stream
#    and stderr are scanned too; a container whose logs are off ("containers": logs false)
#    raises nothing;
#  - two failed healthchecks in a row raise CRITICAL health-failing, and the default policy
#    pauses the container; a healthy container raises nothing;
#  - `moat resume` of a container that is not paused is a quiet no-op: no retries, no
#    "could not unpause" alert;
#  - Docker's lifecycle severities: start INFO, kill and die CRITICAL.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PIN=/sys/fs/bpf/moat-test-logs
ALERTS=$T_TMP/alerts.jsonl
CONF=$T_TMP/moat.json
POL=$T_TMP/policies.json
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
cat >"$CONF" <<JSON
{"logs": {"rate_limit_alerts": 1, "rate_limit_seconds": 5},
 "health": {"failures": 2, "poll_seconds": 2},
 "containers": [{"match": "moat-test-lg-quiet", "logs": false}]}
JSON
# This test's containers: CRITICAL pauses (as the built-in policy does); any other container
# of this Docker is only alerted on, so that a test running beside this one is left alone.
cat >"$POL" <<JSON
{"policies": [
  {"id": "lg", "priority": 10, "target": {"names": ["moat-test-lg-*"]}, "actions": ["pause"]},
  {"id": "others", "priority": 20, "actions": ["alert"]}
]}
JSON
# Running before moat starts: its logs are followed from moat's start on.
docker_run_test lg-early -- sh -c 'sleep 8; echo "early: FATAL after moat started"; sleep 600' ||
	{ t_fail "containers start" "docker run"; t_done; }
"$MOATBIN" --pin-dir "$PIN" run --config "$CONF" --policies "$POL" --state-dir "$T_TMP/state" --alerts-file "$ALERTS" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run starts" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

# --- the log scanner -------------------------------------------------------------------
docker_run_test lg-fatal -- sh -c 'echo "booting"; echo "2024-05-01 FATAL: database unreachable"; sleep 600'
t_check "a FATAL line raises log-pattern" wait_for -t 10 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-fatal" and .log.pattern=="error-level" and (.log.line|test("FATAL: database unreachable")) and .severity=="WARNING" and .source=="logs"' "$ALERTS"
sleep 1
t_check "once" test "$(jq -c 'select(.rule=="log-pattern" and .container.name=="moat-test-lg-fatal")' "$ALERTS" | wc -l)" -eq 1
t_check "the line 'booting' raises nothing" none '.container.name=="moat-test-lg-fatal" and (.log.line // "" | test("booting"))' "$ALERTS"
t_check "a container running before moat: its FATAL line after moat started is seen" \
	wait_for -t 15 some '.rule=="log-pattern" and .container.name=="moat-test-lg-early"' "$ALERTS"
t_check "a WARNING log-pattern does not pause (the policy acts on CRITICAL)" \
	test "$(docker inspect -f '{{.State.Status}}' moat-test-lg-fatal)" = running

docker_run_test lg-flood -- sh -c 'i=0; while [ $i -lt 2000 ]; do echo "FATAL flood $i" >&2; i=$((i+1)); done; sleep 600'
t_check "a flood of 2000 FATAL lines on stderr: an alert" wait_for -t 10 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-flood" and .log.stream=="stderr"' "$ALERTS"
sleep 2
t_check "rate limited: one alert in the window" test \
	"$(jq -c 'select(.rule=="log-pattern" and .container.name=="moat-test-lg-flood" and .log.suppressed != null and (.message|test("held back by the rate limit")|not))' "$ALERTS" | wc -l)" -eq 1
t_check "the window's end: a summary counts the 1999 held back" wait_for -t 12 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-flood" and .log.suppressed==1999 and (.log.line|test("FATAL flood 1999"))' "$ALERTS"

docker_run_test lg-brief -- sh -c 'echo "brief: FATAL and gone"; exit 3'
t_check "a container that logs FATAL and exits at once is still scanned" wait_for -t 10 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-brief"' "$ALERTS"

docker_run_test lg-tty -t -- sh -c 'echo "tty says: panic: nil map"; sleep 600'
t_check "a TTY container's raw stream is scanned" wait_for -t 10 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-tty" and .log.pattern=="crash"' "$ALERTS"

docker_run_test lg-quiet -- sh -c 'sleep 1; echo "FATAL but logs are off"; sleep 600'
docker_run_test lg-esc -- sh -c 'printf "FATAL \033]0;pwned\007 end\n"; sleep 600'
t_check "terminal escapes in a log line are escaped in the alert" wait_for -t 10 some \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-esc" and (.log.line|test("\\\\x1b]0;pwned\\\\x07"))' "$ALERTS"
t_check "logs off for a container (containers entry): nothing" none \
	'.rule=="log-pattern" and .container.name=="moat-test-lg-quiet"' "$ALERTS"
t_check "moat's status counts the log streams and lines" bash -c \
	"'$MOATBIN' stats --json | jq -e '.status.logs.streams >= 5 and .status.logs.lines > 2000' >/dev/null"

# --- the health checker ----------------------------------------------------------------
docker_run_test lg-sick --health-cmd 'echo "db down"; false' --health-interval 1s --health-retries 5 -- sleep 600
t_check "two failed healthchecks: CRITICAL health-failing" wait_for -t 15 some \
	'.rule=="health-failing" and .container.name=="moat-test-lg-sick" and .severity=="CRITICAL" and .health.failing_streak>=2 and (.health.output|test("db down"))' "$ALERTS"
t_check "and the policy pauses it" wait_for -t 10 bash -c \
	"[ \"\$(docker inspect -f '{{.State.Status}}' moat-test-lg-sick)\" = paused ]"
t_check "the pause is an action alert" wait_for -t 5 some \
	'.rule=="action" and .action.action=="pause" and .container.name=="moat-test-lg-sick"' "$ALERTS"
t_check "one health-failing alert for the spell" test \
	"$(jq -c 'select(.rule=="health-failing" and .container.name=="moat-test-lg-sick")' "$ALERTS" | wc -l)" -eq 1
t_check "Docker's own 'unhealthy' verdict is no extra lifecycle alert" none \
	'.rule=="container-lifecycle" and .container.name=="moat-test-lg-sick" and (.message|test("unhealthy"))' "$ALERTS"
docker_run_test lg-well --health-cmd true --health-interval 1s -- sleep 600
sleep 4
t_check "a healthy container raises nothing" none '.rule=="health-failing" and .container.name=="moat-test-lg-well"' "$ALERTS"

# --- resume of a running container ------------------------------------------------------
"$MOATBIN" resume moat-test-lg-well >"$T_TMP/resume.out" 2>&1
t_check "moat resume of a running container says there is nothing to do" \
	grep -q 'moat-test-lg-well is not paused; nothing to do' "$T_TMP/resume.out"
sleep 1
t_check "and raises no 'could not unpause' alert" none \
	'.rule=="action" and .container.name=="moat-test-lg-well"' "$ALERTS"
t_check "moat resume of the paused one resumes it" bash -c \
	"'$MOATBIN' resume moat-test-lg-sick | grep -q 'resumed moat-test-lg-sick'"

# --- Docker's lifecycle severities --------------------------------------------------------
t_check "start is INFO" some '.rule=="container-lifecycle" and .container.name=="moat-test-lg-well" and .severity=="INFO" and (.message|test("started"))' "$ALERTS"
docker kill moat-test-lg-quiet >/dev/null
t_check "kill is CRITICAL" wait_for -t 10 some '.rule=="container-lifecycle" and .container.name=="moat-test-lg-quiet" and .severity=="CRITICAL" and (.message|test("was killed"))' "$ALERTS"
t_check "die is CRITICAL with the exit code" wait_for -t 10 some '.rule=="container-lifecycle" and .container.name=="moat-test-lg-quiet" and .severity=="CRITICAL" and (.message|test("died \\(exit code 137\\)"))' "$ALERTS"
t_check "moat run is still up" kill -0 "$run_pid"
t_done
