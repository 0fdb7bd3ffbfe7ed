/* ctlcmds.h - the commands of the control socket (protocol: control.h): one table of name,
 * arguments, help and handler, from which the served commands, the list in the answer to an
 * unknown command, and the check against control.h's documentation
 * (tests/unit/daemon/test_control_cmds.c) all come. */
#ifndef MOAT_CTLCMDS_H
#define MOAT_CTLCMDS_H

#include <stddef.h>
#include <json-c/json.h>

struct daemon;

/* One command. run answers request req of client slot: it returns the answer (sent at
 * once), or NULL when it answers slot later itself (pause, resume: when the action is
 * done) or has already. */
struct control_cmd {
	const char *name;
	const char *args; /* the request's other members, e.g. "container" ("" for none) */
	const char *help; /* one line */
	json_object *(*run)(struct daemon *d, json_object *req, int slot);
};

extern const struct control_cmd control_cmds[];
extern const size_t n_control_cmds;

/* The command named name, or NULL. */
const struct control_cmd *ctlcmds_find(const char *name);

/* Serve request req (taken) of client slot: run its command, or answer that the command is
 * unknown, listing the served ones. */
void ctlcmds_serve(struct daemon *d, int slot, json_object *req);

/* moat run's status (the status command; stats includes it). New reference. */
json_object *ctlcmds_status(struct daemon *d);

#endif /* MOAT_CTLCMDS_H */
