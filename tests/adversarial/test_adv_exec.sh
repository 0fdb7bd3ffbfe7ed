#!/bin/bash
# test_adv_exec.sh - shells started by evasive routes are seen, and kill-exec stops them in
# the kernel (issue #8, item 5), in a container with a real glibc userland
# (moat-test/debian: dash, bash and the dynamic loader from this host's Debian packages):
# exec of a memfd (fileless), the dynamic loader running a shell, busybox called as "-sh" or
# "busyboxX", and a hard link or copy of a shell under an innocent name.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

MOAT_TEST_IMAGE=moat-test/debian
LD=/lib64/ld-linux-x86-64.so.2
adv_container ex -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
t_check "the image has a real glibc and its loader" docker exec moat-test-ex /bin/busybox test -x "$LD"
ex() { docker exec moat-test-ex "$@" 2>/dev/null; }
# $1: the command; prints what the shell printed (empty when it was killed).
pwned() { ex "$@" -c 'echo pwned'; }

# ---- alerts (kill-exec off) ----
adv_start ex
t_check "moat run" test -n "$ADV_PID"
t_check "memfd exec of dash runs (kill-exec off)" \
	test "$(ex /attack exec-memfd /usr/bin/dash -c 'echo pwned')" = pwned
t_check "memfd: alert fileless-exec, CRITICAL" \
	adv_alert '.rule=="fileless-exec" and .severity=="CRITICAL" and .container.name=="moat-test-ex" and .process.fileless==true'
t_check "memfd named dash: also suspicious-exec (argv[0])" \
	adv_alert '.rule=="suspicious-exec" and .process.fileless==true and .process.matched=="dash"'
: >"$ADV_ALERTS"
ex /attack -a innocent exec-memfd /usr/bin/dash -c 'true' >/dev/null
t_check "memfd with an innocent argv[0]: still fileless-exec" \
	adv_alert '.rule=="fileless-exec" and (.process.argv[0]=="innocent")'
ex /attack -p -a innocent exec-memfd /usr/bin/dash -c 'true' >/dev/null
t_check "memfd run as /proc/self/fd/N: fileless-exec" \
	adv_alert '.rule=="fileless-exec" and (.process.filename|test("^/proc/self/fd/"))'
t_check "the loader running dash: output ($(pwned "$LD" /usr/bin/dash))" true
t_check "the loader running dash: suspicious-exec names dash" \
	adv_alert '.rule=="suspicious-exec" and .process.matched=="dash" and .process.loader==true'
: >"$ADV_ALERTS"
ex "$LD" --library-path /lib/x86_64-linux-gnu --argv0 x /usr/bin/bash -c true
t_check "the loader with options (--library-path DIR --argv0 NAME) running bash: caught" \
	adv_alert '.rule=="suspicious-exec" and .process.matched=="bash"'
ex /attack exec-argv0 -sh /bin/busybox -c true
t_check "busybox as -sh (a login shell): caught" \
	adv_alert '.rule=="suspicious-exec" and .process.argv[0]=="-sh" and .process.matched=="sh"'
ex /attack exec-argv0 busyboxX /bin/busybox sh -c true
t_check "busybox as busyboxX sh: caught" \
	adv_alert '.rule=="suspicious-exec" and .process.argv[0]=="busyboxX" and .process.matched=="sh"'
ex /bin/busybox sh -c 'busybox ln /usr/bin/dash /tmp/notashell && busybox cp /usr/bin/bash /tmp/notbash'
: >"$ADV_ALERTS"
ex /tmp/notashell -c true
t_check "a hard link of dash under another name: caught (copy check)" \
	adv_alert '.rule=="suspicious-exec" and .process.filename=="/tmp/notashell" and (.message|test("copy of /(usr/)?bin/(sh|dash)"))'
ex /tmp/notbash -c true
t_check "a copy of bash under another name: caught (copy check)" \
	adv_alert '.rule=="suspicious-exec" and .process.filename=="/tmp/notbash" and (.message|test("copy of /(usr/)?bin/bash"))'
adv_stop

# ---- kill-exec: stopped in the kernel, before the first instruction ----
adv_start ex --kill-exec
t_check "moat run --kill-exec" test -n "$ADV_PID"
t_check "kill-exec: plain dash is killed (control)" test -z "$(pwned dash)"
t_check "kill-exec: memfd exec of dash is killed" \
	test -z "$(ex /attack exec-memfd /usr/bin/dash -c 'echo pwned')"
t_check "kill-exec: a memfd with an innocent name is killed (fileless)" \
	test -z "$(ex /attack -a innocent exec-memfd /usr/bin/dash -c 'echo pwned')"
t_check "kill-exec: fileless kill says so" \
	adv_alert '.rule=="fileless-exec" and .process.killed==true and (.message|test("killed in the kernel"))'
t_check "kill-exec: the loader running dash is killed" test -z "$(pwned "$LD" /usr/bin/dash)"
t_check "kill-exec: the loader with options running bash is killed" \
	test -z "$(ex "$LD" --library-path /lib/x86_64-linux-gnu /usr/bin/bash -c 'echo pwned')"
t_check "kill-exec: busybox as -sh is killed" \
	test -z "$(ex /attack exec-argv0 -sh /bin/busybox -c 'echo pwned')"
t_check "kill-exec: busybox as busyboxX sh is killed" \
	test -z "$(ex /attack exec-argv0 busyboxX /bin/busybox sh -c 'echo pwned')"
t_check "kill-exec: an ordinary program still runs" test "$(ex /usr/bin/id -u)" = 0
t_check "kill-exec: the loader running an ordinary program still works" \
	test "$(ex "$LD" /usr/bin/id -u)" = 0
t_check "moat run kept running" kill -0 "$ADV_PID"
t_done
