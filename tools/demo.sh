#!/bin/bash
# demo.sh - `sudo make demo`: moat catching a container live. Expects the
# test environment up (tools/testenv.sh up) and build/moat built; make demo
# does both first. Everything stays on this machine: the container talks
# only to the docker0 gateway and the test DNS server there.
set -u
cd "$(dirname "$0")/.."
MOAT=build/moat
eval "$(tools/testenv.sh env)"
GW=$MOAT_TEST_GW
NAME=moat-demo
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trace_pid=
listen_pid=

cleanup() {
	[ -n "$trace_pid" ] && kill "$trace_pid" 2>/dev/null && wait "$trace_pid" 2>/dev/null
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

say "moat status"
"$MOAT" status | head -n 30

say "moat clear: everything detached"
"$MOAT" clear
