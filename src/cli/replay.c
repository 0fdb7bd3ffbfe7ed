/* replay.c - `moat replay`: capture files (`moat trace --record`) printed as `moat trace`
 * prints them, or run offline through the detections moat run uses (--detect). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "chain.h"
#include "commands.h"
#include "config.h"
#include "detect.h"
#include "event.h"
#include "format.h"
#include "lists.h"
#include "log.h"
#include "registry.h"

#define MAX_ALERTS 4 /* alerts one event may raise (as moat run) */

struct replay {
	int json, detect;
	uint32_t type_mask;    /* 0 = every type */
	const char *container; /* name or id prefix, NULL = all */
	int64_t offset_ns;     /* the current file's boot -> Unix offset */
	struct format_json_cache jc;
	/* --detect */
	struct config cfg;
	struct iplist blacklist, whitelist;
	struct registry *registry;
	struct dedup *dedup;
	struct lossy *lossy;
	struct detect_ctx dx;
	struct dnsmatch_stats dns;
	const struct container_info *cur; /* the container of the event being replayed */
	uint64_t events, malformed, alerts;
};

static const struct container_info *lookup(void *ud, uint64_t cgid)
{
	return ((struct replay *)ud)->cur;
}

static int wanted(const struct replay *p, const struct moat_event_hdr *h,
		  const struct container_info *c)
{
	if (p->type_mask && !(p->type_mask & (1u << h->type)))
		return 0;
	if (p->container && (!c || (strcmp(c->name, p->container) &&
				    strncmp(c->id, p->container, strlen(p->container)))))
		return 0;
	return 1;
}

static void detect_one(struct replay *p, const struct moat_event_hdr *h)
{
	struct alert alerts[MAX_ALERTS];
	struct chain_out o;
	int64_t now_s = (p->offset_ns + (int64_t)h->ts_ns) / 1000000000LL;
	int n = chain_event(&p->dx, &p->dns, lookup, p, h, now_s, alerts, MAX_ALERTS, &o);

	for (int i = 0; i < n; i++) {
		json_object *j = alert_to_json(&alerts[i]);

		if (j) {
			/* The alert log's line (alertlog.c). */
			fputs(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
								    JSON_C_TO_STRING_NOSLASHESCAPE),
			      stdout);
			fputc('\n', stdout);
			json_object_put(j);
		}
		alert_release(&alerts[i]);
		p->alerts++;
	}
}

/* One file. Returns 0, or 1 when it could not be opened or had damaged stretches. */
static int replay_file(struct replay *p, const char *path)
{
	struct capture_reader *r = capture_open(path);
	struct capture_record rec;
	int rc;

	if (!r)
		return 1;
	p->offset_ns = capture_get_header(r)->boot_to_unix_ns;
	p->dx.offset_ns = p->offset_ns;
	while ((rc = capture_next(r, &rec)) > 0) {
		const struct moat_event_hdr *h;

		if (rec.kind != CAPTURE_REC_EVENT)
			continue;
		h = event_decode(rec.data, rec.len);
		if (!h) {
			if (p->malformed++ % 1000 == 0)
				log_warn(
				    "capture %s: offset %llu: a record of %zu bytes is not a valid "
				    "event (%s); skipped",
				    path, (unsigned long long)rec.offset, rec.len, strerror(errno));
			continue;
		}
		if (!wanted(p, h, rec.container))
			continue;
		p->events++;
		if (p->detect) {
			p->cur = rec.container;
			detect_one(p, h);
		} else if (p->json) {
			const char *line =
			    format_event_json_line(&p->jc, h, rec.container, p->offset_ns);

			if (line) {
				fputs(line, stdout);
				fputc('\n', stdout);
			}
		} else {
			format_event_text(stdout, h, rec.container, p->offset_ns);
		}
	}
	rc = rc < 0 || capture_errors(r) ? 1 : 0;
	capture_close(r);
	return rc;
}

/* The detections' state, as moat run sets it up (daemon.c): the configuration, its IP lists,
 * an empty DNS registry (filled from the capture's answers), repeat suppression. */
static int detect_setup(struct replay *p, const char *config_path)
{
	int bad = 0;

	config_defaults(&p->cfg);
	if (config_path && config_load(&p->cfg, config_path))
		return -1; /* config_load said why */
	if (p->cfg.blacklist[0] && lists_load(&p->blacklist, p->cfg.blacklist, &bad))
		log_warn("%s: cannot read the blacklist; replaying without it", p->cfg.blacklist);
	if (p->cfg.whitelist[0] && lists_load(&p->whitelist, p->cfg.whitelist, &bad))
		log_warn("%s: cannot read the whitelist; replaying without it", p->cfg.whitelist);
	p->registry = registry_new(p->cfg.registry_max, p->cfg.registry_retention_s);
	p->dedup = dedup_new(p->cfg.dedup_s);
	p->lossy = lossy_new(p->cfg.registry_retention_s);
	if (!p->registry || !p->dedup || !p->lossy) {
		log_error("out of memory setting up the detections");
		return -1;
	}
	p->dx = (struct detect_ctx){
	    .cfg = &p->cfg,
	    .registry = p->registry,
	    .blacklist = &p->blacklist,
	    .whitelist = &p->whitelist,
	    .dedup = p->dedup,
	    .lossy = p->lossy,
	};
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: moat replay FILE... [--json] [--container C] [--type LIST]\n"
		"       moat replay FILE... --detect [--config F] [--container C] [--type "
		"LIST]\n"
		"Types: connect sendmsg exec exit dns_query dns_answer dns socket packet oom\n");
}

int cmd_replay(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"container", required_argument, NULL, 'c'},
	    {"type", required_argument, NULL, 't'},
	    {"detect", no_argument, NULL, 'D'},
	    {"config", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct replay p = {0};
	const char *config_path = NULL, *bad;
	int opt, err = 0;

	while ((opt = getopt_long(argc, argv, "jc:t:Df:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': p.json = 1; break;
		case 'c': p.container = optarg; break;
		case 't':
			if (event_type_mask(optarg, &p.type_mask, &bad)) {
				log_error("--type: unknown event type '%s'", bad);
				usage();
				return 2;
			}
			break;
		case 'D': p.detect = 1; break;
		case 'f': config_path = optarg; break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (optind >= argc) {
		log_error("replay: no capture file given (make one with moat trace --record FILE)");
		usage();
		return 2;
	}
	if (config_path && !p.detect) {
		log_error("--config is for --detect");
		return 2;
	}
	if (p.detect && detect_setup(&p, config_path)) {
		err = 1;
		goto cleanup;
	}
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!p.json && !p.detect)
		format_text_header(stdout);
	for (int i = optind; i < argc; i++)
		err |= replay_file(&p, argv[i]);
	if (fflush(stdout)) {
		log_error("writing the output failed: %s", strerror(errno));
		err = 1;
	}
cleanup:
	format_json_cache_free(&p.jc);
	registry_free(p.registry);
	dedup_free(p.dedup);
	lossy_free(p.lossy);
	lists_free(&p.blacklist);
	lists_free(&p.whitelist);
	return err;
}
