/* fuzz_rules_import.c - `moat rules import` (rules_import_buf, what
 * rules_import runs on a file's contents): the seed firewall's
 * network-rules.json ({"github.com": "allow-domain", "*": "deny", ...}) or
 * moat's own rules format, merged into a set that already has rules.
 *
 * Oracles besides the sanitizers: the result is -EINVAL or a count of added
 * rules no larger than what the set grew by (plus the "*" default and
 * replaced rules); every rule in the merged set validates, and no two rules
 * of the same family share a match or an id.
 */
#include <errno.h>
#include <strings.h>

#include "fuzz.h"
#include "fuzz_json.h"
#include "rulesfile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ruleset rs = {0};
	const char *why;
	int added;

	if (rules_add(&rs, RULE_ALLOW_DOMAIN, "github.com", NULL) != 1 ||
	    rules_add(&rs, RULE_DENY_IP, "10.0.0.0/8", "x") != 2)
		fuzz_fail("check failed");
	added = rules_import_buf(&rs, "network-rules.json", (const char *)data, size);
	if (added < 0 && added != -EINVAL)
		fuzz_fail("check failed");
	if (rs.n < 2 || rs.n > RULES_MAX)
		fuzz_fail("check failed");
	for (int i = 0; i < rs.n; i++) {
		if (rule_validate(&rs.rules[i], &why) || !rs.rules[i].id)
			fuzz_fail("check failed");
		for (int k = 0; k < i; k++)
			if (rs.rules[k].id == rs.rules[i].id ||
			    (!strcasecmp(rs.rules[k].match, rs.rules[i].match) &&
			     rules_is_ip(&rs.rules[k]) == rules_is_ip(&rs.rules[i])))
				fuzz_fail("the merge left two rules for one match or id");
	}
	rules_free(&rs);
	return 0;
}
