#!/bin/bash
# test_adv_labels.sh - an image cannot whitelist itself (issue #8, item 6): the labels an
# image sets (moat.exec.allow, and the labels policies select on) count only when the
# operator says so (trust_image_labels); labels given at docker run always count.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/adv.sh"

IMG=moat-test/labelled
t_on_exit "docker rm -f moat-test-lbase >/dev/null 2>&1; docker rmi -f $IMG >/dev/null 2>&1"
docker_run_test lbase -- sleep 600 || { t_fail "containers start" "docker run"; t_done; }
t_check "an image that labels itself moat.exec.allow=sh and tier=trusted" \
	docker commit --change 'LABEL moat.exec.allow=sh' --change 'LABEL tier=trusted' \
	moat-test-lbase "$IMG"
docker rm -f moat-test-lbase >/dev/null
MOAT_TEST_IMAGE=$IMG adv_container limg -- sleep 600
adv_container lrun --label moat.exec.allow=sh --label tier=trusted -- sleep 600
cat >"$T_TMP/policies.json" <<'EOF'
{"policies": [
  {"id": "lenient", "priority": 1, "target": {"labels": ["tier=trusted"]}, "actions": ["alert"]},
  {"id": "strict", "priority": 100, "severity_threshold": "WARNING", "actions": ["pause"]}
]}
EOF
policy_of() { adv_status ".containers[] | select(.name==\"moat-test-$1\") | .policy"; }

adv_start lbl --policies "$T_TMP/policies.json"
t_check "moat run" test -n "$ADV_PID"
t_check "the image's tier=trusted does not select the lenient policy ($(policy_of limg))" \
	test "$(policy_of limg)" = strict
t_check "docker run --label tier=trusted does ($(policy_of lrun))" test "$(policy_of lrun)" = lenient
docker exec moat-test-limg sh -c true
t_check "the image's moat.exec.allow=sh does not allow its shell" \
	adv_alert '.rule=="suspicious-exec" and .container.name=="moat-test-limg"'
docker exec moat-test-lrun sh -c true
sleep 1
t_check "docker run --label moat.exec.allow=sh does" \
	adv_no_alert '.rule=="suspicious-exec" and .container.name=="moat-test-lrun"'
adv_stop

printf '{"trust_image_labels": true}\n' >"$T_TMP/trust.json"
adv_start lbl --config "$T_TMP/trust.json" --policies "$T_TMP/policies.json"
t_check "moat run with trust_image_labels" test -n "$ADV_PID"
t_check "trust_image_labels: the image's label selects the policy" \
	test "$(policy_of limg)" = lenient
docker exec moat-test-limg sh -c true
sleep 1
t_check "trust_image_labels: and allows its shell" \
	adv_no_alert '.rule=="suspicious-exec" and .container.name=="moat-test-limg"'
t_done
