#!/bin/bash
# test_enforce.sh - CIDR rules in the kernel: monitor mode never denies, enforce
# mode returns EPERM inside the container, a re-attached (restarted) moat keeps
# the pinned maps and never lets a connect through, `moat clear` leaves nothing.
. "$(dirname "$0")/lib.sh"

MOAT=${MOAT:-build/moat}
GW=$(gw_addr)
PARENT=$(tools/testenv.sh cgroup-parent)

"$MOAT" clear >/dev/null 2>&1
docker_run_test enf -- sleep 600 || { t_fail "container starts" "docker run failed"; t_done; }
start_listener 18090 tcp
cgid=$(container_cgroup_id enf)
docker cp build/helpers/netprobe moat-test-enf:/netprobe >/dev/null

t_check "moat attach" "$MOAT" attach
t_check "links pinned" bash -c 'ls /sys/fs/bpf/moat/links | grep -q handle_connect4'

try_connect() { docker exec moat-test-enf /netprobe connect "$GW" 18090 2>&1; }

t_check "connect allowed with no rule" try_connect
t_check "deny rule for the gateway in monitor mode" "$MOAT" rule deny "$GW/32" --cgroup moat-test-enf --id 41
t_check "monitor mode never denies" try_connect
t_check "enforce mode for the container" "$MOAT" mode moat-test-enf enforce
msg=$(try_connect)
rc=$?
t_check "enforce: connect fails" test "$rc" -ne 0
t_check "enforce: the error is EPERM" grep -qi "not permitted" <<<"$msg"
t_check "enforce: unconnected UDP sendto gets EPERM" test "$(docker exec moat-test-enf /netprobe sendto "$GW" 18091)" = EPERM
t_check "an allow for the same CIDR replaces the deny" "$MOAT" rule allow "$GW/32" --cgroup moat-test-enf
t_check "allowed again" try_connect
t_check "sendto allowed again" test "$(docker exec moat-test-enf /netprobe sendto "$GW" 18091)" = ok
"$MOAT" rule deny "$GW/32" --cgroup moat-test-enf --id 41 >/dev/null
t_check "global deny of the subnet" "$MOAT" rule deny "${GW%.*}.0/24" --id 42
"$MOAT" rule allow "$GW/32" --cgroup moat-test-enf >/dev/null
t_check "a longer allow (/32, cgroup) beats a shorter deny (/24, global)" try_connect
"$MOAT" rule del "$GW/32" --cgroup moat-test-enf >/dev/null
msg=$(try_connect)
t_check "global rule denies in enforce mode" bash -c "grep -qi 'not permitted' <<<'$msg'"
t_check "status lists the rule" bash -c "'$MOAT' status | grep -q '${GW%.*}.0/24.*deny.*42'"

# Restart: re-attach while the container keeps trying; nothing gets through.
links_before=$(ls /sys/fs/bpf/moat/links | wc -l)
docker exec -d moat-test-enf sh -c "i=0; while [ \$i -lt 300 ]; do /netprobe connect $GW 18090 >/dev/null 2>&1 && echo ok >> /tmp/through; i=\$((i+1)); done; touch /tmp/done"
t_check "moat attach again (restart)" "$MOAT" attach
t_check "maps kept across the restart" bash -c "'$MOAT' status | grep -q '${GW%.*}.0/24.*deny.*42'"
wait_for -t 60 docker exec moat-test-enf test -f /tmp/done
t_check "no connect slipped through during the restart" docker exec moat-test-enf test ! -f /tmp/through
msg=$(try_connect)
t_check "still denied after the restart" bash -c "grep -qi 'not permitted' <<<'$msg'"
n=$(ls /sys/fs/bpf/moat/links | wc -l)
t_check "restart adds no duplicate links ($links_before before, $n after)" test "$n" -eq "$links_before"
t_check "every program is linked ($n links)" test "$n" -ge 12

t_check "moat clear" "$MOAT" clear
t_check "clear removes the pin directory" test ! -e /sys/fs/bpf/moat
t_check "clear detaches every program from the Docker cgroup" bash -c "! bpftool cgroup show '$PARENT' | grep -q handle_"
t_check "connect works again after clear" try_connect
t_done
