#!/bin/bash
# lint.sh - `make lint`: banned functions (../shared/STYLE.md) and clang-format.
# Exits 1 and names each offending file:line.
set -u
cd "$(dirname "$0")/.."
rc=0
files=$(ls src/*.c src/*.h include/moat/*.h bpf/*.c bpf/*.h tests/*/*.c tests/*.h 2>/dev/null)
# Banned: sprintf strcpy strcat strtok gets atoi system popen (snprintf etc. are fine).
if grep -nE '(^|[^_a-z])(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|system|popen)[[:space:]]*\(' \
	$(ls src/*.c src/*.h bpf/*.c bpf/*.h include/moat/*.h) | grep -vE '//|/\*'; then
	echo "lint: banned function above (see ../shared/STYLE.md)" >&2
	rc=1
fi
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
