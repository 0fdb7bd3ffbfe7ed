/* test_rules.c - the egress rules file: load, validate, save, import of the
 * seed's format, add/remove, domain pattern normalisation. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "netrules.h"
#include "rulesfile.h"

int main(void)
{
	struct ruleset rs = {0}, back = {0};
	char name[MOAT_DNS_NAME_LEN];
	const char *p;
	int w;

	CHECK(domain_normalize("Api.GitHub.com.", name, &w) == 0 &&
		  !strcmp(name, "api.github.com") && !w,
	      "normalize: lowercase, trailing dot dropped", "%s", name);
	CHECK(domain_normalize("*.github.com", name, &w) == 0 && !strcmp(name, "github.com") && w,
	      "normalize: *.suffix is a wildcard on the suffix", "%s w=%d", name, w);
	CHECK(domain_normalize("*", name, &w) == 0 && !name[0] && w, "normalize: * is the default",
	      "%s", name);
	CHECK(domain_normalize("a..b", name, &w) == -EINVAL &&
		  domain_normalize("a*b.com", name, &w) == -EINVAL &&
		  domain_normalize("", name, &w) == -EINVAL,
	      "normalize: empty labels, stray * and empty names refused", "accepted");

	p = test_tmpfile(
	    "{\"default\": \"deny\", \"rules\": [\n"
	    "  {\"id\": 7, \"kind\": \"allow-domain\", \"match\": \"*.github.com\"},\n"
	    "  {\"kind\": \"deny-ip\", \"match\": \"10.0.0.0/8\", \"comment\": \"lab\"}\n"
	    "]}\n");
	CHECK(rules_load(&rs, p) == 0 && rs.n == 2 && rs.default_deny && rs.rules[0].id == 7 &&
		  rs.rules[1].kind == RULE_DENY_IP && !strcmp(rs.rules[1].comment, "lab"),
	      "load: a valid file", "n=%d", rs.n);
	CHECK(rules_save(&rs, p) == 0 && rules_load(&back, p) == 0 && back.n == 2 &&
		  back.rules[0].id == 7 && back.default_deny,
	      "save then load gives the same rules", "n=%d", back.n);
	rules_free(&back);

	p = test_tmpfile("{\"rules\": [\n  {\"kind\": \"allow-domain\", \"match\": \"ok.com\"},\n"
			 "  {\"kind\": \"allow-ip\", \"match\": \"300.1.1.1\"}\n]}\n");
	CHECK(rules_load(&rs, p) == -EINVAL && rs.n == 2,
	      "load: a bad rule refuses the whole file and keeps the old rules", "n=%d", rs.n);
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-url\", \"match\": \"x\"}]}");
	CHECK_EQ_INT(rules_load(&rs, p), -EINVAL, "load: an unknown kind is refused");
	p = test_tmpfile("{\"rules\": [");
	CHECK_EQ_INT(rules_load(&rs, p), -EINVAL, "load: a syntax error is refused");
	CHECK_EQ_INT(rules_load(&back, "/nonexistent/rules.json"), -ENOENT,
		     "load: a missing file is an empty set");

	p = test_tmpfile("{\"github.com\": \"allow-domain\", \"*.npmjs.org\": \"allow-domain\",\n"
			 " \"telemetry.example\": \"deny-domain\", \"192.0.2.0/24\": \"deny\",\n"
			 " \"https://x.example/api\": \"deny\", \"*\": \"deny\", \"odd\": 3}\n");
	rules_free(&rs);
	CHECK_EQ_INT(rules_import(&rs, p), 5,
		     "import: the seed's format (URL rule and bad action skipped)");
	CHECK(rs.n == 4 && rs.default_deny && rs.rules[3].kind == RULE_DENY_IP,
	      "import: kinds from the seed's actions, * sets the default", "n=%d", rs.n);
	CHECK(rules_add(&rs, RULE_DENY_DOMAIN, "GitHub.com", NULL) == (int)rs.rules[0].id &&
		  rs.n == 4 && rs.rules[0].kind == RULE_DENY_DOMAIN,
	      "add: the same match replaces the rule (case-insensitive)", "n=%d", rs.n);
	CHECK(rules_add(&rs, RULE_ALLOW_DOMAIN, "new.example", "c") > 0 && rs.n == 5,
	      "add: a new match gets a new id", "n=%d", rs.n);
	CHECK_EQ_INT(rules_add(&rs, RULE_ALLOW_IP, "not-an-ip", NULL), -EINVAL,
		     "add: a bad pattern is refused");
	CHECK(rules_remove(&rs, "new.example") == 0 && rs.n == 4, "remove by match", "n=%d", rs.n);
	CHECK(rules_remove(&rs, "1") == 0 && rs.n == 3, "remove by id", "n=%d", rs.n);
	CHECK_EQ_INT(rules_remove(&rs, "nothing.example"), -ENOENT, "remove: unknown is -ENOENT");
	rules_free(&rs);
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-domain\", \"match\": \"*.x.test\"},\n"
			 "{\"kind\": \"deny-domain\", \"match\": \"*.X.test.\"}]}");
	CHECK_EQ_INT(rules_load(&rs, p), -EINVAL,
		     "load: allow and deny of one name (normalized) is refused");
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-ip\", \"match\": \"10.0.0.0/8\"},\n"
			 "{\"kind\": \"deny-ip\", \"match\": \"10.1.2.3/8\"}]}");
	CHECK_EQ_INT(rules_load(&rs, p), -EINVAL,
		     "load: allow and deny of one CIDR (host bits aside) is refused");
	p = test_tmpfile("{\"rules\": [{\"kind\": \"allow-ip\", \"match\": \"10.0.0.0/8\"},\n"
			 "{\"kind\": \"deny-ip\", \"match\": \"10.0.0.0/16\"}]}");
	CHECK_EQ_INT(rules_load(&rs, p), 0, "load: nested CIDRs are not a conflict");
	rules_free(&rs);
	unlink(p);
	return TEST_EXIT();
}
