#!/bin/bash
# test_prometheus.sh - a real Prometheus (Debian `prometheus`) scrapes `moat run`'s
# /metrics every second with the dashboard's token as its bearer credential, and PromQL
# queries return moat's counters with the values moat reports: kernel events per program,
# the shell alert per rule and severity, moat_up. Prometheus runs in its own temporary
# directory on a loopback port and is stopped by its pid.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PIN=/sys/fs/bpf/moat-test-prom
PORT=${MOAT_TEST_HTTP_PORT:-19877}
PROM_PORT=${MOAT_TEST_PROM_PORT:-19090}
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

command -v prometheus >/dev/null || { t_fail "prometheus is installed" "apt-get install prometheus (make deps)"; t_done; }
"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
docker_run_test prom -- sleep 600 || { t_fail "container starts" "docker run"; t_done; }
"$MOATBIN" --pin-dir "$PIN" run --no-pause --http "127.0.0.1:$PORT" --state-dir "$T_TMP/state" \
	--alerts-file "$T_TMP/alerts.jsonl" --control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
if ! wait_for -t 15 grep -q "moat run: watching" "$T_TMP/run.log"; then
	t_fail "moat run --http is up" "$(tail -n 3 "$T_TMP/run.log" | tr '\n' ' ')"
	t_done
fi
t_ok "moat run --http is up"
t_check "the token file is there" wait_for -t 5 test -s "$T_TMP/web.token"

mkdir -p "$T_TMP/prom/data"
cat >"$T_TMP/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: moat
    authorization:
      type: Bearer
      credentials_file: $T_TMP/web.token
    static_configs:
      - targets: ["127.0.0.1:$PORT"]
YML
t_check "promtool accepts the Prometheus configuration" promtool check config "$T_TMP/prom/prometheus.yml"
prometheus --config.file="$T_TMP/prom/prometheus.yml" --storage.tsdb.path="$T_TMP/prom/data" \
	--web.listen-address="127.0.0.1:$PROM_PORT" >"$T_TMP/prom/log" 2>&1 &
prom_pid=$!
t_on_exit "kill $prom_pid 2>/dev/null; wait $prom_pid 2>/dev/null"
PROM=http://127.0.0.1:$PROM_PORT

# q PROMQL: the first result's value ("" when none).
q() { curl -s -G "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
# at_least PROMQL N: the query's value is a number >= N.
at_least() { local v; v=$(q "$1"); [ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN {exit !(v >= n)}'; }

t_check "Prometheus is ready" wait_for -t 30 curl -sf "$PROM/-/ready"
t_check "the scrape of moat succeeds: up == 1 (the bearer token was accepted)" wait_for -t 20 at_least 'up{job="moat"}' 1
t_check "moat_up is 1" wait_for -t 10 at_least 'moat_up' 1

# A shell in the container: an exec event in the kernel and a CRITICAL alert.
before=$(curl -s -H "Authorization: Bearer $(cat "$T_TMP/web.token")" "http://127.0.0.1:$PORT/api/counters" |
	jq '[.programs[] | select(.program == "exec") | .events][0]')
docker exec moat-test-prom sh -c true
t_check "the shell's alert is logged" wait_for -t 10 some '.rule=="suspicious-exec"' "$T_TMP/alerts.jsonl"
after=$(curl -s -H "Authorization: Bearer $(cat "$T_TMP/web.token")" "http://127.0.0.1:$PORT/api/counters" |
	jq '[.programs[] | select(.program == "exec") | .events][0]')
t_check "moat's own exec counter grew ($before -> $after)" test "${after:-0}" -gt "${before:-0}"
t_check "PromQL moat_events_total{program=\"exec\"} reaches moat's value ($after)" \
	wait_for -t 15 at_least 'moat_events_total{program="exec"}' "${after:-1}"
t_check "PromQL moat_alerts_total{rule=\"suspicious-exec\",severity=\"CRITICAL\"} >= 1" \
	wait_for -t 15 at_least 'moat_alerts_total{rule="suspicious-exec",severity="CRITICAL"}' 1
t_check "PromQL sum(moat_events_total) covers every program" wait_for -t 5 at_least 'count(moat_events_total)' 14
t_check "PromQL moat_containers counts the test container" wait_for -t 10 at_least 'moat_containers' 1
t_check "PromQL moat_ring_buffer_bytes is the events ring buffer's size (64 KiB at least)" \
	wait_for -t 10 at_least 'moat_ring_buffer_bytes' 65536
t_check "PromQL moat_ring_buffer_used_bytes is there and within the size" \
	wait_for -t 10 at_least 'moat_ring_buffer_bytes - moat_ring_buffer_used_bytes' 0

# A wrong token is refused: a second job with a bad credential is down.
t_check "moat's /metrics refuses a wrong token (401)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' http://127.0.0.1:$PORT/metrics)\" = 401 ]"
t_done
