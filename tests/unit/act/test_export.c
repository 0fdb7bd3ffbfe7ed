/* test_export.c - the ClickHouse exporter (src/act/export.c) against a real clickhouse-server
 * (Debian's 18.16, or whatever clickhouse-server is installed) started by the test on
 * 127.0.0.1: the schema, rows exactly once (count and uniqueness of the idempotency key after
 * OPTIMIZE FINAL), every column of an exec row, a retried batch not duplicated, a server
 * restart in the middle of a workload, bad URLs and a missing table (a clear state, events
 * still taken), a full spool (low-value events first, alerts kept, counted), a corrupted spool
 * file skipped by name, and the queries of docs/fleet.md. */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "export_test.h"

static char chdir_[PATH_MAX], scratch[PATH_MAX];
static int port;
static struct container_info ct;

static void conf_for(struct export_config *c, int p, const char *spool)
{
	export_config_defaults(c);
	snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d/", p);
	snprintf(c->host_id, sizeof(c->host_id), "test-host");
	snprintf(c->spool_dir, sizeof(c->spool_dir), "%s", spool);
	c->types = ~0u;
	c->batch_rows = 500;
	c->batch_ms = 50;
	c->timeout_ms = 3000;
}

static void spool_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%.3000s/%.64s", scratch, name);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Hand n events of a mix (exec, connect, dns answer) with pids from pid0. */
static void feed(struct exporter *x, int n, uint32_t pid0)
{
	struct moat_exec_event ex;
	struct moat_net_event ne;
	struct moat_dns_event de;

	for (int i = 0; i < n; i++) {
		uint32_t pid = pid0 + (uint32_t)i;

		switch (i % 3) {
		case 0:
			ev_exec(&ex, pid, "/bin/sh", "-c");
			export_event(x, &ex.hdr, sizeof(ex), &ct, NULL,
				     clock_boot_to_unix_offset());
			break;
		case 1:
			ev_connect(&ne, pid, i % 2);
			export_event(x, &ne.hdr, sizeof(ne), &ct, "evil.example",
				     clock_boot_to_unix_offset());
			break;
		default:
			ev_dns(&de, pid, "api.example.com");
			export_event(x, &de.hdr, sizeof(de), &ct, NULL,
				     clock_boot_to_unix_offset());
		}
	}
}

static long long rows(const char *table, const char *where)
{
	char q[512];

	snprintf(q, sizeof(q), "SELECT count() FROM default.%s FINAL %s%s", table,
		 where ? "WHERE " : "", where ? where : "");
	return ch_num(port, q);
}

static long long uniq_keys(const char *table)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT uniqExact(host, boot_id, seq) FROM default.%s", table);
	return ch_num(port, q);
}

static void optimize(void)
{
	free(ch_query(port, "OPTIMIZE TABLE default.moat_events FINAL"));
	free(ch_query(port, "OPTIMIZE TABLE default.moat_alerts FINAL"));
}

static void truncate_tables(void)
{
	/* 18.16 has no TRUNCATE for MergeTree: drop and create again. */
	struct export_config c;

	export_config_defaults(&c);
	free(ch_query(port, "DROP TABLE IF EXISTS default.moat_events"));
	free(ch_query(port, "DROP TABLE IF EXISTS default.moat_alerts"));
	ch_schema(port, &c);
}

static void test_schema(void)
{
	struct export_config c;
	char *s;

	export_config_defaults(&c);
	CHECK(ch_schema(port, &c) == 0, "moat export schema runs on this ClickHouse",
	      "a statement failed (stderr has it)");
	s = ch_query(port, "SELECT name FROM system.tables WHERE database = 'default' AND name "
			   "LIKE 'moat_%' ORDER BY name FORMAT TabSeparated");
	CHECK(s && !strcmp(s, "moat_alerts\nmoat_events\n"), "both tables exist", "%s", s ? s : "");
	free(s);
	s = ch_query(port, "SELECT engine FROM system.tables WHERE name = 'moat_events' FORMAT "
			   "TabSeparated");
	CHECK(s && !strcmp(s, "ReplacingMergeTree\n"), "the events table is a ReplacingMergeTree",
	      "%s", s ? s : "");
	free(s);
}

static void test_exactly_once(void)
{
	struct export_config c;
	struct exporter *x;
	struct alert a;
	char sp[PATH_MAX], *s;
	int err;

	spool_path(sp, sizeof(sp), "spool-once");
	conf_for(&c, port, sp);
	x = export_open(&c, scratch);
	CHECK(x != NULL, "the exporter starts", "%s", strerror(errno));
	if (!x)
		return;
	feed(x, 3000, 1000);
	for (int i = 0; i < 10; i++) { /* direct connections: no name explains them */
		struct moat_net_event ne;

		ev_connect(&ne, 50000 + (uint32_t)i, 0);
		export_event(x, &ne.hdr, sizeof(ne), &ct, NULL, clock_boot_to_unix_offset());
	}
	for (int i = 0; i < 10; i++) {
		ot_alert(&a, ALERT_CRITICAL, "suspicious-exec",
			 "Suspicious process detected: /bin/sh");
		snprintf(a.container_id, sizeof(a.container_id), "%s", ct.id);
		export_alert(x, &a);
		alert_release(&a);
	}
	err = export_flush(x, 30000);
	CHECK(err == 0, "the exporter delivers everything", "flush %d, state %s", err, ex_state(x));
	CHECK(ex_stat(x, "rows_sent") == 3020, "3020 rows sent", "%lld", ex_stat(x, "rows_sent"));
	CHECK(!strcmp(ex_state(x), "ok"), "the state is ok", "%s", ex_state(x));
	export_close(x);
	optimize();
	CHECK(rows("moat_events", NULL) == 3010 && uniq_keys("moat_events") == 3010,
	      "each event arrives exactly once (count and keys)", "%lld rows, %lld keys",
	      rows("moat_events", NULL), uniq_keys("moat_events"));
	CHECK(rows("moat_alerts", NULL) == 10 && uniq_keys("moat_alerts") == 10,
	      "each alert arrives exactly once", "%lld", rows("moat_alerts", NULL));
	CHECK(rows("moat_events", "type = 'exec'") == 1000 &&
		  rows("moat_events", "type = 'connect'") == 1010 &&
		  rows("moat_events", "type = 'dns_answer'") == 1000,
	      "rows per type as sent", "exec %lld", rows("moat_events", "type = 'exec'"));
	s = ch_query(port,
		     "SELECT host, container_name, image, filename, argv, comm, pid, "
		     "JSONExtractString(event, 'filename') = filename FROM default.moat_events "
		     "WHERE type = 'exec' AND pid = 1000 FORMAT TabSeparated");
	if (!s) /* 18.16 has no JSONExtract: visitParamExtractString */
		s = ch_query(port, "SELECT host, container_name, image, filename, argv, comm, pid, "
				   "visitParamExtractString(event, 'filename') = filename FROM "
				   "default.moat_events WHERE type = 'exec' AND pid = 1000 FORMAT "
				   "TabSeparated");
	CHECK(
	    s && !strcmp(s, "test-host\tweb\tnginx:1.25\t/bin/sh\t['/bin/sh','-c']\tsh\t1000\t1\n"),
	    "an exec row has its columns and the event's JSON", "%s", s ? s : "(none)");
	free(s);
	s = ch_query(port, "SELECT domain, daddr, dport, verdict FROM default.moat_events WHERE "
			   "type = 'connect' AND pid = 1001 FORMAT TabSeparated");
	CHECK(s && !strcmp(s, "evil.example\t203.0.113.233\t443\tdeny\n"),
	      "a connect row names the domain that explains it", "%s", s ? s : "(none)");
	free(s);
	s = ch_query(port, "SELECT domain, answers FROM default.moat_events WHERE type = "
			   "'dns_answer' AND pid = 1002 FORMAT TabSeparated");
	CHECK(s && !strcmp(s, "api.example.com\t['203.0.0.7']\n"),
	      "a DNS answer row has its name "
	      "and addresses",
	      "%s", s ? s : "(none)");
	free(s);
	s = ch_query(port, "SELECT severity, rule, container_name FROM default.moat_alerts LIMIT 1 "
			   "FORMAT TabSeparated");
	CHECK(s && !strcmp(s, "CRITICAL\tsuspicious-exec\tweb\n"), "an alert row has its columns",
	      "%s", s ? s : "(none)");
	free(s);
}

/* The queries of docs/fleet.md ("## Ten queries": every sql block), each run on the rows
 * exported so far: each must answer, and with at least one row. */
static void test_doc_queries(void)
{
	char path[PATH_MAX + 32], *doc, *p, *q;
	int n = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/docs/fleet.md", ot_srcdir());
	doc = ot_read(path);
	p = doc ? strstr(doc, "\n## Ten queries") : NULL;
	CHECK(p != NULL, "docs/fleet.md has its queries", "no \"## Ten queries\" in %s", path);
	if (!p) {
		free(doc);
		return;
	}
	q = strstr(p + 1, "\n## ");
	if (q)
		*q = 0;
	while ((p = strstr(p, "```sql\n"))) {
		char *end = strstr(p + 7, "```"), *sql, *ans;
		long code;

		if (!end)
			break;
		*end = 0;
		if (asprintf(&sql, "%s FORMAT TabSeparated", p + 7) < 0)
			break;
		ans = ch_query_code(port, sql, &code);
		n++;
		if (code != 200 || !ans || !*ans) {
			bad++;
			printf("# query %d answered HTTP %ld, %zu bytes: %s\n# %s\n", n, code,
			       ans ? strlen(ans) : 0, ans ? ans : "", p + 7);
		}
		free(ans);
		free(sql);
		p = end + 3;
	}
	free(doc);
	CHECK(n == 10 && !bad, "the ten queries of docs/fleet.md answer on this server, with rows",
	      "%d queries, %d failed or empty", n, bad);
}

/* A batch sent twice (moat stopped after the INSERT, before deleting the spool file) is
 * still one row per key. */
static void test_retry_no_duplicate(void)
{
	struct export_config c;
	struct exporter *x;
	char sp[PATH_MAX], keep[PATH_MAX];
	int dead = port + 1;

	truncate_tables();
	spool_path(sp, sizeof(sp), "spool-retry");
	spool_path(keep, sizeof(keep), "spool-retry-copy");
	/* Server "down" (a port nobody listens on): the batches go to the spool. */
	conf_for(&c, dead, sp);
	while (ch_num(dead, "SELECT 1") >= 0)
		dead++;
	x = export_open(&c, scratch);
	feed(x, 600, 5000);
	for (int i = 0; i < 300 && ex_stat(x, "spool_files") < 1; i++)
		ot_sleep_ms(10);
	ot_sleep_ms(200);
	export_close(x);
	CHECK(count_files(sp) >= 1, "with the server away, batches wait in the spool", "%d files",
	      count_files(sp));
	mkdir(keep, 0700);
	{
		DIR *d = opendir(sp);
		struct dirent *e;

		while (d && (e = readdir(d))) {
			char a[PATH_MAX], b[PATH_MAX], *data;

			if (e->d_name[0] == '.')
				continue;
			snprintf(a, sizeof(a), "%.3000s/%.200s", sp, e->d_name);
			snprintf(b, sizeof(b), "%.3000s/%.200s", keep, e->d_name);
			data = ot_read(a);
			if (data)
				ot_write(b, data);
			free(data);
		}
		if (d)
			closedir(d);
	}
	/* Now up: delivered; then the same files again, as after a crash before the delete. */
	for (int round = 0; round < 2; round++) {
		conf_for(&c, port, round ? keep : sp);
		x = export_open(&c, scratch);
		export_flush(x, 30000);
		export_close(x);
	}
	optimize();
	CHECK(rows("moat_events", NULL) == 600 && ch_num(port, "SELECT count() FROM "
							       "default.moat_events") == 600,
	      "after OPTIMIZE FINAL each row is there once", "%lld",
	      ch_num(port, "SELECT count() FROM default.moat_events"));
	CHECK(count_files(sp) == 0 && count_files(keep) == 0, "the spool is empty once delivered",
	      "%d + %d files", count_files(sp), count_files(keep));
}

struct feeder {
	struct exporter *x;
	int n, done;
};

static void *feeder_run(void *arg)
{
	struct feeder *f = arg;

	for (int i = 0; i < f->n; i += 100) {
		feed(f->x, 100, 100000 + (uint32_t)i);
		ot_sleep_ms(5);
	}
	f->done = 1;
	return NULL;
}

static void test_restart(void)
{
	struct export_config c;
	struct feeder f = {.n = 20000};
	pthread_t t;
	char sp[PATH_MAX];
	int again, err;

	truncate_tables();
	spool_path(sp, sizeof(sp), "spool-restart");
	conf_for(&c, port, sp);
	f.x = export_open(&c, scratch);
	pthread_create(&t, NULL, feeder_run, &f);
	ot_sleep_ms(200);
	ch_stop(chdir_); /* by its PID, in the middle of the workload */
	ot_sleep_ms(700);
	again = ch_start(chdir_);
	CHECK(again == port, "the server comes back on its port", "%d", again);
	pthread_join(t, NULL);
	err = export_flush(f.x, 60000);
	CHECK(err == 0, "after the restart everything is delivered", "state %s", ex_state(f.x));
	CHECK(ex_stat(f.x, "dropped") == 0, "nothing dropped", "%lld", ex_stat(f.x, "dropped"));
	export_close(f.x);
	optimize();
	CHECK(rows("moat_events", NULL) == 20000 && uniq_keys("moat_events") == 20000,
	      "a server restart mid-workload loses nothing and duplicates nothing",
	      "%lld rows, %lld keys", rows("moat_events", NULL), uniq_keys("moat_events"));
}

static void test_bad_urls(void)
{
	struct export_config c;
	struct exporter *x;
	char sp[PATH_MAX], st[512];
	int dead = port + 1;

	CHECK(export_url_check("http://exa mple:8123/") == -EINVAL &&
		  export_url_check("ftp://h/") == -EINVAL && export_url_check("http://") == -EINVAL,
	      "bad URL syntax is refused at configuration", "accepted");
	while (ch_num(dead, "SELECT 1") >= 0)
		dead++;
	spool_path(sp, sizeof(sp), "spool-bad");
	conf_for(&c, dead, sp);
	x = export_open(&c, scratch);
	feed(x, 30, 1);
	for (int i = 0; i < 300 && !strcmp(ex_state(x), "ok"); i++)
		ot_sleep_ms(10);
	snprintf(st, sizeof(st), "%s", ex_state(x));
	CHECK(strstr(st, "cannot reach the server") && strstr(st, "ClickHouse running"),
	      "a refused port: the state says the server cannot be reached", "%s", st);
	feed(x, 30, 100);
	CHECK(ex_stat(x, "events_handed") == 60, "events are still taken while it is down", "%lld",
	      ex_stat(x, "events_handed"));
	export_close(x);
	/* A host name curl cannot parse (passes the prefix check, fails in libcurl). */
	conf_for(&c, port, sp);
	snprintf(c.url, sizeof(c.url), "http://[::1:%d/", port);
	x = export_open(&c, scratch);
	feed(x, 3, 1);
	for (int i = 0; i < 300 && !strcmp(ex_state(x), "ok"); i++)
		ot_sleep_ms(10);
	snprintf(st, sizeof(st), "%s", ex_state(x));
	CHECK(strstr(st, "URL") != NULL, "a malformed URL: the state says so", "%s", st);
	export_close(x);
	/* A table that does not exist: HTTP 404 and ClickHouse's words. */
	conf_for(&c, port, sp);
	snprintf(c.events_table, sizeof(c.events_table), "no_such_table");
	x = export_open(&c, scratch);
	feed(x, 3, 1);
	for (int i = 0; i < 300 && !strstr(ex_state(x), "refused"); i++)
		ot_sleep_ms(10);
	snprintf(st, sizeof(st), "%s", ex_state(x));
	CHECK(strstr(st, "refused the INSERT into default.no_such_table") &&
		  strstr(st, "doesn't exist") && strstr(st, "moat export schema"),
	      "a missing table: the state quotes the server and says what to do", "%s", st);
	export_close(x);
	/* Those batches are still in the spool, delivered once the table is right. */
	conf_for(&c, port, sp);
	truncate_tables();
	x = export_open(&c, scratch);
	CHECK(export_flush(x, 30000) == 0, "what waited in the spool is delivered later", "%s",
	      ex_state(x));
	export_close(x);
	CHECK(ch_num(port, "SELECT count() FROM default.moat_events") == 66,
	      "all 66 waiting events arrive", "%lld",
	      ch_num(port, "SELECT count() FROM default.moat_events"));
}

/* A server that answers 500, then one that does not answer in time (Python's http.server,
 * tests/helpers/webhook_receiver.py): clear states, nothing lost; then it answers 200 and gets
 * every row, as JSON lines. */
static void test_500_and_slow(void)
{
	struct export_config c;
	struct exporter *x;
	char rdir[PATH_MAX], sp[PATH_MAX], ctl[PATH_MAX + 16], logf[PATH_MAX + 16], st[512];
	char *log;
	int rport = 0, lines = 0, bad = 0;
	pid_t rp;

	spool_path(rdir, sizeof(rdir), "receiver");
	mkdir(rdir, 0700);
	snprintf(ctl, sizeof(ctl), "%s/control", rdir);
	snprintf(logf, sizeof(logf), "%s/log", rdir);
	ot_write(ctl, "500\n");
	rp = ot_receiver_start(rdir, 0, &rport);
	CHECK(rp > 0, "a plain HTTP server starts", "python3 http.server in %s", rdir);
	if (rp <= 0)
		return;
	spool_path(sp, sizeof(sp), "spool-500");
	conf_for(&c, rport, sp);
	c.timeout_ms = 500;
	x = export_open(&c, scratch);
	feed(x, 30, 1);
	for (int i = 0; i < 300 && !strstr(ex_state(x), "HTTP 500"); i++)
		ot_sleep_ms(10);
	snprintf(st, sizeof(st), "%s", ex_state(x));
	CHECK(strstr(st, "HTTP 500") && strstr(st, "ClickHouse's HTTP interface"),
	      "HTTP 500: the state quotes the status and says what to check", "%s", st);
	ot_write(ctl, "hold\n");
	for (int i = 0; i < 500 && !strstr(ex_state(x), "did not answer"); i++)
		ot_sleep_ms(10);
	snprintf(st, sizeof(st), "%s", ex_state(x));
	CHECK(strstr(st, "did not answer within export.timeout_ms (500 ms)"),
	      "a server that hangs: the state says it did not answer in time", "%s", st);
	feed(x, 30, 100);
	CHECK(ex_stat(x, "events_handed") == 60, "events are taken all the while", "%lld",
	      ex_stat(x, "events_handed"));
	ot_write(ctl, "200\n");
	CHECK(export_flush(x, 30000) == 0, "once it answers 200 everything is delivered", "%s",
	      ex_state(x));
	export_close(x);
	ot_receiver_stop(rp);
	log = ot_read(logf);
	for (char *p = log; p && *p;) { /* each request: its body's rows must be JSON objects */
		char *nl = strchr(p, '\n');
		json_object *req, *body;

		if (nl)
			*nl = 0;
		req = json_tokener_parse(p);
		if (req && json_object_object_get_ex(req, "status", &body) &&
		    json_object_get_int(body) == 200 &&
		    json_object_object_get_ex(req, "body", &body)) {
			char *rows = strdup(json_object_get_string(body)), *save = NULL;

			for (char *r = strtok_r(rows, "\n", &save); r;
			     r = strtok_r(NULL, "\n", &save)) {
				json_object *o = json_tokener_parse(r);

				lines++;
				bad += !o || !json_object_is_type(o, json_type_object);
				json_object_put(o);
			}
			free(rows);
		}
		json_object_put(req);
		p = nl ? nl + 1 : NULL;
	}
	free(log);
	CHECK(lines == 60 && !bad, "the server got the 60 rows, each a JSON object on its line",
	      "%d rows, %d not JSON objects", lines, bad);
}

static void test_full_spool(void)
{
	struct export_config c;
	struct exporter *x;
	struct moat_dns_event de;
	struct moat_exec_event ex;
	struct alert a;
	char sp[PATH_MAX];
	int dead = port + 1;

	while (ch_num(dead, "SELECT 1") >= 0)
		dead++;
	truncate_tables();
	spool_path(sp, sizeof(sp), "spool-full");
	conf_for(&c, dead, sp);
	c.spool_max_mib = 1;
	c.batch_rows = 200;
	x = export_open(&c, scratch);
	/* ~1 KiB a DNS row: 4000 of them overflow 1 MiB; then execs and alerts. */
	for (int i = 0; i < 4000; i++) {
		ev_dns(&de, (uint32_t)i, "flood.example");
		export_event(x, &de.hdr, sizeof(de), &ct, NULL, clock_boot_to_unix_offset());
		if (i % 500 == 0)
			ot_sleep_ms(20);
	}
	for (int i = 0; i < 200; i++) {
		ev_exec(&ex, 9000 + (uint32_t)i, "/bin/sh", "-i");
		export_event(x, &ex.hdr, sizeof(ex), &ct, NULL, clock_boot_to_unix_offset());
	}
	for (int i = 0; i < 20; i++) {
		ot_alert(&a, ALERT_WARNING, "direct-connection", "Direct connection");
		export_alert(x, &a);
		alert_release(&a);
	}
	ot_sleep_ms(500);
	export_close(x);
	conf_for(&c, port, sp);
	c.spool_max_mib = 1;
	x = export_open(&c, scratch);
	CHECK(export_flush(x, 30000) == 0, "the spool drains when the server is back", "%s",
	      ex_state(x));
	export_close(x);
	{
		long long dns = ch_num(port, "SELECT count() FROM default.moat_events WHERE type = "
					     "'dns_answer'"),
			  exe = ch_num(port, "SELECT count() FROM default.moat_events WHERE type = "
					     "'exec'"),
			  al = ch_num(port, "SELECT count() FROM default.moat_alerts");

		CHECK(dns > 0 && dns < 4000, "a full spool gave up some low-value events",
		      "%lld of 4000 DNS answers arrived", dns);
		CHECK(exe == 200, "no exec event was given up for them", "%lld of 200", exe);
		CHECK(al == 20, "no alert was given up", "%lld of 20", al);
	}
	/* The counters said so, per type: a fresh exporter on a full spool to read them. */
	conf_for(&c, dead, sp);
	c.spool_max_mib = 1;
	x = export_open(&c, scratch);
	for (int i = 0; i < 6000; i++) {
		ev_dns(&de, (uint32_t)i, "flood.example");
		export_event(x, &de.hdr, sizeof(de), &ct, NULL, clock_boot_to_unix_offset());
		if (i % 500 == 0)
			ot_sleep_ms(20);
	}
	for (int i = 0; i < 200 && ex_stat(x, "dropped_spool.dns_answer") <= 0; i++)
		ot_sleep_ms(20);
	CHECK(ex_stat(x, "dropped_spool.dns_answer") > 0 && ex_stat(x, "dropped_spool.exec") == 0 &&
		  ex_stat(x, "dropped_spool_alerts") == 0,
	      "moat status counts what the full spool gave up, per type", "dns_answer %lld",
	      ex_stat(x, "dropped_spool.dns_answer"));
	export_close(x);
}

static void test_corrupt_spool(void)
{
	struct export_config c;
	struct exporter *x;
	char sp[PATH_MAX], bad[PATH_MAX], bad2[PATH_MAX];
	int dead = port + 1;

	while (ch_num(dead, "SELECT 1") >= 0)
		dead++;
	truncate_tables();
	spool_path(sp, sizeof(sp), "spool-corrupt");
	conf_for(&c, dead, sp);
	x = export_open(&c, scratch);
	feed(x, 900, 1);
	for (int i = 0; i < 300 && ex_stat(x, "spool_files") < 1; i++)
		ot_sleep_ms(10);
	ot_sleep_ms(300);
	export_close(x);
	/* One batch file of garbage, one with a valid header over altered rows. */
	snprintf(bad, sizeof(bad), "%.3000s/00000000000000000001.events", sp);
	ot_write(bad, "\x01\x02 not a header\n{\"x\":1}\n");
	snprintf(bad2, sizeof(bad2), "%.3000s/00000000000000000002.low", sp);
	ot_write(bad2, "{\"moat_export\":1,\"class\":\"low\",\"rows\":1,\"bytes\":9,\"crc32\":1,"
		       "\"types\":{\"dns_answer\":1}}\n{\"a\":1}\n\n");
	conf_for(&c, port, sp);
	x = export_open(&c, scratch);
	CHECK(export_flush(x, 30000) == 0, "the other batches are delivered", "%s", ex_state(x));
	CHECK(ex_stat(x, "corrupt_batches") == 2, "the corrupted files are counted", "%lld",
	      ex_stat(x, "corrupt_batches"));
	export_close(x);
	CHECK(access(bad, F_OK) && access(bad2, F_OK), "the corrupted files are removed",
	      "still there");
	CHECK(ch_num(port, "SELECT count() FROM default.moat_events") == 900,
	      "every row of the sound batches arrives", "%lld",
	      ch_num(port, "SELECT count() FROM default.moat_events"));
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	ot_tmpdir(scratch, sizeof(scratch), "export");
	snprintf(chdir_, sizeof(chdir_), "%s/clickhouse", scratch);
	ct_info(&ct, "web");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	port = ch_start(chdir_);
	CHECK(port > 0, "clickhouse-server starts on 127.0.0.1 (tools/deps.sh installs it)",
	      "tests/helpers/clickhouse.sh start failed; see %s/log", chdir_);
	if (port > 0) {
		test_schema();
		test_exactly_once();
		test_doc_queries();
		test_retry_no_duplicate();
		test_restart();
		test_bad_urls();
		test_500_and_slow();
		test_full_spool();
		test_corrupt_spool();
	}
	ch_stop(chdir_);
	if (scratch[0] && !strncmp(scratch, "/tmp/moat-test-export-", 22))
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_EXIT();
}
