/* test_registry.c - the DNS registry: explains, expiry, eviction, persistence, queries. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

int main(void)
{
	test_per_container();
	test_cname_v6_case();
	test_expiry();
	test_lru();
	test_prune();
	test_query();
	test_event();
	test_container_bound();
	test_persistence();
	test_many();
	return TEST_EXIT();
}
