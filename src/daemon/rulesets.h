/* rulesets.h - the rule sets moat run owns: the blacklist and whitelist, the egress rules
 * file, the policies and their own rule sets, loaded from the operator's files, reloaded
 * when a file changes (inotify), and written into the kernel as one rule-set transaction
 * together with the once-decisions (prompts.h). A bad file keeps what is in force. */
#ifndef MOAT_RULESETS_H
#define MOAT_RULESETS_H

struct daemon;
struct iplist;

/* Write the blacklist, the egress rules file, every policy's rule set and the
 * once-decisions into the kernel as one transaction (netrules_txn_*). On any error nothing
 * changes and the error is logged. Returns 0 or -errno. */
int rulesets_commit(struct daemon *d);

/* (Re)load the list at path into l (nothing when path is ""); a blacklist is committed. */
void rulesets_load_list(struct daemon *d, const char *path, struct iplist *l, int is_black);

/* (Re)load the egress rules file and commit. Returns 0 (a missing file is an empty set), or
 * -errno when the file did not load (the rules in force stay, the reason is logged) or the
 * commit failed. */
int rulesets_load_egress(struct daemon *d);

/* (Re)load the policies and their own rule sets, and commit. */
void rulesets_load_policies(struct daemon *d);

/* Load every file for the first time, and watch them (d->inofd). */
void rulesets_load_all(struct daemon *d);

/* d->inofd is readable: reload the files that changed. */
void rulesets_on_inotify(struct daemon *d);

#endif /* MOAT_RULESETS_H */
