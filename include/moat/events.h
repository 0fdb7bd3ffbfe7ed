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
	__u32 rule_id;	/* id of the deciding rule, 0 when none */
	__u8 daddr[16]; /* destination address; IPv4 in the first 4 bytes */
	__u8 pad1[4];
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

#endif /* MOAT_EVENTS_H */
