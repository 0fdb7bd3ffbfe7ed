/* control.h - the daemon's control socket (default /run/moat/moat.sock,
 * mode 0600): one JSON request line in, one JSON answer line out. The CLI
 * uses it for status, pause/resume, reload and registry queries.
 *
 *   {"cmd":"status"}                      -> {"ok":true,"status":{...}}
 *   {"cmd":"pause","container":"web"}     -> {"ok":true,...} once done
 *   {"cmd":"resume","container":"web"}
 *   {"cmd":"reload"}
 *   {"cmd":"registry","q":"example.com"}  -> {"ok":true,"entries":[...]}
 * Errors: {"ok":false,"error":"what went wrong and what to do"}. */
#ifndef MOAT_CONTROL_H
#define MOAT_CONTROL_H

#include <json-c/json.h>

/* Create the listening socket at path (parent directory created 0700, a
 * stale socket replaced, the socket chmod 0600). Returns the fd or -errno. */
int control_listen(const char *path);

/* Read one request line from a connected client (blocking, 2 s timeout).
 * Returns the parsed object or NULL (the reason is answered to the client
 * and logged at debug level). */
json_object *control_read_request(int fd);

/* Write one answer line and close fd. */
void control_reply(int fd, json_object *answer);

/* Client side: send req to the daemon at path and return the answer
 * (timeout_ms for the whole exchange). NULL with errno = ENOENT or
 * ECONNREFUSED when no daemon runs there. */
json_object *control_call(const char *path, json_object *req, int timeout_ms);

#endif /* MOAT_CONTROL_H */
