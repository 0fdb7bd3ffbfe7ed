/* test_config_learn.c - the configuration's "learn" section (src/policy/config_learn.c):
 * the defaults, every key's range and type, an unknown key, and the same through the real
 * configuration loader (file:line: key: message). */
#include <stdlib.h>

#include "test.h"
#include "config.h"
#include "config_learn.h"

static char last_key[64], last_msg[256];

static void err(void *ctx, const char *key, const char *msg)
{
	snprintf(last_key, sizeof(last_key), "%s", key);
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

static int parse(struct learn_config *l, const char *json)
{
	json_object *o = json_tokener_parse(json);
	int n = config_learn_parse(o, l, err, NULL);

	json_object_put(o);
	return n;
}

int main(void)
{
	struct learn_config l;
	struct config *c = calloc(1, sizeof(*c));
	const char *path;

	config_learn_defaults(&l);
	CHECK(l.stable_s == 86400 && !l.auto_enforce && l.max_images == 256 &&
		  l.max_items_per_image == 4096 && l.max_items_total == 262144 &&
		  l.exec_egress_window_s == 60 && l.tunnel_window_s == 60 &&
		  l.tunnel_labels == 20 && l.tunnel_min_len == 24 && l.tunnel_entropy_x100 == 350,
	      "the defaults are the documented ones", "stable %u", l.stable_s);
	CHECK_EQ_INT(parse(&l, "{\"stable_seconds\": 600, \"auto_enforce\": true, "
			       "\"tunnel_min_entropy\": 3.25, \"tunnel_labels\": 0, "
			       "\"exec_egress_window_seconds\": 0}"),
		     0, "good values parse");
	CHECK(l.stable_s == 600 && l.auto_enforce && l.tunnel_entropy_x100 == 325 &&
		  l.tunnel_labels == 0 && l.exec_egress_window_s == 0,
	      "and apply (0 turns dns-tunnel and exec-then-egress off)", "stable %u ent %u",
	      l.stable_s, l.tunnel_entropy_x100);
	CHECK(parse(&l, "{\"stable_seconds\": 0}") == 1 && !strcmp(last_key, "stable_seconds") &&
		  l.stable_s == 600,
	      "stable_seconds 0 is refused; the value stays", "%s: %s", last_key, last_msg);
	CHECK(parse(&l, "{\"tunnel_labels\": 129}") == 1 && strstr(last_msg, "128"),
	      "tunnel_labels above 128 is refused", "%s", last_msg);
	CHECK(parse(&l, "{\"tunnel_min_length\": 64}") == 1, "a label is at most 63 characters",
	      "%s", last_msg);
	CHECK(parse(&l, "{\"tunnel_min_entropy\": 7}") == 1 && strstr(last_msg, "bits"),
	      "an entropy above 6 bits per character is refused", "%s", last_msg);
	CHECK(parse(&l, "{\"auto_enforce\": 1}") == 1 && strstr(last_msg, "true or false"),
	      "auto_enforce takes true or false", "%s", last_msg);
	CHECK(parse(&l, "{\"max_images\": \"9\"}") == 1, "a number in a string is refused", "%s",
	      last_msg);
	CHECK(parse(&l, "{\"stable\": 5}") == 1 && strstr(last_msg, "unknown key"),
	      "an unknown key is refused", "%s", last_msg);
	CHECK(parse(&l, "[]") == 1 && !strcmp(last_key, "learn"), "learn must be an object", "%s",
	      last_key);
	config_defaults(c);
	path = test_tmpfile("{\"learn\": {\"stable_seconds\": 120,\n \"tunnel_labels\": 500}}");
	CHECK(config_load(c, path) != 0, "the configuration loader refuses a bad learn key",
	      "accepted");
	path = test_tmpfile("{\"learn\": {\"stable_seconds\": 120, \"auto_enforce\": true}}");
	CHECK(config_load(c, path) == 0 && c->learn.stable_s == 120 && c->learn.auto_enforce,
	      "the configuration loader applies the learn section", "stable %u", c->learn.stable_s);
	unlink(path);
	free(c);
	return TEST_EXIT();
}
