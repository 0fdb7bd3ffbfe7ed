#!/bin/bash
# demo.sh - `sudo make demo`: moat catching a container live. Expects the
# test environment up (tools/testenv.sh up) and build/moat built; make demo
# does both first. Everything stays on this machine: the container talks
# only to the docker0 gateway and the test DNS server there.
#
# It ends with moat run's dashboard: the URL (token included, read from web.token next to
# the control socket), kept up until Enter is pressed (on a terminal) or for
# MOAT_DEMO_KEEP seconds (default 0 without a terminal). MOAT_DEMO_HTTP sets the dashboard's
# address (default 127.0.0.1:9876). Open the URL early to watch the events arrive live.
set -u
cd "$(dirname "$0")/.."
MOAT=build/moat
eval "$(tools/testenv.sh env)"
GW=$MOAT_TEST_GW
NAME=moat-demo
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trace_pid=
listen_pid=
run_pid=

cleanup() {
	[ -n "$trace_pid" ] && kill "$trace_pid" 2>/dev/null && wait "$trace_pid" 2>/dev/null
	[ -n "$run_pid" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" 2>/dev/null
	[ -n "$listen_pid" ] && kill "$listen_pid" 2>/dev/null
	docker rm -f "$NAME" >/dev/null 2>&1
	"$MOAT" -q clear >/dev/null 2>&1
}
trap cleanup EXIT

"$MOAT" -q clear >/dev/null 2>&1
docker rm -f "$NAME" >/dev/null 2>&1
build/helpers/netprobe listen "$GW" 18080 >/dev/null 2>&1 &
listen_pid=$!

say "What this kernel offers and what moat uses"
"$MOAT" probe

say "Starting a container ($NAME) that will run a shell, resolve names and connect out"
docker run -d --name "$NAME" --dns "$GW" moat-test/busybox sleep 600 >/dev/null
docker cp build/helpers/netprobe "$NAME":/bin/netprobe >/dev/null

say "moat trace: every exec, DNS query and answer, connect, from the kernel"
"$MOAT" trace --container "$NAME" &
trace_pid=$!
for _ in $(seq 50); do ls /sys/fs/bpf/moat-trace-*/links 2>/dev/null | grep -q exec && break; sleep 0.1; done
sleep 0.5
docker exec "$NAME" sh -c "nslookup alias.moat.test $GW >/dev/null; netprobe connect $GW 18080 >/dev/null; cat /etc/hostname >/dev/null"
sleep 1
kill -INT "$trace_pid"
wait "$trace_pid" 2>/dev/null
trace_pid=

say "Same stream as JSON lines, for programs (docs/events.md): the DNS answer"
"$MOAT" trace --json --container "$NAME" --type dns_answer --count 1 &
trace_pid=$!
for _ in $(seq 50); do ls /sys/fs/bpf/moat-trace-*/links 2>/dev/null | grep -q exec && break; sleep 0.1; done
sleep 0.3
docker exec "$NAME" nslookup web.moat.test "$GW" >/dev/null
wait "$trace_pid"
trace_pid=

say "Enforcement in the kernel: deny the gateway for this container, enforce mode"
"$MOAT" -q attach
"$MOAT" rule deny "$GW/32" --cgroup "$NAME" --id 1
"$MOAT" mode "$NAME" enforce
echo "\$ docker exec $NAME netprobe connect $GW 18080"
docker exec "$NAME" netprobe connect "$GW" 18080 && echo "connected (unexpected!)" || echo "-> refused at connect() by moat"

"$MOAT" -q clear

say "moat run: the monitor. A shell appears in the container -> CRITICAL alert -> paused"
RUNDIR=$(mktemp -d)
HTTP=${MOAT_DEMO_HTTP:-127.0.0.1:9876}
"$MOAT" -q run --state-dir "$RUNDIR" --alerts-file "$RUNDIR/alerts.jsonl" \
	--control-socket "$RUNDIR/moat.sock" --http "$HTTP" &
run_pid=$!
for _ in $(seq 100); do [ -S "$RUNDIR/moat.sock" ] && [ -s "$RUNDIR/web.token" ] && break; sleep 0.1; done
URL="http://$HTTP/?token=$(tr -d '[:space:]' <"$RUNDIR/web.token" 2>/dev/null)"
echo "dashboard (open it to watch live): $URL"
sleep 0.5
echo "\$ docker exec $NAME sh -c id"
docker exec "$NAME" sh -c id
sleep 1
echo "\$ docker inspect -f '{{.State.Status}}' $NAME"
docker inspect -f '{{.State.Status}}' "$NAME"
echo "\$ moat resume $NAME"
MOAT_CONTROL_SOCKET="$RUNDIR/moat.sock" "$MOAT" resume "$NAME"
echo "\$ moat status"
MOAT_CONTROL_SOCKET="$RUNDIR/moat.sock" "$MOAT" status | head -n 8
echo "\$ moat alerts --file $RUNDIR/alerts.jsonl --severity CRITICAL"
"$MOAT" alerts --file "$RUNDIR/alerts.jsonl" --severity CRITICAL

say "The dashboard: the same alerts, the container, its stats, live"
echo "$URL"
echo "(the token is in $RUNDIR/web.token; the page keeps it in a cookie)"
if [ -t 0 ] && [ -z "${MOAT_DEMO_KEEP:-}" ]; then
	echo "moat run stays up for the page; try \`docker exec $NAME sh -c id\` and watch it arrive."
	read -r -p "Press Enter to stop moat run and finish the demo. " _
elif [ "${MOAT_DEMO_KEEP:-0}" -gt 0 ]; then
	echo "moat run stays up for ${MOAT_DEMO_KEEP} s (MOAT_DEMO_KEEP)."
	sleep "$MOAT_DEMO_KEEP"
fi
kill "$run_pid"
wait "$run_pid" 2>/dev/null
run_pid=
rm -rf "$RUNDIR"
say "moat status"
"$MOAT" status | head -n 30

say "moat clear: everything detached"
"$MOAT" clear
