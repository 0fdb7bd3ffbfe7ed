/* loader.h - load the BPF programs, share and pin their maps, attach them
 * to cgroups, pin the links, and take it all down again. */
#ifndef MOAT_LOADER_H
#define MOAT_LOADER_H

#include <stdint.h>

struct net_bpf;
struct exec_bpf;
struct dns_bpf;
struct veth_bpf;
struct oom_bpf;

struct loader {
	char pin_dir[256];
	struct net_bpf *net;
	struct exec_bpf *exec;
	struct dns_bpf *dns;
	struct veth_bpf *veth;
	struct oom_bpf *oom; /* OOM kills (bpf/oom.bpf.c); NULL when this kernel cannot load it */
};

/* Open and load every program. Maps are pinned by name under pin_dir
 * (created if needed) and reused when already pinned, so all programs
 * share one ring buffer and a restart keeps the maps. ring_bytes sizes the
 * events ring buffer when it is created (0: MOAT_RINGBUF_BYTES; a power of
 * two); a pinned ring buffer keeps its size (logged when it differs) until
 * 'moat clear'. Returns 0 or -errno after logging what failed and what to
 * do. */
int loader_load(struct loader *l, const char *pin_dir, uint32_t ring_bytes);

/* Size in bytes of the ring buffer pinned under pin_dir, or 0 when none. */
uint32_t loader_pinned_ring_bytes(const char *pin_dir);

/* Attach the cgroup programs to each of the n cgroup directories and the
 * exec/exit programs once, and pin every link under <pin_dir>/links. An
 * already pinned link is switched to the new program in place (no gap in
 * enforcement); where the kernel cannot, the new link is attached first
 * and the old one dropped after. Adds each cgroup to watch_cgroups.
 * Returns 0 or -errno. */
int loader_attach(struct loader *l, char cgroups[][4096], int n);

/* Attach (on) or detach the socket() tracepoint (handle_socket_tp), which reports packet
 * and raw sockets opened in watched cgroups. loader_attach attaches it. While any syscall
 * tracepoint is attached, every syscall on the host takes the kernel's tracing path (about
 * 2% of a connect()+close() loop here, docs/performance.md): moat run keeps it only where
 * it is wanted (socket_tracepoint). 0 or -errno (logged when attaching fails). */
int loader_socket_tp(struct loader *l, int on);

/* The fd of the shared events ring buffer (owned by the loader). */
int loader_events_fd(const struct loader *l);

/* How full a BPF ring buffer is: *size its data area in bytes, *used the bytes written by
 * the kernel and not yet consumed (producer minus consumer position, read from the map's
 * read-only mmap'd position pages: libbpf 1.1 has no ring__avail_data_size). Returns 0 or
 * -errno. */
int loader_ring_fill(int ring_fd, uint64_t *used, uint64_t *size);

/* The veth guard's programs (bpf/veth.bpf.c), for vethguard_attach: frames out of and into
 * a container. */
int loader_veth_out_fd(const struct loader *l);
int loader_veth_in_fd(const struct loader *l);

/* Free the userspace handles. Pinned maps and links stay in the kernel. */
void loader_close(struct loader *l);

/* Detach every link pinned under pin_dir and remove the pins and the
 * directory. Returns 0, or -errno for the first failure (it goes on with
 * the rest). */
int loader_clear(const char *pin_dir);

/* Is anything attached (a pinned link under pin_dir)? */
int loader_attached(const char *pin_dir);

/* Print the feature probe: what this kernel offers and what moat uses. */
void loader_print_features(void);

#endif /* MOAT_LOADER_H */
