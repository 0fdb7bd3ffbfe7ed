#!/bin/bash
# test_docker_restart.sh - dockerd restarts while `moat run` runs: kernel
# enforcement never stops (a container keeps hitting a blacklisted address
# the whole time and never gets through), the events stream reconnects, and
# the inventory recovers (a container started afterwards is named in alerts).
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PROBE=$MOAT_ROOT/build/helpers/netprobe
PIN=/sys/fs/bpf/moat-test-restart
ALERTS=$T_TMP/alerts.jsonl
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test rsvc -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
docker cp "$PROBE" moat-test-rsvc:/netprobe >/dev/null
docker exec -d moat-test-rsvc /netprobe listen 0.0.0.0 8080
SVC=$(container_ip rsvc)
docker_run_test rweb -- sleep 600
docker cp "$PROBE" moat-test-rweb:/netprobe >/dev/null
echo "$SVC" >"$T_TMP/black.txt"

"$MOATBIN" --pin-dir "$PIN" run --no-pause --blacklist "$T_TMP/black.txt" --state-dir "$T_TMP/state" \
	--alerts-file "$ALERTS" --control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
t_check "moat run is up" wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"

# ~10 s of connects to the blacklisted address, across the restart.
docker exec -d moat-test-rweb sh -c "i=0; while [ \$i -lt 200 ]; do /netprobe connect $SVC 8080 >>/tmp/log 2>/dev/null; sleep 0.05; i=\$((i+1)); done; touch /tmp/done"
sleep 1
t_check "dockerd restarts (containers keep running)" "$MOAT_ROOT/tools/testenv.sh" restart-dockerd
t_check "the loop ran through the restart" wait_for -t 40 docker exec moat-test-rweb test -f /tmp/done
n_ok=$(docker exec moat-test-rweb grep -c '^ok' /tmp/log)
n_eperm=$(docker exec moat-test-rweb grep -c '^EPERM' /tmp/log)
t_check "no connect got through during the restart ($n_eperm refused)" test "$n_ok" -eq 0 -a "$n_eperm" -ge 150
t_check "moat run is still running" kill -0 "$run_pid"
t_check "the events stream reconnected" wait_for -t 20 grep -q "reconnected" "$T_TMP/run.log"
docker_run_test rnew -- sleep 600
docker exec moat-test-rnew sh -c true
t_check "a container started after the restart is named in alerts" \
	wait_for -t 10 some ".rule==\"suspicious-exec\" and .container.name==\"moat-test-rnew\"" "$ALERTS"
t_done
