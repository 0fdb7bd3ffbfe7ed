/* tick.h - moat run's housekeeping on its 1 s timer: DNS registry pruning and saving (in a
 * forked child, so the loop never waits on the disk), prompt expiry, the warning for
 * containers whose events the kernel's budget left out, and the sweep of expired learned
 * addresses. */
#ifndef MOAT_TICK_H
#define MOAT_TICK_H

#include <stddef.h>

struct daemon;

/* One tick (the timer fired): every second prompts and the registry's retention, every 5 s
 * the suppressed-events check, every 10 s a registry save and the learned-address sweep. */
void tick_run(struct daemon *d);

/* Save the registry to its file now, in this process, after waiting for a save still
 * running. Not with skip_sync. */
void tick_save_registry_now(struct daemon *d);

/* The registry's file: <state_dir>/registry.json. */
void tick_registry_path(const struct daemon *d, char *buf, size_t len);

#endif /* MOAT_TICK_H */
