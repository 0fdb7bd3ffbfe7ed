# shellcheck shell=bash
# lib.sh - helpers the benchmark scripts share; source it after setting ROOT.
# Callers provide GW (the test DNS), IMAGE, and optionally LOADGEN (copied
# into each container as /loadgen), and own the `containers` array that
# their cleanup removes.

log() { echo "bench: $*" >&2; }

# prog_snapshot FILE: "name run_cnt run_time_ns" of each program attached under $PIN, and of
# the veth guard's (tc filters, not links: summed over every loaded copy), into FILE.
prog_snapshot() {
	local link id
	{
		for link in "$PIN"/links/*; do
			id=$(bpftool -j link show pinned "$link" | jq -r .prog_id)
			bpftool -j prog show id "$id" | jq -r '"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"'
		done
		bpftool -j prog show | jq -r '[.[] | select(.name == "handle_veth_out" or
			.name == "handle_veth_in")] | group_by(.name)[] |
			"\(.[0].name) \(map(.run_cnt // 0) | add) \(map(.run_time_ns // 0) | add)"'
	} | sort -u >"$1"
}

# bpf_stats_off: kernel.bpf_stats_enabled off for timed rounds, whatever it was left at: it
# adds two clock reads to every program run (pvclock on a VM: ~0.1 us each). The old value
# goes to $stats_saved, which the caller's cleanup restores.
bpf_stats_off() {
	if [ "$(sysctl -n kernel.bpf_stats_enabled)" != 0 ]; then
		log "kernel.bpf_stats_enabled was on: off for the timed rounds (restored at exit)"
		stats_saved=$(sysctl -n kernel.bpf_stats_enabled)
		sysctl -q -w kernel.bpf_stats_enabled=0
	fi
}
die() {
	echo "bench: error: $*" >&2
	exit 1
}

# wait_for SECS CMD...: poll CMD every 0.02 s until it exits 0 (0) or SECS pass (1).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.02
	done
}

# median: the median of the numbers on stdin (nearest rank).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# spread FILE: "min-max" of the numbers in FILE.
spread() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

# kv KEY LINE: the value of KEY=VALUE in LINE (0 when absent).
kv() {
	local v
	v=$(tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n 1)
	echo "${v:-0}"
}

# bench_container NAME [DOCKER-RUN ARGS...]: moat-bench-NAME running sleep 3600
# with the test DNS, recorded in `containers`; /loadgen inside when LOADGEN is set.
bench_container() {
	local name=moat-bench-$1 err
	shift
	docker rm -f -v "$name" >/dev/null 2>&1 || true
	containers+=("$name")
	err=$(docker run -d --name "$name" --dns "$GW" "$@" "$IMAGE" sleep 3600 2>&1 >/dev/null) ||
		die "docker run $name: $err"
	if [ -n "${LOADGEN:-}" ]; then
		docker cp "$LOADGEN" "$name:/loadgen" >/dev/null
	fi
}

# cgroup_id NAME: the cgroup v2 id (inode) of container NAME.
cgroup_id() {
	local pid rel mnt
	pid=$(docker inspect -f '{{.State.Pid}}' "$1")
	rel=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	stat -c %i "$mnt$rel"
}
