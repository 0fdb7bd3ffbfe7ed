#!/bin/bash
# clickhouse.sh - a private clickhouse-server for the export tests and the fleet benchmark:
# its own configuration and data in DIR, HTTP on 127.0.0.1 only, on a free port; stopped by
# its PID. Debian's clickhouse-server (18.16) or a newer one on PATH.
#   clickhouse.sh start DIR   start (or restart on the same port), print the HTTP port
#   clickhouse.sh stop DIR    stop it (SIGTERM to its PID, then SIGKILL after 20 s)
#   clickhouse.sh url DIR     print http://127.0.0.1:PORT/
set -euo pipefail

die() {
	echo "clickhouse.sh: $*" >&2
	exit 1
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || die "usage: clickhouse.sh start|stop|url DIR"
server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)

case "$cmd" in
start)
	[ -x "$server" ] || die "clickhouse-server not found (install Debian's clickhouse-server: make deps)"
	mkdir -p "$dir/data" "$dir/tmp" "$dir/log"
	if [ ! -f "$dir/http_port" ]; then
		free_port >"$dir/http_port"
		free_port >"$dir/tcp_port"
	fi
	hp=$(cat "$dir/http_port")
	tp=$(cat "$dir/tcp_port")
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>2</count></logger>
    <http_port>$hp</http_port>
    <tcp_port>$tp</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/data/user_files/</user_files_path>
    <format_schema_path>$dir/data/format_schemas/</format_schema_path>
    <users_config>$dir/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>200</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
    <timezone>UTC</timezone>
</yandex>
XML
	cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
XML
	# Not the caller's other descriptors: a server left running must not hold, say, the
	# integration tests' flock.
	"$server" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 </dev/null \
		3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	echo $! >"$dir/pid"
	for _ in $(seq 1 300); do
		if curl -sf "http://127.0.0.1:$hp/ping" >/dev/null 2>&1; then
			echo "$hp"
			exit 0
		fi
		kill -0 "$(cat "$dir/pid")" 2>/dev/null || die "clickhouse-server exited at start: $(tail -5 "$dir/log/stdout.log" "$dir/log/error.log" 2>/dev/null)"
		sleep 0.1
	done
	die "clickhouse-server did not answer /ping on 127.0.0.1:$hp within 30 s (see $dir/log/)"
	;;
stop)
	[ -f "$dir/pid" ] || exit 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
	;;
url)
	echo "http://127.0.0.1:$(cat "$dir/http_port")/"
	;;
*) die "unknown command $cmd (start, stop, url)" ;;
esac
