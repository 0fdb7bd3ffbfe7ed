#!/bin/bash
# test_adv_resources.sh - a container against the resource stats (issue 10): it hides a
# process holding memory among many small ones, past the per-sample statm budget of the
# memory fallback (max_procs_per_container 8 here, 100 processes), both from before moat
# starts (read in its turn) and forked later (new processes are read first); it runs enough
# tasks to pass pids_count; and while it does, moat run keeps answering its control socket
# and sampling the other containers. Report-only with no policies: it acts on nothing.
# On a pure-v2 host memory.current counts the hog whatever the processes do; these checks
# are for the fallback (hybrid hosts: memory controller on cgroup v1).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

MEMHOG=$MOAT_ROOT/build/helpers/memhog
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock
wait_go='while [ ! -e /moat-go ]; do sleep 0.2; done'
many='i=0; while [ $i -lt 100 ]; do sleep 600 & i=$((i + 1)); done'
# hog-old: 200 sleeps, then the hog, all before moat run starts.
docker_run_test hog-old -- sh -c "while [ ! -x /memhog ]; do sleep 0.2; done; $many; /memhog 200 600" ||
	{ t_fail "containers start" "docker run"; t_done; }
# hog-new: 200 sleeps before moat, the hog forked once moat watches.
docker_run_test hog-new -- sh -c "$many; $wait_go; /memhog 200 600"
docker_run_test quiet -- sleep 600
docker cp "$MEMHOG" moat-test-hog-old:/memhog >/dev/null
docker cp "$MEMHOG" moat-test-hog-new:/memhog >/dev/null
wait_for -t 20 bash -c "[ \$(wc -l <$(container_cgroup_path hog-old)/cgroup.procs) -ge 102 ]"
cat >"$T_TMP/cfg.json" <<'JSON'
{"report_only": true,
 "resources": {"interval_ms": 500, "max_procs_per_container": 8,
               "memory_bytes": 262144000, "memory_percent": 0, "pids_count": 90}}
JSON
adv_start res --config "$T_TMP/cfg.json"
t_check "moat run, 8 statm reads per container and sample, memory_bytes 250 MiB" test -n "$ADV_PID"
touch "$T_TMP/moat-go"
docker cp "$T_TMP/moat-go" moat-test-hog-new:/moat-go >/dev/null

hog='select(.rule=="memory-high" and .severity=="WARNING" and .container.name=="moat-test-'
t_check "a 200 MiB process forked among 100 small ones (1.3 MiB each) is counted at once (new first)" \
	adv_alert "$hog""hog-new\")" 15
# 102 processes, 8 a sample, every 0.5 s: every one is read within about 7 s, wherever the
# hog's pid falls in the order (pids are recycled: it is not always the last). Before that
# the unread count as the small ones' average, under the threshold.
t_check "one hidden among 100 from the start is counted within its turn" \
	adv_alert "$hog""hog-old\")" 20
t_check "the figure is the procs fallback's" \
	test "$(jq -r "select(.rule==\"memory-high\" and .container.name==\"moat-test-hog-new\") |
		.resource.source" "$ADV_ALERTS" | head -n 1)" = procs
t_check "pids-high: 100 tasks past pids_count 90" \
	adv_alert 'select(.rule=="pids-high" and .container.name=="moat-test-hog-old")' 15
passes_at_least() { [ "$(adv_status '.resources.passes')" -ge "$1" ]; }
quiet_samples_at_least() {
	[ "$("$MOATBIN" stats --resources moat-test-quiet --json 2>/dev/null |
		jq '.[0].history | length')" -ge "$1" ]
}
t_check "moat run answers its control socket meanwhile (10 passes done)" \
	wait_for -t 10 passes_at_least 10
t_check "and samples the quiet container (10 samples)" wait_for -t 15 quiet_samples_at_least 10
t_check "nothing raised for the quiet container" \
	adv_no_alert 'select(.container.name=="moat-test-quiet")'
if [ "$T_FAILED" -gt 0 ]; then
	echo "# what moat run sampled:"
	"$MOATBIN" stats --resources 2>&1 | sed 's/^/#   /'
	tail -n 5 "$ADV_LOG" | sed 's/^/#   /'
fi
t_done
