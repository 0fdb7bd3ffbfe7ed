#!/bin/bash
# deps.sh - install the Debian packages moat needs to build, test and demo (idempotent).
#
# Fast no-op when everything is installed (one dpkg-query). Otherwise runs
# `apt-get update` once and installs only the missing packages, non-interactively.
# Must run as root when something is missing. Debian/Ubuntu only.
set -euo pipefail

# Build: BPF objects, skeletons, the daemon and its libraries, `make lint`.
build_pkgs=(libbpf-dev libelf-dev zlib1g-dev libcurl4-openssl-dev libjson-c-dev libmnl-dev
	clang llvm bpftool pkg-config make gcc clang-format libsystemd-dev libcivetweb-dev libssl-dev libzstd-dev)
# Test environment (tools/testenv.sh) and integration tests (socat: UDP listener;
# jq: checking moat's JSON events).
test_pkgs=(docker.io containerd runc busybox-static dnsmasq iproute2 curl util-linux socat jq musl-tools libclang-rt-14-dev)
# The alert outputs' receivers (tests/unit/act/test_output_*.c): Python's http.server for
# the webhook, a private D-Bus bus with a notification server for notify-send, journald.
test_pkgs+=(python3 libnotify-bin dbus-daemon dbus-bin python3-dbus python3-gi systemd openssl)
# The Prometheus test (tests/integration/test_prometheus.sh, tests/unit/web/test_metrics.c):
# the real prometheus scraping /metrics, and its promtool checking the format.
test_pkgs+=(prometheus)
# The dashboard's browser test (tests/browser): Debian's Chromium, driven by playwright-core
# from npm; Debian's node and npm only when no npm is installed (NodeSource's nodejs has it).
test_pkgs+=(chromium)
command -v npm >/dev/null || test_pkgs+=(nodejs npm)
# The ClickHouse export (tests/unit/act/test_export.c, tools/bench/fleet.sh): a real
# clickhouse-server (Debian's 18.16) started by the tests on 127.0.0.1, and its client.
test_pkgs+=(clickhouse-server clickhouse-client)

die() {
	echo "deps.sh: $*" >&2
	exit 1
}

# Print the packages of "$@" that are not fully installed.
missing_pkgs() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		[ "$status" = installed ] || echo "$pkg"
	done
}

command -v dpkg-query >/dev/null || die "dpkg-query not found: moat's deps.sh supports Debian/Ubuntu only; install by hand: ${build_pkgs[*]} ${test_pkgs[*]}"

mapfile -t missing < <(missing_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}")
if [ "${#missing[@]}" -eq 0 ]; then
	echo "deps.sh: all packages installed"
	exit 0
fi

echo "deps.sh: missing: ${missing[*]}"
[ "$(id -u)" -eq 0 ] || die "must run as root to install them (try: sudo make deps)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || die "apt-get update failed (no network or broken sources.list?)"
apt-get install -y -q --no-install-recommends "${missing[@]}" ||
	die "apt-get install ${missing[*]} failed; see the apt output above"

mapfile -t still < <(missing_pkgs "${missing[@]}")
[ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
echo "deps.sh: installed ${missing[*]}"
