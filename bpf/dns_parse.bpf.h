/* dns_parse.bpf.h - DNS wire-format parsing (RFC 1035) for the packet hooks.
 *
 * The DNS message is first copied out of the skb into the per-CPU
 * dns_scratch map (struct dns_scratch); everything here reads that copy.
 * Every read goes through a masked offset (off & DNS_BUF_MASK) so the
 * verifier sees a bounded index whatever the packet says, and every read is
 * also checked against the real message length, so a short packet is
 * reported (MOAT_DNS_F_TRUNCATED), never read past. The per-byte name walk
 * and the per-record walk run under bpf_loop: the verifier checks one step,
 * not every path through a 2 KB message. Their cursors live in the scratch
 * map, not on the stack, so each step sees them as unknown bounded values
 * and the callback verification converges at once.
 */
#ifndef MOAT_DNS_PARSE_BPF_H
#define MOAT_DNS_PARSE_BPF_H

#include "common.bpf.h"

/* Payload cap: at most this many bytes of a DNS message are copied and
 * parsed. 2048 covers the 512-byte classic UDP limit and the 1232-byte EDNS
 * buffer resolvers default to since DNS flag day 2020; when a longer message
 * (TCP, large EDNS) needs bytes past the cap the event says
 * MOAT_DNS_F_TRUNCATED. Must be a power of two (it is also the mask). */
#define DNS_BUF_SIZE  2048
#define DNS_BUF_MASK  (DNS_BUF_SIZE - 1)
#define DNS_BUF_SLACK 32 /* room past the mask for the widest read (16-byte AAAA) */

#define DNS_HDR_LEN    12
#define DNS_RR_FIXED   10		       /* type, class, ttl, rdlength */
#define DNS_NAME_MAX   (MOAT_DNS_NAME_LEN - 1) /* dotted name chars, NUL excluded */
#define DNS_MAX_JUMPS  32		       /* compression pointers per name */
#define DNS_NAME_STEPS (DNS_BUF_SIZE + 64)     /* bpf_loop bound of one name walk */

#define DNS_QR 0x8000 /* header flags: response */
#define DNS_TC 0x0200 /* header flags: truncated by the server */

#define DNS_T_A	    1
#define DNS_T_CNAME 5
#define DNS_T_AAAA  28
#define DNS_C_IN    1

/* Flags that mean the parse failed somewhere: counted in MOAT_STAT_ERRORS. */
#define DNS_F_ERRORS                                                                               \
	(MOAT_DNS_F_TRUNCATED | MOAT_DNS_F_MALFORMED | MOAT_DNS_F_PTR_LOOP |                       \
	 MOAT_DNS_F_NAME_LONG | MOAT_DNS_F_NOT_DNS)

/* State of one name walk (dns__name). */
struct dns_name_walk {
	__u32 pos; /* next byte to read */
	__u32 end; /* offset just past the name where it was met; set at its end or first pointer */
	__u32 outlen;  /* chars written to the output, NUL excluded */
	__u32 label;   /* bytes left in the label being copied */
	__u32 jumps;   /* compression pointers followed */
	__u32 barrier; /* a pointer must point below this: the name start, then the last target */
	__u32 copy;    /* 1 while characters are written out; 0 to skip (no output, or cut) */
	__u32 done;    /* 1 once the root label ended the name */
	__u32 hash;    /* FNV-1a (32 bit) of the characters written out */
	__u16 flags;   /* MOAT_DNS_F_* met in this name */
	__u8 pad0[2];
};

/* The dns_scratch map value: the message copy and the parse cursors. */
struct dns_scratch {
	__u8 buf[DNS_BUF_SIZE + DNS_BUF_SLACK]; /* message bytes [0, len) */
	__u32 len;				/* bytes of the message in buf */
	__u32 pos;				/* record walk cursor */
	__u16 flags;				/* MOAT_DNS_F_* so far */
	__u8 pad0[2];
	__u32 qhash; /* FNV-1a of the question name as written to the event (dns__parse) */
	struct dns_name_walk w;
};
_Static_assert(sizeof(struct dns_scratch) <= MOAT_DNS_SCRATCH_BYTES, "dns_scratch fits its map");

/* Context handed to the bpf_loop callbacks. Pointers only, set once per
 * walk, so every step sees the same state. */
struct dns_cb {
	struct dns_scratch *s;
	char *out;		  /* name output (MOAT_DNS_NAME_LEN bytes) or NULL */
	struct moat_dns_event *e; /* the event being filled (record walk) */
};

/* The per-CPU scratch value; NULL only if the map is broken. */
static __always_inline struct dns_scratch *dns__scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&dns_scratch, &zero);
}

static __always_inline __u32 dns__u8(const struct dns_scratch *s, __u32 off)
{
	return s->buf[off & DNS_BUF_MASK];
}

static __always_inline __u32 dns__u16(const struct dns_scratch *s, __u32 off)
{
	off &= DNS_BUF_MASK;
	return (__u32)s->buf[off] << 8 | s->buf[off + 1];
}

static __always_inline __u32 dns__u32(const struct dns_scratch *s, __u32 off)
{
	off &= DNS_BUF_MASK;
	return (__u32)s->buf[off] << 24 | (__u32)s->buf[off + 1] << 16 |
	       (__u32)s->buf[off + 2] << 8 | s->buf[off + 3];
}

/* Write `n` (1..4) chars of `c` at the name cursor, or, when they do not
 * fit in DNS_NAME_MAX, stop copying and flag the name as cut. */
static __always_inline void dns__put(struct dns_name_walk *w, char *out, const char *c, __u32 n)
{
	__u32 i;

	if (w->outlen + n > DNS_NAME_MAX) {
		w->flags |= MOAT_DNS_F_NAME_LONG;
		w->copy = 0;
		return;
	}
	for (i = 0; i < 4; i++) {
		if (i >= n)
			break;
		out[(w->outlen + i) & (MOAT_DNS_NAME_LEN - 1)] = c[i];
		w->hash = (w->hash ^ (__u8)c[i]) * 16777619u;
	}
	w->outlen += n;
}

/* One label character in presentation form: A-Z lowercased, '.' and '\'
 * escaped with a backslash, bytes outside printable ASCII as \DDD, so that
 * the dotted name cannot be read two ways. Returns the length (1..4). */
static __always_inline __u32 dns__char(__u32 b, char *c)
{
	if (b >= 'A' && b <= 'Z') {
		c[0] = b + ('a' - 'A');
		return 1;
	}
	if (b == '.' || b == '\\') {
		c[0] = '\\';
		c[1] = b;
		return 2;
	}
	if (b < 0x21 || b > 0x7e) {
		c[0] = '\\';
		c[1] = '0' + b / 100;
		c[2] = '0' + b / 10 % 10;
		c[3] = '0' + b % 10;
		return 4;
	}
	c[0] = b;
	return 1;
}

/* bpf_loop step of dns__name: consume one label character, one length
 * byte, or one compression pointer; a skipped label goes in one step.
 * Returns 1 to stop the loop (name ended or failed). */
static long dns__name_step(__u64 i, void *arg)
{
	struct dns_cb *cb = arg;
	struct dns_scratch *s = cb->s;
	struct dns_name_walk *w;
	char c[4] = {};
	__u32 b, n, target;

	if (!s)
		return 1;
	w = &s->w;
	if (w->pos >= s->len) {
		w->flags |= MOAT_DNS_F_TRUNCATED;
		return 1;
	}
	b = dns__u8(s, w->pos);

	if (w->label) { /* a character of the current label */
		if (w->copy && cb->out) {
			n = dns__char(b, c);
			dns__put(w, cb->out, c, n);
		}
		if (!w->copy) { /* cut: skip the rest of the label at once */
			w->pos += w->label;
			w->label = 0;
			return 0;
		}
		w->pos++;
		w->label--;
		return 0;
	}

	if ((b & 0xc0) == 0xc0) { /* compression pointer: 14-bit offset from the message start */
		if (w->pos + 1 >= s->len) {
			w->flags |= MOAT_DNS_F_TRUNCATED;
			return 1;
		}
		target = (b & 0x3f) << 8 | dns__u8(s, w->pos + 1);
		if (!w->jumps)
			w->end = w->pos + 2;
		/* Targets must strictly decrease (as systemd-resolved requires):
		 * that alone ends every loop; the jump cap bounds the walk. */
		if (target >= w->barrier || ++w->jumps > DNS_MAX_JUMPS) {
			w->flags |= MOAT_DNS_F_PTR_LOOP;
			return 1;
		}
		if (target < DNS_HDR_LEN) {
			w->flags |= MOAT_DNS_F_MALFORMED;
			return 1;
		}
		w->barrier = target;
		w->pos = target;
		return 0;
	}
	if (b & 0xc0) { /* 0x40, 0x80: extended label types, never deployed */
		w->flags |= MOAT_DNS_F_MALFORMED;
		return 1;
	}

	if (!b) { /* root label: the name is complete */
		w->pos++;
		if (!w->jumps)
			w->end = w->pos;
		w->done = 1;
		return 1;
	}
	if (w->copy && cb->out && w->outlen) {
		c[0] = '.';
		dns__put(w, cb->out, c, 1);
	}
	if (!w->copy || !cb->out) { /* skipping: the whole label in one step */
		w->pos += 1 + b;
		return 0;
	}
	w->pos++;
	w->label = b;
	return 0;
}

/* Walk the (possibly compressed) name at `off`. With `out` (a
 * MOAT_DNS_NAME_LEN buffer, zeroed by the caller) the name is written in
 * dotted, lowercased presentation form, no trailing dot, the root as "";
 * names longer than DNS_NAME_MAX are cut (MOAT_DNS_F_NAME_LONG). Returns the
 * offset just past the name as it sits at `off` (where the next field
 * starts), or 0 when the name is broken; the reason is or-ed into s->flags. */
static __always_inline __u32 dns__name(struct dns_scratch *s, __u32 off, char *out)
{
	struct dns_cb cb = {.s = s, .out = out};
	struct dns_name_walk *w = &s->w;

	w->pos = off;
	w->end = 0;
	w->outlen = 0;
	w->label = 0;
	w->jumps = 0;
	w->barrier = off;
	w->copy = 1;
	w->done = 0;
	w->hash = 2166136261u;
	w->flags = 0;
	bpf_loop(DNS_NAME_STEPS, dns__name_step, &cb, 0);
	if (!w->done && !(w->flags & (MOAT_DNS_F_TRUNCATED | MOAT_DNS_F_PTR_LOOP)))
		w->flags |= MOAT_DNS_F_MALFORMED; /* bad label or ran out of steps */
	s->flags |= w->flags;
	return w->done ? w->end : 0;
}

/* Append one A/AAAA record to the event; MOAT_DNS_F_MORE_ADDRS when full. */
static __always_inline void dns__add_addr(struct dns_scratch *s, struct moat_dns_event *e,
					  __u32 off, __u32 family, __u32 ttl)
{
	struct moat_dns_addr *a;
	__u32 n = e->n_addrs;

	if (n >= MOAT_DNS_MAX_ADDRS) {
		s->flags |= MOAT_DNS_F_MORE_ADDRS;
		return;
	}
	a = &e->addrs[n & (MOAT_DNS_MAX_ADDRS - 1)];
	a->family = family;
	a->ttl = ttl;
	off &= DNS_BUF_MASK;
	if (family == AF_INET)
		__builtin_memcpy(a->addr, &s->buf[off], 4);
	else
		__builtin_memcpy(a->addr, &s->buf[off], 16);
	e->n_addrs = n + 1;
}

/* Decode a CNAME target at `off` (rdata of `rdlen` bytes) into the event;
 * MOAT_DNS_F_MORE_CNAMES when full. */
static __always_inline void dns__add_cname(struct dns_scratch *s, struct moat_dns_event *e,
					   __u32 off, __u32 rdlen)
{
	__u32 n = e->n_cnames, end;

	if (n >= MOAT_DNS_MAX_CNAMES) {
		s->flags |= MOAT_DNS_F_MORE_CNAMES;
		return;
	}
	end = dns__name(s, off, e->cnames[n & (MOAT_DNS_MAX_CNAMES - 1)]);
	if (end && end != off + rdlen)
		s->flags |= MOAT_DNS_F_MALFORMED; /* name and rdlength disagree */
	e->n_cnames = n + 1;
}

/* bpf_loop step of dns__answers: one resource record at s->pos. Returns 1
 * to stop (message ended or broken). */
static long dns__rr_step(__u64 i, void *arg)
{
	struct dns_cb *cb = arg;
	struct dns_scratch *s = cb->s;
	struct moat_dns_event *e = cb->e;
	__u32 pos, type, class, ttl, rdlen;

	if (!s || !e)
		return 1;
	pos = dns__name(s, s->pos, NULL); /* owner name: skipped, it repeats the question */
	if (!pos)
		return 1;
	if (pos + DNS_RR_FIXED > s->len) {
		s->flags |= MOAT_DNS_F_TRUNCATED;
		return 1;
	}
	type = dns__u16(s, pos);
	class = dns__u16(s, pos + 2);
	ttl = dns__u32(s, pos + 4);
	rdlen = dns__u16(s, pos + 8);
	pos += DNS_RR_FIXED;
	if (pos + rdlen > s->len) {
		s->flags |= MOAT_DNS_F_TRUNCATED;
		return 1;
	}
	s->pos = pos + rdlen;
	if ((class & 0x7fff) != DNS_C_IN) /* top bit: mDNS cache-flush */
		return 0;

	switch (type) {
	case DNS_T_A:
		if (rdlen == 4)
			dns__add_addr(s, e, pos, AF_INET, ttl);
		else
			s->flags |= MOAT_DNS_F_MALFORMED;
		break;
	case DNS_T_AAAA:
		if (rdlen == 16)
			dns__add_addr(s, e, pos, AF_INET6, ttl);
		else
			s->flags |= MOAT_DNS_F_MALFORMED;
		break;
	case DNS_T_CNAME: dns__add_cname(s, e, pos, rdlen); break;
	}
	return 0;
}

/* Walk the `ancount` answer records from `off`, filling the event's addrs
 * and cnames. The walk stops at the first broken record; flags say why. */
static __always_inline void dns__answers(struct dns_scratch *s, struct moat_dns_event *e, __u32 off,
					 __u32 ancount)
{
	struct dns_cb cb = {.s = s, .e = e};

	s->pos = off;
	bpf_loop(ancount, dns__rr_step, &cb, 0);
}

/* Parse the DNS message in s->buf[0, s->len) into `e` (zeroed by the
 * caller): header, question, and for responses the answer section. Sets the
 * event type from the QR bit. Everything that went wrong is in s->flags;
 * whatever was parsed before that stays in the event. */
static __always_inline void dns__parse(struct dns_scratch *s, struct moat_dns_event *e)
{
	__u32 hflags, qdcount, end;

	s->qhash = 0;
	if (s->len < DNS_HDR_LEN) {
		s->flags |= MOAT_DNS_F_NOT_DNS;
		return;
	}
	e->id = dns__u16(s, 0);
	hflags = dns__u16(s, 2);
	qdcount = dns__u16(s, 4);
	e->ancount = dns__u16(s, 6);
	if (hflags & DNS_TC)
		e->flags |= MOAT_DNS_F_TC;
	if (hflags & DNS_QR) {
		e->hdr.type = MOAT_EV_DNS_ANSWER;
		e->rcode = hflags & 0xf;
	} else {
		e->hdr.type = MOAT_EV_DNS_QUERY;
	}
	if (qdcount != 1) { /* every real query and answer asks one question */
		s->flags |= MOAT_DNS_F_NOT_DNS;
		return;
	}

	end = dns__name(s, DNS_HDR_LEN, e->qname);
	s->qhash = s->w.hash;
	if (!end)
		return;
	if (end + 4 > s->len) { /* qtype, qclass */
		s->flags |= MOAT_DNS_F_TRUNCATED;
		return;
	}
	e->qtype = dns__u16(s, end);
	if ((hflags & DNS_QR) && e->ancount)
		dns__answers(s, e, end + 4, e->ancount);
}

#endif /* MOAT_DNS_PARSE_BPF_H */
