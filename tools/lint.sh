#!/bin/bash
# lint.sh - `make lint`: banned functions (../shared/STYLE.md) and clang-format.
# Exits 1 and names each offending file:line.
set -u
cd "$(dirname "$0")/.."
rc=0
files=$(ls src/*/*.c src/*/*.h include/moat/*.h bpf/*.c bpf/*.h tests/*/*.c tests/*.h 2>/dev/null)
# Banned: sprintf strcpy strcat strtok gets atoi system popen (snprintf etc. are fine).
if grep -nE '(^|[^_a-z])(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|system|popen)[[:space:]]*\(' \
	$(ls src/*/*.c src/*/*.h bpf/*.c bpf/*.h include/moat/*.h) | grep -vE '//|/\*'; then
	echo "lint: banned function above (see ../shared/STYLE.md)" >&2
	rc=1
fi
# The data flow (src/README.md): a module includes headers of its own folder, of lib/, and
# of earlier stages only, never of a later stage (nor of another folder of its own stage).
declare -A rank=([lib]=0 [kernel]=1 [docker]=2 [decode]=3 [enrich]=4 [policy]=4 [detect]=5
	[act]=6 [web]=7 [daemon]=8 [cli]=9)
declare -A home=()
for h in src/*/*.h; do
	d=${h#src/}
	home[$(basename "$h")]=${d%%/*}
done
for f in src/*/*.c src/*/*.h; do
	d=${f#src/}
	d=${d%%/*}
	if [ -z "${rank[$d]:-}" ]; then
		echo "lint: $f: folder src/$d has no stage in tools/lint.sh (add it, and to src/README.md)" >&2
		rc=1
		continue
	fi
	while IFS=: read -r line h; do
		h=${h#*\"}
		h=${h%%\"*}
		t=${home[$h]:-}
		[ -n "$t" ] && [ "$t" != "$d" ] || continue
		if [ "${rank[$t]}" -gt "${rank[$d]}" ] ||
			{ [ "${rank[$t]}" -eq "${rank[$d]}" ] && [ "$t" != lib ]; }; then
			echo "lint: $f:$line includes $h from src/$t, a later stage than src/$d (src/README.md)" >&2
			rc=1
		fi
	done < <(grep -n '^#include "' "$f")
done
if command -v clang-format >/dev/null; then
	for f in $files; do
		if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
			echo "lint: $f is not clang-formatted (make format)" >&2
			rc=1
		fi
	done
else
	echo "lint: clang-format not installed (make deps)" >&2
	rc=1
fi
[ $rc -eq 0 ] && echo "lint: clean"
exit $rc
