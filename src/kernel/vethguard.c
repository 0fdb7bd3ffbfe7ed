/* vethguard.c - find containers' host-side veths and attach the veth guard (vethguard.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <bpf/libbpf.h>

#include "vethguard.h"

#define GUARD_HANDLE 0x6d6f /* "mo": moat's tc filter handle */
#define GUARD_PRIO   1

/* One request/answer exchange on a fresh rtnetlink socket: send nlh, feed every answer
 * message to cb until NLMSG_DONE (dumps) or the ACK. 0 or -errno. */
static int rtnl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	unsigned int seq = (unsigned int)time(NULL), portid;
	struct timeval tmo = {.tv_sec = 1};
	int ret;

	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	/* The kernel answers at once; a wait past a second means something is wrong, and the
	 * caller (moat run's event loop) must not hang on it. */
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
	/* Every request ends with NLMSG_DONE (dumps) or an ACK, where mnl_cb_run stops. */
	if (!(nlh->nlmsg_flags & NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (ret <= 0) {
			ret = ret < 0 ? -errno : -EIO;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)ret, seq, portid, cb, data);
	} while (ret > 0);
	if (ret < 0 && errno)
		ret = -errno;
out:
	mnl_socket_close(nl);
	return ret < 0 ? ret : 0;
}

/* ---- the namespace id ---- */

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct rtgenmsg))
	{
		if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_get_payload_len(a) >= 4)
			*(int32_t *)data = (int32_t)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

/* The id of the namespace behind fd in the host's namespace; assigned (RTM_NEWNSID with
 * -1: the kernel picks) when it has none. */
static int ns_id(int fd, int32_t *nsid)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;
	int err;

	for (int attempt = 0; attempt < 2; attempt++) {
		*nsid = NETNSA_NSID_NOT_ASSIGNED;
		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETNSID;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->rtgen_family = AF_UNSPEC;
		mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)fd);
		err = rtnl_talk(nlh, nsid_cb, nsid);
		if (err)
			return err;
		if (*nsid >= 0 || attempt)
			break;
		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWNSID;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->rtgen_family = AF_UNSPEC;
		mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)fd);
		mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t)-1);
		err = rtnl_talk(nlh, NULL, NULL);
		if (err && err != -EEXIST)
			return err;
	}
	return *nsid >= 0 ? 0 : -ENOENT;
}

/* ---- links and addresses ---- */

struct link_scan {
	int32_t nsid;
	struct vethguard_port *out;
	int max, n;
	/* bridges seen, to fill gw_mac and gw4 afterwards */
	struct {
		int ifindex;
		uint8_t mac[6];
		uint8_t ip4[4];
		uint8_t ip6[MOAT_VETH_GW6][16];
		int n6, n6_global;
	} br[64];
	int n_br;
};

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_scan *s = data;
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a, *tb_info = NULL;
	int32_t link_nsid = -1;
	int master = 0, peer = 0, is_veth = 0, is_bridge = 0;
	const uint8_t *mac = NULL;

	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_LINK_NETNSID:
			if (mnl_attr_get_payload_len(a) >= 4)
				link_nsid = (int32_t)mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_get_payload_len(a) >= 4)
				master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINK:
			if (mnl_attr_get_payload_len(a) >= 4)
				peer = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_ADDRESS:
			if (mnl_attr_get_payload_len(a) == 6)
				mac = mnl_attr_get_payload(a);
			break;
		case IFLA_LINKINFO: tb_info = a; break;
		}
	}
	if (tb_info) {
		struct nlattr *k;

		mnl_attr_for_each_nested(k, tb_info)
		{
			if (mnl_attr_get_type(k) == IFLA_INFO_KIND) {
				const char *kind = mnl_attr_get_str(k);

				is_veth = !strcmp(kind, "veth");
				is_bridge = !strcmp(kind, "bridge");
			}
		}
	}
	if (is_bridge && mac && s->n_br < (int)(sizeof(s->br) / sizeof(s->br[0]))) {
		s->br[s->n_br].ifindex = ifi->ifi_index;
		memcpy(s->br[s->n_br].mac, mac, 6);
		s->n_br++;
	}
	if (is_veth && link_nsid == s->nsid && s->n < s->max) {
		memset(&s->out[s->n], 0, sizeof(s->out[s->n]));
		s->out[s->n].ifindex = ifi->ifi_index;
		s->out[s->n].master = master;
		s->out[s->n].peer = peer;
		s->n++;
	}
	return MNL_CB_OK;
}

/* Keep IPv6 address a of bridge b: globals before link-locals, at most MOAT_VETH_GW6. */
static void br_add6(struct link_scan *s, int b, const uint8_t *a)
{
	int ll = a[0] == 0xfe && (a[1] & 0xc0) == 0x80, at;

	if (s->br[b].n6 == MOAT_VETH_GW6 && (ll || s->br[b].n6_global == MOAT_VETH_GW6))
		return;
	if (ll) {
		at = s->br[b].n6;
	} else {
		at = s->br[b].n6_global++;
		/* a global pushes the last link-local out when full */
		memmove(s->br[b].ip6[at + 1], s->br[b].ip6[at],
			(size_t)(MOAT_VETH_GW6 - 1 - at) * 16);
	}
	memcpy(s->br[b].ip6[at], a, 16);
	if (s->br[b].n6 < MOAT_VETH_GW6)
		s->br[b].n6++;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_scan *s = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	size_t alen = ifa->ifa_family == AF_INET6 ? 16 : 4;
	struct nlattr *a;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		const uint8_t *v = mnl_attr_get_payload(a);

		/* IPv4: IFA_LOCAL is the address (IFA_ADDRESS the peer on point-to-point);
		 * IPv6 has IFA_ADDRESS only. */
		if (mnl_attr_get_type(a) !=
			(ifa->ifa_family == AF_INET6 ? IFA_ADDRESS : IFA_LOCAL) ||
		    mnl_attr_get_payload_len(a) != alen)
			continue;
		for (int i = 0; i < s->n_br; i++) {
			if (s->br[i].ifindex != (int)ifa->ifa_index)
				continue;
			if (alen == 16)
				br_add6(s, i, v);
			else if (!(s->br[i].ip4[0] | s->br[i].ip4[1] | s->br[i].ip4[2] |
				   s->br[i].ip4[3]))
				memcpy(s->br[i].ip4, v, 4);
		}
	}
	return MNL_CB_OK;
}

/* The containers' side: link-local IPv6 addresses of the peers, from a dump of the
 * container's namespace (IFA_TARGET_NETNSID: read by the kernel, nothing to enter). */
static int peer_addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_scan *s = data;
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a;

	if (ifa->ifa_family != AF_INET6 || ifa->ifa_scope != RT_SCOPE_LINK)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) != IFA_ADDRESS || mnl_attr_get_payload_len(a) != 16)
			continue;
		for (int i = 0; i < s->n; i++) {
			uint8_t *ll = s->out[i].ll6;

			if (s->out[i].peer == (int)ifa->ifa_index &&
			    !(ll[0] | ll[1] | ll[2] | ll[3] | ll[8] | ll[15]))
				memcpy(ll, mnl_attr_get_payload(a), 16);
		}
	}
	return MNL_CB_OK;
}

static int dump_peer_addrs(struct link_scan *s)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	mnl_attr_put_u32(nlh, IFA_TARGET_NETNSID, (uint32_t)s->nsid);
	return rtnl_talk(nlh, peer_addr_cb, s);
}

static int dump(int type, int family, mnl_cb_t cb, void *data)
{
	char buf[256];
	struct nlmsghdr *nlh;
	struct rtgenmsg *g;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->rtgen_family = (uint8_t)family;
	return rtnl_talk(nlh, cb, data);
}

int vethguard_ports(int pid, int32_t *nsid, struct vethguard_port *out, int max)
{
	struct link_scan *s = calloc(1, sizeof(*s));
	char path[64];
	int fd, err;

	if (!s)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(s);
		return -errno;
	}
	err = ns_id(fd, nsid);
	close(fd);
	if (err)
		goto out;
	s->nsid = *nsid;
	s->out = out;
	s->max = max;
	err = dump(RTM_GETLINK, AF_UNSPEC, link_cb, s);
	if (!err)
		err = dump(RTM_GETADDR, AF_UNSPEC, addr_cb, s);
	if (err)
		goto out;
	/* Without it the guard lets any link-local source through (no IPv6 there, or an old
	 * kernel): not an error. */
	if (s->n)
		dump_peer_addrs(s);
	for (int i = 0; i < s->n; i++)
		for (int b = 0; b < s->n_br; b++)
			if (s->br[b].ifindex == out[i].master) {
				memcpy(out[i].gw_mac, s->br[b].mac, 6);
				memcpy(out[i].gw4, s->br[b].ip4, 4);
				memcpy(out[i].gw6, s->br[b].ip6, sizeof(out[i].gw6));
			}
	err = s->n;
out:
	free(s);
	return err;
}

/* ---- tc ---- */

static int attach_one(int ifindex, enum bpf_tc_attach_point where, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = GUARD_HANDLE, .priority = GUARD_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	/* An existing clsact qdisc (ours from an earlier run) is fine: libbpf would log the
	 * kernel's "Exclusivity flag on" for it, so its log is off for this one call. */
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int err = bpf_tc_hook_create(&hook);

	libbpf_set_print(old);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

int vethguard_attach(int ifindex, int prog_out_fd, int prog_in_fd)
{
	int err = attach_one(ifindex, BPF_TC_INGRESS, prog_out_fd);

	if (!err)
		err = attach_one(ifindex, BPF_TC_EGRESS, prog_in_fd);
	return err;
}

int vethguard_detach(int ifindex)
{
	int err = 0;

	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = GUARD_HANDLE, .priority = GUARD_PRIO);
		int e = bpf_tc_detach(&hook, &opts);

		if (e && e != -ENOENT && !err)
			err = e;
	}
	return err;
}
