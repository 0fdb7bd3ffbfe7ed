#!/bin/bash
# test_cgroup.sh - moat on a cgroup this test creates (--cgroup) with its own
# pin directory, over IPv6 loopback: connect6/sendmsg6 events and EPERM,
# IPv4-mapped destinations judged by IPv4 rules, DNS over IPv6, exec events
# from a non-Docker cgroup. Attaches only to the test's own cgroup.
. "$(dirname "$0")/lib.sh"

PIN=/sys/fs/bpf/moat-test-cg
MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
moat() { "$MOATBIN" --pin-dir "$PIN" "$@"; }
mnt=/sys/fs/cgroup
[ "$(stat -f -c %T "$mnt")" = cgroup2fs ] || mnt=/sys/fs/cgroup/unified
CG=$mnt/moat-test-cg
out=$T_TMP/trace.json

# Run a command inside the test cgroup.
in_cg() { bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }

cleanup_cg() {
	moat clear >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
}
t_on_exit cleanup_cg
moat clear >/dev/null 2>&1
[ -d "$CG" ] || mkdir "$CG"
cgid=$(stat -c %i "$CG")

"$PROBE" listen ::1 18095 >/dev/null 2>&1 &
_t_pids+=($!)
"$PROBE" listen 127.0.0.1 18096 >/dev/null 2>&1 &
_t_pids+=($!)
wait_for -t 5 _t_bound -t ::1 18095

t_check "attach to a test cgroup with --cgroup" moat attach --cgroup "$CG"
t_check "the pins go to --pin-dir" test -d "$PIN/links"
"$MOATBIN" --pin-dir "$PIN" trace --json >"$out" 2>"$T_TMP/trace.err" &
trace_pid=$!
t_on_exit "kill $trace_pid 2>/dev/null"
sleep 0.5

t_check "IPv6 connect allowed with no rule" in_cg "$PROBE" connect ::1 18095
t_check "IPv6 deny rule for the cgroup" moat rule deny ::1/128 --cgroup "$CG" --id 61
t_check "IPv4 deny rule for the cgroup" moat rule deny 127.0.0.1 --cgroup "$CG" --id 62
t_check "monitor mode: IPv6 connect still allowed" in_cg "$PROBE" connect ::1 18095
t_check "enforce mode for the test cgroup" moat mode "$CG" enforce
t_check "enforce: IPv6 connect gets EPERM" test "$(in_cg "$PROBE" connect ::1 18095 2>/dev/null)" = EPERM
t_check "enforce: IPv6 sendto gets EPERM" test "$(in_cg "$PROBE" sendto ::1 18097 2>/dev/null)" = EPERM
t_check "enforce: IPv4-mapped IPv6 judged by the IPv4 rule" test "$(in_cg "$PROBE" connect ::ffff:127.0.0.1 18096 2>/dev/null)" = EPERM
t_check "outside the cgroup nothing is denied" "$PROBE" connect ::1 18095
moat mode "$CG" monitor >/dev/null
in_cg "$PROBE" dns ::1 v6query.moat.test >/dev/null 2>&1
sleep 1
kill -INT "$trace_pid"
wait "$trace_pid"

sel() { jq -c "select($1)" "$out" | head -n 1; }
e=$(sel ".type==\"connect\" and .family==\"ipv6\" and .daddr==\"::1\" and .verdict==\"deny\"")
t_check "connect6 deny event" test -n "$e"
t_check "connect6 event fields" test "$(jq -r '[.dport, .rule_id, .scope, .mode, .comm, .cgroup_id] | map(tostring) | join(" ")' <<<"$e")" = "18095 61 cgroup enforce netprobe $cgid"
e=$(sel ".type==\"connect\" and .daddr==\"::1\" and .verdict==\"would_deny\"")
t_check "monitor mode reports would_deny" test -n "$e"
e=$(sel ".type==\"sendmsg\" and .family==\"ipv6\" and .verdict==\"deny\" and .dport==18097")
t_check "sendmsg6 deny event" test -n "$e"
e=$(sel ".type==\"connect\" and .daddr==\"::ffff:127.0.0.1\" and .verdict==\"deny\"")
t_check "mapped connect event names the IPv4 rule" test "$(jq -r .rule_id <<<"$e")" = 62
e=$(sel ".type==\"dns_query\" and .qname==\"v6query.moat.test\"")
t_check "DNS query over IPv6" test "$(jq -r '[.daddr, (.flags|index("ipv6") != null), .comm, .cgroup_id] | map(tostring) | join(" ")' <<<"$e")" = "::1 true netprobe $cgid"
e=$(sel ".type==\"exec\" and .cgroup_id==$cgid and .filename==\"$PROBE\"")
t_check "exec in the test cgroup reported" test -n "$e"
t_check "no exec event from outside watched cgroups" none ".type==\"exec\" and .cgroup_id != $cgid" "$out"
t_check "clear" moat clear
t_check "clear removes the pins" test ! -e "$PIN"
t_done
