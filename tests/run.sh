#!/bin/bash
# run.sh - run every test and count: C tests in build/tests/, then the
# integration scripts tests/integration/test_*.sh. Each prints "ok - NAME"
# or "not ok - NAME: why" lines; a test program that exits non-zero without
# a "not ok" line (a crash) counts as one failure. Ends with the line
# "N passed, N failed". Usage: tests/run.sh [FILTER] (substring of a test's file name).
# Scripts: tests/integration/ (real containers), tests/adversarial/ (attacks on moat's
# promises, docs/security.md), tests/fuzz/ (short smoke runs of the fuzz harnesses).
set -u
cd "$(dirname "$0")/.."
filter=${1:-}
passed=0
failed=0
log_dir=build/test-logs
mkdir -p "$log_dir"

run_one() {
	local name=$1
	shift
	local out="$log_dir/$name.log" rc p f
	echo "# $name"
	"$@" >"$out" 2>&1
	rc=$?
	grep -E '^(ok|not ok) - ' "$out" | sed 's/^/  /'
	p=$(grep -c '^ok - ' "$out")
	f=$(grep -c '^not ok - ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "  not ok - $name exited $rc without reporting a failure (log: $out)"
		tail -n 15 "$out" | sed 's/^/    /'
		f=1
	elif [ "$f" -gt 0 ]; then
		echo "  (full log: $out)"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in build/tests/*; do
	[ -x "$t" ] || continue
	case "$t" in *"$filter"*) ;; *) continue ;; esac
	run_one "$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh tests/adversarial/test_*.sh tests/fuzz/test_*.sh; do
	[ -f "$t" ] || continue
	case "$t" in *"$filter"*) ;; *) continue ;; esac
	run_one "$(basename "$t" .sh)" bash "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
