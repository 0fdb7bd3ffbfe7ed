/* learnpolicy.h - a learned baseline (baseline.h) turned into a policy in the policies file's
 * own format (policy.h) and its egress rule set in the rules file's (rulesfile.h): the
 * domains the image resolved or connected to by name (each, or "*.parent" once a parent has
 * at least `wildcards` of them, when asked), default deny, and the executables it ran as
 * the policy's exec_allow with kill_exec for the rest of the configuration's exec lists.
 * `moat learn policy` prints it; moat's own loaders validate it before it is printed. */
#ifndef MOAT_LEARNPOLICY_H
#define MOAT_LEARNPOLICY_H

#include <json-c/json.h>

#include "baseline.h"
#include "rulesfile.h"

struct learnpolicy_opts {
	unsigned wildcards;	/* collapse to *.parent from this many names under it; 0: never */
	const char *rules_path; /* the absolute path the policy's egress_rules names */
};

/* Build the policy for image im. *policy gets the policies-file document ({"policies":
 * [one]}, new reference), rs the rule set (empty on entry; rules_free it), *notes a JSON
 * array of strings for the operator (what could not go into the policy: direct-IP
 * destinations, names that are no valid rule, executables beyond POLICY_MAX_EXEC). Returns
 * 0, -EINVAL (rules_path not absolute, an image name that cannot be a policy target), or
 * -ENOMEM. */
int learnpolicy_build(const struct baseline_image *im, const struct learnpolicy_opts *o,
		      json_object **policy, struct ruleset *rs, json_object **notes);

/* The policy id for image name: "learned-" and the name with every byte other than
 * [A-Za-z0-9._-] as '-', at most 63 bytes. */
void learnpolicy_id(const char *image, char *buf, size_t len);

#endif /* MOAT_LEARNPOLICY_H */
