/* trace.c - `moat trace`: the decoded kernel event stream, for people and
 * for programs (JSON lines). Kernel -> ring buffer -> decode -> enrich ->
 * print; it never writes back to the kernel except to attach. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "commands.h"
#include "cgroup.h"
#include "clock.h"
#include "event.h"
#include "format.h"
#include "inventory.h"
#include "loader.h"
#include "log.h"
#include "netrules.h"
#include "preflight.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

struct trace_ctx {
	int json;
	uint32_t type_mask;    /* 0 = every type */
	const char *container; /* filter: name or id prefix, NULL = all */
	uint64_t container_cgid;
	long max_events; /* stop after this many printed, 0 = no limit */
	long printed;
	long malformed;
	int64_t offset_ns;
	struct inventory inv;
	struct format_json_cache jc; /* one reused json-c object per event type */
	struct capture_writer *rec;  /* --record: every event printed (or, --quiet, not) */
	int quiet, rec_failed;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct trace_ctx *t = ctx;
	const struct moat_event_hdr *h = event_decode(data, len);
	const struct container_info *c;

	if (t->max_events && t->printed >= t->max_events)
		return 0; /* --count reached: the rest of this batch is not printed */
	if (!h) {
		/* Never silently: count it and say so once in a while. */
		if (t->malformed++ % 1000 == 0)
			log_warn("ring buffer record of %zu bytes is not a valid event (%s); "
				 "is this moat older than the loaded programs?",
				 len, strerror(errno));
		return 0;
	}
	if (t->type_mask && !(t->type_mask & (1u << h->type)))
		return 0;
	c = inventory_lookup(&t->inv, h->cgroup_id);
	if (t->container) {
		if (!c && !t->container_cgid)
			return 0;
		if (t->container_cgid ? h->cgroup_id != t->container_cgid
				      : strcmp(c->name, t->container) &&
					    strncmp(c->id, t->container, strlen(t->container)))
			return 0;
	}
	if (t->rec && capture_write_event(t->rec, data, len, c) && !t->rec_failed++)
		log_error("writing the capture failed; it stops here (disk full?)");
	if (t->quiet)
		;
	else if (t->json) {
		const char *line = format_event_json_line(&t->jc, h, c, t->offset_ns);

		if (line) {
			fputs(line, stdout);
			fputc('\n', stdout);
		}
	} else {
		format_event_text(stdout, h, c, t->offset_ns);
	}
	if (t->max_events && ++t->printed >= t->max_events)
		exiting = 1;
	return 0;
}

/* Report growth of the kernel's drop counters since the last call. */
static void report_drops(const char *pin_dir, uint64_t *last, int quiet)
{
	uint64_t vals[MOAT_STATS_SLOTS], drops = 0;

	if (netrules_read_stats(pin_dir, vals))
		return;
	for (int p = 0; p < MOAT_PROG_NR; p++)
		drops += vals[p * MOAT_STAT_NR + MOAT_STAT_DROPS];
	if (drops > *last && !quiet)
		log_warn("%llu events dropped by the kernel: ring buffer full (consumer too slow); "
			 "see 'moat status'",
			 (unsigned long long)(drops - *last));
	*last = drops;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: moat trace [--json] [--container NAME|ID] [--type exec,connect,dns,...]\n"
		"                  [--cgroup PATH]... [--count N] [--duration SEC]\n"
		"                  [--record FILE [--record-size N] [--record-time D] [--quiet]]\n"
		"Types: connect sendmsg exec exit dns_query dns_answer dns\n");
}

int cmd_trace(int argc, char **argv, const char *pin_dir)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"container", required_argument, NULL, 'c'},
	    {"type", required_argument, NULL, 't'},
	    {"cgroup", required_argument, NULL, 'g'},
	    {"count", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"record", required_argument, NULL, 'w'},
	    {"record-size", required_argument, NULL, 'S'},
	    {"record-time", required_argument, NULL, 'T'},
	    {0},
	};

	static char given[CGROUP_MAX_PARENTS][4096], cgroups[CGROUP_MAX_PARENTS][4096];
	struct trace_ctx t = {0};
	struct loader l = {0};
	struct ring_buffer *rb = NULL;
	char cg_mount[4096], own_pin[PATH_MAX], path[PATH_MAX + 16];
	const char *use_pin = pin_dir, *bad;
	int n_given = 0, opt, err, events_fd = -1, ephemeral = 0;
	long duration = 0;
	uint64_t drops = 0;
	int64_t start;
	struct capture_opts rec = {0};

	while ((opt = getopt_long(argc, argv, "jc:t:g:n:d:qh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': t.json = 1; break;
		case 'c': t.container = optarg; break;
		case 't':
			if (event_type_mask(optarg, &t.type_mask, &bad)) {
				log_error("--type: unknown event type '%s'", bad);
				usage();
				return 2;
			}
			break;
		case 'g':
			if (n_given < CGROUP_MAX_PARENTS)
				snprintf(given[n_given++], 4096, "%s", optarg);
			break;
		case 'n': t.max_events = strtol(optarg, NULL, 10); break;
		case 'd': duration = strtol(optarg, NULL, 10); break;
		case 'w': rec.path = optarg; break;
		case 'q': t.quiet = 1; break;
		case 'S':
		case 'T':
			if (opt == 'S' ? capture_parse_size(optarg, &rec.max_bytes)
				       : capture_parse_duration(optarg, &rec.max_ns)) {
				log_error("--record-%s: '%s' is not a %s",
					  opt == 'S' ? "size" : "time", optarg,
					  opt == 'S' ? "size (100M, 1G)" : "duration (30m, 1h)");
				return 2;
			}
			break;
		default: usage(); return opt == 'h' ? 0 : 2;
		}
	}
	if (t.quiet && !rec.path) {
		log_error("--quiet prints nothing: it needs --record FILE");
		return 2;
	}
	if (preflight(cg_mount, sizeof(cg_mount)))
		return 1;

	if (!loader_attached(pin_dir)) {
		/* Nothing attached: attach for the life of this trace only, under
		 * a private pin directory that is removed at exit. */
		int n = preflight_cgroups(cg_mount, given, n_given, cgroups, CGROUP_MAX_PARENTS);

		if (n < 0)
			return 1;
		snprintf(own_pin, sizeof(own_pin), "%s-trace-%d", pin_dir, (int)getpid());
		use_pin = own_pin;
		ephemeral = 1;
		if (loader_load(&l, own_pin, 0) || loader_attach(&l, cgroups, n)) {
			err = 1;
			goto cleanup;
		}
		events_fd = dup(loader_events_fd(&l));
	} else {
		if (n_given)
			log_warn("--cgroup ignored: moat is already attached (see 'moat status')");
		snprintf(path, sizeof(path), "%s/events", pin_dir);
		events_fd = bpf_obj_get(path);
		if (events_fd < 0) {
			log_error("cannot open %s: %s (run 'moat clear' and retry)", path,
				  strerror(errno));
			return 1;
		}
	}

	t.offset_ns = clock_boot_to_unix_offset();
	rec.boot_to_unix_ns = t.offset_ns;
	if (rec.path && !(t.rec = capture_writer_open(&rec))) {
		err = 1;
		goto cleanup;
	}
	inventory_open(&t.inv, cg_mount);
	if (t.container) {
		const struct container_info *c = inventory_find(&t.inv, t.container);

		if (c && c->cgroup_id)
			t.container_cgid = c->cgroup_id;
		else
			log_warn("container '%s' not running yet; matching by name as it appears",
				 t.container);
	}
	rb = ring_buffer__new(events_fd, on_event, &t, NULL);
	if (!rb) {
		log_error("cannot read the event ring buffer: %s", strerror(errno));
		err = 1;
		goto cleanup;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, on_signal);
	/* Into a pipe or file: 64 KiB writes, flushed after every drained batch below. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!t.json)
		format_text_header(stdout);
	fflush(stdout);
	start = clock_mono_ns();
	report_drops(use_pin, &drops, 1); /* report only what is dropped from now on */
	err = 0;
	while (!exiting) {
		/* Most events are submitted without a wakeup (see
		 * events__submit), so drain on every timeout too. */
		int rc = ring_buffer__poll(rb, MOAT_RB_POLL_MS);

		if (rc >= 0)
			rc = ring_buffer__consume(rb);
		fflush(stdout);
		if (rc < 0 && rc != -EINTR) {
			log_error("reading events failed: %s", strerror(-rc));
			err = 1;
			break;
		}
		report_drops(use_pin, &drops, 0);
		if (t.rec && capture_writer_tick(t.rec, clock_mono_ns()) && !t.rec_failed++)
			log_error("writing the capture failed; it stops here (disk full?)");
		if (duration && clock_mono_ns() - start >= duration * CLOCK_NS_PER_SEC)
			break;
	}
cleanup:
	if (t.rec && capture_writer_close(t.rec) && !t.rec_failed++)
		log_error("writing the end of the capture failed (disk full?)");
	ring_buffer__free(rb);
	if (events_fd >= 0)
		close(events_fd);
	inventory_close(&t.inv);
	format_json_cache_free(&t.jc);
	loader_close(&l);
	if (ephemeral)
		loader_clear(own_pin);
	return err;
}
