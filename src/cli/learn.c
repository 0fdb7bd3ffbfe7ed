/* learn.c - `moat learn start|stop|status|show|diff|policy`: learn mode from the command line
 * (docs/learn.md). start and stop go through moat run; the others ask it, or read the store
 * file it saved when none answers. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseline.h"
#include "clock.h"
#include "commands.h"
#include "ctlclient.h"
#include "fs.h"
#include "learnpolicy.h"
#include "log.h"
#include "policy.h"
#include "rulesfile.h"
#include "textesc.h"

#define LEARN_USAGE                                                                                \
	"usage: moat learn start|stop [IMAGE|--all]\n"                                             \
	"       moat learn status [--json] [--stable-seconds N] [--state-dir DIR]\n"               \
	"       moat learn show IMAGE [--json] [--state-dir DIR]\n"                                \
	"       moat learn policy IMAGE [--wildcards N] [--rules F] [--state-dir DIR]\n"           \
	"       moat learn diff IMAGE [--policies F] [--wildcards N] [--state-dir DIR]\n"

static const char *socket_path(void)
{
	const char *s = getenv("MOAT_CONTROL_SOCKET");

	return s && *s ? s : "/run/moat/moat.sock";
}

/* Ask moat run {"cmd":"learn","op":op,"image":image}; NULL when none answers. */
static json_object *ask(const char *op, const char *image)
{
	json_object *req = json_object_new_object(), *ans;

	json_object_object_add(req, "cmd", json_object_new_string("learn"));
	json_object_object_add(req, "op", json_object_new_string(op));
	if (image)
		json_object_object_add(req, "image", json_object_new_string(image));
	ans = control_call(socket_path(), req, 30000);
	json_object_put(req);
	return ans;
}

/* The answer's error, printed; 1. */
static int refused(json_object *ans)
{
	json_object *e;

	json_object_object_get_ex(ans, "error", &e);
	log_error("moat run refused: %s", e ? json_object_get_string(e) : "no reason given");
	json_object_put(ans);
	return 1;
}

static int ok_of(json_object *ans)
{
	json_object *v;

	return json_object_object_get_ex(ans, "ok", &v) && json_object_get_boolean(v);
}

/* The store saved in state_dir, or NULL (reported). */
static struct baseline *load_file(const char *state_dir)
{
	struct baseline_limits lim = {65536, 1048576, 16777216};
	struct baseline *b = baseline_new(&lim);
	char path[PATH_MAX];
	int err;

	snprintf(path, sizeof(path), "%s/baseline.json", state_dir);
	if (!b)
		return NULL;
	err = baseline_load(b, path, NULL);
	if (err == -ENOENT)
		log_error("no moat run answers (%s) and %s does not exist: nothing learned yet "
			  "(moat learn start IMAGE, with moat run running)",
			  socket_path(), path);
	if (err) {
		baseline_free(b);
		return NULL;
	}
	return b;
}

/* The baseline of image as a store of its own (from moat run, else from the file), with
 * the image in *im. NULL when there is none (reported). */
static struct baseline *get_image(const char *image, const char *state_dir,
				  struct baseline_image **im)
{
	json_object *ans = ask("show", image), *bl;
	struct baseline *b;

	if (ans && !ok_of(ans)) {
		refused(ans);
		return NULL;
	}
	if (ans && json_object_object_get_ex(ans, "baseline", &bl)) {
		/* Through the file format's own checks. */
		char head[64];
		const char *line = json_object_to_json_string_ext(bl, JSON_C_TO_STRING_PLAIN);
		size_t hl = (size_t)snprintf(head, sizeof(head), "{\"moat_baseline\":%d}\n",
					     BASELINE_FILE_VERSION);
		size_t ll = strlen(line);
		char *buf = malloc(hl + ll + 2);

		b = baseline_new(&(struct baseline_limits){1, 1048576, 1048576});
		if (!buf || !b ||
		    (memcpy(buf, head, hl), memcpy(buf + hl, line, ll),
		     baseline_load_buf(b, "moat run's answer", buf, hl + ll, NULL))) {
			free(buf);
			baseline_free(b);
			json_object_put(ans);
			return NULL;
		}
		free(buf);
		json_object_put(ans);
	} else {
		json_object_put(ans);
		b = load_file(state_dir);
		if (!b)
			return NULL;
	}
	*im = baseline_image(b, image, 0);
	if (!*im) {
		log_error("no baseline for image %s (moat learn status lists the images)", image);
		baseline_free(b);
		return NULL;
	}
	return b;
}

static void print_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm)) {
		fputs("-", stdout);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(buf, stdout);
}

/* A duration as "2d3h", "4h5m", "6m7s", "8s". */
static void span_str(char *buf, size_t len, int64_t s)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)(s < 0 ? 0 : s));
}

static int64_t num(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

static const char *str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		   ? json_object_get_string(v)
		   : "";
}

static void put_esc(const char *s)
{
	text_escape_fput(stdout, s, strlen(s));
}

static int do_status(int json, uint32_t stable_s, const char *state_dir)
{
	json_object *ans = ask("status", NULL), *imgs = NULL, *store = NULL;
	struct baseline *b = NULL;

	if (ans && !ok_of(ans))
		return refused(ans);
	if (ans) {
		json_object_object_get_ex(ans, "images", &imgs);
		json_object_get(imgs);
		if (json_object_object_get_ex(ans, "store", &store))
			json_object_get(store);
		json_object_put(ans);
	} else {
		if (!(b = load_file(state_dir)))
			return 1;
		imgs = baseline_status_json(b, clock_unix_s(), stable_s);
		baseline_free(b);
	}
	if (!imgs)
		return 1;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(
				   imgs, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					     JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%-32s %-9s %-8s %10s %6s %6s %12s\n", "IMAGE", "STATE", "STABLE", "LEARNED",
		       "CONTS", "ITEMS", "LAST NEW");
		for (size_t i = 0; i < json_object_array_length(imgs); i++) {
			json_object *o = json_object_array_get_idx(imgs, i), *v;
			int learning = json_object_object_get_ex(o, "learning", &v) &&
				       json_object_get_boolean(v);
			int enforced = json_object_object_get_ex(o, "enforced", &v) &&
				       json_object_get_boolean(v);
			int stable = json_object_object_get_ex(o, "stable", &v) &&
				     json_object_get_boolean(v);

			char img[256], learned[32], last[40];
			int64_t since = num(o, "since_last_new");

			text_escape(img, sizeof(img), str(o, "image"), strlen(str(o, "image")));
			span_str(learned, sizeof(learned), num(o, "learned_seconds"));
			if (since < 0) {
				snprintf(last, sizeof(last), "never");
			} else {
				span_str(last, sizeof(last), since);
				snprintf(last + strlen(last), sizeof(last) - strlen(last), " ago");
			}
			printf("%-32s %-9s %-8s %10s %6lld %6lld %12s%s\n", img,
			       learning	  ? "learning"
			       : enforced ? "enforced"
					  : "in-force",
			       stable ? "stable" : "changing", learned,
			       (long long)num(o, "containers"), (long long)num(o, "items"), last,
			       num(o, "refused") ? "  (incomplete: caps refused items)" : "");
		}
		if (store)
			printf("store: %lld image(s), %lld item(s); %lld item(s) refused and %lld "
			       "image(s) evicted by the caps (learn.max_*)\n",
			       (long long)num(store, "images"), (long long)num(store, "items"),
			       (long long)num(store, "refused"),
			       (long long)num(store, "evicted_images"));
	}
	json_object_put(imgs);
	json_object_put(store);
	return 0;
}

static int do_show(const char *image, int json, const char *state_dir)
{
	struct baseline_image *im;
	struct baseline *b = get_image(image, state_dir, &im);
	json_object *o, *items, *ids;

	if (!b)
		return 1;
	o = baseline_image_json(im);
	if (!o) {
		baseline_free(b);
		return 1;
	}
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(
				   o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
		goto out;
	}
	printf("image ");
	put_esc(str(o, "image"));
	json_object_object_get_ex(o, "ids", &ids);
	for (size_t i = 0; ids && i < json_object_array_length(ids); i++) {
		printf(i ? ", " : " (");
		put_esc(json_object_get_string(json_object_array_get_idx(ids, i)));
		printf(i + 1 == json_object_array_length(ids) ? ")" : "");
	}
	printf("\n  first seen ");
	print_time(num(o, "first_seen"));
	printf(", last new item ");
	print_time(num(o, "last_new"));
	printf(", %lld container(s)%s\n", (long long)num(o, "containers"),
	       num(o, "refused") ? ", INCOMPLETE: the caps refused items" : "");
	json_object_object_get_ex(o, "items", &items);
	for (int k = 0; k < BL_NKINDS; k++) {
		int head = 0;

		for (size_t i = 0; i < json_object_array_length(items); i++) {
			json_object *x = json_object_array_get_idx(items, i), *p;

			if (strcmp(str(x, "kind"), baseline_kind_name(k)))
				continue;
			if (!head++)
				printf("%s:\n", baseline_kind_name(k));
			printf("  ");
			put_esc(str(x, "key"));
			if (str(x, "interp")[0]) {
				printf("  interp ");
				put_esc(str(x, "interp"));
			}
			if (json_object_object_get_ex(x, "parents", &p)) {
				printf("  parent");
				for (size_t j = 0; j < json_object_array_length(p); j++) {
					printf(j ? "," : " ");
					put_esc(json_object_get_string(
					    json_object_array_get_idx(p, j)));
				}
			}
			printf("  x%lld  ", (long long)num(x, "count"));
			print_time(num(x, "first_seen"));
			printf(" .. ");
			print_time(num(x, "last_seen"));
			printf("\n");
		}
	}
out:
	json_object_put(o);
	baseline_free(b);
	return 0;
}

/* The policy and rule set for image, both validated by moat's own loaders. 0 or 1. */
static int build(struct baseline_image *im, unsigned wildcards, const char *rules_path,
		 char **policy_text, struct ruleset *rs, int quiet)
{
	struct learnpolicy_opts o = {.wildcards = wildcards, .rules_path = rules_path};
	json_object *doc = NULL, *notes = NULL;
	struct policy_set *ps = calloc(1, sizeof(*ps));
	struct ruleset check = {0};
	const char *t;
	char *rtext = NULL;
	size_t rlen = 0;
	int err = learnpolicy_build(im, &o, &doc, rs, &notes), rc = 1;

	if (err) {
		log_error("cannot build the policy: %s", strerror(-err));
		goto out;
	}
	for (size_t i = 0; !quiet && i < json_object_array_length(notes); i++)
		log_warn("%s", json_object_get_string(json_object_array_get_idx(notes, i)));
	t = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	rtext = rules_format(rs, &rlen);
	if (!ps || !rtext || policy_load_buf(ps, "generated policy", t, strlen(t)) ||
	    rules_load_buf(&check, "generated rules", rtext, rlen)) {
		log_error("the generated policy does not pass moat's validation (see above); "
			  "please report this");
		goto out;
	}
	*policy_text = strdup(t);
	rc = *policy_text ? 0 : 1;
out:
	rules_free(&check);
	free(rtext);
	free(ps);
	json_object_put(doc);
	json_object_put(notes);
	return rc;
}

static int do_policy(const char *image, unsigned wildcards, const char *rules_path,
		     const char *state_dir)
{
	struct baseline_image *im;
	struct baseline *b = get_image(image, state_dir, &im);
	struct ruleset rs = {0};
	char *text = NULL, id[64], def[PATH_MAX];
	int err, rc = 1;

	if (!b)
		return 1;
	learnpolicy_id(image, id, sizeof(id));
	if (!rules_path) {
		snprintf(def, sizeof(def), "/etc/moat/learned/%s.rules.json", id);
		rules_path = def;
	}
	if (build(im, wildcards, rules_path, &text, &rs, 0))
		goto out;
	err = fs_mkdir_parent(rules_path, 0755);
	if (!err)
		err = rules_save(&rs, rules_path);
	if (err) {
		log_error("cannot write the rules file %s: %s (choose another with --rules F)",
			  rules_path, strerror(-err));
		goto out;
	}
	fprintf(stderr, "moat: wrote %d domain rule(s), default deny, to %s\n", rs.n, rules_path);
	printf("%s\n", text);
	rc = 0;
out:
	free(text);
	rules_free(&rs);
	baseline_free(b);
	return rc;
}

/* Print "+ what x" for each x of a missing from b ('+') or of b missing from a ('-'). */
static int diff_sets(char **a, int na, char **b, int nb, const char *what)
{
	int n = 0;

	for (int i = 0; i < na; i++) {
		int k;

		for (k = 0; k < nb && strcmp(a[i], b[k]); k++)
			;
		if (k == nb) {
			printf("+ %s ", what);
			put_esc(a[i]);
			printf("\n");
			n++;
		}
	}
	for (int k = 0; k < nb; k++) {
		int i;

		for (i = 0; i < na && strcmp(a[i], b[k]); i++)
			;
		if (i == na) {
			printf("- %s ", what);
			put_esc(b[k]);
			printf("\n");
			n++;
		}
	}
	return n;
}

static int do_diff(const char *image, unsigned wildcards, const char *policies,
		   const char *state_dir)
{
	struct baseline_image *im;
	struct baseline *b = get_image(image, state_dir, &im);
	struct policy_set *now = calloc(1, sizeof(*now)), *old = calloc(1, sizeof(*old));
	struct ruleset rs = {0}, ors = {0};
	const struct policy *np, *op = NULL;
	char *text = NULL, id[64], *na[RULES_MAX > 4096 ? 4096 : RULES_MAX], *oa[4096],
	     *ne[POLICY_MAX_EXEC], *oe[POLICY_MAX_EXEC];
	int nn = 0, on = 0, nx = 0, ox = 0, rc = 2, changes;

	if (!b || !now || !old)
		goto out;
	learnpolicy_id(image, id, sizeof(id));
	if (build(im, wildcards, "/dev/null/unused", &text, &rs, 1) ||
	    policy_load_buf(now, "generated policy", text, strlen(text)))
		goto out;
	if (policy_load(old, policies)) {
		log_error("%s: cannot read it (see above); compare with --policies F", policies);
		goto out;
	}
	for (int i = 0; i < old->n; i++)
		if (!strcmp(old->p[i].id, id))
			op = &old->p[i];
	if (!op) {
		log_error("%s has no policy %s (moat learn policy %s prints it)", policies, id,
			  image);
		goto out;
	}
	if (op->egress_rules[0] && (changes = rules_load(&ors, op->egress_rules)) &&
	    changes != -ENOENT)
		goto out;
	np = &now->p[0];
	for (int i = 0; i < rs.n && nn < 4096; i++)
		na[nn++] = rs.rules[i].match;
	for (int i = 0; i < ors.n && on < 4096; i++)
		if (!rules_is_ip(&ors.rules[i]))
			oa[on++] = ors.rules[i].match;
	for (int i = 0; i < np->n_exec_allow; i++)
		ne[nx++] = (char *)np->exec_allow[i];
	for (int i = 0; i < op->n_exec_allow; i++)
		oe[ox++] = (char *)op->exec_allow[i];
	changes = diff_sets(na, nn, oa, on, "domain") + diff_sets(ne, nx, oe, ox, "exec");
	if (!changes)
		printf("the baseline of %s and policy %s in %s agree\n", image, id, policies);
	rc = changes ? 1 : 0;
out:
	free(text);
	rules_free(&rs);
	rules_free(&ors);
	free(now);
	free(old);
	baseline_free(b);
	return rc;
}

int cmd_learn(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"json", no_argument, NULL, 'j'},
	    {"wildcards", required_argument, NULL, 'w'},
	    {"rules", required_argument, NULL, 'r'},
	    {"policies", required_argument, NULL, 'p'},
	    {"state-dir", required_argument, NULL, 'd'},
	    {"stable-seconds", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *state_dir = "/var/lib/moat", *rules = NULL,
		   *policies = "/etc/moat/policies.json";
	const char *op, *image;
	unsigned long wildcards = 0, stable = 86400;
	int all = 0, json = 0, opt;
	char *end;

	while ((opt = getopt_long(argc, argv, "ajw:r:p:d:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 'w':
			errno = 0;
			wildcards = strtoul(optarg, &end, 10);
			if (errno || *end || !optarg[0] || wildcards < 2 || wildcards > 100000) {
				fprintf(stderr,
					"moat learn: --wildcards takes a number from 2 "
					"(names under one parent before *.parent is used)\n");
				return 2;
			}
			break;
		case 'r': rules = optarg; break;
		case 'p': policies = optarg; break;
		case 'd': state_dir = optarg; break;
		case 's':
			errno = 0;
			stable = strtoul(optarg, &end, 10);
			if (errno || *end || !optarg[0] || !stable || stable > 31536000) {
				fprintf(stderr,
					"moat learn: --stable-seconds takes 1 to 31536000\n");
				return 2;
			}
			break;
		case 'h': fputs(LEARN_USAGE, stdout); return 0;
		default: fputs(LEARN_USAGE, stderr); return 2;
		}
	}
	if (optind >= argc) {
		fputs(LEARN_USAGE, stderr);
		return 2;
	}
	op = argv[optind];
	image = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (optind + 2 < argc || (rules && rules[0] != '/')) {
		fputs(rules ? "moat learn: --rules takes an absolute path\n" : LEARN_USAGE, stderr);
		return 2;
	}
	if (!strcmp(op, "start") || !strcmp(op, "stop")) {
		json_object *ans;

		if (!image && !all) {
			fprintf(stderr,
				"moat learn %s: name an IMAGE (as docker run got it) or "
				"--all\n",
				op);
			return 2;
		}
		ans = ask(op, all ? "*" : image);
		if (!ans) {
			log_error("moat run does not answer at %s: learning happens in moat run; "
				  "start it first",
				  socket_path());
			return 1;
		}
		if (!ok_of(ans))
			return refused(ans);
		json_object_put(ans);
		printf("learning %s for %s\n", !strcmp(op, "start") ? "started" : "stopped",
		       all ? "every image" : image);
		return 0;
	}
	if (!strcmp(op, "status"))
		return image ? (fputs(LEARN_USAGE, stderr), 2)
			     : do_status(json, (uint32_t)stable, state_dir);
	if (!image) {
		fprintf(stderr, "moat learn %s: name an IMAGE\n", op);
		return 2;
	}
	if (!strcmp(op, "show"))
		return do_show(image, json, state_dir);
	if (!strcmp(op, "policy"))
		return do_policy(image, (unsigned)wildcards, rules, state_dir);
	if (!strcmp(op, "diff"))
		return do_diff(image, (unsigned)wildcards, policies, state_dir);
	fputs(LEARN_USAGE, stderr);
	return 2;
}
