/* test_registry.c - the DNS registry: explains, expiry, eviction, persistence, queries. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "log.h"
#include "registry.h"

#define C1 "1111111111111111111111111111111111111111111111111111111111111111"
#define C2 "2222222222222222222222222222222222222222222222222222222222222222"
#define T0 1700000000LL

static struct registry_addr v4(const char *s, uint32_t ttl)
{
	struct registry_addr a = {.family = AF_INET, .ttl = ttl};

	inet_pton(AF_INET, s, a.addr);
	return a;
}

static struct registry_addr v6(const char *s, uint32_t ttl)
{
	struct registry_addr a = {.family = AF_INET6, .ttl = ttl};

	inet_pton(AF_INET6, s, a.addr);
	return a;
}

/* registry_explains for a textual address; "" instead of NULL so CHECK_EQ_STR can print. */
static const char *why(struct registry *r, const char *c, const char *ip, int64_t now)
{
	uint8_t a[16] = {0};
	const char *n;
	int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;

	inet_pton(fam, ip, a);
	n = registry_explains(r, c, fam, a, now);
	return n ? n : "";
}

static int record1(struct registry *r, const char *name, const char *ip, uint32_t ttl,
		   const char *c, int64_t now)
{
	struct registry_addr a = strchr(ip, ':') ? v6(ip, ttl) : v4(ip, ttl);

	return registry_record(r, name, NULL, 0, &a, 1, c, now);
}

/* Run load with stderr captured into out (NUL-terminated). Returns load's result. */
static int load_capture(struct registry *r, const char *path, int64_t now, char *out, size_t len)
{
	char tmpl[] = "/tmp/moat-test-stderr-XXXXXX";
	int fd = mkstemp(tmpl), saved, rc;
	ssize_t n;

	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	rc = registry_load(r, path, now);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(tmpl);
	return rc;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static void test_per_container(void)
{
	struct registry *r = registry_new(100, 0);

	CHECK_EQ_INT(record1(r, "example.com", "93.184.216.34", 300, C1, T0), 0,
		     "record returns 0");
	CHECK_EQ_STR(why(r, C1, "93.184.216.34", T0 + 1), "example.com",
		     "an answer explains a connect from the container that got it");
	CHECK_EQ_STR(why(r, C2, "93.184.216.34", T0 + 1), "",
		     "another container's answer does not explain a connect");
	CHECK_EQ_STR(why(r, "", "93.184.216.34", T0 + 1), "",
		     "an answer in a container does not explain a connect from an unknown one");
	CHECK_EQ_STR(why(r, C1, "93.184.216.35", T0 + 1), "",
		     "an address no answer carried is not explained");
	record1(r, "example.com", "93.184.216.34", 300, C2, T0 + 2);
	CHECK_EQ_STR(why(r, C2, "93.184.216.34", T0 + 3), "example.com",
		     "the same answer seen by a second container explains its connects too");
	CHECK_EQ_INT(registry_count(r), 1, "one name for two containers");
	CHECK_EQ_INT(registry_addr_count(r), 2, "one index entry per (address, container)");
	record1(r, "unknown.test", "10.9.9.9", 60, "", T0);
	CHECK_EQ_STR(why(r, "", "10.9.9.9", T0), "unknown.test",
		     "answers with an unknown container explain unknown-container connects");
	registry_free(r);
}

static void test_cname_v6_case(void)
{
	struct registry *r = registry_new(100, 60);
	const char *chain[] = {"www.example.com.edgekey.net", "E1234.A.Akamaiedge.NET"};
	struct registry_addr as[] = {v4("23.1.2.3", 20), v6("2a02:26f0::1", 20)};
	json_object *q;

	CHECK_EQ_INT(registry_record(r, "WWW.Example.COM.", chain, 2, as, 2, C1, T0), 0,
		     "record with a CNAME chain");
	CHECK_EQ_STR(why(r, C1, "23.1.2.3", T0), "www.example.com",
		     "a CNAME chain's address maps back to the name asked, lowercased");
	CHECK_EQ_STR(why(r, C1, "2a02:26f0::1", T0), "www.example.com",
		     "an IPv6 (AAAA) address is explained");
	CHECK_EQ_STR(why(r, C1, "::ffff:23.1.2.3", T0), "www.example.com",
		     "an IPv4-mapped IPv6 connect matches the A record");
	CHECK_EQ_INT(registry_count(r), 2, "the asked name and the last CNAME target are names");
	q = registry_query(r, "e1234.a.akamaiedge.net", 0);
	CHECK(q && json_object_array_length(q) == 1, "the last CNAME target can be queried",
	      "%zu entries", q ? json_object_array_length(q) : 0);
	json_object_put(q);
	q = registry_query(r, "www.EXAMPLE.com", 0);
	CHECK(q && json_object_array_length(q) == 1 &&
		  strstr(json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN),
			 "\"cnames\":[\"www.example.com."
			 "edgekey.net\",\"e1234.a."
			 "akamaiedge.net\"]"),
	      "a case-insensitive name query returns the chain in order", "%s",
	      q ? json_object_to_json_string(q) : "NULL");
	json_object_put(q);
	registry_free(r);
}

static void test_expiry(void)
{
	struct registry *r = registry_new(100, 60);

	record1(r, "short.test", "192.0.2.1", 30, C1, T0);
	record1(r, "long.test", "192.0.2.2", 600, C1, T0);
	CHECK_EQ_STR(why(r, C1, "192.0.2.1", T0 + 60), "short.test",
		     "a short-TTL answer still explains within retention");
	CHECK_EQ_STR(why(r, C1, "192.0.2.1", T0 + 61), "",
		     "a short-TTL answer stops explaining after retention");
	CHECK_EQ_STR(why(r, C1, "192.0.2.2", T0 + 600), "long.test",
		     "a TTL longer than retention keeps explaining for the TTL");
	CHECK_EQ_STR(why(r, C1, "192.0.2.2", T0 + 601), "", "and stops after the TTL");
	record1(r, "short.test", "192.0.2.1", 30, C1, T0 + 100);
	CHECK_EQ_STR(why(r, C1, "192.0.2.1", T0 + 150), "short.test",
		     "a new sighting renews an expired answer");
	registry_free(r);
}

static void test_lru(void)
{
	struct registry *r = registry_new(3, 0);

	record1(r, "a.test", "198.51.100.1", 60, C1, T0);
	record1(r, "b.test", "198.51.100.2", 60, C1, T0 + 1);
	record1(r, "c.test", "198.51.100.3", 60, C1, T0 + 2);
	record1(r, "a.test", "198.51.100.1", 60, C1, T0 + 3);
	record1(r, "d.test", "198.51.100.4", 60, C1, T0 + 4);
	CHECK_EQ_INT(registry_count(r), 3, "names are bounded by max_entries");
	CHECK_EQ_STR(why(r, C1, "198.51.100.2", T0 + 5), "",
		     "the least recently seen name is evicted");
	CHECK(!strcmp(why(r, C1, "198.51.100.1", T0 + 5), "a.test") &&
		  !strcmp(why(r, C1, "198.51.100.3", T0 + 5), "c.test") &&
		  !strcmp(why(r, C1, "198.51.100.4", T0 + 5), "d.test"),
	      "recently seen names are kept", "a=%s c=%s d=%s", why(r, C1, "198.51.100.1", T0 + 5),
	      why(r, C1, "198.51.100.3", T0 + 5), why(r, C1, "198.51.100.4", T0 + 5));
	CHECK_EQ_INT(registry_addr_count(r), 3, "eviction drops the name's index entries");
	registry_free(r);
}

/* Fair share: a container at its quota of names adds no new one (a flood of unique names
 * from one container cannot evict the names the others need). */
static void test_container_quota(void)
{
	struct registry *r = registry_new(10, 0);
	char name[32], addr[32];

	registry_set_container_quota(r, 3);
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "flood%d.test", i);
		snprintf(addr, sizeof(addr), "198.51.100.%d", 10 + i);
		record1(r, name, addr, 60, C1, T0 + i);
	}
	CHECK_EQ_INT(registry_count(r), 3, "quota: the flooding container keeps 3 names");
	CHECK_EQ_INT(registry_refused(r), 5, "quota: the other 5 are refused and counted");
	record1(r, "flood0.test", "198.51.100.10", 60, C1, T0 + 9);
	CHECK_EQ_INT(registry_refused(r), 5, "quota: a name it has already is still updated");
	record1(r, "innocent.test", "203.0.113.9", 60, C2, T0 + 10);
	CHECK_EQ_STR(why(r, C2, "203.0.113.9", T0 + 11), "innocent.test",
		     "quota: another container still records its names");
	registry_free(r);
}

static void test_prune(void)
{
	struct registry *r = registry_new(100, 60);

	record1(r, "old.test", "203.0.113.1", 10, C1, T0);
	record1(r, "longttl.test", "203.0.113.2", 3600, C1, T0 + 1);
	record1(r, "new.test", "203.0.113.3", 10, C1, T0 + 100);
	CHECK_EQ_INT(registry_prune(r, T0 + 50), 0, "prune keeps names within retention");
	CHECK_EQ_INT(registry_prune(r, T0 + 120), 1, "prune drops a name past retention");
	CHECK_EQ_INT(registry_count(r), 2, "a long TTL and a recent name survive the prune");
	CHECK_EQ_STR(why(r, C1, "203.0.113.2", T0 + 120), "longttl.test",
		     "the long-TTL name still explains after a prune");
	CHECK_EQ_INT(registry_prune(r, T0 + 5000), 2, "prune drops everything expired");
	CHECK(registry_count(r) == 0 && registry_addr_count(r) == 0,
	      "an empty registry after prune", "%zu names %zu index entries", registry_count(r),
	      registry_addr_count(r));
	registry_free(r);
}

static void test_query(void)
{
	struct registry *r = registry_new(100, 0);
	json_object *q, *e, *v;

	record1(r, "api.example.com", "192.0.2.10", 60, C1, T0);
	record1(r, "cdn.example.com", "192.0.2.11", 60, C2, T0 + 1);
	record1(r, "example.com", "192.0.2.12", 60, C1, T0 + 2);
	record1(r, "other.org", "192.0.2.10", 60, C1, T0 + 3);

	q = registry_query(r, "*.example.com", 0);
	CHECK(q && json_object_array_length(q) == 2, "a suffix query matches subdomains only", "%s",
	      q ? json_object_to_json_string(q) : "NULL");
	json_object_put(q);
	q = registry_query(r, "192.0.2.10", 0);
	CHECK(q && json_object_array_length(q) == 2, "an IP query returns every name with it", "%s",
	      q ? json_object_to_json_string(q) : "NULL");
	json_object_put(q);
	q = registry_query(r, NULL, 0);
	CHECK(q && json_object_array_length(q) == 4, "an empty query returns everything", "%zu",
	      q ? json_object_array_length(q) : 0);
	json_object_put(q);
	q = registry_query(r, "", 2);
	CHECK(q && json_object_array_length(q) == 2, "limit bounds the answer", "%zu",
	      q ? json_object_array_length(q) : 0);
	json_object_put(q);
	q = registry_query(r, "nothing.test", 0);
	CHECK(q && json_object_array_length(q) == 0, "an unknown name gives an empty array", "%s",
	      q ? "" : "NULL");
	json_object_put(q);

	q = registry_query(r, "cdn.example.com", 0);
	e = q ? json_object_array_get_idx(q, 0) : NULL;
	CHECK(e && json_object_object_get_ex(e, "containers", &v) &&
		  json_object_array_length(v) == 1 &&
		  !strcmp(json_object_get_string(
			      json_object_object_get(json_object_array_get_idx(v, 0), "id")),
			  C2) &&
		  json_object_get_int64(json_object_object_get(e, "first_seen")) == T0 + 1 &&
		  json_object_get_int(json_object_object_get(e, "count")) == 1 &&
		  !strcmp(json_object_get_string(json_object_object_get(
			      json_object_array_get_idx(json_object_object_get(e, "addrs"), 0),
			      "addr")),
			  "192.0.2.11"),
	      "a query entry carries name, addrs, times, count and containers", "%s",
	      e ? json_object_to_json_string(e) : "NULL");
	json_object_put(q);
	registry_free(r);
}

static void test_event(void)
{
	struct registry *r = registry_new(100, 0);
	struct moat_dns_event *e = calloc(1, sizeof(*e));

	e->hdr.type = MOAT_EV_DNS_ANSWER;
	snprintf(e->qname, sizeof(e->qname), "event.test");
	snprintf(e->cnames[0], sizeof(e->cnames[0]), "target.test");
	e->n_cnames = 1;
	e->n_addrs = 1;
	e->addrs[0].family = AF_INET;
	e->addrs[0].ttl = 60;
	inet_pton(AF_INET, "192.0.2.77", e->addrs[0].addr);
	e->rcode = 3;
	registry_record_event(r, e, C1, T0);
	CHECK_EQ_INT(registry_count(r), 0, "an NXDOMAIN answer is not recorded");
	e->rcode = 0;
	e->hdr.type = MOAT_EV_DNS_QUERY;
	registry_record_event(r, e, C1, T0);
	CHECK_EQ_INT(registry_count(r), 0, "a query is not recorded");
	e->hdr.type = MOAT_EV_DNS_ANSWER;
	e->flags = MOAT_DNS_F_MALFORMED;
	registry_record_event(r, e, C1, T0);
	CHECK_EQ_INT(registry_count(r), 0, "an answer flagged malformed is not recorded");
	e->flags = 0;
	CHECK_EQ_INT(registry_record_event(r, e, C1, T0), 0, "an answer event is recorded");
	CHECK_EQ_STR(why(r, C1, "192.0.2.77", T0), "event.test",
		     "an answer event explains its address by the name asked");
	free(e);
	registry_free(r);
}

static void test_container_bound(void)
{
	struct registry *r = registry_new(100, 0);
	char id[32];
	json_object *q, *cs = NULL;

	for (int k = 0; k < REGISTRY_MAX_CONTAINERS + 4; k++) {
		snprintf(id, sizeof(id), "c%02d", k);
		record1(r, "shared.test", "192.0.2.99", 60, id, T0 + k);
	}
	q = registry_query(r, "shared.test", 0);
	json_object_object_get_ex(json_object_array_get_idx(q, 0), "containers", &cs);
	CHECK(cs && json_object_array_length(cs) == REGISTRY_MAX_CONTAINERS,
	      "containers per name are bounded", "%zu", cs ? json_object_array_length(cs) : 0);
	json_object_put(q);
	CHECK(!strcmp(why(r, "c00", "192.0.2.99", T0 + 30), "") &&
		  !strcmp(why(r, "c19", "192.0.2.99", T0 + 30), "shared.test"),
	      "the least recent container is the one dropped", "c00=%s c19=%s",
	      why(r, "c00", "192.0.2.99", T0 + 30), why(r, "c19", "192.0.2.99", T0 + 30));
	CHECK_EQ_INT(registry_addr_count(r), REGISTRY_MAX_CONTAINERS,
		     "a dropped container's index entries go with it");
	registry_free(r);
}

static void test_persistence(void)
{
	char dir[] = "/tmp/moat-test-registry-XXXXXX", path[256], log[4096];
	const char *chain[] = {"alias.cdn.test"};
	struct registry_addr as[] = {v4("192.0.2.1", 300), v6("2001:db8::1", 300)};
	struct registry *r = registry_new(100, 600), *r2 = registry_new(100, 600);
	const char *ips[] = {"192.0.2.1", "2001:db8::1", "192.0.2.2", "192.0.2.3"};
	const char *cs[] = {C1, C2, ""};
	int same = 1, rc;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp", "%s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/registry.json", dir);
	registry_record(r, "www.roundtrip.test", chain, 1, as, 2, C1, T0);
	record1(r, "two.test", "192.0.2.2", 60, C2, T0 + 5);
	record1(r, "gone.test", "192.0.2.3", 60, C1, T0 - 5000);
	CHECK_EQ_INT(registry_load(r2, path, T0), 0, "loading a missing file is not an error");
	CHECK_EQ_INT(registry_save(r, path), 0, "save returns 0");
	CHECK_EQ_INT(count_files(dir), 1, "atomic save leaves no temp file behind");
	CHECK_EQ_INT(registry_save(r, path), 0, "save over an existing file");
	CHECK_EQ_INT(count_files(dir), 1, "a second save leaves one file");
	CHECK_EQ_INT(access(path, R_OK), 0, "the saved file is where it was asked");

	CHECK_EQ_INT(registry_load(r2, path, T0 + 10), 0, "load returns 0");
	for (size_t c = 0; c < 3; c++)
		for (size_t i = 0; i < 4; i++)
			if (strcmp(why(r, cs[c], ips[i], T0 + 10), why(r2, cs[c], ips[i], T0 + 10)))
				same = 0;
	CHECK(same, "save then load gives the same explains results", "differs");
	CHECK_EQ_STR(why(r2, C1, "2001:db8::1", T0 + 10), "www.roundtrip.test",
		     "a loaded answer explains in its container");
	CHECK_EQ_STR(why(r2, C1, "192.0.2.2", T0 + 10), "",
		     "a loaded answer does not explain in another container");
	CHECK_EQ_INT(registry_count(r2), 3, "expired entries are not loaded");
	CHECK_EQ_INT(registry_addr_count(r2), 5, "the loaded index has the same pairs");
	registry_free(r2);

	snprintf(path, sizeof(path), "%s/bad.json", dir);
	write_file(path, "{ this is not json");
	r2 = registry_new(100, 0);
	rc = load_capture(r2, path, T0, log, sizeof(log));
	CHECK(rc == -EINVAL && strstr(log, path), "a malformed file is an error naming the file",
	      "rc %d, log: %s", rc, log);

	write_file(path,
		   "{\"moat_registry\":1,\"entries\":3}\n"
		   "{\"name\":\"good1.test\",\"addrs\":[{\"addr\":\"192.0.2.50\",\"ttl\":60}],"
		   "\"cnames\":[],\"first_seen\":1700000000,\"last_seen\":1700000000,"
		   "\"count\":1,\"containers\":[{\"id\":\"" C1 "\",\"count\":1}]}\n"
		   "{\"name\":\"bad.test\",\"addrs\":\"192.0.2.51\",\"first_seen\":1700000000,"
		   "\"last_seen\":1700000000,\"count\":1,\"containers\":[]}\n"
		   "{\"name\":\"good2.test\",\"addrs\":[{\"addr\":\"192.0.2.52\",\"ttl\":60}],"
		   "\"first_seen\":1700000000,\"last_seen\":1700000000,\"count\":1,"
		   "\"containers\":[{\"id\":\"" C1 "\",\"count\":1,\"last_seen\":1700000000,"
		   "\"seen\":{\"192.0.2.52\":1700000000}}]}\n"
		   "{\"name\":\"bad2.test\",\"addrs\":[{\"addr\":\"192.0.2.999\",\"ttl\":60}],"
		   "\"first_seen\":1700000000,\"last_seen\":1700000000,\"count\":1,"
		   "\"containers\":[]}\n");
	rc = load_capture(r2, path, T0, log, sizeof(log));
	CHECK_EQ_INT(rc, 0, "a file with bad entries still loads");
	CHECK_EQ_INT(registry_count(r2), 2, "the good entries are kept");
	CHECK(strstr(log, "bad.json: entry 2: field \"addrs\" is not an array"),
	      "a bad entry is reported with the file, entry number and field", "log: %s", log);
	CHECK(strstr(log, "entry 4: field \"addrs[0].addr\" is not an IP address"),
	      "a bad nested field is named", "log: %s", log);
	CHECK(!strcmp(why(r2, C1, "192.0.2.50", T0), "good1.test") &&
		  !strcmp(why(r2, C1, "192.0.2.52", T0), "good2.test"),
	      "good entries around a bad one explain", "%s %s", why(r2, C1, "192.0.2.50", T0),
	      why(r2, C1, "192.0.2.52", T0));
	registry_free(r2);

	snprintf(path, sizeof(path), "%s/no-such-dir/registry.json", dir);
	log_level = LOG_ERROR; /* the expected warning is not test output */
	CHECK(registry_save(r, path) < 0, "save into a missing directory fails", "returned 0");
	log_level = LOG_INFO;
	registry_free(r);
	rm_dir(dir);
}

static void test_many(void)
{
	enum { N = 100000 };
	struct registry *r = registry_new(N, 0);
	char name[64];
	int err = 0, wrong = 0;

	for (int i = 0; i < N && !err; i++) {
		struct registry_addr a = {.family = AF_INET, .ttl = 300};

		a.addr[0] = 10;
		a.addr[1] = (uint8_t)(i >> 16);
		a.addr[2] = (uint8_t)(i >> 8);
		a.addr[3] = (uint8_t)i;
		snprintf(name, sizeof(name), "host%d.example.com", i);
		err = registry_record(r, name, NULL, 0, &a, 1, (i & 1) ? C1 : C2, T0 + i / 1000);
	}
	CHECK_EQ_INT(err, 0, "100,000 records succeed");
	CHECK_EQ_INT(registry_count(r), N, "100,000 names are held");
	for (int i = 0; i < N; i++) {
		uint8_t a[16] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		const char *n = registry_explains(r, (i & 1) ? C1 : C2, AF_INET, a, T0 + 200);
		const char *o = registry_explains(r, (i & 1) ? C2 : C1, AF_INET, a, T0 + 200);

		snprintf(name, sizeof(name), "host%d.example.com", i);
		if (!n || strcmp(n, name) || o)
			wrong++;
	}
	CHECK_EQ_INT(wrong, 0, "explains is right for all 100,000 names and containers");
	registry_free(r);
}

static void test_recency(void)
{
	struct registry *r = registry_new(10000, 60);

	record1(r, "a.test", "192.0.2.30", 10, C1, T0);
	record1(r, "b.test", "192.0.2.30", 10, C1, T0);
	CHECK_EQ_STR(why(r, C1, "192.0.2.30", T0), "b.test",
		     "of two names with the same address, the one recorded last explains");
	record1(r, "a.test", "192.0.2.30", 10, C1, T0);
	CHECK_EQ_STR(why(r, C1, "192.0.2.30", T0), "a.test",
		     "seeing the older name again makes it the one that explains");
	record1(r, "c.test", "192.0.2.30", 10, C2, T0 + 1);
	CHECK_EQ_STR(why(r, C1, "192.0.2.30", T0 + 1), "a.test",
		     "another container's answer does not change which name explains");
	/* Thousands of other names make the index grow; the order must survive it. */
	for (int k = 0; k < 3000; k++) {
		char name[32], ip[32];

		snprintf(name, sizeof(name), "filler%d.test", k);
		snprintf(ip, sizeof(ip), "10.2.%d.%d", k >> 8, k & 255);
		record1(r, name, ip, 10, C1, T0);
	}
	CHECK_EQ_STR(why(r, C1, "192.0.2.30", T0 + 1), "a.test",
		     "the name seen last still explains after the index grew");
	record1(r, "long.test", "192.0.2.31", 3600, C1, T0);
	record1(r, "short.test", "192.0.2.31", 1, C1, T0 + 1);
	CHECK(!strcmp(why(r, C1, "192.0.2.31", T0 + 10), "short.test") &&
		  !strcmp(why(r, C1, "192.0.2.31", T0 + 100), "long.test"),
	      "when the latest name has expired, an older one still alive explains", "%s %s",
	      why(r, C1, "192.0.2.31", T0 + 10), why(r, C1, "192.0.2.31", T0 + 100));
	registry_free(r);
}

static void test_eviction_indexed(void)
{
	struct registry *r = registry_new(2, 0);

	record1(r, "a.test", "192.0.2.40", 60, C1, T0);
	record1(r, "b.test", "192.0.2.40", 60, C1, T0 + 1);
	record1(r, "a.test", "192.0.2.41", 60, C1, T0 + 2);
	CHECK_EQ_STR(why(r, C1, "192.0.2.40", T0 + 2), "b.test", "b.test explains before");
	record1(r, "c.test", "192.0.2.42", 60, C1, T0 + 3); /* evicts b.test */
	CHECK(registry_count(r) == 2 && !strcmp(why(r, C1, "192.0.2.40", T0 + 3), "a.test"),
	      "evicting the name that explained an address leaves the other name with it",
	      "%zu names, explains %s", registry_count(r), why(r, C1, "192.0.2.40", T0 + 3));
	CHECK_EQ_INT(registry_addr_count(r), 3, "the evicted name's index entries are gone");
	record1(r, "d.test", "192.0.2.43", 60, C1, T0 + 4); /* evicts a.test */
	CHECK(!strcmp(why(r, C1, "192.0.2.40", T0 + 4), "") &&
		  !strcmp(why(r, C1, "192.0.2.41", T0 + 4), "") &&
		  !strcmp(why(r, C1, "192.0.2.42", T0 + 4), "c.test"),
	      "an evicted name explains nothing", "%s %s %s", why(r, C1, "192.0.2.40", T0 + 4),
	      why(r, C1, "192.0.2.41", T0 + 4), why(r, C1, "192.0.2.42", T0 + 4));
	registry_free(r);
}

static void test_addr_bound(void)
{
	struct registry *r = registry_new(100, 0);
	char ip[32];
	json_object *q, *e, *addrs = NULL, *conts = NULL, *seen = NULL;

	record1(r, "many.test", "10.1.0.0", 60, C2, T0);
	for (int k = 0; k < REGISTRY_MAX_ADDRS; k++) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", k);
		record1(r, "many.test", ip, 60, C1, T0 + k);
	}
	CHECK_EQ_INT(registry_addr_count(r), REGISTRY_MAX_ADDRS + 1, "one entry per pair");
	snprintf(ip, sizeof(ip), "10.1.0.%d", REGISTRY_MAX_ADDRS);
	record1(r, "many.test", ip, 60, C1, T0 + 100);
	CHECK(!strcmp(why(r, C1, "10.1.0.0", T0 + 100), "") &&
		  !strcmp(why(r, C2, "10.1.0.0", T0 + 100), "") &&
		  !strcmp(why(r, C1, ip, T0 + 100), "many.test") &&
		  !strcmp(why(r, C2, ip, T0 + 100), "") &&
		  !strcmp(why(r, C1, "10.1.0.1", T0 + 100), "many.test"),
	      "past the address bound the least recently seen address is replaced, in every "
	      "container",
	      "%s|%s|%s|%s", why(r, C1, "10.1.0.0", T0 + 100), why(r, C2, "10.1.0.0", T0 + 100),
	      why(r, C1, ip, T0 + 100), why(r, C2, ip, T0 + 100));
	CHECK_EQ_INT(registry_addr_count(r), REGISTRY_MAX_ADDRS,
		     "the replaced address's index entries go with it");
	q = registry_query(r, "many.test", 0);
	e = q ? json_object_array_get_idx(q, 0) : NULL;
	json_object_object_get_ex(e, "addrs", &addrs);
	json_object_object_get_ex(e, "containers", &conts);
	json_object_object_get_ex(json_object_array_get_idx(conts, 0), "seen", &seen);
	CHECK(addrs && json_object_array_length(addrs) == REGISTRY_MAX_ADDRS &&
		  !strcmp(json_object_get_string(
			      json_object_object_get(json_object_array_get_idx(addrs, 0), "addr")),
			  ip) &&
		  seen && json_object_object_length(seen) == 0,
	      "the new address takes the replaced one's place; the other container saw none", "%s",
	      e ? json_object_to_json_string(e) : "NULL");
	json_object_put(q);
	registry_free(r);
}

/* A name with the full REGISTRY_MAX_ADDRS addresses of each family survives save and load. */
static void test_both_families_full(void)
{
	char dir[] = "/tmp/moat-test-registry-XXXXXX", path[256], ip[64];
	struct registry *r = registry_new(100, 600), *r2 = registry_new(100, 600);
	int ok = 1;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp", "%s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "%s/registry.json", dir);
	for (int k = 0; k < REGISTRY_MAX_ADDRS; k++) {
		snprintf(ip, sizeof(ip), "10.2.0.%d", k);
		record1(r, "dual.test", ip, 300, C1, T0);
		snprintf(ip, sizeof(ip), "2001:db8::%x", k + 1);
		record1(r, "dual.test", ip, 300, C1, T0);
	}
	CHECK_EQ_INT(registry_save(r, path), 0, "a name with 32 IPv4 and 32 IPv6 addresses saves");
	CHECK_EQ_INT(registry_load(r2, path, T0), 0, "and loads");
	for (int k = 0; k < REGISTRY_MAX_ADDRS && ok; k++) {
		snprintf(ip, sizeof(ip), "10.2.0.%d", k);
		ok = !strcmp(why(r2, C1, ip, T0), "dual.test");
		snprintf(ip, sizeof(ip), "2001:db8::%x", k + 1);
		ok = ok && !strcmp(why(r2, C1, ip, T0), "dual.test");
	}
	CHECK(ok, "after the load every one of the 64 addresses still explains its connects",
	      "%s not explained", ip);
	registry_free(r);
	registry_free(r2);
	unlink(path);
	rmdir(dir);
}

static void test_cid_release(void)
{
	struct registry *r = registry_new(10, 0);
	char id[32];
	int err = 0;

	/* More distinct ids than can be interned at once (65,534): only works if evicted
	 * names and dropped container slots release theirs. */
	for (int k = 0; k < 70000 && !err; k++) {
		snprintf(id, sizeof(id), "evicted-%d", k);
		err = record1(r, k & 1 ? "x.test" : "y.test", "192.0.2.60", 60, id, T0);
		if (!err) {
			snprintf(id, sizeof(id), "name-%d", k);
			err = record1(r, id, "192.0.2.61", 60, "c", T0);
		}
	}
	CHECK_EQ_INT(err, 0, "container ids are released with their last name or slot");
	CHECK(!strcmp(why(r, "evicted-69999", "192.0.2.60", T0), "x.test") &&
		  !strcmp(why(r, "evicted-0", "192.0.2.60", T0), "") &&
		  !strcmp(why(r, "c", "192.0.2.61", T0), "name-69999"),
	      "a released container id explains nothing, a kept one still does", "%s %s",
	      why(r, "evicted-69999", "192.0.2.60", T0), why(r, "evicted-0", "192.0.2.60", T0));
	registry_free(r);
}

static void test_pair_times(void)
{
	struct registry *r = registry_new(100, 60);
	struct registry_addr ab[] = {v4("192.0.2.70", 10), v4("192.0.2.71", 10)};
	json_object *q;
	const char *s;

	registry_record(r, "rot.test", NULL, 0, ab, 2, C1, T0);
	registry_record(r, "rot.test", NULL, 0, ab, 1, C1, T0 + 100);
	registry_record(r, "rot.test", NULL, 0, ab, 1, C2, T0 + 100);
	CHECK(!strcmp(why(r, C1, "192.0.2.70", T0 + 120), "rot.test") &&
		  !strcmp(why(r, C1, "192.0.2.71", T0 + 120), "") &&
		  !strcmp(why(r, C2, "192.0.2.71", T0 + 100), ""),
	      "an address a later answer left out expires from its own sighting", "%s %s %s",
	      why(r, C1, "192.0.2.70", T0 + 120), why(r, C1, "192.0.2.71", T0 + 120),
	      why(r, C2, "192.0.2.71", T0 + 100));
	q = registry_query(r, "rot.test", 0);
	s = q ? json_object_to_json_string_ext(q, JSON_C_TO_STRING_PLAIN) : "NULL";
	CHECK(strstr(s, "\"last_seen\":1700000100,\"count\":3,") &&
		  strstr(s, "\"count\":2,\"last_seen\":1700000100,\"seen\":{\"192.0.2.70\":"
			    "1700000100,\"192.0.2.71\":1700000000}}") &&
		  strstr(s, "\"count\":1,\"last_seen\":1700000100,\"seen\":{\"192.0.2.70\":"
			    "1700000100}}") &&
		  strstr(s, "{\"addr\":\"192.0.2.71\",\"ttl\":10,\"last_seen\":1700000000}"),
	      "the query shows each container's own sightings and counts", "%s", s);
	json_object_put(q);
	registry_free(r);
}

/* Written by the registry before its compact layout (v1 file): must load and save the same. */
static const char old_file[] =
    "{\"moat_registry\":1,\"entries\":4}\n"
    "{\"name\":\"edge.cdn.test\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":300,\"last_seen\":"
    "1700000060},{\"addr\":\"2001:db8::1\",\"ttl\":30,\"last_seen\":1700000000}],\"cnames\":[],"
    "\"first_seen\":1700000000,\"last_seen\":1700000060,\"count\":3,\"containers\":[{\"id\":"
    "\"" C1 "\",\"count\":2,\"last_seen\":1700000050,\"seen\":{\"192.0.2.1\":1700000050,"
    "\"2001:db8::1\":1700000000}},{\"id\":\"" C2 "\",\"count\":1,\"last_seen\":1700000060,"
    "\"seen\":{\"192.0.2.1\":1700000060}}]}\n"
    "{\"name\":\"www.example.test\",\"addrs\":[{\"addr\":\"192.0.2.1\",\"ttl\":300,\"last_seen\":"
    "1700000060},{\"addr\":\"2001:db8::1\",\"ttl\":30,\"last_seen\":1700000000}],\"cnames\":["
    "\"www.example.test.cdn.test\",\"edge.cdn.test\"],\"first_seen\":1700000000,\"last_seen\":"
    "1700000060,\"count\":3,\"containers\":[{\"id\":\"" C1 "\",\"count\":2,\"last_seen\":"
    "1700000050,\"seen\":{\"192.0.2.1\":1700000050,\"2001:db8::1\":1700000000}},{\"id\":"
    "\"" C2 "\",\"count\":1,\"last_seen\":1700000060,\"seen\":{\"192.0.2.1\":1700000060}}]}\n"
    "{\"name\":\"plain.test\",\"addrs\":[{\"addr\":\"198.51.100.7\",\"ttl\":60,\"last_seen\":"
    "1700000080}],\"cnames\":[],\"first_seen\":1700000070,\"last_seen\":1700000080,\"count\":2,"
    "\"containers\":[{\"id\":\"\",\"count\":1,\"last_seen\":1700000070,\"seen\":{"
    "\"198.51.100.7\":1700000070}},{\"id\":\"" C2 "\",\"count\":1,\"last_seen\":1700000080,"
    "\"seen\":{\"198.51.100.7\":1700000080}}]}\n"
    "{\"name\":\"edited.test\",\"addrs\":[{\"addr\":\"198.51.100.8\",\"ttl\":60,\"last_seen\":"
    "1700000085}],\"cnames\":[],\"first_seen\":1600000000,\"last_seen\":1700000090,\"count\":7,"
    "\"containers\":[{\"id\":\"" C1 "\",\"count\":1,\"last_seen\":1700000085,\"seen\":{"
    "\"198.51.100.8\":1700000085}}]}\n";

static void test_load_old_file(void)
{
	char dir[] = "/tmp/moat-test-registry-XXXXXX", in[256], out[256], buf[8192];
	struct registry *r = registry_new(100, 600);
	FILE *f;
	size_t n = 0;

	if (!mkdtemp(dir)) {
		CHECK(0, "mkdtemp", "%s", strerror(errno));
		return;
	}
	snprintf(in, sizeof(in), "%s/old.json", dir);
	snprintf(out, sizeof(out), "%s/new.json", dir);
	write_file(in, old_file);
	CHECK_EQ_INT(registry_load(r, in, T0 + 100), 0, "a file from the previous layout loads");
	CHECK(registry_count(r) == 4 && registry_addr_count(r) == 9,
	      "with every name and (address, container) pair", "%zu names, %zu pairs",
	      registry_count(r), registry_addr_count(r));
	registry_save(r, out);
	f = fopen(out, "r");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	CHECK(!strcmp(buf, old_file), "loading and saving it again writes the same file", "%s",
	      buf);
	CHECK(!strcmp(why(r, C1, "2001:db8::1", T0 + 600), "www.example.test") &&
		  !strcmp(why(r, C1, "2001:db8::1", T0 + 601), "") &&
		  !strcmp(why(r, C1, "192.0.2.1", T0 + 601), "www.example.test") &&
		  !strcmp(why(r, C2, "2001:db8::1", T0 + 100), "") &&
		  !strcmp(why(r, "", "198.51.100.7", T0 + 100), "plain.test"),
	      "its per-container sightings explain as they did", "%s %s %s %s",
	      why(r, C1, "2001:db8::1", T0 + 600), why(r, C1, "2001:db8::1", T0 + 601),
	      why(r, C1, "192.0.2.1", T0 + 601), why(r, C2, "2001:db8::1", T0 + 100));
	registry_free(r);
	rm_dir(dir);
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void test_prune_compacts(void)
{
	enum { N = 30000, KEEP = 1000 };
	struct registry *r = registry_new(N, 60);
	char name[160];
	size_t full, after;
	int wrong = 0;
	json_object *q;

	for (int i = 0; i < N; i++) {
		struct registry_addr a = {.family = AF_INET, .ttl = 10};

		a.addr[0] = 10;
		a.addr[1] = (uint8_t)(i >> 16);
		a.addr[2] = (uint8_t)(i >> 8);
		a.addr[3] = (uint8_t)i;
		snprintf(name, sizeof(name), "a-rather-long-name-to-take-some-room-%d.example.test",
			 i);
		registry_record(r, name, NULL, 0, &a, 1, C1, i < N - KEEP ? T0 : T0 + 1000);
	}
	full = heap_used();
	CHECK_EQ_INT(registry_prune(r, T0 + 1000), N - KEEP, "prune drops the old names");
	after = heap_used();
	CHECK(after < full / 2, "a prune that drops most names gives their memory back",
	      "%zu bytes before, %zu after", full, after);
	for (int i = N - KEEP; i < N; i++) {
		uint8_t a[16] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		const char *n = registry_explains(r, C1, AF_INET, a, T0 + 1000);

		snprintf(name, sizeof(name), "a-rather-long-name-to-take-some-room-%d.example.test",
			 i);
		if (!n || strcmp(n, name))
			wrong++;
	}
	CHECK_EQ_INT(wrong, 0, "the names kept still explain after the memory is reorganized");
	record1(r, "after.test", "192.0.2.80", 60, C2, T0 + 1001);
	q = registry_query(r, "", 2);
	CHECK(q && json_object_array_length(q) == 2 && registry_count(r) == KEEP + 1 &&
		  !strcmp(why(r, C2, "192.0.2.80", T0 + 1001), "after.test"),
	      "and new names are recorded after it", "%s",
	      q ? json_object_to_json_string(q) : "NULL");
	json_object_put(q);
	registry_free(r);
}

int main(void)
{
	test_per_container();
	test_cname_v6_case();
	test_expiry();
	test_lru();
	test_container_quota();
	test_prune();
	test_query();
	test_event();
	test_container_bound();
	test_persistence();
	test_recency();
	test_eviction_indexed();
	test_addr_bound();
	test_both_families_full();
	test_cid_release();
	test_pair_times();
	test_load_old_file();
	test_prune_compacts();
	test_many();
	return TEST_EXIT();
}
