/* rulesfile.h - the persistent egress rules file (default
 * /etc/moat/rules.json): allow/deny by domain (exact or *.suffix) and by IP
 * or CIDR, and the default for everything else. Parsed and validated here;
 * written into the kernel maps by rules_apply. The seed firewall's
 * network-rules.json ({"name": "allow-domain", ...}) is accepted by
 * rules_import. */
#ifndef MOAT_RULESFILE_H
#define MOAT_RULESFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "moat/maps.h"

#define RULES_DEFAULT_PATH "/etc/moat/rules.json"
#define RULES_MAX	   65536
#define RULES_MAX_BYTES	   (64u << 20) /* a larger rules file is refused (-EFBIG) */
/* Kernel rule ids (include/moat/maps.h): the global rules file's are RULES_ID_BASE + rule id,
 * a policy's own rule set's MOAT_RULE_POLICY(index) + rule id. */
#define RULES_ID_BASE	  MOAT_RULE_FILE_BASE
#define RULES_ID_END	  MOAT_RULE_FILE_END
#define POLICY_RULES_BASE MOAT_RULE_POLICY_BASE
#define POLICY_RULES_END  MOAT_RULE_POLICY_END

enum rule_kind {
	RULE_ALLOW_DOMAIN = 1,
	RULE_DENY_DOMAIN,
	RULE_ALLOW_IP,
	RULE_DENY_IP,
};

struct rule {
	uint32_t id;	 /* stable id, unique in the file (reported in events as base + id) */
	int kind;	 /* enum rule_kind */
	char match[256]; /* "github.com", "*.github.com", "*", "10.0.0.0/8", "2001:db8::/32" */
	char comment[128];
};

struct ruleset {
	struct rule *rules;
	int n;
	int default_deny; /* 1: names and addresses no rule matches are refused */
};

/* Parse kind names ("allow-domain", ...). Returns the kind or 0. */
int rule_kind_parse(const char *s);
const char *rule_kind_name(int kind);

/* Check one rule: the pattern fits the kind (a valid domain pattern or
 * CIDR). Returns 0 or -EINVAL with *why set. */
int rule_validate(const struct rule *r, const char **why);

/* Load the rules file. A missing file is an empty set (returns -ENOENT,
 * the set is empty and valid). A bad file is refused whole, with
 * "path:line: reason" logged, and rs untouched: -EINVAL. */
int rules_load(struct ruleset *rs, const char *path);

/* rules_load on the len bytes at buf (a file's contents; the text ends at
 * the first NUL byte, as in a file), named `name` in messages. The same
 * contract for a file that exists. */
int rules_load_buf(struct ruleset *rs, const char *name, const char *buf, size_t len);

/* The set as the text of a rules file (what rules_save writes): malloc'd, NUL-terminated,
 * its length in *len. NULL with errno ENOMEM. */
char *rules_format(const struct ruleset *rs, size_t *len);

/* Write the set atomically (temp file, fsync, rename). 0 or -errno. */
int rules_save(const struct ruleset *rs, const char *path);

/* Merge a file in moat's format or in the seed's format
 * ({"github.com": "allow-domain", "*": "deny", "https://x/y": "deny"})
 * into rs. URL rules are skipped with a warning (not supported yet).
 * Returns how many rules were added, or -errno. */
int rules_import(struct ruleset *rs, const char *path);

/* rules_import on the len bytes at buf, named `name` in messages. */
int rules_import_buf(struct ruleset *rs, const char *name, const char *buf, size_t len);

/* Add a rule (a new id is chosen), replacing a rule with the same match.
 * Returns its id, or -errno. */
int rules_add(struct ruleset *rs, int kind, const char *match, const char *comment);

/* Remove the rule with this id or match. 0 or -ENOENT. */
int rules_remove(struct ruleset *rs, const char *id_or_match);

/* Write rs into the kernel (rule set `policy` of domain_rules; global CIDR
 * rules) in place of what a previous apply wrote (the RULES_ID_BASE range), as one
 * rule-set transaction (netrules_txn_*): the programs see the old rules until the new
 * ones are complete, then the new ones only. On an error nothing changes. 0 or -errno. */
int rules_apply(const struct ruleset *rs, const char *pin_dir, uint32_t policy);

/* The puts of rules_apply into an open transaction, for callers that commit more with
 * them (moat run: the blacklist, once-decisions and the policies' own rule sets). Kernel
 * rule ids are id_base + rule id (id_base for the "*" default). IP rules are global, so
 * they are written only for rule set 0; a policy's set carries its domain rules and
 * default. 0 or the first -errno. */
struct netrules_txn;
int rules_txn_put(const struct ruleset *rs, struct netrules_txn *t, uint32_t policy,
		  uint32_t id_base);

/* Do two rules name the same thing (the same normalized domain pattern, or the same CIDR),
 * whatever their action? A rules file with an allow and a deny for one target is refused. */
int rules_same_target(const struct rule *a, const struct rule *b);

/* Whether a rule is an IP rule (allow-ip / deny-ip). */
int rules_is_ip(const struct rule *r);

/* Decide name the way the kernel does (exact, longest *.suffix, then the
 * default). Returns MOAT_ACT_ALLOW or MOAT_ACT_DENY and sets *rule to the
 * deciding rule (NULL for the default). For logs and statistics. */
int rules_decide(const struct ruleset *rs, const char *name, const struct rule **rule);

/* The rule behind a kernel rule id (id_base + id; RULES_ID_BASE for the global set), or
 * NULL. */
const struct rule *rules_by_kernel_id(const struct ruleset *rs, uint32_t id_base,
				      uint32_t kernel_id);

void rules_free(struct ruleset *rs);

#endif /* MOAT_RULESFILE_H */
