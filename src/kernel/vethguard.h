/* vethguard.h - the userspace side of the veth guard (bpf/veth.bpf.c): find a container's
 * host-side veths over rtnetlink (libmnl), and attach the guard's programs to them with tc
 * (a clsact qdisc: ingress for the frames the container sends, egress for the ones it
 * receives), or take them off. The filters stay when moat exits, like the pinned links. */
#ifndef MOAT_VETHGUARD_H
#define MOAT_VETHGUARD_H

#include <stdint.h>

#include "moat/maps.h"

/* One host-side veth of a container. */
struct vethguard_port {
	int ifindex;			/* the host-side veth */
	int master;			/* its bridge, 0 when none */
	uint8_t gw_mac[6];		/* the bridge's MAC */
	uint8_t gw4[4];			/* the bridge's first IPv4 address, zero when none */
	uint8_t gw6[MOAT_VETH_GW6][16]; /* the bridge's IPv6 addresses (globals first), zero
					   when fewer */
	uint8_t ll6[16]; /* the container's link-local IPv6 address on this link, zero when
			    it has none (IPv6 off) */
	int peer;	 /* the container-side interface's index, in its namespace */
};

/* The host-side veths whose peer lives in the network namespace of process pid (at most
 * max), and in *nsid the id of that namespace as the host's namespace knows it (one is
 * assigned when it has none: socket lookups of the guard need it). Only kernel answers are
 * used: nothing the container writes. Returns how many, or -errno. */
int vethguard_ports(int pid, int32_t *nsid, struct vethguard_port *out, int max);

/* Attach prog_out_fd (frames from the container: tc ingress of the host-side veth) and
 * prog_in_fd (frames to it: tc egress) to ifindex, replacing moat's own filters there. A
 * clsact qdisc is created when missing. 0 or -errno. */
int vethguard_attach(int ifindex, int prog_out_fd, int prog_in_fd);

/* Remove moat's filters from ifindex (the qdisc stays). 0, or -errno (-ENODEV: the veth is
 * gone, with its filters). */
int vethguard_detach(int ifindex);

#endif /* MOAT_VETHGUARD_H */
