/* test_export_spool.c - the exporter's spool (src/act/export_spool.c) on real files: batches
 * come back oldest first and byte for byte; the spool survives a reopen; a full spool gives up
 * the oldest low-value batches first, then other events, never alerts for events, and counts
 * the rows per type; a batch worth less than everything in a full spool is itself given up;
 * hostile files (garbage, a torn file, a changed row, a lying header, a symlink, a directory,
 * an unrelated name) are refused by name and the others go on. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#include "export_int.h"
#include "log.h"
#include "output_test.h"

static char dir[PATH_MAX];

/* A batch of class cls with n rows of event type t (alerts: t ignored), each row tagged. */
static struct export_batch *mk(uint64_t id, int cls, unsigned t, int n, const char *tag)
{
	struct export_batch *b = calloc(1, sizeof(*b));
	FILE *m = open_memstream(&b->buf, &b->len);

	for (int i = 0; i < n; i++)
		fprintf(m, "{\"tag\":\"%s\",\"i\":%d,\"pad\":\"%0200d\"}\n", tag, i, 0);
	fclose(m);
	b->cap = b->len;
	b->id = id;
	b->cls = cls;
	b->rows = (uint32_t)n;
	if (cls != EXPORT_CLS_ALERTS)
		b->types[t] = (uint32_t)n;
	return b;
}

static int put(struct export_spool *s, struct export_batch *b)
{
	int err = export_spool_write(s, b);

	export_batch_free(b);
	return err;
}

/* Take every batch, oldest first: their first rows' tags joined by ' ' into out. */
static void drain(struct export_spool *s, char *out, size_t n)
{
	struct export_batch *b;
	size_t used = 0;

	out[0] = 0;
	while (export_spool_oldest(s, &b) == 0) {
		const char *t = strstr(b->buf, "\"tag\":\"");
		int len = t ? (int)strcspn(t + 7, "\"") : 1;

		used += (size_t)snprintf(out + used, n - used, "%s%.*s", used ? " " : "", len,
					 t ? t + 7 : "?");
		export_spool_remove(s, b->id);
		export_batch_free(b);
	}
}

static void test_order_and_reopen(void)
{
	struct export_spool *s = export_spool_open(dir, 64 << 20);
	struct export_batch *b, *orig = mk(30, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 5, "c");
	char got[256];

	CHECK(s != NULL, "the spool opens (and makes its directory)", "%s", strerror(errno));
	put(s, mk(20, EXPORT_CLS_LOW, MOAT_EV_DNS_ANSWER, 3, "b"));
	export_spool_write(s, orig);
	put(s, mk(10, EXPORT_CLS_ALERTS, 0, 2, "a"));
	export_spool_close(s);
	s = export_spool_open(dir, 64 << 20);
	CHECK(export_spool_oldest(s, &b) == 0 && b->id == 10 && b->rows == 2,
	      "after a reopen the oldest batch comes first", "id %llu",
	      (unsigned long long)(b ? b->id : 0));
	export_batch_free(b);
	export_spool_remove(s, 10);
	export_spool_remove(s, 20);
	CHECK(export_spool_oldest(s, &b) == 0 && b->len == orig->len &&
		  !memcmp(b->buf, orig->buf, b->len) && b->types[MOAT_EV_EXEC] == 5,
	      "a batch comes back byte for byte with its rows per type", "len %zu", b ? b->len : 0);
	export_batch_free(b);
	export_batch_free(orig);
	drain(s, got, sizeof(got));
	CHECK(export_spool_oldest(s, &b) == -ENOENT, "then the spool is empty", "not empty");
	export_spool_close(s);
}

static void test_full(void)
{
	struct export_spool *s;
	struct export_spool_stats st;
	char got[256];
	int err;

	/* Each batch: 10 rows of ~225 bytes plus a header, ~2.4 KiB; the cap holds 4. */
	s = export_spool_open(dir, 10 * 1024);
	put(s, mk(1, EXPORT_CLS_ALERTS, 0, 10, "alert1"));
	put(s, mk(2, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 10, "exec2"));
	put(s, mk(3, EXPORT_CLS_LOW, MOAT_EV_DNS_ANSWER, 10, "dns3"));
	put(s, mk(4, EXPORT_CLS_LOW, MOAT_EV_DNS_QUERY, 10, "dns4"));
	put(s, mk(5, EXPORT_CLS_EVENTS, MOAT_EV_CONNECT, 10, "conn5"));
	export_spool_stats(s, &st);
	CHECK(st.dropped[MOAT_EV_DNS_ANSWER] == 10 && st.dropped_batches == 1,
	      "full: the oldest low-value batch goes first, its rows counted by type",
	      "dns_answer %llu, batches %llu", (unsigned long long)st.dropped[MOAT_EV_DNS_ANSWER],
	      (unsigned long long)st.dropped_batches);
	put(s, mk(6, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 10, "exec6"));
	put(s, mk(7, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 10, "exec7"));
	export_spool_stats(s, &st);
	CHECK(st.dropped[MOAT_EV_DNS_QUERY] == 10 && st.dropped[MOAT_EV_EXEC] == 10 &&
		  st.dropped_alerts == 0,
	      "then the next low one, then the oldest other events; alerts stay",
	      "dns_query %llu, exec %llu, alerts %llu",
	      (unsigned long long)st.dropped[MOAT_EV_DNS_QUERY],
	      (unsigned long long)st.dropped[MOAT_EV_EXEC], (unsigned long long)st.dropped_alerts);
	err = put(s, mk(8, EXPORT_CLS_LOW, MOAT_EV_EXIT, 10, "exit8"));
	export_spool_stats(s, &st);
	CHECK(err == -ENOSPC && st.dropped[MOAT_EV_EXIT] == 10,
	      "a low-value batch never pushes out more valuable ones: it is given up itself",
	      "err %d", err);
	put(s, mk(9, EXPORT_CLS_ALERTS, 0, 10, "alert9"));
	put(s, mk(11, EXPORT_CLS_ALERTS, 0, 10, "alert11"));
	put(s, mk(12, EXPORT_CLS_ALERTS, 0, 10, "alert12"));
	export_spool_stats(s, &st);
	CHECK(st.dropped_alerts == 0 && st.bytes <= 10 * 1024,
	      "alerts push out events before any alert goes", "alerts dropped %llu, bytes %llu",
	      (unsigned long long)st.dropped_alerts, (unsigned long long)st.bytes);
	put(s, mk(13, EXPORT_CLS_ALERTS, 0, 10, "alert13"));
	drain(s, got, sizeof(got));
	export_spool_stats(s, &st);
	CHECK(!strcmp(got, "alert9 alert11 alert12 alert13") && st.dropped_alerts == 10,
	      "only a spool of alerts gives up an alert: the oldest", "left: %s", got);
	export_spool_close(s);
}

static void write_file(const char *name, const char *text, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

static void test_hostile(void)
{
	struct export_spool *s;
	struct export_spool_stats st;
	struct export_batch *b;
	char got[256], path[PATH_MAX + 64], log[4096], hdr[512], *text;
	int n, fd, saved;

	s = export_spool_open(dir, 64 << 20);
	put(s, mk(100, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 3, "good100"));
	put(s, mk(300, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 3, "good300"));
	put(s, mk(200, EXPORT_CLS_EVENTS, MOAT_EV_EXEC, 3, "changed200"));
	export_spool_close(s);
	/* A row of batch 200 changed on disk (same length): the checksum catches it. */
	snprintf(path, sizeof(path), "%s/00000000000000000200.events", dir);
	text = ot_read(path);
	if (text && strstr(text, "changed200"))
		memcpy(strstr(text, "changed200"), "CHANGED200", 10);
	if (text)
		write_file("00000000000000000200.events", text, strlen(text));
	free(text);
	write_file("00000000000000000050.events", "garbage\x01\x02", 9);
	n = snprintf(hdr, sizeof(hdr),
		     "{\"moat_export\":1,\"class\":\"events\",\"rows\":3,\"bytes\":10,\"crc32\":0,"
		     "\"types\":{\"exec\":3}}\n{\"a\":1}\n");
	write_file("00000000000000000060.events", hdr, (size_t)n - 4); /* torn */
	n = snprintf(hdr, sizeof(hdr),
		     "{\"moat_export\":1,\"class\":\"alerts\",\"rows\":3,\"bytes\":8,\"crc32\":0,"
		     "\"types\":{}}\n{\"a\":1}\n");
	write_file("00000000000000000070.events", hdr, (size_t)n); /* class lies */
	n = snprintf(hdr, sizeof(hdr),
		     "{\"moat_export\":1,\"class\":\"events\",\"rows\":3,\"bytes\":8,\"crc32\":0,"
		     "\"types\":{\"nosuchtype\":3}}\n{\"a\":1}\n");
	write_file("00000000000000000080.events", hdr, (size_t)n);
	snprintf(path, sizeof(path), "%s/00000000000000000090.events", dir);
	if (symlink("/etc/passwd", path))
		printf("# symlink: %s\n", strerror(errno));
	snprintf(path, sizeof(path), "%s/00000000000000000095.low", dir);
	mkdir(path, 0700);
	write_file("notes.txt", "not a batch\n", 12);
	/* What moat logs (stderr) while it reads them. */
	snprintf(path, sizeof(path), "%s/../log", dir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd, STDERR_FILENO);
	s = export_spool_open(dir, 64 << 20);
	drain(s, got, sizeof(got));
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	text = ot_read(path);
	snprintf(log, sizeof(log), "%s", text ? text : "");
	free(text);
	export_spool_stats(s, &st);
	CHECK(!strcmp(got, "good100 good300"), "the sound batches come back, in order", "got: %s",
	      got);
	CHECK(st.corrupt == 7, "each hostile file is refused and counted", "%llu",
	      (unsigned long long)st.corrupt);
	CHECK(strstr(log, "00000000000000000050.events: no readable header line") &&
		  strstr(log, "00000000000000000200.events: the rows' checksum does not match") &&
		  strstr(log, "00000000000000000070.events: the header's class differs") &&
		  strstr(log, "00000000000000000080.events: the header's types name an unknown") &&
		  strstr(log, "00000000000000000060.events: the file is shorter or longer") &&
		  strstr(log, "00000000000000000090.events: no readable header line"),
	      "each refusal names the file and says why", "log: %s", log);
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	CHECK(access(path, F_OK) == 0, "a file that is not a batch's is left alone", "gone");
	CHECK(access("/etc/passwd", F_OK) == 0, "a symlink's target is not touched", "gone");
	CHECK(export_spool_oldest(s, &b) == -ENOENT, "nothing else comes back", "more");
	export_spool_close(s);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	char base[PATH_MAX];

	setvbuf(stdout, NULL, _IOLBF, 0);
	ot_tmpdir(base, sizeof(base), "spool");
	snprintf(dir, sizeof(dir), "%.3000s/a/spool", base);
	log_level = LOG_WARN;
	test_order_and_reopen();
	test_full();
	test_hostile();
	if (!strncmp(base, "/tmp/moat-test-spool-", 21))
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_EXIT();
}
