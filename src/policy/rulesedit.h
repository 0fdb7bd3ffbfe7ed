/* rulesedit.h - one change to the egress rules file, done the same way for `moat rules`
 * (cli/rulescli.c) and the dashboard's API (web/api_rules.c): load the file (every rule
 * validated), apply the change, save it atomically (rules_save: temp file, fsync, rename),
 * with the change serialized against every other editor by a lock on the file's directory.
 * moat run then reloads the file (inotify, or the control command "rules" with "reload"). */
#ifndef MOAT_RULESEDIT_H
#define MOAT_RULESEDIT_H

#include <stddef.h>

#include "rulesfile.h"

enum rules_edit_op {
	RULES_EDIT_ADD = 1, /* kind, match, comment */
	RULES_EDIT_REMOVE,  /* match: an id or a match */
	RULES_EDIT_DEFAULT, /* default_deny */
	RULES_EDIT_IMPORT,  /* text (text_len bytes) or, when text is NULL, the file at match */
};

struct rules_edit {
	int op; /* enum rules_edit_op */
	int kind;
	const char *match;
	const char *comment;
	int default_deny;
	const char *text;
	size_t text_len;
};

/* The kind of an added rule from a verdict ("allow"/"deny") and a match: an IP rule when
 * match is an address or CIDR, else a domain rule. 0 when verdict is neither. */
int rules_edit_kind(const char *verdict, const char *match);

/* Apply e to the rules file at path (a missing file is an empty set). Returns the new
 * rule's id (ADD), how many rules were imported (IMPORT) or 0; or -EINVAL (the change or
 * the file is invalid), -ENOENT (REMOVE: no such rule) or another -errno (reading, locking
 * or writing); then why (size n) says what is wrong and what to do, and the file is
 * unchanged. The saved set is left in *out when out is not NULL (the caller frees it with
 * rules_free), for writing it into the kernel. */
int rules_edit_file(const char *path, const struct rules_edit *e, struct ruleset *out, char *why,
		    size_t n);

#endif /* MOAT_RULESEDIT_H */
