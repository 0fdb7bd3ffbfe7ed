#!/bin/bash
# test_trace.sh - `moat trace` against a real container: exec, DNS query and
# answer, TCP connect and UDP send, each with the right container, cgroup
# id, pid and fields; paths written as /bin/sh; when the reader falls behind,
# the "lost" line and the exit summary count what the kernel dropped, per type.
# Needs the test environment (tools/testenv.sh up).
. "$(dirname "$0")/lib.sh"

MOAT=${MOAT:-build/moat}
GW=$(gw_addr)
out=$(mktemp)
trace_pid=

cleanup_trace() {
	[ -n "$trace_pid" ] && kill -CONT "$trace_pid" 2>/dev/null
	[ -n "$trace_pid" ] && kill "$trace_pid" 2>/dev/null && wait "$trace_pid" 2>/dev/null
	rm -f "$out" "$out.err"
}
t_on_exit cleanup_trace

"$MOAT" clear >/dev/null 2>&1
docker_run_test trace -- sleep 600 || { t_fail "container starts" "docker run failed"; 
# A reader that stops: the kernel drops what the 2 MiB ring buffer cannot hold, and trace
# says how many, per type, in the stream and on exit.
"$MOAT" trace --json --type sendmsg >"$out" 2>"$out.err" &
trace_pid=$!
wait_for -t 10 bash -c 'ls /sys/fs/bpf/moat-trace-*/links/ 2>/dev/null | grep -q handle_exec' ||
	t_fail "second trace attaches" "$(cat "$out.err")"
sleep 0.5
kill -STOP "$trace_pid"
docker exec moat-test-trace /netprobe sendto "$GW" 18081 40000 >/dev/null ||
	t_fail "40000 UDP sends in the container" "exit $?"
kill -CONT "$trace_pid"
sleep 1.5
kill -INT "$trace_pid"
wait "$trace_pid"
trace_pid=
t_check "a stalled reader gets a lost line counting sendmsg drops" \
	some '.type=="lost" and .by_type.sendmsg > 0 and .lost > 0 and .total >= .lost' "$out"
lost=$(jq -s '[.[] | select(.type=="lost") | .lost] | add // 0' "$out")
sent=$(jq -s '[.[] | select(.type=="sendmsg")] | length' "$out")
t_check "written + lost account for the 40000 sends ($sent written, $lost lost)" \
	test "$((sent + lost))" -ge 40000
t_check "the exit summary counts the same loss per type" \
	grep -qE "lost $lost sendmsg=$lost" "$out.err"
t_done; }
start_listener 18080 tcp
start_listener 18081 udp
cgid=$(container_cgroup_id trace)
cid=$(docker inspect -f '{{.Id}}' moat-test-trace)
docker cp build/helpers/netprobe moat-test-trace:/netprobe >/dev/null

"$MOAT" trace --json >"$out" 2>"$out.err" &
trace_pid=$!
# The trace is ready once its private pin directory holds links.
wait_for -t 10 bash -c 'ls /sys/fs/bpf/moat-trace-*/links/ 2>/dev/null | grep -q handle_exec' ||
	t_fail "trace attaches" "$(cat "$out.err")"
sleep 0.5

docker exec moat-test-trace sh -c "nslookup web.moat.test $GW >/dev/null; \
	nslookup alias.moat.test $GW >/dev/null; \
	nslookup many.moat.test $GW >/dev/null; \
	/netprobe connect $GW 18080 >/dev/null; /netprobe sendto $GW 18081 >/dev/null" ||
	t_fail "commands in the container" "exit $?"
sleep 1
kill -INT "$trace_pid"
wait "$trace_pid"
rc=$?
trace_pid=
t_check "trace exits cleanly on SIGINT" test "$rc" -eq 0
t_check "trace leaves no private pins behind" bash -c '! ls -d /sys/fs/bpf/moat-trace-* 2>/dev/null'
t_check "every line is JSON" jq -e . "$out"
t_check "paths are written as /bin/sh, not \\/bin\\/sh" grep -qF '"filename":"/bin/sh"' "$out"
t_check "on exit, trace says how many events it wrote and lost" \
	grep -qE 'trace: [0-9]+ events in .* exec=[0-9]+.*; lost 0' "$out.err"

sel() { jq -c "select($1)" "$out" | head -n 1; }

e=$(sel ".type==\"exec\" and .container.name==\"moat-test-trace\" and .filename==\"/bin/sh\"")
t_check "exec: sh in the container is reported" test -n "$e"
if [ -n "$e" ]; then
	t_check "exec: cgroup id is the container's" test "$(jq -r .cgroup_id <<<"$e")" = "$cgid"
	t_check "exec: container id and image" test \
		"$(jq -r '.container.id + " " + .container.image' <<<"$e")" = "$cid moat-test/busybox"
	t_check "exec: argv" test "$(jq -r '.argv[0] + " " + .argv[1]' <<<"$e")" = "sh -c"
	t_check "exec: pid and ppid set" test "$(jq -r '(.pid > 1) and (.ppid > 0)' <<<"$e")" = true
	t_check "exec: comm is sh" test "$(jq -r .comm <<<"$e")" = sh
fi
# busybox sh runs its applets by re-executing itself: the kernel sees
# /proc/self/exe with argv[0] = the applet.
e=$(sel ".type==\"exec\" and .container.name==\"moat-test-trace\" and .argv[0]==\"nslookup\"")
t_check "exec: busybox applet (nslookup) reported" test -n "$e"
e=$(sel ".type==\"exec\" and .container.name==\"moat-test-trace\" and .filename==\"/netprobe\"")
t_check "exec: a copied-in binary by its path" test -n "$e"

q=$(sel ".type==\"dns_query\" and .qname==\"web.moat.test\" and .qtype==\"A\"")
t_check "dns_query: web.moat.test A" test -n "$q"
if [ -n "$q" ]; then
	t_check "dns_query: cgroup id" test "$(jq -r .cgroup_id <<<"$q")" = "$cgid"
	t_check "dns_query: destination is the test DNS" test "$(jq -r '.daddr + ":" + (.dport|tostring)' <<<"$q")" = "$GW:53"
	t_check "dns_query: attributed to nslookup" test "$(jq -r .comm <<<"$q")" = nslookup
	t_check "dns_query: container name" test "$(jq -r .container.name <<<"$q")" = moat-test-trace
fi
a=$(sel ".type==\"dns_answer\" and .qname==\"web.moat.test\" and .qtype==\"A\"")
t_check "dns_answer: web.moat.test" test -n "$a"
if [ -n "$a" ]; then
	t_check "dns_answer: address is the gateway" test "$(jq -r '.answers[0].addr' <<<"$a")" = "$GW"
	t_check "dns_answer: NOERROR, ttl > 0" test "$(jq -r '(.rcode=="NOERROR") and (.answers[0].ttl > 0)' <<<"$a")" = true
	t_check "dns_answer: same id as the query" test "$(jq -r .id <<<"$a")" = "$(jq -r .id <<<"$q")"
	t_check "dns_answer: attributed to nslookup" test "$(jq -r .comm <<<"$a")" = nslookup
fi
a=$(sel ".type==\"dns_answer\" and .qname==\"alias.moat.test\" and .qtype==\"A\"")
t_check "dns_answer: CNAME chain" test "$(jq -r '.cnames | join(",")' <<<"$a")" = "mid.moat.test,web.moat.test"
a=$(sel ".type==\"dns_answer\" and .qname==\"many.moat.test\" and .qtype==\"A\"")
t_check "dns_answer: 16 of 20 addresses, more_addrs flag" test \
	"$(jq -r '(.answers|length)==16 and (.flags|index("more_addrs") != null) and .ancount==20' <<<"$a")" = true

c=$(sel ".type==\"connect\" and .daddr==\"$GW\" and .dport==18080")
t_check "connect: tcp to the gateway" test -n "$c"
if [ -n "$c" ]; then
	t_check "connect: fields" test "$(jq -r '[.protocol, .verdict, .mode, .comm, .container.name, (.cgroup_id|tostring)] | join(" ")' <<<"$c")" = "tcp allow monitor netprobe moat-test-trace $cgid"
fi
s=$(sel ".type==\"sendmsg\" and .daddr==\"$GW\" and .dport==18081")
t_check "sendmsg: unconnected UDP send reported" test -n "$s"
t_check "sendmsg: fields" test "$(jq -r '[.protocol, .verdict, .comm, .container.name] | join(" ")' <<<"$s")" = "udp allow netprobe moat-test-trace"

# A reader that stops: the kernel drops what the 2 MiB ring buffer cannot hold, and trace
# says how many, per type, in the stream and on exit.
"$MOAT" trace --json --type sendmsg >"$out" 2>"$out.err" &
trace_pid=$!
wait_for -t 10 bash -c 'ls /sys/fs/bpf/moat-trace-*/links/ 2>/dev/null | grep -q handle_exec' ||
	t_fail "second trace attaches" "$(cat "$out.err")"
sleep 0.5
kill -STOP "$trace_pid"
docker exec moat-test-trace /netprobe sendto "$GW" 18081 40000 >/dev/null ||
	t_fail "40000 UDP sends in the container" "exit $?"
kill -CONT "$trace_pid"
sleep 1.5
kill -INT "$trace_pid"
wait "$trace_pid"
trace_pid=
t_check "a stalled reader gets a lost line counting sendmsg drops" \
	some '.type=="lost" and .by_type.sendmsg > 0 and .lost > 0 and .total >= .lost' "$out"
lost=$(jq -s '[.[] | select(.type=="lost") | .lost] | add // 0' "$out")
sent=$(jq -s '[.[] | select(.type=="sendmsg")] | length' "$out")
t_check "written + lost account for the 40000 sends ($sent written, $lost lost)" \
	test "$((sent + lost))" -ge 40000
t_check "the exit summary counts the same loss per type" \
	grep -qE "lost $lost sendmsg=$lost" "$out.err"
t_done
