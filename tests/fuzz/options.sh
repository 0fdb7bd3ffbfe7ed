# options.sh - the libFuzzer options of each harness, sourced by campaign.sh and
# test_fuzz_smoke.sh so that both run the harnesses the same way.

# fuzz_options HARNESS: its dictionary, input size limits, per-input timeout and memory limit.
fuzz_options() {
	local dict=tests/fuzz/json.dict max_len=16384
	case $1 in
	fuzz_lists) dict=tests/fuzz/lists.dict ;;
	fuzz_registry | fuzz_baseline)
		# Each input is loaded, saved and loaded twice: 4 KiB (a dozen entries) keeps a
		# run under a millisecond; grown to 16 KiB, runs fell to ~650 a second.
		max_len=4096
		;;
	fuzz_dns_bpf | fuzz_veth_bpf)
		dict=
		max_len=3600 # a frame is at most 3500 bytes (test_run: one page)
		;;
	esac
	# -len_control=100 is libFuzzer's default, which a custom mutator (fuzz_json.h) turns
	# off: without it inputs grow to max_len at once and runs are 3-4 times slower.
	echo "${dict:+-dict=$dict} -max_len=$max_len -len_control=100 -timeout=25 -rss_limit_mb=2560"
}
