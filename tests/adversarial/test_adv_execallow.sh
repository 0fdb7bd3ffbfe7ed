#!/bin/bash
# test_adv_execallow.sh - exec allow-only (a policy with exec_allow and kill_exec): only the
# listed names run, decided in the kernel before the first instruction; every name the
# exec hook checks (the path, the #! interpreter, argv[0], busybox's applet, the file run,
# the loader's program) must be listed, so renaming argv[0], busybox applets, the dynamic
# loader and memfds do not get around it. In moat-test/debian (glibc, dash, busybox).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

MOAT_TEST_IMAGE=moat-test/debian
LD=/lib64/ld-linux-x86-64.so.2
POL=$T_TMP/ea-policies.json
cat >"$POL" <<'JSON'
{"policies": [{"id": "allow-only", "target": {"names": ["moat-test-ea"]},
  "exec_allow": ["id", "sleep", "attack", "busybox", "true"],
  "actions": ["alert", "kill_exec"]}]}
JSON
adv_container ea -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
ex() { docker exec moat-test-ea "$@" 2>/dev/null; }
# rc CMD...: the exit status of docker exec CMD (137: SIGKILL).
rc() {
	docker exec moat-test-ea "$@" >/dev/null 2>&1
	echo $?
}
cgid=$(container_cgroup_id ea 2>/dev/null)

adv_start ea --policies "$POL"
t_check "moat run with an exec_allow + kill_exec policy" test -n "$ADV_PID"
t_check "the container is put in exec allow-only" \
	wait_for -t 10 grep -q "container moat-test-ea: exec allow-only (policy allow-only): 5 name" "$ADV_LOG"
t_check "an allowed program runs (id)" test "$(ex /usr/bin/id -u)" = 0
t_check "an allowed program runs by its bare name (true)" test "$(rc true)" = 0
t_check "a program on no list and not allowed (ls) is killed: exit 137" \
	test "$(rc /usr/bin/ls /)" = 137
t_check "alerted as exec-not-allowed, CRITICAL, killed" \
	adv_alert '.rule=="exec-not-allowed" and .severity=="CRITICAL" and .container.name=="moat-test-ea" and .process.filename=="/usr/bin/ls" and .process.killed==true'
t_check "a shell (dash) is killed" test -z "$(ex dash -c 'echo pwned')"
t_check "an allowed program run under another argv[0] is killed" \
	test "$(rc /attack exec-argv0 innocent /usr/bin/id)" = 137
t_check "the dynamic loader running an allowed program is killed (the loader is not listed)" \
	test "$(rc "$LD" /usr/bin/id -u)" = 137
t_check "a memfd copy of an allowed program is killed (fileless)" \
	test -z "$(ex /attack exec-memfd /usr/bin/id -u)"
t_check "busybox running a listed applet (busybox id) runs" test "$(ex /bin/busybox id -u)" = 0
t_check "busybox running an applet not listed (busybox uname) is killed" \
	test "$(rc /bin/busybox uname)" = 137
t_check "busybox as argv[0]=uname (applet by name) is killed" \
	test "$(rc /attack exec-argv0 uname /bin/busybox)" = 137
t_check "busybox sh (sh not listed) is killed" \
	test -z "$(ex /bin/busybox sh -c 'echo pwned')"
if command -v bpftool >/dev/null && [ -n "$cgid" ]; then
	n_allow() { bpftool -j map dump pinned "$ADV_PIN/exec_allow" 2>/dev/null | jq "[.[] | select(.formatted.key.cgroup_id == $cgid)] | length"; }
	t_check "exec_allow holds the container's 5 names" test "$(n_allow)" = 5
	docker rm -f moat-test-ea >/dev/null 2>&1
	none_left() { test "$(n_allow)" = 0; }
	t_check "and they are removed when the container goes" wait_for -t 10 none_left
fi
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
