/* event.h - decode raw ring-buffer records into checked events, and the
 * names of their enums. */
#ifndef MOAT_EVENT_H
#define MOAT_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include "moat/events.h"

/* Check that data (len bytes, from the ring buffer) is a whole event of a
 * known type whose header size matches. Returns the header, or NULL with
 * errno = EINVAL (bad size) / ENOTSUP (unknown type). The pointer aliases
 * data. */
const struct moat_event_hdr *event_decode(const void *data, size_t len);

/* Stable names used in JSON, tables and --type filters ("connect",
 * "sendmsg", "exec", "exit", "dns_query", "dns_answer", "socket", "packet"). */
const char *event_type_name(unsigned type);

/* The type for a name, or 0 when unknown. "dns" is not a type; see
 * event_type_mask. */
unsigned event_type_from_name(const char *name);

/* Parse a comma-separated list of type names ("exec,connect,dns"; "dns"
 * means both DNS types) into a bit mask (1 << type). Returns 0 on success,
 * -EINVAL with *bad pointing at the offending name otherwise. */
int event_type_mask(const char *list, uint32_t *mask, const char **bad);

const char *event_verdict_name(unsigned verdict);
const char *event_scope_name(unsigned scope);
const char *event_mode_name(unsigned mode);
const char *event_proto_name(unsigned proto);
/* Names for moat_socket_event and moat_packet_event fields (docs/events.md). */
const char *event_family_name(unsigned family);
const char *event_socktype_name(unsigned type);
const char *event_sock_op_name(unsigned op);
const char *event_pkt_reason_name(unsigned reason);
const char *event_pkt_where_name(unsigned where);
/* DNS qtype name ("A", "AAAA", ...) or NULL when moat has no name for it. */
const char *event_qtype_name(unsigned qtype);
/* DNS rcode name ("NOERROR", "NXDOMAIN", ...) or NULL. */
const char *event_rcode_name(unsigned rcode);

/* Format an address (AF_INET: first 4 bytes) into buf. Returns buf. */
char *event_addr_str(unsigned family, const uint8_t addr[16], char *buf, size_t len);

#endif /* MOAT_EVENT_H */
