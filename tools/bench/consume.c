/* consume.c - the cheapest possible reader of moat's event ring buffer: it
 * counts records per event type for SECS seconds and prints the counts, and
 * does nothing else (no decode, no enrich, no output per event). It measures
 * the kernel -> userspace pipe alone; `moat trace --json` measures the real
 * decode + format path.
 *
 *   consume [SECS] [PIN_DIR]     (defaults: 10, $MOAT_PIN_DIR or /sys/fs/bpf/moat)
 *
 * Output, one line:
 *   consume events=N bytes=B secs=S rate=R cpu=C connect=.. sendmsg=.. exec=.. exit=..
 *   dns_query=.. dns_answer=.. other=..
 * (C: user + system CPU seconds of this process, for tools/bench/run.sh trace-cost)
 * Exits 0, or 1 when the ring buffer cannot be opened or read. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "moat/events.h"
#include "moat/maps.h"

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

struct counts {
	unsigned long long by_type[MOAT_EV_MAX + 1]; /* [MOAT_EV_MAX] = unknown type */
	unsigned long long events;
	unsigned long long bytes;
};

static int on_record(void *ctx, void *data, size_t len)
{
	struct counts *c = ctx;
	__u16 type =
	    len >= sizeof(struct moat_event_hdr) ? ((const struct moat_event_hdr *)data)->type : 0;

	c->by_type[type > 0 && type < MOAT_EV_MAX ? type : MOAT_EV_MAX]++;
	c->events++;
	c->bytes += len;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const names[MOAT_EV_MAX] = {
	    [MOAT_EV_CONNECT] = "connect",
	    [MOAT_EV_SENDMSG] = "sendmsg",
	    [MOAT_EV_EXEC] = "exec",
	    [MOAT_EV_EXIT] = "exit",
	    [MOAT_EV_DNS_QUERY] = "dns_query",
	    [MOAT_EV_DNS_ANSWER] = "dns_answer",
	    [MOAT_EV_SOCKET] = "socket",
	    [MOAT_EV_PACKET] = "packet",
	    [MOAT_EV_OOM] = "oom",
	};
	const char *pin_dir = getenv("MOAT_PIN_DIR");
	struct counts c = {0};
	struct ring_buffer *rb = NULL;
	char path[PATH_MAX];
	double secs = 10, start, took, cpu = 0;
	struct rusage ru;
	int fd, err = 0;

	if (argc > 1) {
		char *end;

		secs = strtod(argv[1], &end);
		if (*end != '\0' || secs <= 0) {
			fprintf(stderr, "usage: consume [SECS] [PIN_DIR]\n");
			return 2;
		}
	}
	if (argc > 2)
		pin_dir = argv[2];
	if (!pin_dir || !*pin_dir)
		pin_dir = MOAT_PIN_DIR;
	snprintf(path, sizeof(path), "%s/events", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fprintf(stderr, "consume: cannot open %s: %s (is 'moat attach' done?)\n", path,
			strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(fd, on_record, &c, NULL);
	if (!rb) {
		fprintf(stderr, "consume: ring_buffer__new on %s: %s\n", path, strerror(errno));
		close(fd);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	start = now_s();
	while (!exiting && now_s() - start < secs) {
		/* Events arrive mostly without a wakeup: drain on timeouts too. */
		int rc = ring_buffer__poll(rb, MOAT_RB_POLL_MS);

		if (rc >= 0)
			rc = ring_buffer__consume(rb);

		if (rc < 0 && rc != -EINTR) {
			fprintf(stderr, "consume: reading %s: %s\n", path, strerror(-rc));
			err = 1;
			break;
		}
	}
	ring_buffer__consume(rb); /* whatever is left: delivered, not lost */
	took = now_s() - start;
	if (!getrusage(RUSAGE_SELF, &ru))
		cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		      ru.ru_stime.tv_usec / 1e6;
	printf("consume events=%llu bytes=%llu secs=%.3f rate=%.0f cpu=%.3f", c.events, c.bytes,
	       took, took > 0 ? c.events / took : 0.0, cpu);
	for (int t = 1; t < MOAT_EV_MAX; t++)
		printf(" %s=%llu", names[t], c.by_type[t]);
	printf(" other=%llu\n", c.by_type[MOAT_EV_MAX]);
	ring_buffer__free(rb);
	close(fd);
	return err;
}
