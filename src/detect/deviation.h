/* deviation.h - the learn-mode detections (docs/alerts.md, docs/learn.md): for a container
 * whose image has a baseline in force (learned, and no longer learning), `new-exec`,
 * `new-domain` and `new-destination` (WARNING) for what the baseline never had, and
 * `exec-then-egress` (CRITICAL) for a shell or interpreter followed within
 * learn.exec_egress_window_seconds by egress the baseline never had; for every container,
 * `dns-tunnel` (WARNING): learn.tunnel_labels unique long (tunnel_min_length), high-entropy
 * (tunnel_min_entropy) subdomains under one parent domain within tunnel_window_seconds.
 *
 * Pure decisions: the caller passes the event, the container, its image's baseline and the
 * name that explains a connect. Per-container state is bounded (a fixed table by cgroup id;
 * a container that loses its slot starts afresh). */
#ifndef MOAT_DEVIATION_H
#define MOAT_DEVIATION_H

#include <stdint.h>

#include "alert.h"
#include "baseline.h"
#include "config_learn.h"
#include "container.h"
#include "detect.h"
#include "moat/events.h"

struct deviation;

/* New state for the thresholds in cfg (copied). NULL + errno (ENOMEM). */
struct deviation *deviation_new(const struct learn_config *cfg);
void deviation_free(struct deviation *dv);
/* New thresholds (a reload); the state stays. */
void deviation_set_config(struct deviation *dv, const struct learn_config *cfg);

/* The detections for one kernel event (exec, connect, sendmsg, DNS answer) of container c
 * whose image's baseline im is in force (non-NULL). name: the DNS name that explains a
 * connect/sendmsg's address (NULL: none). now: Unix s. Fills up to max alerts; returns how
 * many. */
int deviation_event(struct deviation *dv, const struct detect_ctx *x,
		    const struct moat_event_hdr *h, const struct container_info *c,
		    const struct baseline_image *im, const char *name, int64_t now,
		    struct alert *out, int max);

/* Note a shell or interpreter exec of container c for exec-then-egress (deviation_event
 * does it for containers with a baseline). */

/* dns-tunnel for one DNS query (qname) of container c. Returns 1 with *out filled, or 0. */
int deviation_dns_query(struct deviation *dv, const struct detect_ctx *x,
			const struct moat_dns_event *q, const struct container_info *c, int64_t now,
			struct alert *out);

/* The parts dns-tunnel measures, for the benchmark and tests: the parent domain of name
 * (its last two labels, three under a two-letter TLD with a short second level: co.uk) in
 * parent, and the longest label left of it, its length and its Shannon entropy in bits per
 * character. Returns 0, or -1 when name has no label left of its parent. */
int deviation_tunnel_measure(const char *name, char *parent, size_t plen, size_t *longest,
			     double *entropy);

/* The baseline key of a connect/sendmsg (baseline.h): the kind (BL_CONNECT, BL_DIRECT,
 * BL_UDP) and "NAME|ADDR:PORT[/tcp|/udp]" into key. */
int deviation_net_key(const struct moat_net_event *n, const char *name, char *key, size_t len);

#endif /* MOAT_DEVIATION_H */
