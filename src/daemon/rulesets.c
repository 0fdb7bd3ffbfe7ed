/* rulesets.c - moat run's rule sets: lists, the egress rules file, the policies and their
 * own rule sets; loaded, watched, and committed into the kernel (rulesets.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "daemon_int.h"
#include "learnrec.h"
#include "log.h"
#include "netrules.h"
#include "rulesets.h"
#include "settings.h"

/* Write the shared rule sets moat run owns into the kernel as one rule-set transaction
 * (netrules_txn_*, include/moat/maps.h): the blacklist, the egress rules file, the
 * policies' own sets and the once-decisions, in that order (a once-decision overrides the
 * file's rule for its name while it lasts). The programs judge every connect and DNS answer
 * by the old sets until the new ones are complete, then by the new ones only. Entries moat
 * run does not own (`moat rule`, `moat domain` from the CLI) are carried over. Called
 * whenever one of them changes. */
int rulesets_commit(struct daemon *d)
{
	static const struct netrules_range mine[] = {
	    {MOAT_RULE_BLACKLIST_BASE, MOAT_RULE_BLACKLIST_END},
	    {MOAT_RULE_FILE_BASE, MOAT_RULE_FILE_END},
	    {MOAT_RULE_ONCE_BASE, MOAT_RULE_ONCE_END},
	    {MOAT_RULE_POLICY_BASE, MOAT_RULE_POLICY_END},
	};
	struct netrules_txn t;
	int err = netrules_txn_begin(&t, d->pin_dir, mine, 4);

	if (err) {
		log_error("cannot update the kernel rules: %s; the rules in force stay",
			  strerror(-err));
		return err;
	}
	for (size_t i = 0; !d->cfg.report_only && i < d->blacklist.n && !err; i++) {
		const struct iplist_entry *e = &d->blacklist.entries[i];

		err = netrules_txn_put(&t, &e->cidr, MOAT_ACT_DENY,
				       MOAT_RULE_BLACKLIST_BASE + e->line);
		if (err)
			log_error("%s:%u: cannot deny %s in the kernel: %s", d->cfg.blacklist,
				  e->line, e->text, strerror(-err));
	}
	if (!err && (err = rules_txn_put(&d->egress, &t, 0, MOAT_RULE_FILE_BASE)))
		log_error("writing the egress rules into the kernel: %s", strerror(-err));
	for (int i = 0; i < d->policies->n && !err; i++)
		if (d->policies->p[i].egress_rules[0] &&
		    (err = rules_txn_put(&d->policy_rules[i], &t, d->policy_set[i],
					 MOAT_RULE_POLICY((uint32_t)i))))
			log_error("writing policy %s's rule set into the kernel: %s",
				  d->policies->p[i].id, strerror(-err));
	for (int i = 0; i < PROMPTS_MAX && !err; i++) {
		const struct once_rule *o = &d->prompts.once[i];

		if (o->until_s)
			err =
			    netrules_txn_domain_put(&t, o->set, o->domain, o->action, o->kernel_id);
	}
	if (err) {
		netrules_txn_abort(&t);
		log_error("kernel rules not updated; the rules in force stay");
		return err;
	}
	err = netrules_txn_commit(&t);
	if (err)
		log_error("switching the kernel rules: %s", strerror(-err));
	if (t.revoked > 0)
		log_info("%d learned address(es) shut: no rule allows them now", t.revoked);
	if (t.shadowed > 0)
		log_warn("%d allow-ip rule(s) of %s not applied: a deny (blacklist or `moat rule`) "
			 "holds the same CIDR, and deny wins",
			 t.shadowed, d->cfg.egress_rules);
	return err;
}

/* Watch path on d->inofd (created by the first watch). */
static void watch(struct daemon *d, const char *path, struct lists_watch *w)
{
	int fd = lists_watch_fd(d->inofd, path, w);

	if (fd >= 0)
		d->inofd = fd;
}

/* Load policy i's own rule set (egress_rules) into d->policy_rules[i]. A bad file keeps
 * what the set held (its file:line is logged); IP rules in it are reported and not applied
 * (IP rules are global: the rules file's). Watches the file. */
static void load_policy_rules(struct daemon *d, int i)
{
	const struct policy *p = &d->policies->p[i];
	int err;

	err = rules_load(&d->policy_rules[i], p->egress_rules);
	if (err == -ENOENT)
		log_warn("policy %s: %s does not exist: its containers get an empty rule set "
			 "(default allow) until it does ('moat rules --file %s ...')",
			 p->id, p->egress_rules, p->egress_rules);
	else if (err)
		log_error("policy %s: %s refused (see above); its rule set stays as it was", p->id,
			  p->egress_rules);
	else
		log_info("policy %s: %s: %d egress rule(s), default %s", p->id, p->egress_rules,
			 d->policy_rules[i].n, d->policy_rules[i].default_deny ? "deny" : "allow");
	for (int k = 0; k < d->policy_rules[i].n; k++)
		if (rules_is_ip(&d->policy_rules[i].rules[k]))
			log_warn(
			    "%s: rule %d (%s): IP rules are global and apply only from %s; not "
			    "applied from a policy's rule set",
			    p->egress_rules, d->policy_rules[i].rules[k].id,
			    d->policy_rules[i].rules[k].match, d->cfg.egress_rules);
	watch(d, p->egress_rules, &d->policy_rules_watch[i]);
}

void rulesets_load_policies(struct daemon *d)
{
	struct policy_set *old = malloc(sizeof(*old));
	struct ruleset kept[POLICY_MAX];
	int err;

	if (old)
		*old = *d->policies;
	memcpy(kept, d->policy_rules, sizeof(kept));
	memset(d->policy_rules, 0, sizeof(d->policy_rules));
	err = policy_load(d->policies, d->cfg.policies);
	d->policies->trust_image_labels = d->cfg.trust_image_labels;
	learnrec_apply_switches(d);
	settings_policy_set_ids(d->policies, d->policy_set);
	if (err == -ENOENT)
		log_debug("%s: no policies file; the built-in default applies", d->cfg.policies);
	else if (!err)
		log_info("%s: %d polic%s", d->cfg.policies, d->policies->n,
			 d->policies->n == 1 ? "y" : "ies");
	/* A set survives a reload under the same policy id and file, so that a bad rules file
	 * met later keeps its rules rather than none. */
	for (int i = 0; i < d->policies->n; i++) {
		const struct policy *p = &d->policies->p[i];

		for (int j = 0; old && j < old->n && p->egress_rules[0]; j++)
			if (kept[j].rules && !strcmp(old->p[j].id, p->id) &&
			    !strcmp(old->p[j].egress_rules, p->egress_rules)) {
				d->policy_rules[i] = kept[j];
				memset(&kept[j], 0, sizeof(kept[j]));
			}
		if (p->egress_rules[0])
			load_policy_rules(d, i);
	}
	for (int j = 0; j < POLICY_MAX; j++)
		rules_free(&kept[j]);
	free(old);
	rulesets_commit(d);
}

int rulesets_load_egress(struct daemon *d)
{
	int err = rules_load(&d->egress, d->cfg.egress_rules);

	if (err == -ENOENT) {
		log_debug("%s: no egress rules file", d->cfg.egress_rules);
	} else if (err) {
		return err;
	} else {
		log_info("%s: %d egress rule(s), default %s", d->cfg.egress_rules, d->egress.n,
			 d->egress.default_deny ? "deny" : "allow");
	}
	return rulesets_commit(d);
}

void rulesets_load_list(struct daemon *d, const char *path, struct iplist *l, int is_black)
{
	struct iplist old = *l, fresh = {0};
	int bad = 0, err;

	if (!path[0])
		return;
	err = lists_load(&fresh, path, &bad);
	if (err) {
		log_warn("%s: %s; keeping the previous list (%zu entries)", path, strerror(-err),
			 l->n);
		return;
	}
	*l = fresh;
	log_info("%s: %zu entries loaded%s", path, l->n,
		 bad ? " (bad lines skipped, see above)" : "");
	if (is_black)
		rulesets_commit(d);
	lists_free(&old);
}

void rulesets_load_all(struct daemon *d)
{
	/* The first commit (rulesets_load_egress, always) replaces what a previous run wrote
	 * from its blacklist, rules file and once-decisions. */
	rulesets_load_list(d, d->cfg.blacklist, &d->blacklist, 1);
	rulesets_load_list(d, d->cfg.whitelist, &d->whitelist, 0);
	if (d->cfg.blacklist[0])
		watch(d, d->cfg.blacklist, &d->bl_watch);
	if (d->cfg.whitelist[0])
		watch(d, d->cfg.whitelist, &d->wl_watch);
	rulesets_load_egress(d);
	rulesets_load_policies(d);
	watch(d, d->cfg.policies, &d->policy_watch);
	watch(d, d->cfg.egress_rules, &d->rules_watch);
}

void rulesets_on_inotify(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(d->inofd, buf, sizeof(buf))) > 0) {
		if (d->cfg.blacklist[0] && lists_watch_concerns(&d->bl_watch, buf, n))
			rulesets_load_list(d, d->cfg.blacklist, &d->blacklist, 1);
		if (d->cfg.whitelist[0] && lists_watch_concerns(&d->wl_watch, buf, n))
			rulesets_load_list(d, d->cfg.whitelist, &d->whitelist, 0);
		if (lists_watch_concerns(&d->rules_watch, buf, n))
			rulesets_load_egress(d);
		if (lists_watch_concerns(&d->policy_watch, buf, n)) {
			rulesets_load_policies(d);
			settings_apply_all(d);
		}
		for (int i = 0; i < d->policies->n; i++)
			if (d->policies->p[i].egress_rules[0] &&
			    lists_watch_concerns(&d->policy_rules_watch[i], buf, n)) {
				load_policy_rules(d, i);
				rulesets_commit(d);
			}
	}
}
