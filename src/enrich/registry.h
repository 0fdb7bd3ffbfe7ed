/* registry.h - the DNS registry: which names resolved to which addresses, in which container.
 *
 * Filled only from DNS answers the kernel saw (struct moat_dns_event). Direct-connection
 * detection asks it whether a connect from a container goes to an address that some DNS
 * answer seen by that same container explains. Not thread-safe: one owner (the event loop).
 *
 * Addresses are kept per (address, container) pair with the time that container last saw
 * that address for that name, so an answer explains a connect only in the container that
 * received it and only for max(TTL, retention) seconds after it was last seen. An IPv4
 * address and its IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the same address.
 */
#ifndef MOAT_REGISTRY_H
#define MOAT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "moat/events.h"

#define REGISTRY_DEFAULT_MAX_ENTRIES 100000 /* names kept when registry_new gets 0 */
#define REGISTRY_DEFAULT_RETENTION   86400  /* seconds, when registry_new gets 0 */
#define REGISTRY_MAX_ADDRS	     32	    /* addresses kept per name; least recent replaced */
#define REGISTRY_MAX_CONTAINERS	     16	    /* containers kept per name; least recent replaced */
#define REGISTRY_MAX_CNAMES	     8	    /* CNAME chain kept per name; the rest is dropped */
#define REGISTRY_FILE_VERSION	     1	    /* "moat_registry" in the file's first line */

struct registry;

/* One A or AAAA answer. AF_INET uses the first 4 bytes of addr. */
struct registry_addr {
	int family;
	uint8_t addr[16];
	uint32_t ttl; /* seconds */
};

/* A registry holding at most max_entries names (the least recently seen name is evicted
 * beyond it, in O(1)); an answer explains its addresses for max(TTL, retention_s) seconds
 * after it was last seen. 0 for either picks the REGISTRY_DEFAULT_* value. NULL + errno
 * (ENOMEM) on failure. Free with registry_free. */
struct registry *registry_new(size_t max_entries, uint32_t retention_s);
void registry_free(struct registry *r);

/* Record one answer seen by container `container` (full container id; "" or NULL when
 * unknown). qname is the name asked; cnames the CNAME chain in answer order; addrs the A/AAAA
 * records. The addresses map to qname and to the last CNAME target. Names are matched
 * case-insensitively, a trailing dot is ignored. Updates first_seen/last_seen/count, TTLs and
 * the per-container counts. now is Unix seconds. Returns 0 (also when n_addrs is 0: nothing to
 * record), -EINVAL for a NULL or too long name or container id, -EAFNOSUPPORT for an address
 * family other than AF_INET/AF_INET6 (nothing recorded), -ENOMEM. */
int registry_record(struct registry *r, const char *qname, const char *const *cnames, int n_cnames,
		    const struct registry_addr *addrs, int n_addrs, const char *container,
		    int64_t now);

/* Record a MOAT_EV_DNS_ANSWER event. Queries, answers with rcode != 0 or without addresses,
 * and answers the parser flagged malformed, pointer_loop, not_dns or tcp_partial are ignored
 * (return 0). Otherwise as registry_record. */
int registry_record_event(struct registry *r, const struct moat_dns_event *e, const char *container,
			  int64_t now);

/* The name (as asked) whose answer, seen by `container`, explains a connect to addr (family
 * AF_INET: first 4 bytes) at time now; NULL when none (errno is not set). When several names
 * do, the most recently recorded one. The pointer is valid until the next call that modifies
 * r (record, load, prune, free). O(1) on average; does not modify r. */
const char *registry_explains(struct registry *r, const char *container, int family,
			      const uint8_t addr[16], int64_t now);

/* Entries matching q, most recently seen first, at most limit of them (0: no limit), as a
 * JSON array. q is a name (exact, case-insensitive), "*.example.com" (names ending in
 * ".example.com"), an IPv4 or IPv6 address, or NULL/"" for everything. Each entry:
 *   {"name", "addrs": [{"addr", "ttl", "last_seen"}], "cnames": [...], "first_seen",
 *    "last_seen", "count", "containers": [{"id", "count", "last_seen", "seen": {ADDR: T}}]}
 * where "seen" maps each address this container received for this name to when it last did.
 * Returns a new reference, or NULL + errno (EINVAL for a bad name, ENOMEM). */
json_object *registry_query(struct registry *r, const char *q, size_t limit);

/* Write every entry to path atomically: a temp file in the same directory, fsync, rename,
 * fsync of the directory. The file is JSON Lines: a header object {"moat_registry": 1,
 * "entries": N}, then one entry per line (the registry_query format), least recently seen
 * first. Mode 0600. Returns 0 or -errno (the old file is then untouched, no temp file left). */
int registry_save(struct registry *r, const char *path);

/* Merge the entries of a file written by registry_save into r. A missing file returns 0. A
 * file that is not a registry (unreadable, bad first line) returns -errno (-EINVAL) after a
 * log_warn naming the file. A bad entry is skipped with a log_warn naming the file, the entry
 * number and the field ("registry.json: entry 12: field \"addrs\" is not an array"); good
 * entries are kept. Entries and (address, container) pairs expired at now are not loaded. */
int registry_load(struct registry *r, const char *path, int64_t now);

/* registry_load on the len bytes at buf (a file's contents), named `name` in messages. */
int registry_load_buf(struct registry *r, const char *name, const char *buf, size_t len,
		      int64_t now);

size_t registry_count(const struct registry *r); /* names */
/* Fair share: a container holding `names` names already records no new one (registry_record
 * returns -EDQUOT and counts it in registry_refused); 0 (the default) is no limit. moat run
 * sets it to the capacity divided among the running containers. */
void registry_set_container_quota(struct registry *r, uint32_t names);
uint64_t registry_refused(const struct registry *r);
size_t registry_addr_count(const struct registry *r); /* (address, container, name) index entries */

/* Drop names whose every answer is past max(TTL, retention) at now; returns how many. Cost is
 * proportional to the number dropped (plus names kept alive by a TTL longer than retention),
 * so it can run every second. */
size_t registry_prune(struct registry *r, int64_t now);

#endif /* MOAT_REGISTRY_H */
