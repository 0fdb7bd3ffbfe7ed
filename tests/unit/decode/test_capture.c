/* test_capture.c - capture files (src/decode/capture.c): every event type and the containers
 * through the writer and back through the reader byte for byte, rotation, and hostile files
 * (truncated, corrupted, a newer version, a record length past the limit, a decompression
 * bomb, a record cut by its frame, a bad container record), each refused or skipped with the
 * file and offset named, the rest still read. No kernel. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <zstd.h>

#include "test.h"
#include "capture.h"
#include "chain.h"
#include "config.h"
#include "format.h"
#include "registry.h"
#include "clock.h"
#include "event.h"
#include "version.h"

#define NEV 9

static char dir[64];

static union {
	struct moat_net_event net;
	struct moat_exec_event exec;
	struct moat_exit_event exit;
	struct moat_dns_event dns;
	struct moat_socket_event sock;
	struct moat_packet_event pkt;
	struct moat_oom_event oom;
} evs[NEV];
static size_t evlen[NEV];

static void hdr(struct moat_event_hdr *h, unsigned type, size_t size, uint64_t cgid, int i)
{
	h->type = (uint16_t)type;
	h->size = (uint16_t)size;
	h->cpu = 1;
	h->ts_ns = 1000000000ULL * (uint64_t)(i + 1);
	h->cgroup_id = cgid;
	h->pid = 100 + (uint32_t)i;
	h->tid = 100 + (uint32_t)i;
	snprintf(h->comm, sizeof(h->comm), "comm%d", i);
}

/* One event of every type, sizes as the kernel writes them (DNS events variable). */
static void make_events(void)
{
	memset(evs, 0, sizeof(evs));
	hdr(&evs[0].net.hdr, MOAT_EV_CONNECT, sizeof(evs[0].net), 11, 0);
	evs[0].net.family = AF_INET;
	evs[0].net.dport = 443;
	inet_pton(AF_INET, "172.29.0.1", evs[0].net.daddr);
	evlen[0] = sizeof(evs[0].net);
	hdr(&evs[1].net.hdr, MOAT_EV_SENDMSG, sizeof(evs[1].net), 11, 1);
	evs[1].net.family = AF_INET6;
	evlen[1] = sizeof(evs[1].net);
	hdr(&evs[2].exec.hdr, MOAT_EV_EXEC, sizeof(evs[2].exec), 22, 2);
	snprintf(evs[2].exec.filename, sizeof(evs[2].exec.filename), "/bin/sh");
	memcpy(evs[2].exec.args, "sh\0-c\0id\0", 9);
	evs[2].exec.args_len = 9;
	evs[2].exec.argc = 3;
	evlen[2] = sizeof(evs[2].exec);
	hdr(&evs[3].exit.hdr, MOAT_EV_EXIT, sizeof(evs[3].exit), 22, 3);
	evlen[3] = sizeof(evs[3].exit);
	hdr(&evs[4].dns.hdr, MOAT_EV_DNS_QUERY, MOAT_DNS_EVENT_SIZE(0, 0), 11, 4);
	snprintf(evs[4].dns.qname, sizeof(evs[4].dns.qname), "example.com");
	evlen[4] = MOAT_DNS_EVENT_SIZE(0, 0);
	hdr(&evs[5].dns.hdr, MOAT_EV_DNS_ANSWER, MOAT_DNS_EVENT_SIZE(2, 0), 11, 5);
	snprintf(evs[5].dns.qname, sizeof(evs[5].dns.qname), "example.com");
	evs[5].dns.n_addrs = 2;
	evs[5].dns.flags = MOAT_DNS_F_VERIFIED;
	evs[5].dns.addrs[0].family = AF_INET;
	evs[5].dns.addrs[1].family = AF_INET;
	evlen[5] = MOAT_DNS_EVENT_SIZE(2, 0);
	hdr(&evs[6].sock.hdr, MOAT_EV_SOCKET, sizeof(evs[6].sock), 33, 6); /* no container */
	evs[6].sock.family = AF_PACKET;
	evlen[6] = sizeof(evs[6].sock);
	hdr(&evs[7].pkt.hdr, MOAT_EV_PACKET, sizeof(evs[7].pkt), 11, 7);
	evlen[7] = sizeof(evs[7].pkt);
	hdr(&evs[8].oom.hdr, MOAT_EV_OOM, sizeof(evs[8].oom), 22, 8);
	evs[8].oom.anon_rss_kb = 12345;
	evlen[8] = sizeof(evs[8].oom);
}

static struct container_info web, db;
static const struct container_info *cur_container;

static const struct container_info *cur_lookup(void *ud, uint64_t cgid)
{
	return cur_container;
}

static void make_containers(void)
{
	const char *argv[] = {"nginx", "-g", "daemon off;"};

	snprintf(web.id, sizeof(web.id), "%s", "aaaaaaaaaaaa1111");
	snprintf(web.name, sizeof(web.name), "web");
	snprintf(web.image, sizeof(web.image), "nginx:latest");
	snprintf(web.state, sizeof(web.state), "running");
	web.pid = 4242;
	web.cgroup_id = 11;
	web.labels = json_tokener_parse("{\"moat.policy\":\"strict\",\"team\":\"a\"}");
	web.image_labels = json_tokener_parse("{\"team\":\"a\"}");
	web.argv = container_argv_dup(argv, 3);
	web.argc = 3;
	snprintf(web.health_cmd, sizeof(web.health_cmd), "wget -q http://localhost/");
	web.n_nets = 1;
	snprintf(web.nets[0].name, sizeof(web.nets[0].name), "bridge");
	snprintf(web.nets[0].ipv4, sizeof(web.nets[0].ipv4), "172.17.0.2");
	web.n_dns = 1;
	snprintf(web.dns[0], sizeof(web.dns[0]), "9.9.9.9");
	snprintf(db.id, sizeof(db.id), "%s", "bbbbbbbbbbbb2222");
	snprintf(db.name, sizeof(db.name), "db");
	snprintf(db.image, sizeof(db.image), "postgres");
	snprintf(db.state, sizeof(db.state), "running");
	db.labels = json_object_new_object();
	db.argv = container_argv_dup(NULL, 0);
}

static const struct container_info *owner(uint64_t cgid)
{
	return cgid == 11 ? &web : cgid == 22 ? &db : NULL;
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Write the events n times over into path, ending a frame after each round. */
static int write_capture(const char *path, int rounds, uint64_t max_bytes)
{
	struct capture_opts o = {.path = path,
				 .host_id = "host-under-test",
				 .boot_to_unix_ns = 1700000000000000000LL,
				 .max_bytes = max_bytes};
	struct capture_writer *w = capture_writer_open(&o);
	int64_t t = clock_mono_ns();

	if (!w)
		return -errno;
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < NEV; i++)
			if (capture_write_event(w, &evs[i], evlen[i],
						owner(evs[i].net.hdr.cgroup_id)))
				return -EIO;
		t += 2 * CAPTURE_FRAME_NS;
		capture_writer_tick(w, t); /* the frame ends: a second has passed */
	}
	return capture_writer_close(w);
}

/* Read path; count events that equal ours byte for byte with the right container. */
static int read_capture(const char *path, int *n_events, int *n_bad, uint64_t *errors)
{
	struct capture_reader *r = capture_open(path);
	struct capture_record rec;
	int i = 0;

	*n_events = *n_bad = 0;
	if (!r)
		return -errno;
	while (capture_next(r, &rec) > 0) {
		const struct container_info *want, *got = rec.container;

		if (rec.kind != CAPTURE_REC_EVENT)
			continue;
		/* Events come in the written order, whole rounds unless a frame was lost. */
		for (i = 0; i < NEV && (rec.len != evlen[i] || memcmp(rec.data, &evs[i], rec.len));
		     i++)
			;
		want = i < NEV ? owner(evs[i].net.hdr.cgroup_id) : NULL;
		if (i == NEV || ((uintptr_t)rec.data & 7) || !event_decode(rec.data, rec.len) ||
		    (want ? !got || strcmp(got->id, want->id) || strcmp(got->name, want->name)
			  : got != NULL))
			(*n_bad)++;
		(*n_events)++;
	}
	*errors = capture_errors(r);
	capture_close(r);
	return 0;
}

static void test_round_trip(void)
{
	char p[128];
	struct capture_reader *r;
	struct capture_record rec;
	const struct capture_header *h;
	int n, bad, seen_types = 0, checked_web = 0;
	uint64_t errs;

	path_of(p, sizeof(p), "rt.cap");
	CHECK_EQ_INT(write_capture(p, 3, 0), 0, "writer: 3 rounds of every event type written");
	CHECK(read_capture(p, &n, &bad, &errs) == 0 && n == 3 * NEV && bad == 0 && errs == 0,
	      "round trip: every event type back byte for byte, 8-aligned, with its container",
	      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);
	r = capture_open(p);
	CHECK(r != NULL, "reader opens the capture", "errno %d", errno);
	if (!r)
		return;
	h = capture_get_header(r);
	CHECK(h->version == CAPTURE_VERSION && !strcmp(h->host_id, "host-under-test") &&
		  h->boot_to_unix_ns == 1700000000000000000LL &&
		  !strcmp(h->moat_version, MOAT_VERSION) && h->kernel[0] && h->part == 0,
	      "header: version, host id, clock offset, moat version, kernel, part",
	      "v%u host '%s' off %lld moat '%s' kernel '%s' part %u", h->version, h->host_id,
	      (long long)h->boot_to_unix_ns, h->moat_version, h->kernel, h->part);
	while (capture_next(r, &rec) > 0) {
		if (rec.kind == CAPTURE_REC_EVENT)
			seen_types |= 1 << ((const struct moat_event_hdr *)rec.data)->type;
		if (rec.kind == CAPTURE_REC_EVENT && rec.container && !checked_web &&
		    !strcmp(rec.container->name, "web")) {
			const struct container_info *c = rec.container;

			checked_web = 1;
			CHECK(c->pid == 4242 && c->argc == 3 &&
				  !strcmp(c->argv[2], "daemon off;") &&
				  !strcmp(container_label(c, "moat.policy"), "strict") &&
				  container_label_from(c, "team", 0) == NULL &&
				  !strcmp(c->health_cmd, "wget -q http://localhost/") &&
				  c->n_nets == 1 && !strcmp(c->nets[0].ipv4, "172.17.0.2") &&
				  c->n_dns == 1 && !strcmp(c->image, "nginx:latest"),
			      "container record: pid, argv, labels (image's told apart), "
			      "healthcheck, "
			      "networks, DNS, image",
			      "pid %d argc %d", c->pid, c->argc);
		}
	}
	CHECK_EQ_INT(seen_types, 0x3fe, "every event type 1..9 came back");
	capture_close(r);
}

/* A container that changes (state) gets a new record; the reader switches to it. */
static void test_container_change(void)
{
	char p[128];
	struct capture_opts o = {.path = p};
	struct capture_writer *w;
	struct capture_reader *r;
	struct capture_record rec;
	struct capture_stats st;
	char states[4][16] = {{0}};
	int n = 0;

	path_of(p, sizeof(p), "change.cap");
	w = capture_writer_open(&o);
	capture_write_event(w, &evs[0], evlen[0], &web);
	capture_write_event(w, &evs[0], evlen[0], &web); /* unchanged: no new record */
	snprintf(web.state, sizeof(web.state), "paused");
	capture_write_event(w, &evs[0], evlen[0], &web);
	capture_write_event(w, &evs[0], evlen[0], NULL); /* gone */
	capture_writer_stats(w, &st);
	capture_writer_close(w);
	snprintf(web.state, sizeof(web.state), "running");
	CHECK_EQ_INT(st.containers, 3, "writer: a container record when new, changed, gone only");
	r = capture_open(p);
	while (r && capture_next(r, &rec) > 0)
		if (rec.kind == CAPTURE_REC_EVENT && n < 4)
			snprintf(states[n++], 16, "%s",
				 rec.container ? rec.container->state : "none");
	capture_close(r);
	CHECK(n == 4 && !strcmp(states[0], "running") && !strcmp(states[1], "running") &&
		  !strcmp(states[2], "paused") && !strcmp(states[3], "none"),
	      "reader: each event with the container as it was then", "%d: %s %s %s %s", n,
	      states[0], states[1], states[2], states[3]);
}

static void test_rotation(void)
{
	char p[128], p1[160], p2[160];
	int n0, n1, bad0, bad1;
	uint64_t e0, e1;
	struct stat sb;

	path_of(p, sizeof(p), "rot.cap");
	capture_part_name(p, 1, p1, sizeof(p1));
	capture_part_name(p, 2, p2, sizeof(p2));
	/* 1 byte: every frame end rotates, so one round per file. */
	CHECK_EQ_INT(write_capture(p, 2, 1), 0, "rotation by size: written");
	CHECK(stat(p1, &sb) == 0 && stat(p2, &sb) == 0, "rotation: FILE.1 and FILE.2 created",
	      "%s or %s missing", p1, p2);
	CHECK(read_capture(p, &n0, &bad0, &e0) == 0 && read_capture(p1, &n1, &bad1, &e1) == 0 &&
		  n0 == NEV && n1 == NEV && bad0 + bad1 == 0 && e0 + e1 == 0,
	      "rotation: each part self-contained (its own header and container records)",
	      "%d/%d events, %d/%d wrong", n0, n1, bad0, bad1);
	{
		struct capture_reader *r = capture_open(p1);

		CHECK(r && capture_get_header(r)->part == 1, "rotation: part number in the header",
		      "part %u", r ? capture_get_header(r)->part : 99);
		capture_close(r);
	}
}

static int slurp(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n);
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

static void spit(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	fwrite(buf, 1, len, f);
	fclose(f);
}

/* Offsets of the zstd frames in buf. */
static int frames(const uint8_t *buf, size_t len, size_t *off, int max)
{
	uint32_t jl;
	size_t p;
	int n = 0;

	memcpy(&jl, buf + 12, 4);
	p = 16 + jl;
	while (p < len && n < max) {
		size_t fl = ZSTD_findFrameCompressedSize(buf + p, len - p);

		if (ZSTD_isError(fl))
			break;
		off[n++] = p;
		p += fl;
	}
	return n;
}

static void test_hostile(void)
{
	char p[128], q[128];
	uint8_t *buf = NULL, *mod;
	size_t len = 0, off[8];
	int n, bad, nf;
	uint64_t errs;

	path_of(p, sizeof(p), "good.cap");
	path_of(q, sizeof(q), "bad.cap");
	write_capture(p, 3, 0);
	slurp(p, &buf, &len);
	nf = frames(buf, len, off, 8);
	CHECK_EQ_INT(nf, 3, "three rounds make three frames");
	mod = malloc(len + (1 << 20));

	/* Truncated in the last frame: the first two rounds, one error. */
	spit(q, buf, len - 10);
	CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 2 * NEV && bad == 0 && errs == 1,
	      "truncated capture: the whole frames read, the cut one reported",
	      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);

	/* A byte flipped inside the middle frame: frames 1 and 3 survive. */
	memcpy(mod, buf, len);
	mod[off[1] + (off[2] - off[1]) / 2] ^= 0x55;
	spit(q, mod, len);
	CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 2 * NEV && bad == 0 && errs >= 1,
	      "corrupted frame: skipped with an error, the frames after it read",
	      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);

	/* Garbage between frames. */
	memcpy(mod, buf, off[1]);
	memset(mod + off[1], 0xab, 1000);
	memcpy(mod + off[1] + 1000, buf + off[1], len - off[1]);
	spit(q, mod, len + 1000);
	CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 3 * NEV && bad == 0 && errs >= 1,
	      "garbage between frames: reported, every frame still read",
	      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);

	/* A newer format version. */
	memcpy(mod, buf, len);
	mod[8] = 99;
	spit(q, mod, len);
	errno = 0;
	CHECK(capture_open(q) == NULL && errno == ENOTSUP, "a newer format version is refused",
	      "errno %d", errno);
	/* Not a capture; a header length past the limit; a header that is not JSON. */
	spit(q, "hello world, not a capture", 26);
	CHECK(capture_open(q) == NULL && errno == EINVAL, "no magic: refused", "errno %d", errno);
	memcpy(mod, buf, len);
	mod[15] = 0x7f;
	spit(q, mod, len);
	CHECK(capture_open(q) == NULL && errno == EINVAL, "header length past the limit: refused",
	      "errno %d", errno);
	memcpy(mod, buf, len);
	mod[16] = '[';
	spit(q, mod, len);
	CHECK(capture_open(q) == NULL && errno == EINVAL, "header not a JSON object: refused",
	      "errno %d", errno);
	spit(q, buf, 20);
	CHECK(capture_open(q) == NULL && errno == EINVAL, "header cut short: refused", "errno %d",
	      errno);

	/* A crafted frame whose record claims 1 GiB, then the good frames. */
	{
		uint8_t rec[16] = {1, 0, 0, 0, 0, 0, 0, 0x40};
		size_t hl = off[0], fl = ZSTD_compress(mod + hl, 1 << 16, rec, sizeof(rec), 1);

		memcpy(mod, buf, hl);
		memcpy(mod + hl + fl, buf + hl, len - hl);
		spit(q, mod, len + fl);
		CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 3 * NEV && bad == 0 &&
			  errs == 1,
		      "record length past the limit: reported, the next frames read",
		      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);
	}
	/* A record cut by the end of its frame. */
	{
		uint8_t rec[16] = {1, 0, 0, 0, 64, 0, 0, 0};
		size_t hl = off[0], fl = ZSTD_compress(mod + hl, 1 << 16, rec, sizeof(rec), 1);

		memcpy(mod, buf, hl);
		memcpy(mod + hl + fl, buf + hl, len - hl);
		spit(q, mod, len + fl);
		CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 3 * NEV && bad == 0 &&
			  errs == 1,
		      "record cut by its frame's end: reported, the next frames read",
		      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);
	}
	/* A decompression bomb: a frame asking for a 1 GiB window. */
	{
		ZSTD_CCtx *cz = ZSTD_createCCtx();
		static uint8_t zeros[1 << 20];
		ZSTD_inBuffer ib = {zeros, sizeof(zeros), 0};
		ZSTD_outBuffer ob;
		size_t hl = off[0];

		ZSTD_CCtx_setParameter(cz, ZSTD_c_windowLog, 30);
		memcpy(mod, buf, hl);
		ob = (ZSTD_outBuffer){mod + hl, 1 << 20, 0};
		/* Fed without its size, so zstd cannot shrink the window to fit. */
		ZSTD_compressStream2(cz, &ob, &ib, ZSTD_e_continue);
		while (ZSTD_compressStream2(cz, &ob, &ib, ZSTD_e_end))
			;
		ZSTD_freeCCtx(cz);
		memcpy(mod + hl + ob.pos, buf + hl, len - hl);
		spit(q, mod, len + ob.pos);
		CHECK(read_capture(q, &n, &bad, &errs) == 0 && n == 3 * NEV && bad == 0 &&
			  errs >= 1,
		      "decompression bomb (1 GiB window): refused, the next frames read",
		      "%d events, %d wrong, %llu errors", n, bad, (unsigned long long)errs);
	}
	free(mod);
	free(buf);
}

/* A container record that is not JSON: its events show no container, reading goes on. */
static void test_bad_container(void)
{
	struct container_info c;

	CHECK(capture_container_parse("{\"id\":", 6, &c) == -EINVAL, "container JSON cut: refused",
	      "accepted");
	CHECK(capture_container_parse("[1]", 3, &c) == -EINVAL, "container JSON array: refused",
	      "accepted");
	const char *js = "{\"id\":\"x\",\"labels\":{\"a\":1,\"b\":\"s\"},\"argv\":[1,\"a\"],"
			 "\"nets\":[1,{\"name\":\"n\"}]}";

	CHECK(capture_container_parse(js, strlen(js), &c) == 0 &&
		  container_label(&c, "a") == NULL && !strcmp(container_label(&c, "b"), "s") &&
		  c.argc == 1 && c.n_nets == 1,
	      "container JSON of the wrong types: only the well-typed parts kept",
	      "argc %d nets %d", c.argc, c.n_nets);
	container_info_clear(&c);
}

static void test_parse_units(void)
{
	uint64_t sz;
	int64_t ns;

	CHECK(capture_parse_size("100M", &sz) == 0 && sz == 100ULL << 20, "--record-size 100M",
	      "%llu", (unsigned long long)sz);
	CHECK(capture_parse_size("4096", &sz) == 0 && sz == 4096, "--record-size 4096", "%llu",
	      (unsigned long long)sz);
	CHECK(capture_parse_size("0", &sz) && capture_parse_size("-1M", &sz) &&
		  capture_parse_size("1MB", &sz) && capture_parse_size("99999999999999G", &sz),
	      "--record-size refuses 0, negative, junk, overflow", "accepted");
	CHECK(capture_parse_duration("1h", &ns) == 0 && ns == 3600 * CLOCK_NS_PER_SEC &&
		  capture_parse_duration("30", &ns) == 0 && ns == 30 * CLOCK_NS_PER_SEC,
	      "--record-time 1h, 30", "%lld", (long long)ns);
	CHECK(capture_parse_duration("1w", &ns) && capture_parse_duration("", &ns),
	      "--record-time refuses unknown units", "accepted");
}

/* The capture committed under tests/data/ (made by tests/integration/test_capture.sh on a real
 * container with format version 1): every later moat must read it, print the lines the live
 * trace printed then (compared as JSON documents, so a change of the writer's spacing or
 * escaping does not matter, a change of a value does), and raise the shell alert from it. */
static void test_committed(void)
{
	struct capture_reader *r = capture_open("tests/data/capture-v1.mcap");
	FILE *f = fopen("tests/data/capture-v1.jsonl", "re");
	struct capture_record rec;
	char line[16384];
	int n = 0, same = 0, shells = 0;
	struct config cfg;
	struct detect_ctx dx = {.cfg = &cfg};
	struct dnsmatch_stats st = {0};

	CHECK(r && f, "committed capture v1 and its live trace are there", "errno %d", errno);
	if (!r || !f)
		goto out;
	config_defaults(&cfg);
	dx.registry = registry_new(0, 0);
	dx.offset_ns = capture_get_header(r)->boot_to_unix_ns;
	CHECK(capture_get_header(r)->version == 1, "committed capture: format version 1",
	      "version %u", capture_get_header(r)->version);
	while (capture_next(r, &rec) > 0) {
		const struct moat_event_hdr *h;
		json_object *want = NULL, *got = NULL;
		struct alert al[4];
		struct chain_out o;
		int na;

		if (rec.kind != CAPTURE_REC_EVENT)
			continue;
		h = event_decode(rec.data, rec.len);
		n++;
		if (!h || !fgets(line, sizeof(line), f))
			continue;
		want = json_tokener_parse(line);
		got = format_event_json(h, rec.container, capture_get_header(r)->boot_to_unix_ns);
		same += want && got && json_object_equal(want, got);
		json_object_put(want);
		json_object_put(got);
		cur_container = rec.container;
		na = chain_event(&dx, &st, cur_lookup, NULL, h, 0, al, 4, &o);
		for (int i = 0; i < na; i++) {
			shells += !strcmp(al[i].rule, "suspicious-exec");
			alert_release(&al[i]);
		}
	}
	CHECK(n > 5 && same == n, "committed capture: every event prints as the live trace did",
	      "%d of %d the same", same, n);
	CHECK(capture_errors(r) == 0, "committed capture: no damaged stretch", "%llu",
	      (unsigned long long)capture_errors(r));
	CHECK(shells >= 1, "committed capture: the detections raise the shell alert from it",
	      "%d suspicious-exec alerts", shells);
	registry_free(dx.registry);
out:
	if (f)
		fclose(f);
	capture_close(r);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/moat-test-capture-%d", (int)getpid());
	mkdir(dir, 0700);
	make_events();
	make_containers();
	test_round_trip();
	test_container_change();
	test_rotation();
	test_hostile();
	test_bad_container();
	test_parse_units();
	test_committed();
	container_info_clear(&web);
	container_info_clear(&db);
	{
		const char *names[] = {"rt.cap",    "change.cap", "rot.cap", "rot.cap.1",
				       "rot.cap.2", "good.cap",	  "bad.cap"};

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char p[160];

			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	return TEST_EXIT();
}
