# lib.sh - shell helpers for moat's integration tests; source it, do not run it.
#
#   . "$(dirname "$0")/lib.sh"
#   docker_run_test web -- sleep 600          # container moat-test-web
#   start_listener 8080                       # http://gw.moat.test:8080/ answers "moat-test-ok 8080"
#   t_check "wget by name" docker exec moat-test-web timeout 3 wget -q -O - http://web.moat.test:8080/
#   t_done                                    # exit 1 if any check failed
#
# The image's busybox (Debian 1.35) has nc without -z/-u, and its `wget -T` segfaults:
# use `timeout N wget ...`, or `echo x | nc -w N ADDR PORT` for a bare TCP connect.
# Needs root and a running `tools/testenv.sh up`. Prints "ok - NAME" / "not ok - NAME: WHY".
# Everything started here (containers, listeners, t_on_exit commands) is undone on exit,
# by name or by pid; do not set your own EXIT trap, use t_on_exit.

MOAT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MOAT_TESTENV=$MOAT_ROOT/tools/testenv.sh
MOAT_TEST_IMAGE=moat-test/busybox
export DOCKER_HOST=unix:///var/run/docker.sock

T_PASSED=0
T_FAILED=0
T_TMP=$(mktemp -d /tmp/moat-test.XXXXXX)
_t_containers=()
_t_pids=()
_t_exit_cmds=()

t_ok() {
	T_PASSED=$((T_PASSED + 1))
	echo "ok - $1"
}

t_fail() {
	T_FAILED=$((T_FAILED + 1))
	echo "not ok - $1: $2"
}

# t_check NAME CMD...: ok if CMD exits 0; otherwise the failure shows CMD, its exit
# status and the last lines of its output.
t_check() {
	local name=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		t_ok "$name"
	else
		t_fail "$name" "'$*' exited $rc${out:+: $(echo "$out" | tail -n 3 | tr '\n' ' ')}"
	fi
}

# t_done: print the tally; exit 1 if any check failed (and 0 otherwise).
t_done() {
	echo "# $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ] || exit 1
	exit 0
}

# t_on_exit CMD...: run CMD (one string, eval'd) when the test script exits.
t_on_exit() {
	_t_exit_cmds+=("$*")
}

_t_cleanup() {
	local c pid
	for c in "${_t_exit_cmds[@]}"; do eval "$c" || true; done
	for pid in "${_t_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ "${#_t_containers[@]}" -eq 0 ] || docker rm -f -v "${_t_containers[@]}" >/dev/null 2>&1 || true
	rm -rf "$T_TMP"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

# wait_for [-t SECS] CMD...: poll CMD every 0.2 s until it exits 0 (return 0) or
# SECS (default 10) have passed (return 1).
wait_for() {
	local secs=10 tries
	if [ "$1" = -t ]; then
		secs=$2
		shift 2
	fi
	for ((tries = secs * 5; tries > 0; tries--)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# gw_addr: the docker0 gateway address; dnsmasq and start_listener listen there.
gw_addr() {
	[ -n "${MOAT_TEST_GW:-}" ] || MOAT_TEST_GW=$("$MOAT_TESTENV" gw) || return 1
	echo "$MOAT_TEST_GW"
}
MOAT_TEST_GW=$("$MOAT_TESTENV" gw 2>/dev/null) ||
	echo "# lib.sh: no docker0 gateway; run 'sudo tools/testenv.sh up'" >&2

# Container names: "web" and "moat-test-web" both mean moat-test-web.
_t_name() {
	case $1 in
	moat-test-*) echo "$1" ;;
	*) echo "moat-test-$1" ;;
	esac
}

# docker_run_test NAME [docker run args] [-- CMD...]: start container moat-test-NAME
# (detached, label moat.test=1, --dns at our dnsmasq) from moat-test/busybox, running
# CMD (default: sleep 3600). Removed on exit. Returns docker run's status.
docker_run_test() {
	local name err rc=0 args=()
	name=$(_t_name "$1")
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -eq 0 ] || shift
	[ $# -gt 0 ] || set -- sleep 3600
	docker rm -f -v "$name" >/dev/null 2>&1 || true
	_t_containers+=("$name")
	# Without IP forwarding Docker warns on every run; that warning is expected here.
	err=$(docker run -d --name "$name" --label moat.test=1 --dns "$(gw_addr)" \
		"${args[@]}" "$MOAT_TEST_IMAGE" "$@" 2>&1 >/dev/null) || rc=$?
	err=$(echo "$err" | grep -v 'IPv4 forwarding is disabled' || true)
	[ -z "$err" ] || echo "$err" >&2
	return "$rc"
}

# container_id NAME: the full 64-hex id.
container_id() {
	docker inspect -f '{{.Id}}' "$(_t_name "$1")"
}

# container_pid NAME: host pid of the container's init; fails if it is not running.
container_pid() {
	local pid
	pid=$(docker inspect -f '{{.State.Pid}}' "$(_t_name "$1")") || return 1
	[ "$pid" -gt 0 ] || return 1
	echo "$pid"
}

# container_cgroup_path NAME: the container's cgroup v2 directory on the host,
# e.g. /sys/fs/cgroup/unified/docker/<id> (hybrid) or /sys/fs/cgroup/docker/<id>.
container_cgroup_path() {
	local pid rel mnt=/sys/fs/cgroup
	pid=$(container_pid "$1") || return 1
	rel=$(sed -n 's/^0:://p' "/proc/$pid/cgroup")
	[ -n "$rel" ] || return 1
	[ "$(stat -f -c %T "$mnt")" = cgroup2fs ] || mnt=/sys/fs/cgroup/unified
	echo "$mnt$rel"
}

# container_cgroup_id NAME: the cgroup id moat sees (inode of the cgroup v2 directory).
container_cgroup_id() {
	local path
	path=$(container_cgroup_path "$1") || return 1
	stat -c %i "$path"
}

# start_listener PORT [tcp|udp]: listen on gw_addr:PORT until the script exits.
#   tcp (default): busybox httpd; GET / answers "moat-test-ok PORT".
#   udp: socat; every datagram received is appended to $T_TMP/udp-PORT.log.
# Returns once the socket is bound (1 if it never is).
start_listener() {
	local port=$1 proto=${2:-tcp} gw dir
	gw=$(gw_addr) || return 1
	case $proto in
	tcp)
		dir=$T_TMP/www-$port
		mkdir -p "$dir"
		echo "moat-test-ok $port" >"$dir/index.html"
		busybox httpd -f -vv -p "$gw:$port" -h "$dir" 2>>"$T_TMP/tcp-$port.log" &
		_t_pids+=($!)
		wait_for -t 5 _t_bound -t "$gw" "$port"
		;;
	udp)
		socat -u "UDP4-RECV:$port,bind=$gw,reuseaddr" "OPEN:$T_TMP/udp-$port.log,creat,append" &
		_t_pids+=($!)
		wait_for -t 5 _t_bound -u "$gw" "$port"
		;;
	*)
		echo "start_listener: protocol must be tcp or udp, not '$proto'" >&2
		return 1
		;;
	esac
}

_t_bound() {
	[ -n "$(ss -Hln "$1" src "$2:$3")" ]
}

# dns_add NAME ADDR: make the test DNS answer NAME with ADDR (until the next
# `testenv.sh up` restarts dnsmasq), e.g. for a container's own address.
dns_add() {
	local pid
	echo "$2 $1" >>/run/moat-testenv/hosts
	pid=$(cat /run/moat-testenv/dnsmasq.pid 2>/dev/null) || return 1
	kill -HUP "$pid" || return 1
	wait_for -t 5 sh -c "busybox nslookup '$1' '$(gw_addr)' 2>/dev/null | grep -q '$2'"
}

# container_ip NAME: the container's IPv4 address on the default bridge.
container_ip() {
	docker inspect -f '{{.NetworkSettings.IPAddress}}' "$(_t_name "$1")"
}

# none FILTER FILE: true when no JSON line of FILE matches the jq FILTER
# (jq 1.6 -e exits 0 on empty input, so never use `! jq -e`).
none() {
	[ "$(jq -c "select($1)" "$2" | wc -l)" -eq 0 ]
}

# some FILTER FILE: true when at least one JSON line of FILE matches the jq
# FILTER (jq 1.6 -e judges only the last input, so never use `jq -e select`).
some() {
	[ "$(jq -c "select($1)" "$2" 2>/dev/null | wc -l)" -gt 0 ]
}
