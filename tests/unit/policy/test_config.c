/* test_config.c - the configuration file (src/policy/config.c): defaults, a valid file
 * applied, every refusal (wrong type, syntax, unknown key, bad value) changing nothing. */
#include <errno.h>
#include <unistd.h>

#include "test.h"
#include "config.h"

static void test_config(void)
{
	struct config c;
	const char *p;

	config_defaults(&c);
	CHECK(name_list_has(&c.shells, "bash") && name_list_has(&c.runtimes, "python3.11") &&
		  name_list_has(&c.net_tools, "nc") && !name_list_has(&c.shells, "bashful"),
	      "default lists (globs for versioned runtimes)", "lists");
	p = test_tmpfile("{\n \"strict\": true,\n \"registry\": {\"max_entries\": 5000},\n"
			 " \"containers\": [{\"match\": \"agent-*\", \"kill_exec\": true, "
			 "\"exec_allow\": [\"node\"]}],\n \"exec\": {\"shells\": [\"sh\"]}\n}\n");
	CHECK(config_load(&c, p) == 0 && c.strict && c.registry_max == 5000 &&
		  c.n_containers == 1 && c.shells.n == 1,
	      "a valid file is applied", "strict=%d max=%u", c.strict, c.registry_max);
	CHECK(config_container(&c, "agent-7") && config_container(&c, "agent-7")->kill_exec == 1 &&
		  !config_container(&c, "web"),
	      "containers entries match by glob", "match");
	unlink(p);
	p = test_tmpfile(
	    "{\n  \"strict\": false,\n  \"registry\": {\"max_entries\": \"lots\"}\n}\n");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "a wrong type is refused");
	CHECK(c.strict == 1 && c.registry_max == 5000, "a refused file changes nothing",
	      "strict=%d", c.strict);
	unlink(p);
	p = test_tmpfile("{\"strict\": tru");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "a syntax error is refused");
	unlink(p);
	p = test_tmpfile("{\"stirct\": true}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "an unknown key is refused");
	unlink(p);
	p = test_tmpfile("{\"exec\": {\"shells\": [\"/bin/sh\"]}}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL, "a path where a base name belongs is refused");
	unlink(p);
	p = test_tmpfile("{\"ring_buffer_kib\": 3000}");
	CHECK_EQ_INT(config_load(&c, p), -EINVAL,
		     "a ring buffer size that is no power of two is refused");
	unlink(p);
	p = test_tmpfile("{\"socket_tracepoint\": \"off\"}");
	CHECK(config_load(&c, p) == 0 && c.socket_tp == SOCKET_TP_OFF,
	      "socket_tracepoint off is applied", "socket_tp=%d", c.socket_tp);
	unlink(p);
	p = test_tmpfile("{\"socket_tracepoint\": \"sometimes\"}");
	CHECK(config_load(&c, p) == -EINVAL && c.socket_tp == SOCKET_TP_OFF,
	      "socket_tracepoint: a bad value is refused and changes nothing", "socket_tp=%d",
	      c.socket_tp);
	unlink(p);
	p = test_tmpfile("{\"ring_buffer_kib\": 8192}");
	CHECK(config_load(&c, p) == 0 && c.ring_buffer_kib == 8192, "ring_buffer_kib is applied",
	      "kib=%u", c.ring_buffer_kib);
	unlink(p);
	CHECK_EQ_INT(config_load(&c, "/nonexistent/moat.json"), -ENOENT,
		     "a missing file is -ENOENT");
}

int main(void)
{
	test_config();
	return TEST_EXIT();
}
