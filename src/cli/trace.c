/* trace.c - `moat trace`: the decoded kernel event stream, for people and
 * for programs (JSON lines). Kernel -> ring buffer -> decode -> enrich ->
 * print; it never writes back to the kernel except to attach. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "capture.h"
#include "commands.h"
#include "cgroup.h"
#include "clock.h"
#include "event.h"
#include "format.h"
#include "inventory.h"
#include "jsonw.h"
#include "loader.h"
#include "log.h"
#include "netrules.h"
#include "preflight.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

/* JSON lines are written in batches: one write(2) per drained batch of the ring buffer, or
 * when this much is waiting. */
#define TRACE_OUT_FLUSH (256u << 10)
#define TRACE_STATS_NS	CLOCK_NS_PER_SEC /* the kernel's drop counters read once a second */
/* A drained batch smaller than this means a low rate, or one wakeup per event (execs and
 * denials force a wakeup): wait TRACE_COALESCE_NS before the next poll so the next batch
 * is bigger. Only a slow stream sleeps (a flood drains in big batches), and even 200k events/s of
 * 400 bytes fill 800 KB of the 2 MiB ring in 10 ms. */
#define TRACE_SMALL_BATCH 128
#define TRACE_COALESCE_NS (10 * 1000 * 1000)

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
	struct format_json_cache jc;	  /* the writer's per-second time cache */
	struct jsonw out;		  /* --json: lines not yet written to stdout */
	int out_broken;			  /* stdout failed (EPIPE, ...): stop */
	uint64_t by_type[MOAT_EV_MAX];	  /* events written, per type */
	uint64_t lost_base[MOAT_PROG_NR]; /* each program's drop counter when trace started */
	uint64_t lost_seen[MOAT_PROG_NR]; /* ... at the last report */
	int have_stats;
	struct capture_writer *rec; /* --record: every event printed (or, --quiet, not) */
	int quiet, rec_failed;
};

/* Write out's text to stdout (all of it, or until an error) and empty it. */
static void flush_out(struct trace_ctx *t)
{
	size_t off = 0;

	while (off < t->out.len && !t->out_broken) {
		ssize_t n = write(STDOUT_FILENO, t->out.buf + off, t->out.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (errno != EPIPE)
				log_error("writing events to stdout failed: %s", strerror(errno));
			t->out_broken = 1;
			exiting = 1;
			break;
		}
		off += (size_t)n;
	}
	jsonw_reset(&t->out);
}

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
	if (t->quiet) {
		; /* --record --quiet: recorded, not printed */
	} else if (t->json) {
		if (format_event_jsonw(&t->jc, &t->out, h, c, t->offset_ns)) {
			log_error("cannot format a %s event: out of memory",
				  event_type_name(h->type));
			return 0;
		}
		jsonw_newline(&t->out);
		if (t->out.len >= TRACE_OUT_FLUSH)
			flush_out(t);
	} else {
		format_event_text(stdout, h, c, t->offset_ns);
	}
	t->by_type[h->type]++;
	if (t->max_events && ++t->printed >= t->max_events)
		exiting = 1;
	return 0;
}

/* The event type a program's drops belong to (docs/events.md, "lost"). The exit program's
 * slot also counts oom events, the DNS egress program's the packet events of DNS responses
 * it drops: those are rare next to the type named here. */
static const char *const lost_type[MOAT_PROG_NR] = {
    [MOAT_PROG_CONNECT4] = "connect",
    [MOAT_PROG_CONNECT6] = "connect",
    [MOAT_PROG_SENDMSG4] = "sendmsg",
    [MOAT_PROG_SENDMSG6] = "sendmsg",
    [MOAT_PROG_EXEC] = "exec",
    [MOAT_PROG_EXIT] = "exit",
    [MOAT_PROG_DNS_EGRESS] = "dns_query",
    [MOAT_PROG_DNS_INGRESS] = "dns_answer",
    [MOAT_PROG_SOCK_CREATE] = "socket",
    [MOAT_PROG_BIND4] = "socket",
    [MOAT_PROG_BIND6] = "socket",
    [MOAT_PROG_VETH] = "packet",
    [MOAT_PROG_SOCKET_TP] = "socket",
    [MOAT_PROG_VETH_IN] = "packet",
};

/* Sum per event type of (now - since) over the programs; returns the total. */
static uint64_t lost_by_type(const uint64_t now[MOAT_PROG_NR], const uint64_t since[MOAT_PROG_NR],
			     const char *names[MOAT_PROG_NR], uint64_t counts[MOAT_PROG_NR], int *n)
{
	uint64_t total = 0;

	*n = 0;
	for (int p = 0; p < MOAT_PROG_NR; p++) {
		uint64_t d = now[p] - since[p];
		int i;

		if (!d)
			continue;
		for (i = 0; i < *n && strcmp(names[i], lost_type[p]); i++)
			;
		if (i == *n) {
			names[i] = lost_type[p];
			counts[i] = 0;
			(*n)++;
		}
		counts[i] += d;
		total += d;
	}
	return total;
}

/* Read the kernel's drop counters; report what was lost since the last call: a warning, and
 * with --json a {"type":"lost"} line in the stream (docs/events.md). */
static void report_drops(struct trace_ctx *t, const char *pin_dir)
{
	uint64_t vals[MOAT_STATS_SLOTS], now[MOAT_PROG_NR], counts[MOAT_PROG_NR], total;
	const char *names[MOAT_PROG_NR];
	int n;

	if (netrules_read_stats(pin_dir, vals))
		return;
	for (int p = 0; p < MOAT_PROG_NR; p++)
		now[p] = vals[p * MOAT_STAT_NR + MOAT_STAT_DROPS];
	if (!t->have_stats) {
		/* Only what is dropped from now on is trace's. */
		memcpy(t->lost_base, now, sizeof(now));
		memcpy(t->lost_seen, now, sizeof(now));
		t->have_stats = 1;
		return;
	}
	total = lost_by_type(now, t->lost_seen, names, counts, &n);
	memcpy(t->lost_seen, now, sizeof(now));
	if (!total)
		return;
	log_warn("%" PRIu64 " events dropped by the kernel: ring buffer full (consumer too slow); "
		 "see 'moat status'",
		 total);
	if (!t->json)
		return;
	{
		char ts[64];
		int64_t ns = clock_unix_ns();
		time_t sec = (time_t)(ns / CLOCK_NS_PER_SEC);
		struct tm tm;
		size_t k;

		gmtime_r(&sec, &tm);
		k = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + k, sizeof(ts) - k, ".%09lldZ", (long long)(ns % CLOCK_NS_PER_SEC));
		jsonw_obj_open(&t->out);
		jsonw_key(&t->out, "type");
		jsonw_cstr(&t->out, "lost");
		jsonw_key(&t->out, "time");
		jsonw_cstr(&t->out, ts);
		jsonw_key(&t->out, "lost");
		jsonw_u64(&t->out, total);
		jsonw_key(&t->out, "by_type");
		jsonw_obj_open(&t->out);
		for (int i = 0; i < n; i++) {
			jsonw_key(&t->out, names[i]);
			jsonw_u64(&t->out, counts[i]);
		}
		jsonw_obj_close(&t->out);
		jsonw_key(&t->out, "total");
		{
			uint64_t all = 0;

			for (int p = 0; p < MOAT_PROG_NR; p++)
				all += now[p] - t->lost_base[p];
			jsonw_u64(&t->out, all);
		}
		jsonw_obj_close(&t->out);
		jsonw_newline(&t->out);
		flush_out(t);
	}
}

/* On exit, on stderr: events written per type, what the kernel dropped per type, and trace's
 * CPU time per event (docs/performance.md section 13 reads this line). */
static void print_summary(struct trace_ctx *t, int64_t start_ns)
{
	uint64_t counts[MOAT_PROG_NR], lost = 0, written = 0;
	const char *names[MOAT_PROG_NR];
	struct rusage ru;
	double cpu = 0, secs = (double)(clock_mono_ns() - start_ns) / 1e9;
	char line[1024];
	size_t k = 0;
	int n = 0;

	for (unsigned i = 0; i < MOAT_EV_MAX; i++)
		written += t->by_type[i];
	if (!getrusage(RUSAGE_SELF, &ru))
		cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	if (t->have_stats)
		lost = lost_by_type(t->lost_seen, t->lost_base, names, counts, &n);
	k += (size_t)snprintf(line + k, sizeof(line) - k,
			      "trace: %" PRIu64 " events in %.1f s, CPU %.3f s (%.2f us/event)",
			      written, secs, cpu, written ? cpu * 1e6 / (double)written : 0.0);
	for (unsigned i = 1; i < MOAT_EV_MAX && k < sizeof(line); i++)
		if (t->by_type[i])
			k += (size_t)snprintf(line + k, sizeof(line) - k, " %s=%" PRIu64,
					      event_type_name(i), t->by_type[i]);
	if (k < sizeof(line))
		k +=
		    (size_t)snprintf(line + k, sizeof(line) - k, "; lost %" PRIu64 "%s", lost,
				     t->have_stats ? "" : " (the drop counters could not be read)");
	for (int i = 0; i < n && k < sizeof(line); i++)
		k += (size_t)snprintf(line + k, sizeof(line) - k, " %s=%" PRIu64, names[i],
				      counts[i]);
	log_info("%s", line);
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
	int64_t start, stats_at;
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
	/* Text: stdio, 64 KiB writes into a pipe or file. JSON: t.out, one write per batch. */
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!t.json)
		format_text_header(stdout);
	fflush(stdout);
	start = clock_mono_ns();
	report_drops(&t, use_pin); /* report only what is dropped from now on */
	stats_at = start;
	err = 0;
	while (!exiting) {
		/* Most events are submitted without a wakeup (see
		 * events__submit), so drain on every timeout too. */
		int rc = ring_buffer__poll(rb, MOAT_RB_POLL_MS), batch = rc;
		int64_t now;

		if (rc >= 0) {
			rc = ring_buffer__consume(rb);
			batch += rc > 0 ? rc : 0;
		}
		if (t.json)
			flush_out(&t);
		else
			fflush(stdout);
		if (rc < 0 && rc != -EINTR) {
			log_error("reading events failed: %s", strerror(-rc));
			err = 1;
			break;
		}
		now = clock_mono_ns();
		if (now - stats_at >= TRACE_STATS_NS) {
			report_drops(&t, use_pin);
			stats_at = now;
		}
		if (t.rec && capture_writer_tick(t.rec, now) && !t.rec_failed++)
			log_error("writing the capture failed; it stops here (disk full?)");
		if (duration && now - start >= duration * CLOCK_NS_PER_SEC)
			break;
		if (batch > 0 && batch < TRACE_SMALL_BATCH && !exiting) {
			struct timespec ts = {0, TRACE_COALESCE_NS};

			nanosleep(&ts, NULL); /* a signal ends it early: fine */
		}
	}
	if (!t.out_broken && !(t.max_events && t.printed >= t.max_events)) {
		/* What is already in the ring buffer was delivered, not lost. */
		ring_buffer__consume(rb);
	}
	if (t.json)
		flush_out(&t);
	else
		fflush(stdout);
	report_drops(&t, use_pin);
	print_summary(&t, start);
cleanup:
	if (t.rec && capture_writer_close(t.rec) && !t.rec_failed++)
		log_error("writing the end of the capture failed (disk full?)");
	ring_buffer__free(rb);
	if (events_fd >= 0)
		close(events_fd);
	inventory_close(&t.inv);
	format_json_cache_free(&t.jc);
	jsonw_free(&t.out);
	loader_close(&l);
	if (ephemeral)
		loader_clear(own_pin);
	return err;
}
