/* preflight.h - what moat needs from the host, checked before loading:
 * root, kernel BTF, bpffs (mounted when absent), tracefs (mounted when
 * absent), cgroup v2. Each failure is logged with what to do. */
#ifndef MOAT_PREFLIGHT_H
#define MOAT_PREFLIGHT_H

#include <stddef.h>

/* Run the checks. On success fills cg_mount with the cgroup v2 mount and
 * returns 0; otherwise returns -errno after logging the remedy. */
int preflight(char *cg_mount, size_t len);

/* Resolve the cgroups to attach to: the --cgroup paths given (relative
 * paths are taken below the cgroup v2 mount), else the runtime's parent
 * cgroups. Never the root cgroup unless the user named it. Returns the
 * count (> 0) or -errno after logging the remedy. */
int preflight_cgroups(const char *cg_mount, char given[][4096], int n_given, char out[][4096],
		      int max);

#endif /* MOAT_PREFLIGHT_H */
