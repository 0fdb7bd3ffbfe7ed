/* prompts.h - interactive egress (`moat prompt`): DNS answers the kernel held back wait
 * here for a decision, and once-decisions stay in the kernel for ONCE_RULE_S.
 *
 * Two layers: the prompt table (prompt_table_*, no I/O: which requests are open, the
 * per-container fair share, the once-decision slots, expiry) and moat run's use of it
 * (prompts_*: alerts, rules files, the kernel rule sets, the access log). */
#ifndef MOAT_PROMPTS_H
#define MOAT_PROMPTS_H

#include <stdint.h>
#include <json-c/json.h>

#include "moat/events.h"

#define PROMPTS_MAX	 64 /* open prompts, and once-decisions, at once */
#define PROMPTS_PER_CT	 8  /* open prompts one container may hold */
#define ONCE_RULE_S	 30 /* how long a once-decision stays in the kernel */
#define PROMPT_MAX_ADDRS 4  /* addresses of the held answer kept for allow-ip / deny-ip */

/* One held answer waiting for a decision. */
struct prompt {
	uint32_t id; /* 0 = free slot */
	char container_id[65], container_name[128], comm[MOAT_COMM_LEN + 1];
	char domain[MOAT_DNS_NAME_LEN];
	char addrs[PROMPT_MAX_ADDRS][64];
	int n_addrs;
	uint32_t pid;
	int64_t asked_s, expires_s; /* Unix time */
};

/* A once-decision in the kernel until it expires. */
struct once_rule {
	char domain[MOAT_DNS_NAME_LEN];
	int action; /* MOAT_ACT_ALLOW or MOAT_ACT_DENY */
	uint32_t kernel_id;
	uint32_t set;	 /* the kernel rule set of the asking container */
	int64_t until_s; /* 0 = free slot */
};

struct prompt_table {
	struct prompt p[PROMPTS_MAX];
	struct once_rule once[PROMPTS_MAX];
	uint32_t next_id;
	uint64_t n_refused; /* held answers not asked about: share or table full */
};

/* What a choice does. */
enum prompt_scope { PROMPT_ONCE = 1, PROMPT_DOMAIN, PROMPT_IP };

/* Open a prompt for the held answer q of container (id, name; "" for the host), asked at
 * now for timeout_s. Returns the new prompt, or NULL with *err: -EEXIST when that container
 * already waits on that name (its resolver retries), -EDQUOT when it holds PROMPTS_PER_CT
 * prompts (its others stay held, never another container's slots), -ENOSPC when the table
 * is full. Refusals other than -EEXIST are counted in n_refused. */
struct prompt *prompt_table_open(struct prompt_table *t, const struct moat_dns_event *q,
				 const char *ct_id, const char *ct_name, int64_t now,
				 uint32_t timeout_s, int *err);

/* The open prompt with this id, or NULL (id 0 is none). */
struct prompt *prompt_table_find(struct prompt_table *t, uint32_t id);

/* Parse a choice: allow-once, deny-once, allow-domain, deny-domain, allow-ip, deny-ip.
 * Returns its enum prompt_scope with *allow set, or -EINVAL. */
int prompt_choice(const char *choice, int *allow);

/* Record the once-decision of prompt p (allow or deny its domain in kernel rule set `set`
 * until now + ONCE_RULE_S) in a free slot, else in the slot p's id names. Returns it. */
struct once_rule *prompt_table_once(struct prompt_table *t, const struct prompt *p, int allow,
				    uint32_t set, int64_t now);

/* Free the once-decisions that expired by now. Returns how many. */
int prompt_table_expire_once(struct prompt_table *t, int64_t now);

/* The open prompts, for `moat prompt --list`: [{"id","container","pid","comm","domain",
 * "addresses","asked","expires_in_s"}]. New reference. */
json_object *prompt_table_json(const struct prompt_table *t, int64_t now);

struct daemon;
struct container_info;

/* A verified answer of container c (NULL: the host) was held back: open a prompt and alert
 * (egress-prompt), unless that one is open or the container's share is used. */
void prompts_ask(struct daemon *d, const struct moat_dns_event *q, const struct container_info *c);

/* Apply choice on prompt p: once-decisions go into the kernel rule sets, the others into
 * the rules file of the asking container's rule set (IP rules into the global file) and
 * then the kernel; the decision goes to the access log and p is freed. Returns 0, -EINVAL
 * for an unknown choice (p stays open), or the error of writing the rules. */
int prompts_decide(struct daemon *d, struct prompt *p, const char *choice, int timed_out);

/* The 1 s timer: expired once-decisions leave the kernel, undecided prompts are denied
 * once. */
void prompts_tick(struct daemon *d);

#endif /* MOAT_PROMPTS_H */
