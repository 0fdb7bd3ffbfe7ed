/* detect.h - the detections: kernel events and Docker events in, alerts
 * out. Pure decisions: no I/O (the renamed-copy check reads container files in its own
 * thread, copycheck.h), no actions. */
#ifndef MOAT_DETECT_H
#define MOAT_DETECT_H

#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "container.h"
#include "lists.h"
#include "moat/events.h"

struct registry;
struct dedup;

/* What the detections read. Pointers are borrowed and may be NULL (no
 * list, no registry). */
struct detect_ctx {
	const struct config *cfg;
	struct registry *registry;
	const struct iplist *blacklist;
	const struct iplist *whitelist;
	struct dedup *dedup; /* suppresses repeats; NULL = report everything */
	struct lossy *lossy; /* containers whose events the kernel's fair share cut; NULL =
				not tracked */
	int64_t offset_ns;   /* boot time -> Unix time */
	/* Is container c's egress restricted (enforced domain rules or default deny)? Raises
	 * the severity of a forged DNS answer. NULL: never. */
	int (*restricted)(void *ud, const struct container_info *c);
	void *ud;
};

/* Which class an executable name belongs to. */
enum exec_class { EXEC_NONE = 0, EXEC_SHELL, EXEC_RUNTIME, EXEC_NETTOOL };

/* The class of an exec event, from the base names of its filename, #!
 * interpreter, argv[0] (busybox applets), the busybox applet argument and
 * the executed file's name. *matched gets the name that matched. */
int detect_exec_class(const struct config *cfg, const struct moat_exec_event *e,
		      const char **matched);

/* Should the exec be checked for a renamed copy of a listed binary (copycheck.h)? 1 when
 * none of its names is listed and the container runs (its files can be read). */
int detect_exec_wants_copy_check(const struct detect_ctx *x, const struct moat_exec_event *e,
				 const struct container_info *c);

/* The suspicious-exec alert for an exec that copycheck found to be a copy of orig (class
 * cls). Returns 1 with *out filled, or 0. */
int detect_copied_exec(const struct detect_ctx *x, const struct moat_exec_event *e,
		       const struct container_info *c, int cls, const char *orig,
		       struct alert *out);

/* Run the detections for one kernel event of container c (NULL when the
 * cgroup is no known container: only the blacklist applies then). Fills
 * up to max alerts; returns how many. */
int detect_event(const struct detect_ctx *x, const struct moat_event_hdr *h,
		 const struct container_info *c, struct alert *out, int max);

/* The container-lifecycle detection for a Docker event of container c.
 * Returns 1 with *out filled, or 0. */
int detect_docker_event(const struct detect_ctx *x, const char *action, int exit_code,
			const struct container_info *c, int64_t time_ns, struct alert *out);

/* Repeat suppression: the same rule for the same container and key (an
 * address, a name) is reported once per window_s seconds. */
struct dedup *dedup_new(uint32_t window_s);
void dedup_free(struct dedup *d);
/* Returns 1 when (rule, container, key) was seen within the window (and
 * should be suppressed), else records it and returns 0. */
int dedup_seen(struct dedup *d, const char *rule, const char *container, const char *key,
	       int64_t now_s);

/* Containers whose ordinary events their kernel event budget left out
 * (event_rate_per_container): a DNS answer that explains a later connection may have been one
 * of them. Connect events carry the count (moat_net_event.suppressed); while a cgroup's count
 * grew within the last window_s seconds (the registry's retention: how long an answer
 * explains its addresses), its direct-connection alerts are INFO and say why. */
struct lossy *lossy_new(uint32_t window_s);
void lossy_free(struct lossy *l);
/* Note count for cgroup cgid at now_s; returns until when (Unix s) its answers may be
 * missing, 0 when they are not. */
int64_t lossy_note(struct lossy *l, uint64_t cgid, uint32_t count, int64_t now_s);

#endif /* MOAT_DETECT_H */
