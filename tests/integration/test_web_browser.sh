#!/bin/bash
# test_web_browser.sh - the dashboard in a real browser: Debian's Chromium driven by
# playwright-core (tests/browser/dashboard.js) against a real `moat run --http` and real
# containers. The page opens with the token and keeps it in a cookie; a shell in a container
# appears live in the alert feed; the container moat paused is resumed with a click; a held
# DNS answer is approved with a click and the container's own lookup then succeeds; a browser
# without the token gets the "token required" page and 401s. Screenshots of the dashboard
# with this live data (dashboard.png, dashboard-prompt.png) go to build/screenshots/;
# `MOAT_SHOT_DIR=docs/img` refreshes the ones the README shows.
# Needs: chromium, node and npm (tools/deps.sh); tests/browser's node_modules is installed
# here with `npm ci` from the committed lock file when it is missing.
. "$(dirname "$0")/lib.sh"

MOATBIN=$MOAT_ROOT/build/moat
PIN=/sys/fs/bpf/moat-test-webui
BROWSER_DIR=$MOAT_ROOT/tests/browser
SHOT_DIR=${MOAT_SHOT_DIR:-$MOAT_ROOT/build/screenshots}
case $SHOT_DIR in /*) ;; *) SHOT_DIR=$MOAT_ROOT/$SHOT_DIR ;; esac
DOMAIN=web.moat.test
export MOAT_CONTROL_SOCKET=$T_TMP/moat.sock

for tool in /usr/bin/chromium node npm; do
	command -v "$tool" >/dev/null || {
		t_fail "$tool is installed" "not found; install the test packages: sudo tools/deps.sh"
		t_done
	}
done
if [ ! -d "$BROWSER_DIR/node_modules/playwright-core" ]; then
	# The pinned playwright-core from package-lock.json; it downloads no browser.
	t_check "npm ci in tests/browser (playwright-core)" \
		bash -c "cd '$BROWSER_DIR' && npm ci --no-audit --no-fund --loglevel=error"
	[ -d "$BROWSER_DIR/node_modules/playwright-core" ] || t_done
fi

# A free loopback port for the dashboard.
port=
for p in $(seq 19876 19976); do
	[ -z "$(ss -Hltn "sport = :$p")" ] && port=$p && break
done
[ -n "$port" ] || { t_fail "a free port in 19876-19976" "all taken"; t_done; }

"$MOATBIN" --pin-dir "$PIN" clear >/dev/null 2>&1
# web: runs a shell later (moat pauses it). ix: interactive egress; its init (an entrypoint
# shell) waits for /tmp/go, then looks $DOMAIN up once through glibc (tests/helpers/resolve),
# whose resolver retries (2 s timeout, 8 attempts) while the answer is held and the page
# decides. The test reads ix's files with docker exec (busybox applets, copies of the shell),
# so ix has suspicious_exec and pause off: this test pauses web, not ix.
docker_run_test web -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
docker_run_test ix --dns-option timeout:2 --dns-option attempts:8 --entrypoint sh -- -c \
	"while [ ! -e /tmp/go ]; do sleep 0.2; done; /resolve $DOMAIN >/tmp/lookup.out 2>&1; echo \$? >/tmp/lookup.rc; sleep 600" ||
	{ t_fail "containers start" "docker run ix"; t_done; }
# busy: some CPU in bursts (its own entrypoint shell), for live sparklines in the screenshot.
docker_run_test busy --entrypoint sh -- -c \
	'while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 0.4; done' ||
	{ t_fail "containers start" "docker run busy"; t_done; }
docker cp "$MOAT_ROOT/build/helpers/resolve-glibc" moat-test-ix:/resolve >/dev/null ||
	{ t_fail "resolve helper copied into ix" "docker cp build/helpers/resolve-glibc (make all builds it)"; t_done; }
echo '{"default": "deny", "rules": []}' >"$T_TMP/rules.json"
cat >"$T_TMP/cfg.json" <<'EOF'
{"containers": [{"match": "moat-test-ix", "egress": "interactive", "suspicious_exec": false, "pause": false}],
 "prompt_timeout_seconds": 60}
EOF

"$MOATBIN" --pin-dir "$PIN" run --http "127.0.0.1:$port" --config "$T_TMP/cfg.json" \
	--egress-rules "$T_TMP/rules.json" --access-log "$T_TMP/access.jsonl" \
	--state-dir "$T_TMP/state" --alerts-file "$T_TMP/alerts.jsonl" \
	--control-socket "$MOAT_CONTROL_SOCKET" >"$T_TMP/run.log" 2>&1 &
run_pid=$!
t_on_exit "kill $run_pid 2>/dev/null; wait $run_pid 2>/dev/null; '$MOATBIN' --pin-dir '$PIN' clear >/dev/null 2>&1"
if ! wait_for -t 20 grep -q "moat run: watching" "$T_TMP/run.log"; then
	t_fail "moat run --http is up" "moat run said: $( head -n 2 "$T_TMP/run.log" | tr '\n' ' ')"
	t_done
fi
t_ok "moat run --http 127.0.0.1:$port is up"
t_check "the token is written 0600 next to the control socket" \
	wait_for -t 5 bash -c "[ \"\$(stat -c %a '$T_TMP/web.token')\" = 600 ] && [ -s '$T_TMP/web.token' ]"
token=$(tr -d '[:space:]' <"$T_TMP/web.token" 2>/dev/null)
t_check "moat run prints the ready-to-open URL" grep -q "http://127.0.0.1:$port/?token=$token" "$T_TMP/run.log"
[ -n "$token" ] || t_done

mkdir -p "$SHOT_DIR"
touch "$T_TMP/before-shots"
export MOAT_WEB_URL="http://127.0.0.1:$port" MOAT_WEB_TOKEN=$token MOAT_SHOT_DIR=$SHOT_DIR
export MOAT_T_PAUSED=moat-test-web MOAT_T_PROMPTED=moat-test-ix MOAT_T_DOMAIN=$DOMAIN
# The shell's argv carries markup: the page must show it as text.
# In the background, bounded: moat pauses the container on this very shell, and a docker exec
# whose process is frozen before it exits waits until the container is resumed (later, by the
# page's Resume button).
export MOAT_T_SHELL="(timeout 60 docker exec moat-test-web sh -c 'true \"<img src=x onerror=window.__pwned=1>\"' >/dev/null 2>&1 &)"
export MOAT_T_STATE="docker inspect -f '{{.State.Status}}' moat-test-web"
export MOAT_T_LOOKUP="docker exec moat-test-ix touch /tmp/go"
export MOAT_T_LOOKUP_RC="docker exec moat-test-ix cat /tmp/lookup.rc 2>/dev/null || true"
export MOAT_T_RULES=$T_TMP/rules.json MOAT_T_BUSY=moat-test-busy

(cd "$BROWSER_DIR" && node dashboard.js) | tee "$T_TMP/browser.out"
rc=${PIPESTATUS[0]}
T_PASSED=$((T_PASSED + $(grep -c '^ok - ' "$T_TMP/browser.out")))
T_FAILED=$((T_FAILED + $(grep -c '^not ok - ' "$T_TMP/browser.out")))
[ "$rc" -eq 0 ] || [ "$(grep -c '^not ok - ' "$T_TMP/browser.out")" -gt 0 ] ||
	t_fail "the browser test exits 0" "node dashboard.js exited $rc"
t_check "the alert log has the shell alert the page showed" \
	some '.rule=="suspicious-exec" and .container.name=="moat-test-web"' "$T_TMP/alerts.jsonl"
t_check "the lookup in ix got the address of $DOMAIN" \
	bash -c "docker exec moat-test-ix cat /tmp/lookup.out | grep -q '^ok $(gw_addr) '"
t_check "the prompt was decided by the page (access log: allow-once)" \
	some ".domain==\"$DOMAIN\" and .rule==\"allow-once\"" "$T_TMP/access.jsonl"
t_check "screenshots written: $SHOT_DIR/dashboard.png, dashboard-prompt.png" \
	test "$(find "$SHOT_DIR" -maxdepth 1 -name 'dashboard*.png' -size +1k -newer "$T_TMP/before-shots" | wc -l)" -eq 2
t_done
