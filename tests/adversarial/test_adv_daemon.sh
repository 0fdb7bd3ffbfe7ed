#!/bin/bash
# test_adv_daemon.sh - nothing a container controls blocks, slows or crashes moat run
# (issue #8, item 4). The renamed-copy check opens files in the container's root: the
# container plants FIFOs, a magic link and huge files where it looks, then runs programs
# that trigger it; moat run must keep answering, alerting and acting at once.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

adv_container ff -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
adv_start ff
t_check "moat run" test -n "$ADV_PID"
# responsive: the control socket answers within 2 s
responsive() { echo '{"cmd":"status"}' | timeout 2 socat - "UNIX-CONNECT:$T_TMP/moat.sock" | grep -q '"ok"'; }

docker exec moat-test-ff sh -c '
	mkdir -p /usr/local/bin /usr/local/sbin
	for n in zsh bash ksh mksh fish python3 perl ruby node nc socat; do
		rm -f /usr/local/bin/$n; mkfifo /usr/local/bin/$n
	done
	ln -sf /proc/1/fd/0 /usr/local/sbin/tcsh
	ln -sf /dev/zero /usr/sbin/lua
	dd if=/dev/zero of=/usr/bin/php bs=1M seek=200 count=0 2>/dev/null'
t_check "the traps are planted (a FIFO at /usr/local/bin/zsh)" \
	docker exec moat-test-ff test -p /usr/local/bin/zsh
docker exec moat-test-ff sh -c 'cp /bin/busybox /tmp/innocent; /tmp/innocent true'
t_check "a renamed copy of the shell is still found past the traps" \
	adv_alert '.rule=="suspicious-exec" and .process.filename=="/tmp/innocent" and (.message|test("copy of"))'
t_check "moat run answers its control socket at once" responsive
: >"$ADV_ALERTS"
docker exec moat-test-ff sh -c 'true'
t_check "and still alerts on a shell" \
	adv_alert '.rule=="suspicious-exec" and .container.name=="moat-test-ff" and .process.filename=="/bin/sh"' 3

# A program as big as the huge file: the copy check must not read 200 MB per exec.
docker exec moat-test-ff sh -c 'dd if=/dev/zero of=/tmp/big bs=1M seek=200 count=0 2>/dev/null
	cp /bin/true /tmp/big.true 2>/dev/null; chmod +x /tmp/big'
docker exec moat-test-ff sh -c '/tmp/big 2>/dev/null; true'
t_check "an exec'd file as big as the planted one: still responsive" responsive
# Before the flood below (whose 40 copies are read, within the budget): the planted and the
# exec'd 200 MB files were never read.
sleep 0.5
n=$(adv_status '.copycheck.bytes_read')
t_check "the checks never read the 200 MB files (read $n bytes)" test "${n:-0}" -lt 100000000

# Many new programs at once: the per-container budget holds, the rest is counted.
docker exec moat-test-ff sh -c 'i=0; while [ $i -lt 40 ]; do cp /bin/busybox /tmp/b$i; i=$((i+1)); done
	i=0; while [ $i -lt 40 ]; do /tmp/b$i true & i=$((i+1)); done; wait'
t_check "an exec flood past the check budget is reported (exec-unchecked)" \
	adv_alert '.rule=="exec-unchecked" and .container.name=="moat-test-ff"'
t_check "and moat run stays responsive" responsive
n=$(adv_status '.copycheck.skipped_budget')
t_check "status counts the checks skipped ($n)" test "${n:-0}" -ge 1
: >"$ADV_ALERTS"
docker exec moat-test-ff sh -c 'true'
t_check "after all that, a shell is still alerted" \
	adv_alert '.rule=="suspicious-exec" and .container.name=="moat-test-ff" and .process.filename=="/bin/sh"' 3
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
