/* control.h - the control socket of moat run (default /run/moat/moat.sock, mode 0600).
 *
 * The protocol: a client connects, writes one JSON object on one line (at most
 * CONTROL_MAX_LINE bytes, within CONTROL_TIMEOUT_MS of connecting), and reads one JSON
 * answer line, after which moat run closes the connection. Every answer has "ok"; a
 * refusal says why in "error": {"ok":false,"error":"what went wrong and what to do"}.
 * The commands (served from the table in ctlcmds.c; tests/unit/daemon/test_control_cmds.c fails
 * when this list and the table differ):
 *
 *   {"cmd":"status"}                          -> {"ok":true,"status":{...}}
 *   {"cmd":"stats"}                           -> {"ok":true,"stats":{...}}
 *   {"cmd":"pending"}                         -> {"ok":true,"pending":[...]}
 *   {"cmd":"decide","id":3,"choice":"allow-once"} -> {"ok":true}
 *   {"cmd":"reload"}                          -> {"ok":true}
 *   {"cmd":"registry","q":"example.com"}      -> {"ok":true,"entries":[...]}
 *   {"cmd":"pause","container":"web"}         -> {"ok":true,"action":"pause",...} once done
 *   {"cmd":"resume","container":"web"}        -> {"ok":true,"action":"unpause",...} once done
 *   {"cmd":"resources","container":"web","history":true} -> {"ok":true,"resources":[...]}
 *   {"cmd":"rules","reload":true}             -> {"ok":true,"file":...,"default":...,"rules":[...]}
 *   {"cmd":"policies"}                        -> {"ok":true,"policies":[...]}
 *   {"cmd":"counters"}                        -> {"ok":true,"programs":[...],"alerts":[...],...}
 *   {"cmd":"egress"}                          -> {"ok":true,"egress":{"domains":[...],...}}
 *   {"cmd":"learn","op":"start","image":"alpine:3.19"} -> {"ok":true} (op: start|stop|status|show)
 *
 * The client side is lib/ctlclient.h (control_call). The server side never blocks moat run's event
 * loop: the listening socket and every client are non-blocking and in the loop's epoll; a request
 * is read as its bytes arrive, an answer written as the client takes it, and a client that is
 * silent or does not read its answer is closed at its deadline. A client waiting for an action
 * (pause, resume) is held without a deadline until the action's result answers it. */
#ifndef MOAT_CONTROL_H
#define MOAT_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define CONTROL_MAX_LINE    65536 /* a request line, newline included */
#define CONTROL_MAX_CLIENTS 96	  /* connections at once (reading, held or being answered) */
#define CONTROL_TIMEOUT_MS  2000  /* to send the request; to take each part of the answer */

/* One connection. */
struct control_client {
	int fd;		     /* -1: a free slot */
	int state;	     /* enum control_client_state (control.c) */
	char *buf;	     /* the request as read so far, then the answer being written */
	size_t len, off;     /* bytes in buf; bytes of the answer written */
	int64_t deadline_ms; /* CLOCK_MONOTONIC ms; 0 = none (held) */
	char key[40];	     /* what a held client waits for (control_server_hold) */
};

struct control_server {
	int fd;		/* the listening socket, -1 when closed */
	char path[108]; /* its path, removed by control_server_close */
	int epfd;	/* the loop's epoll */
	uint32_t tag;	/* epoll data.u32 of the listening socket; tag + 1 + i for client i */
	int timeout_ms; /* CONTROL_TIMEOUT_MS; tests shorten it */
	int n_open;	/* clients in use */
	uint64_t n_expired, n_refused; /* clients closed at their deadline; turned away (full) */
	struct control_client c[CONTROL_MAX_CLIENTS];
};

/* Create the listening socket at path (parent directory created 0700, a stale socket
 * replaced, the socket chmod 0600). Returns the fd or -errno (-EADDRINUSE: a daemon answers
 * there). */
int control_listen(const char *path);

/* An empty server: no socket, no clients (control_server_close does nothing). */
void control_server_init(struct control_server *s);

/* Listen at path and add the socket to epfd under tag (tags tag+1 .. tag+CONTROL_MAX_CLIENTS
 * are the clients'). Returns 0 or -errno; s is closed (fd -1) on failure. */
int control_server_open(struct control_server *s, const char *path, int epfd, uint32_t tag);

/* Is tag the listening socket's or a client's? */
int control_server_owns(const struct control_server *s, uint32_t tag);

/* Handle readiness of tag: accept waiting connections (the listening socket), read what a
 * client sent, or write more of its answer. Never waits. Returns the client's slot with its
 * complete request in *req (the caller owns it, and must answer the slot with
 * control_server_reply or hold it), or -1 when there is nothing to answer now (a request
 * that is not one JSON object is answered here). */
int control_server_event(struct control_server *s, uint32_t tag, json_object **req);

/* Answer slot with answer (taken): the answer line is written as far as the client takes
 * it now, the rest as it reads (a client that takes nothing for timeout_ms is closed); then
 * the slot closes. */
void control_server_reply(struct control_server *s, int slot, json_object *answer);

/* The answer {"ok":false,"error":msg} to slot. */
void control_server_fail(struct control_server *s, int slot, const char *msg);

/* Keep slot open without a deadline until control_server_reply answers it; key (e.g. an
 * action's trace id) finds it again. */
void control_server_hold(struct control_server *s, int slot, const char *key);

/* The next held slot from slot `from` on (0 to start) waiting for key, or -1. */
int control_server_held(const struct control_server *s, const char *key, int from);

/* How many slots are held. */
int control_server_n_held(const struct control_server *s);

/* Close the clients whose deadline is before now_ms (CLOCK_MONOTONIC ms). Returns how
 * many. */
int control_server_expire(struct control_server *s, int64_t now_ms);

/* Answer every held client with {"ok":false,"error":msg} (as far as each takes it without
 * waiting), close every client and the listening socket, and remove its path. */
void control_server_close(struct control_server *s, const char *msg);

/* CLOCK_MONOTONIC in ms, the clock of the deadlines. */
int64_t control_now_ms(void);

#endif /* MOAT_CONTROL_H */
