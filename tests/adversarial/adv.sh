# adv.sh - shared setup of the adversarial tests (tests/adversarial/test_*.sh); source it
# after ../integration/lib.sh. Each test attacks one of moat's promises from inside a test
# container that has Docker's default capabilities (root, CAP_NET_RAW), with the static
# attack tool tests/helpers/attack.c, and checks that the attack fails and that the alert
# says what happened. docs/security.md points at each check.
#
#   adv_rules FILE 'allow-domain *.allowed.test' ...   write a rules file (default deny)
#   adv_start NAME [moat run args...]                  moat run under its own pin dir
#   adv_container NAME [docker run args] [-- CMD]      a test container with the tools in /
#   adv_alert FILTER [SECS]                            an alert matching the jq FILTER came
#   adv_no_alert FILTER                                none did
#   attack NAME ARGS...                                run the attack tool in container NAME

ATTACK_BIN=$MOAT_ROOT/build/helpers/attack
PROBE_BIN=$MOAT_ROOT/build/helpers/netprobe
MOATBIN=$MOAT_ROOT/build/moat
ADV_ALERTS=$T_TMP/alerts.jsonl
ADV_LOG=$T_TMP/run.log
ADV_PIN=
ADV_PID=

# adv_rules FILE RULE...: an egress rules file, default deny, with rules "KIND MATCH".
adv_rules() {
	local f=$1 first=1 kind match
	shift
	{
		printf '{"default": "deny", "rules": ['
		for r in "$@"; do
			kind=${r%% *}
			match=${r#* }
			[ $first -eq 1 ] || printf ','
			first=0
			printf '{"kind": "%s", "match": "%s"}' "$kind" "$match"
		done
		printf ']}\n'
	} >"$f"
}

# moat_adv ARGS...: the moat CLI on this test's pin directory.
moat_adv() {
	"$MOATBIN" --pin-dir "$ADV_PIN" "$@"
}

# adv_start NAME [ARGS...]: start `moat run ARGS` with its own pin directory, state, alert
# file and control socket, and wait until it watches the containers. Stopped on exit. Call
# it directly, never in a subshell (t_check runs its command in one): it sets ADV_PID (empty
# when moat run did not come up) and ADV_PIN.
adv_start() {
	ADV_PIN=/sys/fs/bpf/moat-adv-$1
	shift
	"$MOATBIN" --pin-dir "$ADV_PIN" clear >/dev/null 2>&1
	: >"$ADV_ALERTS"
	# Emptied here, not by the redirection below: that happens in the child, after the wait
	# below may already have read the previous run's "watching".
	: >"$ADV_LOG"
	"$MOATBIN" --pin-dir "$ADV_PIN" run --no-pause --state-dir "$T_TMP/state" \
		--alerts-file "$ADV_ALERTS" --control-socket "$T_TMP/moat.sock" \
		--egress-rules "$T_TMP/none.json" --policies "$T_TMP/none-policies.json" \
		"$@" >>"$ADV_LOG" 2>&1 &
	ADV_PID=$!
	t_on_exit "adv_stop"
	if ! wait_for -t 20 grep -q "moat run: watching" "$ADV_LOG"; then
		tail -n 5 "$ADV_LOG" >&2
		adv_stop
		return 1
	fi
}

# adv_stop: stop moat run (by pid) and take everything it attached off.
adv_stop() {
	if [ -n "$ADV_PID" ]; then
		kill "$ADV_PID" 2>/dev/null
		wait "$ADV_PID" 2>/dev/null
		ADV_PID=
	fi
	[ -z "$ADV_PIN" ] || "$MOATBIN" --pin-dir "$ADV_PIN" clear >/dev/null 2>&1
}

# adv_status JQ: a field of moat run's status (control socket).
adv_status() {
	echo '{"cmd":"status"}' | socat -t 5 - "UNIX-CONNECT:$T_TMP/moat.sock" 2>/dev/null | jq -r ".status$1"
}

# adv_container NAME [docker run args] [-- CMD]: docker_run_test, then copy the attack tool
# and netprobe into / of the container.
adv_container() {
	local name=$1
	docker_run_test "$@" || return 1
	docker cp "$ATTACK_BIN" "$(_t_name "$name"):/attack" >/dev/null &&
		docker cp "$PROBE_BIN" "$(_t_name "$name"):/netprobe" >/dev/null
}

# attack NAME ARGS...: run the attack tool in container NAME; prints its result line.
attack() {
	local name=$1
	shift
	docker exec "$(_t_name "$name")" /attack "$@" 2>"$T_TMP/attack.err"
}

# adv_alert FILTER [SECS]: an alert matching the jq FILTER arrives within SECS (default 5).
adv_alert() {
	wait_for -t "${2:-5}" some "$1" "$ADV_ALERTS"
}

adv_no_alert() {
	none "$1" "$ADV_ALERTS"
}

# has_net_raw NAME: the container's init has CAP_NET_RAW (so an EPERM is moat's doing).
has_net_raw() {
	local eff
	eff=$(docker exec "$(_t_name "$1")" sh -c 'grep CapEff /proc/1/status' | awk '{print $2}')
	[ $(((0x$eff >> 13) & 1)) -eq 1 ]
}

printf '{"default": "allow", "rules": []}\n' >"$T_TMP/none.json"
printf '{"policies": []}\n' >"$T_TMP/none-policies.json"
