/* events.h - the kernel/userspace ABI: every event the BPF programs emit.
 *
 * Shared by bpf/ (compiled against vmlinux.h) and src/ (compiled against
 * <linux/types.h>). Fixed-width types only, explicit padding, and a size
 * assertion per struct so both sides agree byte for byte. Every field is
 * documented here and in docs/events.md in the same words. The event type
 * enum only ever grows; values are never reused.
 */
#ifndef MOAT_EVENTS_H
#define MOAT_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MOAT_COMM_LEN	    16
#define MOAT_PATH_LEN	    256 /* exec filename / interpreter, bytes incl. NUL */
#define MOAT_ARGS_LEN	    512 /* argv, NUL-separated, capped at this many bytes */
#define MOAT_NAME_LEN	    32	/* a file's base name, incl. NUL */
#define MOAT_DNS_NAME_LEN   256 /* a DNS name in dotted form, incl. NUL (max 255) */
#define MOAT_DNS_MAX_ADDRS  16	/* A/AAAA answers carried per DNS event */
#define MOAT_DNS_MAX_CNAMES 4	/* CNAME targets carried per DNS event */

/* Event types. Explicit values; only ever grows. */
enum moat_event_type {
	MOAT_EV_CONNECT = 1,	/* connect() from a monitored cgroup */
	MOAT_EV_SENDMSG = 2,	/* unconnected UDP sendmsg() */
	MOAT_EV_EXEC = 3,	/* a successful execve() */
	MOAT_EV_EXIT = 4,	/* a process (thread group) exited */
	MOAT_EV_DNS_QUERY = 5,	/* a DNS query leaving a monitored cgroup */
	MOAT_EV_DNS_ANSWER = 6, /* a DNS response arriving to a monitored cgroup */
	MOAT_EV_SOCKET = 7,	/* a socket kind or bind moat restricts, and what it decided */
	MOAT_EV_PACKET = 8,	/* a packet moat dropped outside the connect/sendmsg hooks */
	MOAT_EV_OOM = 9,	/* the kernel's OOM killer chose a victim in a watched cgroup */
	MOAT_EV_MAX,
};

/* The common header every event starts with. */
struct moat_event_hdr {
	__u16 type;	 /* enum moat_event_type */
	__u16 size;	 /* size of the whole event in bytes, header included */
	__u32 cpu;	 /* CPU the program ran on */
	__u64 ts_ns;	 /* bpf_ktime_get_boot_ns(): nanoseconds since boot, suspend included */
	__u64 cgroup_id; /* cgroup v2 id (inode number) of the task or socket */
	__u32 pid;	 /* process id (kernel tgid); 0 when unknown (packets) */
	__u32 tid;	 /* thread id (kernel pid); 0 when unknown */
	__u32 uid;	 /* real uid, as seen from the initial user namespace */
	__u32 gid;	 /* real gid, as seen from the initial user namespace */
	char comm[MOAT_COMM_LEN]; /* task command name, NUL-terminated; empty when unknown */
};
_Static_assert(sizeof(struct moat_event_hdr) == 56, "moat_event_hdr ABI");

/* Verdict of the connect/sendmsg hooks. */
enum moat_verdict {
	MOAT_VERDICT_ALLOW = 0,	     /* allowed: nothing matched, or an allow rule */
	MOAT_VERDICT_DENY = 1,	     /* refused with EPERM (enforce mode) */
	MOAT_VERDICT_WOULD_DENY = 2, /* a deny matched but the cgroup is in monitor mode */
};

/* Which rule decided. */
enum moat_rule_scope {
	MOAT_SCOPE_NONE = 0,   /* no rule matched: the cgroup's default action */
	MOAT_SCOPE_GLOBAL = 1, /* a global CIDR rule */
	MOAT_SCOPE_CGROUP = 2, /* a rule for this cgroup */
	MOAT_SCOPE_DOMAIN = 3, /* a destination learned from a DNS answer (domain rules) */
	MOAT_SCOPE_RESOLVER =
	    4, /* one of the container's DNS resolvers, port 53 (Docker's config) */
	MOAT_SCOPE_BUILTIN = 5, /* a rule built into the programs (MOAT_RULE_* >= 6000000) */
};

/* MOAT_EV_CONNECT and MOAT_EV_SENDMSG. */
struct moat_net_event {
	struct moat_event_hdr hdr;
	__u64 sock_cookie; /* socket cookie, joins this socket's DNS events */
	__u8 family;	   /* AF_INET (2) or AF_INET6 (10) */
	__u8 protocol;	   /* IPPROTO_TCP (6) or IPPROTO_UDP (17); 0 other */
	__u16 dport;	   /* destination port, host byte order */
	__u8 verdict;	   /* enum moat_verdict */
	__u8 scope;	   /* enum moat_rule_scope of the deciding rule */
	__u8 mode;	   /* enum moat_mode of the cgroup when decided */
	__u8 pad0;
	__u32 rule_id;	  /* id of the deciding rule, 0 when none */
	__u8 daddr[16];	  /* destination address; IPv4 in the first 4 bytes */
	__u32 suppressed; /* ordinary events of this cgroup its event budget left out so far (low
			     32 bits of moat_cgroup_state.events_suppressed): when it grew, a DNS
			     answer that explains this connection may have been one of them */
};
_Static_assert(sizeof(struct moat_net_event) == 56 + 40, "moat_net_event ABI");

/* MOAT_EV_EXEC. Strings are NUL-terminated and truncated at their caps. */
struct moat_exec_event {
	struct moat_event_hdr hdr;
	__u32 ppid;	/* parent process id (real_parent tgid) */
	__u32 args_len; /* bytes used in args[] */
	__u16 argc;	/* argument count as the kernel saw it */
	__u8 flags;	/* MOAT_EXEC_F_* */
	__u8 pad0;
	__u32 kill_rule;	      /* exec_deny rule id when MOAT_EXEC_F_KILLED */
	char filename[MOAT_PATH_LEN]; /* path passed to execve (bprm->filename) */
	char interp[MOAT_PATH_LEN];   /* interpreter actually run when it differs (#! scripts,
					 binfmt_misc); empty otherwise */
	char args[MOAT_ARGS_LEN]; /* argv strings, each NUL-terminated, at most MOAT_ARGS_LEN bytes
				     in all */
	char exe[MOAT_NAME_LEN];  /* base name of the file actually executed, after symlinks
				     ("busybox" for /bin/sh -> busybox); the interpreter for #! */
};
#define MOAT_EXEC_F_ARGS_TRUNC 0x01 /* argv was longer than MOAT_ARGS_LEN */
#define MOAT_EXEC_F_KILLED     0x02 /* SIGKILL sent by the exec hook (kill-exec policy) */
#define MOAT_EXEC_F_NOARGS     0x04 /* argv could not be read */
#define MOAT_EXEC_F_FILELESS                                                                       \
	0x08 /* the executed file has no name in any directory: a memfd, an O_TMPFILE or a deleted \
		file (fileless execution) */
#define MOAT_EXEC_F_LOADER                                                                         \
	0x10 /* the executed file is the dynamic loader (ld-linux*.so*, ld-musl-*.so*): the        \
		program it runs is its first argument that is not an option */
_Static_assert(sizeof(struct moat_exec_event) == 56 + 16 + 256 + 256 + 512 + 32,
	       "moat_exec_event ABI");

/* MOAT_EV_EXIT. */
struct moat_exit_event {
	struct moat_event_hdr hdr;
	__u32 ppid;	 /* parent process id */
	__s32 exit_code; /* wait(2) status: exit code << 8 | signal */
	__u64 start_ns;	 /* process start time, boot-based ns */
};
_Static_assert(sizeof(struct moat_exit_event) == 56 + 16, "moat_exit_event ABI");

/* One A or AAAA record of a DNS answer. */
struct moat_dns_addr {
	__u8 family; /* AF_INET (2) or AF_INET6 (10) */
	__u8 pad0[3];
	__u32 ttl;     /* record TTL, seconds */
	__u8 addr[16]; /* IPv4 in the first 4 bytes */
};
_Static_assert(sizeof(struct moat_dns_addr) == 24, "moat_dns_addr ABI");

/* Parse results for DNS events (bit flags, several may be set). */
#define MOAT_DNS_F_TCP	       0x0001 /* carried over TCP (port 53) */
#define MOAT_DNS_F_IPV6	       0x0002 /* packet was IPv6 */
#define MOAT_DNS_F_TRUNCATED   0x0004 /* packet ended before the parse did */
#define MOAT_DNS_F_MALFORMED   0x0008 /* bad label, bad pointer, bad record */
#define MOAT_DNS_F_PTR_LOOP    0x0010 /* compression pointers looped or nested too deep */
#define MOAT_DNS_F_NAME_LONG   0x0020 /* a name exceeded 255 bytes; cut */
#define MOAT_DNS_F_MORE_ADDRS  0x0040 /* more A/AAAA than MOAT_DNS_MAX_ADDRS */
#define MOAT_DNS_F_MORE_CNAMES 0x0080 /* more CNAMEs than MOAT_DNS_MAX_CNAMES */
#define MOAT_DNS_F_NOT_DNS     0x0100 /* port 53 payload that is not DNS (too short, bad header) */
#define MOAT_DNS_F_TC	       0x0200 /* the DNS TC (truncated by server) bit is set */
#define MOAT_DNS_F_TCP_PARTIAL                                                                     \
	0x0400 /* TCP segment does not hold a whole DNS message; not parsed */
#define MOAT_DNS_F_NAT                                                                             \
	0x1000 /* egress: the packet's destination port was rewritten by NAT (Docker's embedded    \
		  DNS at 127.0.0.11 is DNAT'd to dockerd's listener) but its socket addressed      \
		  port 53; dport is the port the application addressed */
#define MOAT_DNS_F_VERIFIED                                                                        \
	0x2000 /* ingress: this answer matched a query its own socket sent and was waiting for     \
		  (id, question name and type, server address and port) and is the first answer to \
		  it. Only verified answers open addresses (domain rules) and feed the registry */
#define MOAT_DNS_F_UNTRUSTED                                                                       \
	0x4000 /* ingress: an answer no resolver could have sent: it arrived on the loopback       \
		  interface from a non-loopback address (injected with a packet socket), or from   \
		  a loopback address other than Docker's 127.0.0.11 (the container answering       \
		  itself). Never verified */
#define MOAT_DNS_F_OUTBOUND                                                                        \
	0x8000 /* egress: a DNS response leaving the container (it answered a query); a            \
		  restricted container's are dropped instead (MOAT_EV_PACKET) */
#define MOAT_DNS_F_HELD                                                                            \
	0x0800 /* interactive mode: no rule for the name; the answer was held                      \
		  back (dropped) while moat asks; the resolver's retry gets                        \
		  the decision */

/* MOAT_EV_DNS_QUERY and MOAT_EV_DNS_ANSWER. pid/tid/comm in the header come
 * from the socket cookie map (the process that last sent on that socket). */
struct moat_dns_event {
	struct moat_event_hdr hdr;
	__u64 sock_cookie; /* socket cookie; 0 when the packet had no socket */
	__u16 id;	   /* DNS transaction id */
	__u16 flags;	   /* MOAT_DNS_F_* */
	__u16 qtype;	   /* question type (1 A, 28 AAAA, 5 CNAME, ...) */
	__u8 rcode;	   /* response code (0 NOERROR, 3 NXDOMAIN, ...); 0 for queries */
	__u8 n_addrs;	   /* entries used in addrs[] */
	__u8 n_cnames;	   /* entries used in cnames[] */
	__u8 family;	   /* AF_INET or AF_INET6 of the packet */
	__u16 ancount;	   /* answer count from the header */
	__u16 sport;	   /* UDP/TCP source port, host order */
	__u16 dport;	   /* UDP/TCP destination port, host order */
	__u8 saddr[16];	   /* packet source address */
	__u8 daddr[16];	   /* packet destination address */
	char qname[MOAT_DNS_NAME_LEN]; /* question name, lowercased, dotted, no trailing dot */
	struct moat_dns_addr addrs[MOAT_DNS_MAX_ADDRS]; /* A/AAAA answers in answer order */
	char cnames[MOAT_DNS_MAX_CNAMES]
		   [MOAT_DNS_NAME_LEN]; /* CNAME targets in answer order, lowercased */
};
_Static_assert(sizeof(struct moat_dns_event) == 56 + 8 + 16 + 32 + 256 + 16 * 24 + 4 * 256,
	       "moat_dns_event ABI");

/* DNS events are variable-size: a record ends after its last used slot, so hdr.size is
 * MOAT_DNS_EVENT_SIZE(n_addrs, n_cnames) and the unused tail of addrs[] / cnames[] is not
 * in the ring buffer at all. A query is 368 bytes, an answer with two addresses and no
 * CNAME 416, the largest (4 CNAMEs) the whole struct. Readers must not touch addrs[] past
 * n_addrs or cnames[] past n_cnames. */
#define MOAT_DNS_EVENT_FIXED (56 + 8 + 16 + 32 + MOAT_DNS_NAME_LEN) /* up to addrs[] */
#define MOAT_DNS_EVENT_SIZE(n_addrs, n_cnames)                                                     \
	((n_cnames) ? MOAT_DNS_EVENT_FIXED + MOAT_DNS_MAX_ADDRS * 24 +                             \
			  (unsigned)(n_cnames)*MOAT_DNS_NAME_LEN                                   \
		    : MOAT_DNS_EVENT_FIXED + (unsigned)(n_addrs)*24)

/* MOAT_EV_SOCKET: a socket() of a kind moat restricts, or a bind() to port 53, in a watched
 * cgroup. Restricted cgroups (MOAT_CFG_RESTRICTED) are refused (EPERM); others are
 * reported. AF_PACKET and AF_XDP sockets are seen at socket() by a syscall tracepoint and
 * reported only (no cgroup hook can refuse them; the veth guard judges their frames). */
enum moat_sock_op {
	MOAT_SOCK_OP_CREATE = 1, /* socket() */
	MOAT_SOCK_OP_BIND = 2,	 /* bind() to port 53 */
};

struct moat_socket_event {
	struct moat_event_hdr hdr;
	__u16 family;	/* AF_INET (2), AF_INET6 (10), AF_PACKET (17), AF_XDP (44) */
	__u16 type;	/* SOCK_STREAM (1), SOCK_DGRAM (2), SOCK_RAW (3), ... */
	__u16 protocol; /* IPPROTO_* (IP sockets), ETH_P_* host order (packet sockets) */
	__u16 port;	/* bind: the port, host order; 0 for socket() */
	__u8 op;	/* enum moat_sock_op */
	__u8 verdict;	/* enum moat_verdict */
	__u8 mode;	/* enum moat_mode of the cgroup */
	__u8 pad0;
	__u32 rule_id; /* MOAT_RULE_SOCKET_KIND or MOAT_RULE_BIND_DNS when refused, else 0 */
	__u8 addr[16]; /* bind: the address (IPv4 in the first 4 bytes) */
};
_Static_assert(sizeof(struct moat_socket_event) == 56 + 32, "moat_socket_event ABI");

/* Why a packet was dropped (moat_packet_event.reason). */
enum moat_pkt_reason {
	MOAT_PKT_R_DENIED = 1,	     /* its destination is not allowed (as connect() would judge) */
	MOAT_PKT_R_DNS_RESPONSE = 2, /* a DNS response leaving a restricted container */
	MOAT_PKT_R_SPOOF_IP = 3,     /* source address is not one of the container's */
	MOAT_PKT_R_SPOOF_MAC = 4,    /* source MAC is not the container's */
	MOAT_PKT_R_ARP_SPOOF = 5, /* an ARP message claiming an address that is not the sender's */
	MOAT_PKT_R_NOT_IP = 6,	  /* a frame that is not ARP, IPv4 or IPv6 */
	MOAT_PKT_R_ARP_GATEWAY = 7,   /* inbound: ARP claiming the gateway from another MAC */
	MOAT_PKT_R_NDP_SPOOF = 8,     /* IPv6 neighbour discovery claiming an address or a MAC that
					 is not the sender's, or a router advertisement or redirect
					 from a container (not a router), or NDP behind extension
					 headers */
	MOAT_PKT_R_GATEWAY_CLAIM = 9, /* inbound: NDP claiming the gateway, a router
					 advertisement or an ICMP redirect that the bridge did
					 not send */
	MOAT_PKT_R_IP6_EXT = 10,      /* more IPv6 extension headers than the guard reads (8): what
					 follows them cannot be judged */
};

/* Where the packet was judged (moat_packet_event.where). */
enum moat_pkt_where {
	MOAT_PKT_AT_SOCKET = 1, /* cgroup_skb egress: a packet of a socket that is not plain TCP or
				   UDP (raw, ping, UDP-Lite), or a DNS response */
	MOAT_PKT_AT_VETH = 2,	/* tc on the container's host-side veth: every frame it sends */
	MOAT_PKT_AT_VETH_IN = 3 /* tc on the host-side veth, frames going into the container */
};

/* MOAT_EV_PACKET: a packet moat dropped outside the connect/sendmsg hooks. Rate-limited per
 * cgroup (MOAT_REPORT_RATE); `suppressed` counts the reports left out before this one. At the
 * veth there is no process: pid, tid, uid, gid are 0 and comm is empty. */
struct moat_packet_event {
	struct moat_event_hdr hdr;
	__u8 family;	 /* AF_INET, AF_INET6; 0 for a frame that is not IP */
	__u8 protocol;	 /* IPPROTO_* of the packet (0 for a non-IP frame) */
	__u8 reason;	 /* enum moat_pkt_reason */
	__u8 where;	 /* enum moat_pkt_where */
	__u32 rule_id;	 /* the deciding rule (MOAT_RULE_* or a policy rule), 0 when none */
	__u16 sport;	 /* source port, host order (TCP, UDP, UDP-Lite); ICMP: type */
	__u16 dport;	 /* destination port, host order; ICMP: code */
	__u16 ethertype; /* veth: the frame's ethertype, host order */
	__u16 pad0;
	__u32 ifindex;	  /* veth: host-side interface index; 0 otherwise */
	__u32 suppressed; /* packet reports of this cgroup dropped by the rate limit before it */
	__u8 saddr[16];	  /* source address (IPv4 in the first 4 bytes; ARP: sender address) */
	__u8 daddr[16];	  /* destination address (ARP: target address) */
	__u8 smac[6];	  /* veth: the frame's source MAC */
	__u8 pad1[2];
};
_Static_assert(sizeof(struct moat_packet_event) == 56 + 64, "moat_packet_event ABI");

/* MOAT_EV_OOM: the OOM killer marked a victim (oom/mark_victim), before the SIGKILL takes
 * effect. The header describes the victim, not the task that ran the OOM killer: cgroup_id
 * is the victim's cgroup v2, pid/tid its process and thread ids, uid the uid the tracepoint
 * reports (as seen from the initial user namespace), gid its real gid, comm its command name.
 * The rest says what it held and who was allocating when memory ran out. */
struct moat_oom_event {
	struct moat_event_hdr hdr;
	__u64 total_vm_kb;	 /* the victim's virtual memory, KiB */
	__u64 anon_rss_kb;	 /* its anonymous resident memory, KiB */
	__u64 file_rss_kb;	 /* its file-backed resident memory, KiB */
	__u64 shmem_rss_kb;	 /* its shared-memory resident memory, KiB */
	__u64 trigger_cgroup_id; /* cgroup v2 id of the task whose allocation ran the OOM
				    killer (often the victim's own container; the host's
				    for a system-wide OOM) */
	__u32 trigger_pid;	 /* that task's process id (tgid) */
	__s16 oom_score_adj;	 /* the victim's oom_score_adj (-1000 .. 1000) */
	__u16 pad0;
	char trigger_comm[MOAT_COMM_LEN]; /* that task's command name */
};
_Static_assert(sizeof(struct moat_oom_event) == 56 + 40 + 8 + 16, "moat_oom_event ABI");

#endif /* MOAT_EVENTS_H */
