#!/bin/bash
# testenv.sh - bring moat's test environment (Docker + test DNS) up or down, or report it.
#
# Usage (as root): tools/testenv.sh up | down | status | env | gw | cgroup-parent
#   up             make everything below exist; idempotent, repairs a half-up state
#   down           remove moat-test-* containers, stop what `up` started (by pidfile)
#   status         print each part's state; exit 0 only if all are up
#   env            print DOCKER_HOST, MOAT_TEST_GW, MOAT_TEST_DNS, MOAT_TEST_IMAGE,
#                  MOAT_TEST_CGROUP_PARENT as shell assignments
#   gw             print the docker0 gateway address (also where dnsmasq listens)
#   cgroup-parent  print the host path of Docker's parent cgroup v2 directory
#   restart-dockerd  stop and start dockerd alone; containers keep running (live-restore)
#
# What `up` builds, and why:
#  - bpffs at /sys/fs/bpf and tracefs at /sys/kernel/tracing, when not mounted.
#  - A Docker daemon whose containers each get their own cgroup v2 directory, since
#    moat's cgroup hooks and cgroup ids are v2 only.
#    * A dockerd already answering on /var/run/docker.sock is reused as it is (it
#      must report cgroup v2) and is never stopped by `down`.
#    * Otherwise testenv starts its own containerd + dockerd: data in
#      /var/lib/moat-testenv, pidfiles, sockets and logs in /run/moat-testenv, API
#      on the usual /var/run/docker.sock, so `docker` needs no DOCKER_HOST.
#    * Hybrid hosts (v1 controllers under /sys/fs/cgroup, cgroup2 at
#      /sys/fs/cgroup/unified) make Docker pick cgroup v1. So both daemons run in
#      a private mount namespace (`unshare -m`) where cgroup2 is mounted over
#      /sys/fs/cgroup: Docker uses v2 there, and on the host each container shows
#      up as /sys/fs/cgroup/unified/docker/<id>. The host's mounts are untouched.
#      containerd must live in that same namespace (runc has to see cgroup2 and
#      the overlay rootfs dockerd mounts), so a system containerd is never used.
#      On a pure v2 host nothing is mounted; the namespace just keeps Docker's
#      overlay mounts private, and they vanish with the daemons.
#    * Network (tools/testenv/daemon.json): bridge docker0 172.29.0.1/24, no IP
#      forwarding, no iptables rules, no masquerading, no IPv6. Containers reach
#      the gateway address and each other, and nothing beyond this machine.
#  - The image moat-test/debian: dash, bash, glibc and its loader from this host's Debian
#    packages, for attacks that need a real glibc userland (tests/adversarial).
#  - The image moat-test/busybox, made with `docker import` from busybox-static
#    (/bin/busybox plus applet links): no registry is reachable, none is needed.
#  - dnsmasq bound to the gateway address only, serving the test zones of
#    tools/testenv/dnsmasq.conf.in with no upstream server, so nothing a test
#    resolves ever leaves the machine. Containers get it as their --dns.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$HERE/testenv
RUN=/run/moat-testenv
DATA=/var/lib/moat-testenv
SOCK=/var/run/docker.sock
IMAGE=moat-test/busybox
DEBIAN_IMAGE=moat-test/debian
export DOCKER_HOST=unix://$SOCK

log() { echo "testenv: $*"; }
warn() { echo "testenv: warning: $*" >&2; }
die() {
	echo "testenv: error: $*" >&2
	exit 1
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0 $1)"
}

# True if process $1 exists and is not a zombie.
alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

# Print the pid in pidfile $1 if that process is alive and runs program $2 (guards
# against a recycled pid). Returns 1 otherwise.
pidfile_pid() {
	local pid exe
	[ -s "$1" ] || return 1
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
	exe=${exe% (deleted)}
	[ "${exe##*/}" = "$2" ] || return 1
	echo "$pid"
}

# SIGTERM pid $1 (named $2), wait up to $3 seconds (default 10), then SIGKILL.
stop_pid() {
	local pid=$1 name=$2 secs=${3:-10} i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < secs * 10; i++)); do
		alive "$pid" || {
			log "stopped $name (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	warn "$name (pid $pid) still running ${secs}s after SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
}

# Print the host's cgroup2 mount point (pure v2: /sys/fs/cgroup; hybrid:
# /sys/fs/cgroup/unified). Returns 1 if cgroup2 is not mounted on the host.
cgroup2_mount() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ]; then
			echo "$d"
			return 0
		fi
	done
	d=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
	[ -n "$d" ] && echo "$d"
}

# Print the cgroup version the dockerd on $SOCK reports; returns 1 if none answers.
docker_cgroup_version() {
	timeout 10 docker info -f '{{.CgroupVersion}}' 2>/dev/null
}

docker_ours_pid() { pidfile_pid "$RUN/docker.pid" dockerd; }

# Print the docker0 (default bridge) gateway address; returns 1 if there is none.
gateway() {
	local br addr
	br=$(timeout 10 docker network inspect bridge \
		-f '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null) || br=
	addr=$(ip -4 -o addr show dev "${br:-docker0}" 2>/dev/null | awk '{print $4; exit}' || true)
	[ -n "$addr" ] && echo "${addr%/*}"
}

# The bridge address our own dockerd is configured with (from daemon.json).
our_bip() {
	sed -n 's/.*"bip": *"\([^"]*\)".*/\1/p' "$CONF/daemon.json"
}

dns_answers() {
	timeout 3 busybox nslookup gw.moat.test "$1" 2>/dev/null | grep -qx "Address: *$1"
}

remove_test_containers() {
	local ids
	ids=$({
		docker ps -aq --filter 'name=^moat-test-'
		docker ps -aq --filter 'label=moat.test=1'
	} 2>/dev/null | sort -u)
	[ -n "$ids" ] || return 0
	# shellcheck disable=SC2086 # one id per word
	docker rm -f -v $ids >/dev/null
	log "removed $(echo "$ids" | wc -l) moat-test container(s)"
}

mount_fs() {
	if ! findmnt -rn -t bpf -M /sys/fs/bpf >/dev/null; then
		mount -t bpf bpf /sys/fs/bpf || die "cannot mount bpffs at /sys/fs/bpf"
		log "mounted bpffs at /sys/fs/bpf"
	fi
	if [ ! -e /sys/kernel/tracing/trace ]; then
		mount -t tracefs nodev /sys/kernel/tracing || die "cannot mount tracefs at /sys/kernel/tracing"
		log "mounted tracefs at /sys/kernel/tracing"
	fi
}

# Kill what a crashed run of ours left: processes of our containers (by their
# cgroup.kill), then daemons and shims still in the mount namespace our dockerd
# ran in. Only our own binaries in that namespace are touched.
kill_leftovers() {
	local cg id dir ns p exe pids=()
	cg=$(cgroup2_mount) || cg=
	if [ -n "$cg" ] && [ -d "$DATA/docker/containers" ]; then
		for dir in "$DATA"/docker/containers/*/; do
			id=$(basename "$dir")
			# (cgroup files always stat as size 0: read them)
			if [ ! -e "$cg/docker/$id/cgroup.kill" ] || [ -z "$(cat "$cg/docker/$id/cgroup.procs")" ]; then
				continue
			fi
			echo 1 >"$cg/docker/$id/cgroup.kill" && log "killed leftover processes of container ${id:0:12}"
		done
	fi
	[ -s "$RUN/mntns" ] || return 0
	ns=$(cat "$RUN/mntns")
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] || continue
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		exe=${exe% (deleted)}
		case ${exe##*/} in
		dockerd | containerd | containerd-shim* | runc | docker-proxy) pids+=("${p#/proc/}") ;;
		esac
	done
	for p in "${pids[@]}"; do
		stop_pid "$p" "leftover $(readlink "/proc/$p/exe" 2>/dev/null || echo process)" 5
	done
	rm -f "$RUN/mntns"
}

# Run inside the private mount namespace (see the header): cgroup2 over
# /sys/fs/cgroup, then containerd in the background and dockerd in the foreground.
ns_init() {
	readlink /proc/self/ns/mnt >"$RUN/mntns"
	if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; then
		mount -t cgroup2 none /sys/fs/cgroup
	fi
	mkdir -p "$RUN/containerd"
	containerd --config "$CONF/containerd.toml" --address "$RUN/containerd/containerd.sock" \
		--root "$DATA/containerd" --state "$RUN/containerd/state" \
		>>"$RUN/containerd.log" 2>&1 </dev/null &
	echo $! >"$RUN/containerd.pid"
	for _ in $(seq 100); do
		[ -S "$RUN/containerd/containerd.sock" ] && break
		sleep 0.1
	done
	[ -S "$RUN/containerd/containerd.sock" ] || die "containerd did not start; see $RUN/containerd.log"
	exec dockerd --config-file "$CONF/daemon.json" --data-root "$DATA/docker" \
		--exec-root "$RUN/docker" --pidfile "$RUN/docker.pid" --host "unix://$SOCK" \
		--containerd "$RUN/containerd/containerd.sock"
}

# Stop our dockerd and containerd (if running) and whatever they left behind.
stop_docker() {
	local pid
	if pid=$(docker_ours_pid); then stop_pid "$pid" dockerd 20; fi
	if pid=$(pidfile_pid "$RUN/containerd.pid" containerd); then stop_pid "$pid" containerd 10; fi
	kill_leftovers
	rm -f "$RUN/docker.pid" "$RUN/containerd.pid"
	# Docker never deletes its bridge; with no dockerd left, docker0 is ours to drop.
	if ip link show docker0 >/dev/null 2>&1 && ! docker_cgroup_version >/dev/null; then
		ip link del docker0 && log "deleted bridge docker0"
	fi
}

start_docker() {
	local bip launcher ver addr
	if ! command -v dockerd >/dev/null || ! command -v containerd >/dev/null; then
		die "dockerd/containerd not found; run tools/deps.sh"
	fi
	cgroup2_mount >/dev/null ||
		die "cgroup v2 is not mounted on this host (neither /sys/fs/cgroup nor /sys/fs/cgroup/unified); moat needs it"
	bip=$(our_bip)
	addr=$(ip -4 -o addr show dev docker0 2>/dev/null | awk '{print $4; exit}' || true)
	if [ -n "$addr" ] && [ "$addr" != "$bip" ]; then
		ip link del docker0
		log "deleted stale bridge docker0 ($addr, want $bip)"
	fi
	mkdir -p "$RUN" "$DATA"
	# No fd of ours or of our caller may leak into the daemons (close_fds).
	(
		close_fds
		exec setsid unshare --mount --propagation private -- "$HERE/testenv.sh" __ns-init
	) </dev/null >>"$RUN/dockerd.log" 2>&1 &
	launcher=$!
	for _ in $(seq 120); do
		ver=$(docker_cgroup_version) && break
		alive "$launcher" || die "dockerd exited during startup; see $RUN/dockerd.log and $RUN/containerd.log"
		sleep 0.5
	done
	[ -n "${ver:-}" ] || die "dockerd did not answer on $SOCK within 60s; see $RUN/dockerd.log"
	[ "$ver" = 2 ] || die "our dockerd reports cgroup v$ver, not v2; see $RUN/dockerd.log"
	log "started containerd (pid $(cat "$RUN/containerd.pid")) and dockerd (pid $(cat "$RUN/docker.pid")), cgroup v2, API $SOCK"
}

# Restart our dockerd alone, in containerd's mount namespace, leaving
# containerd and the containers running (live-restore in daemon.json): what a
# Docker upgrade or crash looks like to moat.
cmd_restart_dockerd() {
	local pid cpid ver
	pid=$(docker_ours_pid) || die "no dockerd started by testenv runs; '$0 up' first"
	cpid=$(pidfile_pid "$RUN/containerd.pid" containerd) || die "our containerd is not running"
	stop_pid "$pid" dockerd 20
	log "stopped dockerd (pid $pid); containers keep running under containerd (pid $cpid)"
	(
		close_fds
		exec setsid nsenter -t "$cpid" -m -- dockerd --config-file "$CONF/daemon.json" \
			--data-root "$DATA/docker" --exec-root "$RUN/docker" --pidfile "$RUN/docker.pid" \
			--host "unix://$SOCK" --containerd "$RUN/containerd/containerd.sock"
	) </dev/null >>"$RUN/dockerd.log" 2>&1 &
	for _ in $(seq 120); do
		ver=$(docker_cgroup_version) && break
		sleep 0.5
	done
	[ "${ver:-}" = 2 ] || die "dockerd did not come back; see $RUN/dockerd.log"
	log "started dockerd again (pid $(cat "$RUN/docker.pid"))"
}

docker_up() {
	local pid ver
	pid=$(docker_ours_pid) || pid=
	ver=$(docker_cgroup_version) || ver=
	if [ -n "$ver" ] && [ -z "$pid" ]; then
		[ "$ver" = 2 ] || die "the dockerd on $SOCK (not started by testenv) uses cgroup v$ver; moat's tests need v2: stop it and rerun '$0 up'"
		log "reusing the dockerd already answering on $SOCK (cgroup v2; not ours, 'down' leaves it running)"
	elif [ "$ver" = 2 ]; then
		log "dockerd already up (pid $pid), cgroup v2"
	else
		[ -z "$pid$ver" ] || warn "our dockerd (pid ${pid:-?}) is not healthy; restarting it"
		stop_docker
		start_docker
	fi
	remove_test_containers
}

# Build moat-test/busybox from busybox-static if Docker does not have it.
image_up() {
	local root applet
	if docker image inspect "$IMAGE" >/dev/null 2>&1; then
		log "image $IMAGE present"
		return 0
	fi
	[ -x /bin/busybox ] || die "/bin/busybox not found; run tools/deps.sh (package busybox-static)"
	case $(LC_ALL=C ldd /bin/busybox 2>&1 || true) in
	*"not a dynamic"*) ;;
	*) die "/bin/busybox is dynamically linked; install busybox-static (tools/deps.sh)" ;;
	esac
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,etc,root,tmp,usr/bin}
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
	done
	ln -s ../../bin/busybox "$root/usr/bin/env"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	if ! tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null; then
		rm -rf "$root"
		die "docker import of $IMAGE failed"
	fi
	rm -rf "$root"
	log "imported image $IMAGE from /bin/busybox ($(/bin/busybox | head -n 1 | awk '{print $2}'))"
}

# The image moat-test/debian: a real glibc userland (dash, bash, coreutils, the dynamic
# loader) for the attacks that need one (ld.so running a shell, memfd exec of a dynamic
# binary). Built from this host's own Debian packages (the files dpkg says they installed,
# resolved with their shared libraries), plus busybox for everything else; docker import, no
# registry.
debian_image_up() {
	local root f lib
	if docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
		log "image $DEBIAN_IMAGE present"
		return 0
	fi
	root=$(mktemp -d)
	mkdir -p "$root"/{bin,etc,root,tmp,usr/bin,lib64}
	chmod 1777 "$root/tmp"
	for f in /bin/dash /bin/bash /usr/bin/env /bin/cat /bin/ls /bin/cp /bin/sleep /bin/true \
		/usr/bin/id; do
		[ -e "$f" ] || continue
		cp -L "$f" "$root/usr/bin/${f##*/}"
		for lib in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*' || true); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	done
	ln -s ../usr/bin/dash "$root/bin/sh"
	ln -s ../usr/bin/bash "$root/bin/bash"
	ln -s ../usr/bin/dash "$root/bin/dash"
	cp /bin/busybox "$root/bin/busybox"
	printf 'root:x:0:0:root:/root:/bin/bash\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	if ! tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/bin:/bin' -c 'CMD ["/bin/sh"]' \
		- "$DEBIAN_IMAGE" >/dev/null; then
		rm -rf "$root"
		die "docker import of $DEBIAN_IMAGE failed"
	fi
	rm -rf "$root"
	log "imported image $DEBIAN_IMAGE (dash, bash, glibc $(ldd --version | head -n 1 | awk '{print $NF}') from this host's packages)"
}

dns_up() {
	local gw pid new=$RUN/dnsmasq.conf.new
	gw=$(gateway) || die "no docker0 gateway address; is docker up? ('$0 status')"
	command -v dnsmasq >/dev/null || die "dnsmasq not found; run tools/deps.sh"
	mkdir -p "$RUN"
	sed -e "s/@GW@/$gw/g" -e "s/@NET@/${gw%.*}/g" -e "s#@RUNDIR@#$RUN#g" \
		"$CONF/dnsmasq.conf.in" >"$new"
	pid=$(pidfile_pid "$RUN/dnsmasq.pid" dnsmasq) || pid=
	if [ -n "$pid" ] && cmp -s "$new" "$RUN/dnsmasq.conf" && dns_answers "$gw"; then
		rm -f "$new"
		log "dnsmasq already up (pid $pid) on $gw:53"
		return 0
	fi
	[ -z "$pid" ] || stop_pid "$pid" dnsmasq 5
	: >"$RUN/hosts"
	mv "$new" "$RUN/dnsmasq.conf"
	rm -f "$RUN/dnsmasq.pid"
	dnsmasq --conf-file="$RUN/dnsmasq.conf" 2>>"$RUN/dnsmasq.log" 9>&- ||
		die "dnsmasq failed to start (is something else on $gw:53?): $(tail -n 1 "$RUN/dnsmasq.log")"
	for _ in $(seq 50); do
		dns_answers "$gw" && break
		sleep 0.1
	done
	dns_answers "$gw" || die "dnsmasq does not answer on $gw:53; see $RUN/dnsmasq.log"
	log "started dnsmasq (pid $(cat "$RUN/dnsmasq.pid")) on $gw:53 with zone moat.test"
}

dns_down() {
	local pid
	if pid=$(pidfile_pid "$RUN/dnsmasq.pid" dnsmasq); then stop_pid "$pid" dnsmasq 5; fi
	rm -f "$RUN/dnsmasq.pid"
}

cmd_up() {
	mount_fs
	docker_up
	image_up

	debian_image_up
	dns_up
	log "up: gateway and DNS $(gateway), image $IMAGE, DOCKER_HOST=$DOCKER_HOST," \
		"containers' cgroups under $(cmd_cgroup_parent)"
}

cmd_down() {
	if docker_cgroup_version >/dev/null; then remove_test_containers; fi
	dns_down
	if [ -e "$RUN/docker.pid" ] || [ -e "$RUN/mntns" ]; then
		stop_docker
	elif docker_cgroup_version >/dev/null; then
		log "dockerd on $SOCK was not started by testenv; left running"
	fi
	log "down"
}

cmd_status() {
	local rc=0 pid ver gw owner ok
	report() { # report PART OK TEXT: OK is 0 when the part is up
		if [ "$2" -eq 0 ]; then
			echo "up    $1: $3"
		else
			echo "DOWN  $1: $3"
			rc=1
		fi
	}
	if findmnt -rn -t bpf -M /sys/fs/bpf >/dev/null; then
		report bpffs 0 /sys/fs/bpf
	else
		report bpffs 1 "/sys/fs/bpf not mounted"
	fi
	if [ -e /sys/kernel/tracing/trace ]; then
		report tracefs 0 /sys/kernel/tracing
	else
		report tracefs 1 "/sys/kernel/tracing not mounted"
	fi
	pid=$(docker_ours_pid) || pid=
	if ver=$(docker_cgroup_version); then
		owner="not started by testenv"
		[ -z "$pid" ] || owner="ours (pid $pid)"
		[ "$ver" = 2 ] && ok=0 || ok=1
		report dockerd "$ok" "answers on $SOCK, cgroup v$ver, $owner"
		if docker image inspect "$IMAGE" >/dev/null 2>&1; then
			report image 0 "$IMAGE"
		else
			report image 1 "$IMAGE missing"
		fi
	else
		report dockerd 1 "nothing answers on $SOCK${pid:+ (our dockerd pid $pid is running)}"
		report image 1 "$IMAGE (docker down)"
	fi
	gw=$(gateway) || gw=
	pid=$(pidfile_pid "$RUN/dnsmasq.pid" dnsmasq) || pid=
	if [ -n "$gw" ] && [ -n "$pid" ] && dns_answers "$gw"; then
		report dnsmasq 0 "pid $pid, answers on $gw:53"
	else
		report dnsmasq 1 "${pid:+pid $pid }not answering on ${gw:-(no gateway)}:53"
	fi
	return $rc
}

cmd_cgroup_parent() {
	local cg driver
	cg=$(cgroup2_mount) || die "cgroup v2 is not mounted on this host"
	driver=$(timeout 10 docker info -f '{{.CgroupDriver}}' 2>/dev/null) ||
		die "docker does not answer on $SOCK; run '$0 up'"
	case $driver in
	systemd) echo "$cg/system.slice" ;;
	*) echo "$cg/docker" ;;
	esac
}

cmd_env() {
	local gw
	gw=$(gateway) || die "no docker0 gateway; run '$0 up'"
	echo "DOCKER_HOST=$DOCKER_HOST"
	echo "MOAT_TEST_GW=$gw"
	echo "MOAT_TEST_DNS=$gw"
	echo "MOAT_TEST_IMAGE=$IMAGE"
	echo "MOAT_TEST_CGROUP_PARENT=$(cmd_cgroup_parent)"
}

# Close every fd above 2 of this subshell before it execs a daemon: fd 9 (our lock) and
# whatever our caller holds, such as the lock of `flock /tmp/moat-itest.lock tests/run.sh`
# (fd 3): a dockerd that inherits it holds that lock for as long as it runs, and every
# later test run waits for ever.
close_fds() {
	local f n
	for f in /proc/$BASHPID/fd/*; do
		n=${f##*/}
		if [ "$n" -gt 2 ] 2>/dev/null; then eval "exec $n>&-" 2>/dev/null || true; fi
	done
}

# Serialise up/down so two `make` runs cannot interleave.
lock() {
	mkdir -p "$RUN"
	exec 9>"$RUN/lock"
	flock -w 120 9 || die "another testenv.sh holds $RUN/lock"
}

case ${1:-} in
up) need_root up && lock && cmd_up ;;
down) need_root down && lock && cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
gw) gateway || die "no docker0 gateway; run '$0 up'" ;;
cgroup-parent) cmd_cgroup_parent ;;
restart-dockerd) need_root restart-dockerd && lock && cmd_restart_dockerd ;;
__ns-init) ns_init ;;
*)
	sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
	exit 2
	;;
esac
