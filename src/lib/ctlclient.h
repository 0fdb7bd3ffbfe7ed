/* ctlclient.h - the client side of moat run's control socket (protocol: src/daemon/control.h):
 * one JSON request line out, one JSON answer line back. Used by the moat command and by the
 * dashboard's HTTP API (src/web/), which asks moat run through the same socket. */
#ifndef MOAT_CTLCLIENT_H
#define MOAT_CTLCLIENT_H

#include <sys/un.h>
#include <json-c/json.h>

#define CTLCLIENT_MAX_ANSWER (16u << 20) /* the longest answer line read */

/* Fill sa with the unix socket address path. Returns 0 or -ENAMETOOLONG. */
int ctlclient_addr(struct sockaddr_un *sa, const char *path);

/* Send req to the daemon at path and return its answer (new reference); timeout_ms bounds
 * the whole exchange. NULL with errno = ENOENT or ECONNREFUSED when no daemon runs there,
 * ETIMEDOUT when it did not answer in time, EPROTO when the answer is not JSON, EMSGSIZE
 * when it is longer than CTLCLIENT_MAX_ANSWER. Thread-safe (no shared state). */
json_object *control_call(const char *path, json_object *req, int timeout_ms);

#endif /* MOAT_CTLCLIENT_H */
