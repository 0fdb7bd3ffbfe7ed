/* fuzz_rules.c - the egress rules file (rules_load_buf, what rules_load runs
 * on a file's contents).
 *
 * Oracles besides the sanitizers: a refused file leaves the rules in force
 * as they were; every rule of an accepted file validates and has a unique
 * id; and saving the accepted set (rules_save, into a private temporary
 * directory) then loading the saved file gives the same set back. Names are
 * then decided against the set as `moat stats` and the prompt do.
 */
#include <errno.h>
#include <unistd.h>

#include "fuzz.h"
#include "fuzz_json.h"
#include "rulesfile.h"

static char dir[64], saved[96];

static void remove_dir(void)
{
	unlink(saved);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	/* tmpfs where there is one: the save's fsyncs cost nothing there. */
	snprintf(dir, sizeof(dir), "%s/moat-fuzz-rules-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		fuzz_fail("cannot make a temporary directory");
	snprintf(saved, sizeof(saved), "%s/rules.json", dir);
	atexit(remove_dir);
	return 0;
}

static int same_rules(const struct ruleset *a, const struct ruleset *b)
{
	if (a->n != b->n || a->default_deny != b->default_deny)
		return 0;
	for (int i = 0; i < a->n; i++)
		if (a->rules[i].id != b->rules[i].id || a->rules[i].kind != b->rules[i].kind ||
		    strcmp(a->rules[i].match, b->rules[i].match) ||
		    strcmp(a->rules[i].comment, b->rules[i].comment))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"github.com", "api.github.com", "example.com",
					    "a.b.c.d.e"};
	struct ruleset rs = {0}, back = {0};
	const struct rule *r;
	const char *why;
	int err;

	/* One rule already in force, to see a refused file keep it. */
	if (rules_add(&rs, RULE_ALLOW_DOMAIN, "*.in-force.example", "kept") != 1)
		fuzz_fail("check failed");
	err = rules_load_buf(&rs, "rules.json", (const char *)data, size);
	if (err) {
		if (err != -EINVAL || rs.n != 1 || rs.rules[0].id != 1 ||
		    strcmp(rs.rules[0].match, "*.in-force.example"))
			fuzz_fail("check failed");
		goto out;
	}
	for (int i = 0; i < rs.n; i++) {
		if (rule_validate(&rs.rules[i], &why) || !rs.rules[i].id ||
		    !memchr(rs.rules[i].comment, 0, sizeof(rs.rules[i].comment)))
			fuzz_fail("check failed");
		for (int k = 0; k < i; k++)
			if (rs.rules[k].id == rs.rules[i].id)
				fuzz_fail("duplicate ids were accepted");
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rules_decide(&rs, names[i], &r);
	if (rules_save(&rs, saved))
		fuzz_fail("check failed");
	if (rules_load(&back, saved) || !same_rules(&rs, &back))
		fuzz_fail("what was saved does not load back the same");
out:
	rules_free(&rs);
	rules_free(&back);
	return 0;
}
