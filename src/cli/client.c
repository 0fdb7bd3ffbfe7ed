/* client.c - CLI commands that ask the running daemon (control socket) and
 * work without it too: pause, resume, registry. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "textesc.h"
#include "config.h"
#include "control.h"
#include "ctlclient.h"
#include "docker.h"
#include "inventory.h"
#include "log.h"
#include "registry.h"

/* The control socket path: $MOAT_CONTROL_SOCKET, else the default. */
static const char *socket_path(void)
{
	const char *s = getenv("MOAT_CONTROL_SOCKET");

	return s && *s ? s : "/run/moat/moat.sock";
}

/* Ask the daemon; NULL when none answers (errno says why). */
static json_object *ask(const char *cmd, const char *key, const char *val)
{
	json_object *req = json_object_new_object(), *ans;

	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	if (key && val)
		json_object_object_add(req, key, json_object_new_string(val));
	ans = control_call(socket_path(), req, 30000);
	json_object_put(req);
	return ans;
}

static int print_answer(json_object *ans, const char *what, const char *noop)
{
	json_object *ok, *err, *nothing;

	if (json_object_object_get_ex(ans, "ok", &ok) && json_object_get_boolean(ok)) {
		printf("%s\n", noop && json_object_object_get_ex(ans, "noop", &nothing) &&
				       json_object_get_boolean(nothing)
				   ? noop
				   : what);
		json_object_put(ans);
		return 0;
	}
	json_object_object_get_ex(ans, "error", &err);
	log_error("%s", err ? json_object_get_string(err) : "the daemon refused");
	json_object_put(ans);
	return 1;
}

/* moat pause|resume CONTAINER */
static int pause_resume(int argc, char **argv, int pause)
{
	const char *verb = pause ? "pause" : "resume";
	struct docker *d;
	json_object *ans;
	char done[256], noop[256];
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: moat %s CONTAINER\n", verb);
		return 2;
	}
	snprintf(done, sizeof(done), "%s %s", pause ? "paused" : "resumed", argv[1]);
	snprintf(noop, sizeof(noop), "%s %s; nothing to do", argv[1],
		 pause ? "is paused already" : "is not paused");
	ans = ask(verb, "container", argv[1]);
	if (ans)
		return print_answer(ans, done, noop);
	/* No daemon: talk to Docker directly. */
	d = docker_open(NULL);
	if (!d) {
		log_error("neither moat run (%s) nor Docker answers", socket_path());
		return 1;
	}
	err = pause ? docker_pause(d, argv[1]) : docker_unpause(d, argv[1]);
	if (err == -EALREADY) {
		printf("%s\n", noop);
		err = 0;
	} else if (err)
		log_error("%s %s: %s", verb, argv[1],
			  docker_last_error(d)[0] ? docker_last_error(d) : strerror(-err));
	else
		printf("%s\n", done);
	docker_close(d);
	return err ? 1 : 0;
}

int cmd_pause(int argc, char **argv, const char *pin_dir)
{
	return pause_resume(argc, argv, 1);
}

int cmd_resume(int argc, char **argv, const char *pin_dir)
{
	return pause_resume(argc, argv, 0);
}

/* moat registry [--state-dir DIR] [NAME|IP|*.suffix] */
int cmd_registry(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"state-dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *q, *state_dir = "/var/lib/moat";
	json_object *ans, *entries = NULL;
	char path[PATH_MAX];
	int opt;

	while ((opt = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		if (opt == 'd') {
			state_dir = optarg;
		} else {
			fprintf(stderr,
				"usage: moat registry [--state-dir DIR] [NAME|IP|*.SUFFIX]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	q = optind < argc ? argv[optind] : NULL;
	ans = ask("registry", "q", q);
	if (ans) {
		json_object_object_get_ex(ans, "entries", &entries);
		json_object_get(entries);
		json_object_put(ans);
	} else {
		/* No daemon: read what it saved. */
		struct registry *r = registry_new(1000000, 365u * 86400);

		snprintf(path, sizeof(path), "%s/registry.json", state_dir);
		if (!r || registry_load(r, path, clock_unix_s())) {
			registry_free(r);
			return 1;
		}
		entries = registry_query(r, q, 100000);
		registry_free(r);
	}
	if (!entries)
		return 1;
	printf("%s\n", json_object_to_json_string_ext(entries, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(entries);
	return 0;
}

static int by_total_desc(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *v;
	uint64_t tx = 0, ty = 0;

	if (json_object_object_get_ex(x, "allowed", &v))
		tx += json_object_get_uint64(v);
	if (json_object_object_get_ex(x, "denied", &v))
		tx += json_object_get_uint64(v);
	if (json_object_object_get_ex(y, "allowed", &v))
		ty += json_object_get_uint64(v);
	if (json_object_object_get_ex(y, "denied", &v))
		ty += json_object_get_uint64(v);
	return tx < ty ? 1 : tx > ty ? -1 : 0;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "";
}

/* Print a counters array as a table, busiest first, at most max rows. */
static void print_counters(json_object *arr, const char *title, int max)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	if (n)
		json_object_array_sort(arr, by_total_desc);
	printf("\n%-40s %10s %10s\n", title, "ALLOWED", "DENIED");
	for (size_t i = 0; i < n && (int)i < max; i++) {
		json_object *o = json_object_array_get_idx(arr, i);

		printf("%-40s %10s %10s\n", str_of(o, "name"), str_of(o, "allowed"),
		       str_of(o, "denied"));
	}
}

/* ---- moat stats --resources ----------------------------------------------------------- */

static double num_of(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_double(v) : 0;
}

/* "1.5G", "300M", "12K", "512" */
static const char *human(double b, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	int u = 0;

	while (b >= 1024 && u < 5) {
		b /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%c" : "%.0f%c", b, units[u]);
	return buf;
}

/* One row of the resources table: sample x, led by lead (a name or a time). */
static void print_sample(const char *lead, json_object *x)
{
	char m[16], l[16], rx[16], tx[16], name[512];
	json_object *v;

	text_escape(name, sizeof(name), lead, 24);
	if (!x || (json_object_object_get_ex(x, "gone", &v) && json_object_get_boolean(v))) {
		printf("%-24s %s\n", name, "(gone)");
		return;
	}
	printf("%-24s %7.1f%% %8s %8s %5.1f%% %6.0f%s %9s %9s\n", name, num_of(x, "cpu_percent"),
	       human(num_of(x, "memory_bytes"), m, sizeof(m)),
	       human(num_of(x, "memory_limit"), l, sizeof(l)),
	       num_of(x, "memory_limit")
		   ? num_of(x, "memory_bytes") * 100 / num_of(x, "memory_limit")
		   : 0,
	       num_of(x, "pids"), json_object_object_get_ex(x, "pids_at_least", &v) ? "+" : " ",
	       json_object_object_get_ex(x, "net_rx_bytes", &v)
		   ? human(num_of(x, "net_rx_bytes"), rx, sizeof(rx))
		   : "-",
	       json_object_object_get_ex(x, "net_tx_bytes", &v)
		   ? human(num_of(x, "net_tx_bytes"), tx, sizeof(tx))
		   : "-");
}

/* moat stats --resources [C] [--json]: every container's latest sample, or C's history. */
static int stats_resources(const char *container, int json)
{
	json_object *req = json_object_new_object(), *ans, *arr, *ok;
	size_t n;

	json_object_object_add(req, "cmd", json_object_new_string("resources"));
	if (container) {
		json_object_object_add(req, "container", json_object_new_string(container));
		json_object_object_add(req, "history", json_object_new_boolean(1));
	}
	ans = control_call(socket_path(), req, 30000);
	json_object_put(req);
	if (!ans || !json_object_object_get_ex(ans, "ok", &ok) || !json_object_get_boolean(ok) ||
	    !json_object_object_get_ex(ans, "resources", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		log_error("moat run does not answer on %s (or is too old for resource stats): "
			  "statistics live in the daemon",
			  socket_path());
		json_object_put(ans);
		return 1;
	}
	n = json_object_array_length(arr);
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	} else if (container && !n) {
		log_error("no resource stats for %s (no such running container)", container);
		json_object_put(ans);
		return 1;
	} else {
		printf("%-24s %8s %8s %8s %6s %7s %9s %9s\n", container ? "TIME" : "CONTAINER",
		       "CPU", "MEM", "LIMIT", "MEM%", "PIDS", "NET RX", "NET TX");
		for (size_t i = 0; i < n; i++) {
			json_object *c = json_object_array_get_idx(arr, i), *h, *src, *latest;

			json_object_object_get_ex(c, "latest", &latest);
			if (!container) {
				print_sample(str_of(c, "name"), latest);
				continue;
			}
			if (json_object_object_get_ex(c, "history", &h))
				for (size_t k = 0; k < json_object_array_length(h); k++) {
					json_object *x = json_object_array_get_idx(h, k);

					print_sample(str_of(x, "time"), x);
				}
			if (json_object_object_get_ex(c, "sources", &src) && src)
				printf("\nsources: cpu %s, memory %s (limit: %s), pids %s (limit: "
				       "%s), network %s\n",
				       str_of(src, "cpu"), str_of(src, "memory"),
				       str_of(src, "memory_limit"), str_of(src, "pids"),
				       str_of(src, "pids_limit"), str_of(src, "network"));
		}
	}
	json_object_put(ans);
	return 0;
}

/* moat stats [--json] [--resources [C]]: egress decisions per domain and container, recent
 * activity, the rules in force, counters since moat run started; with --resources, the
 * containers' resource stats instead (C: one container's history). */
int cmd_stats(int argc, char **argv, const char *pin_dir)
{
	json_object *ans, *st, *v, *recent;
	int json = 0, res = 0;
	const char *container = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--resources"))
			res = 1;
		else if (res && !container && argv[i][0] != '-')
			container = argv[i];
		else
			res = -1;
	}
	if (res < 0) {
		fprintf(stderr, "usage: moat stats [--json] [--resources [C]]\n");
		return 2;
	}
	if (res)
		return stats_resources(container, json);
	ans = ask("stats", NULL, NULL);
	if (!ans || !json_object_object_get_ex(ans, "stats", &st)) {
		log_error("moat run does not answer on %s: statistics live in the daemon",
			  socket_path());
		json_object_put(ans);
		return 1;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN));
		json_object_put(ans);
		return 0;
	}
	json_object_object_get_ex(st, "totals", &v);
	printf("since %s: %s allowed, %s denied; default %s, %zu rule(s)\n", str_of(st, "since"),
	       str_of(v, "allowed"), str_of(v, "denied"), str_of(st, "default"),
	       json_object_object_get_ex(st, "rules", &v) ? json_object_array_length(v) : 0);
	json_object_object_get_ex(st, "domains", &v);
	print_counters(v, "DOMAIN", 25);
	json_object_object_get_ex(st, "containers", &v);
	print_counters(v, "CONTAINER", 25);
	printf("\nRECENT\n");
	if (json_object_object_get_ex(st, "recent", &recent))
		for (size_t i = json_object_array_length(recent) > 10
				    ? json_object_array_length(recent) - 10
				    : 0;
		     i < json_object_array_length(recent); i++) {
			json_object *e = json_object_array_get_idx(recent, i), *c;

			json_object_object_get_ex(e, "container", &c);
			printf("%s %-8s %-16s %-10s %-30s %-16s %s\n", str_of(e, "time"),
			       str_of(e, "kind"), c ? str_of(c, "name") : "-", str_of(e, "verdict"),
			       str_of(e, "domain"), str_of(e, "address"), str_of(e, "rule"));
		}
	json_object_put(ans);
	return 0;
}

static const char *const prompt_choices[] = {"allow-once",  "deny-once", "allow-domain",
					     "deny-domain", "allow-ip",	 "deny-ip"};

static int decide(long id, const char *choice)
{
	json_object *req = json_object_new_object(), *ans;
	int rc;

	json_object_object_add(req, "cmd", json_object_new_string("decide"));
	json_object_object_add(req, "id", json_object_new_int64(id));
	json_object_object_add(req, "choice", json_object_new_string(choice));
	ans = control_call(socket_path(), req, 10000);
	json_object_put(req);
	if (!ans) {
		log_error("moat run does not answer on %s", socket_path());
		return 1;
	}
	rc = print_answer(ans, "decided", NULL);
	return rc;
}

/* moat prompt [--list [--json]] [--decide ID CHOICE]: answer network
 * access requests of containers in interactive egress mode, with the
 * seed's six choices. Without options, a loop that asks on the terminal. */
int cmd_prompt(int argc, char **argv, const char *pin_dir)
{
	json_object *ans, *pending;
	char line[32];

	if (argc == 4 && !strcmp(argv[1], "--decide"))
		return decide(strtol(argv[2], NULL, 10), argv[3]);
	if (argc >= 2 && strcmp(argv[1], "--list")) {
		fprintf(stderr, "usage: moat prompt [--list [--json]] [--decide ID CHOICE]\n"
				"CHOICE: allow-once deny-once allow-domain deny-domain allow-ip "
				"deny-ip\n");
		return 2;
	}
	for (;;) {
		size_t n;

		ans = ask("pending", NULL, NULL);
		if (!ans || !json_object_object_get_ex(ans, "pending", &pending)) {
			log_error("moat run does not answer on %s", socket_path());
			json_object_put(ans);
			return 1;
		}
		n = json_object_array_length(pending);
		if (argc >= 2) { /* --list */
			if (argc == 3)
				printf("%s\n", json_object_to_json_string_ext(
						   pending, JSON_C_TO_STRING_PLAIN));
			for (size_t i = 0; argc == 2 && i < n; i++) {
				json_object *p = json_object_array_get_idx(pending, i);

				char cont[512], comm[128], dom[1100];

				text_escape(cont, sizeof(cont), str_of(p, "container"), 128);
				text_escape(comm, sizeof(comm), str_of(p, "comm"), 32);
				text_escape(dom, sizeof(dom), str_of(p, "domain"), 256);
				printf("%s  %-16s %-8s %-40s %s\n", str_of(p, "id"), cont, comm,
				       dom, str_of(p, "asked"));
			}
			json_object_put(ans);
			return 0;
		}
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(pending, i), *addrs;
			long id = strtol(str_of(p, "id"), NULL, 10), k;
			char cont[512], comm[128], dom[1100];

			/* Everything but the id comes from the container: shown escaped, so a
			 * name or process name cannot rewrite the question (terminal escapes, a
			 * carriage return, bidi overrides). */
			text_escape(cont, sizeof(cont), str_of(p, "container"), 128);
			text_escape(comm, sizeof(comm), str_of(p, "comm"), 32);
			text_escape(dom, sizeof(dom), str_of(p, "domain"), 256);
			printf(
			    "\n==================================================================="
			    "=============\nNetwork Access Request %ld\nContainer: %s\nProcess: "
			    "%s (pid %s)\nHost: %s\nAddresses:",
			    id, cont, comm, str_of(p, "pid"), dom);
			if (json_object_object_get_ex(p, "addresses", &addrs))
				for (size_t a = 0; a < json_object_array_length(addrs); a++) {
					char addr[200];

					text_escape(addr, sizeof(addr),
						    json_object_get_string(
							json_object_array_get_idx(addrs, a)),
						    64);
					printf(" %s", addr);
				}
			printf(
			    "\n================================================================"
			    "================\n\nChoose action:\n  1. Allow this request once\n"
			    "  2. Deny this request once\n  3. Always allow %s\n  4. Always deny "
			    "%s\n  5. Always allow these addresses\n  6. Always deny these "
			    "addresses\n\nYour choice [2]: ",
			    dom, dom);
			fflush(stdout);
			if (!fgets(line, sizeof(line), stdin)) {
				json_object_put(ans);
				return 0;
			}
			/* Enter denies once: a key pressed by accident never opens anything. */
			k = line[0] == '\n' ? 2 : strtol(line, NULL, 10);
			if (k < 1 || k > 6) {
				printf("no such choice; asking again\n");
				continue;
			}
			decide(id, prompt_choices[k - 1]);
		}
		json_object_put(ans);
		if (!n)
			sleep(1);
	}
}
