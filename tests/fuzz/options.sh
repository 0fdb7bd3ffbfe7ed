# options.sh - the libFuzzer options of each harness, sourced by campaign.sh and
# test_fuzz_smoke.sh so that both run the harnesses the same way.

# fuzz_options HARNESS: its dictionary, input size limit, per-input timeout and memory limit.
fuzz_options() {
	local dict=tests/fuzz/json.dict max_len=16384
	case $1 in
	fuzz_lists) dict=tests/fuzz/lists.dict ;;
	fuzz_dns_bpf)
		dict=
		max_len=3600 # a frame is at most 3500 bytes (test_run: one page)
		;;
	esac
	echo "${dict:+-dict=$dict} -max_len=$max_len -timeout=25 -rss_limit_mb=2560"
}
