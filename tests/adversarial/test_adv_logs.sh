#!/bin/bash
# test_adv_logs.sh - a container's log output cannot block, slow, crash or flood moat run
# (issue 10; docs/security.md, "Its logs cannot block, crash or flood moat"). One container
# writes at full speed: binary garbage, endless lines without a newline, NUL bytes, bytes
# that look like Docker's frame headers, terminal escapes, and thousands of matching lines;
# moat run must keep answering its control socket, keep alerting on another container's
# FATAL line and on a shell at once, report the flood (rate limit, log-flood) rather than
# raise thousands of alerts, and let no raw control byte into an alert.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

echo '{"logs": {"max_bytes_per_second": 262144, "rate_limit_seconds": 60}}' >"$T_TMP/logs.json"
adv_container lf -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_container lq -- sh -c 'sleep 600'
adv_start lf --config "$T_TMP/logs.json"
t_check "moat run" test -n "$ADV_PID"
responsive() { echo '{"cmd":"status"}' | timeout 2 socat - "UNIX-CONNECT:$T_TMP/moat.sock" | grep -q '"ok"'; }

# The flood, from the container's main process (docker exec output is not its log).
docker exec -d moat-test-lf sh -c '
	( i=0; while [ $i -lt 20000 ]; do echo "FATAL flood $i"; i=$((i+1)); done
	  head -c 3000000 /dev/urandom
	  printf "\001\000\000\000\377\377\377\377 fake frame header FATAL\n"
	  head -c 2000000 /dev/zero | tr "\000" "A"; echo
	  printf "FATAL esc \033]0;owned\007 \033[2J bidi \342\200\256 nul \000 after-nul\n"
	) >/proc/1/fd/1 2>/proc/1/fd/2'
sleep 2
t_check "moat run answers its control socket during the flood" responsive
docker exec moat-test-lq sh -c 'echo "quiet neighbour: FATAL once" >/proc/1/fd/1'
t_check "another container's FATAL line is still alerted" \
	adv_alert '.rule=="log-pattern" and .container.name=="moat-test-lq"' 10
docker exec moat-test-lq sh -c 'true'
t_check "a shell is still alerted at once" \
	adv_alert '.rule=="suspicious-exec" and .container.name=="moat-test-lq" and .process.filename=="/bin/sh"' 3
t_check "the flood is reported as log-flood (past the scan budget)" \
	adv_alert '.rule=="log-flood" and .container.name=="moat-test-lf" and .log.skipped_bytes > 0' 15
n=$(jq -c 'select(.rule=="log-pattern" and .container.name=="moat-test-lf")' "$ADV_ALERTS" | wc -l)
t_check "20,000 matching lines: at most a handful of alerts ($n)" test "$n" -le 4
t_check "no raw control byte reached an alert" bash -c \
	"! jq -r 'select(.rule==\"log-pattern\" or .rule==\"log-flood\") | .message, (.log.line // \"\")' '$ADV_ALERTS' | LC_ALL=C grep -q '[[:cntrl:]]'"
t_check "moat run counts no frame as bad (the container cannot forge Docker's headers)" \
	test "$(adv_status '.logs.bad_frames')" = 0
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
