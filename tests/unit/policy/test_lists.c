/* test_lists.c - IP/CIDR list files: format, bad lines, longest-prefix match, reload. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/socket.h>

#include "test.h"
#include "lists.h"
#include "log.h"

static char tmpdir[] = "/tmp/moat-test-lists-XXXXXX";

/* The text of the entry that addr (v4 or v6 text) matches, or "none". */
static const char *match(const struct iplist *l, const char *addr)
{
	uint8_t a[16] = {0};
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	const struct iplist_entry *e;

	if (inet_pton(family, addr, a) != 1)
		return "(bad test address)";
	e = iplist_entry(l, iplist_contains(l, family, a));
	return e ? e->text : "none";
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		perror(path);
	if (fd >= 0)
		close(fd);
}

static char captured[16384];

/* lists_load with stderr captured into `captured`. */
static int load_captured(struct iplist *l, const char *path, int *n_bad)
{
	char cpath[256];
	int fd, saved, err;
	ssize_t n;

	snprintf(cpath, sizeof(cpath), "%s/stderr", tmpdir);
	fd = open(cpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	saved = dup(2);
	fflush(stderr);
	dup2(fd, 2);
	err = lists_load(l, path, n_bad);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, captured, sizeof(captured) - 1, 0);
	captured[n > 0 ? n : 0] = 0;
	close(fd);
	return err;
}

static void test_format(void)
{
	static const char text[] = "# blacklist\n"			       /* 1 */
				   "\n"					       /* 2 */
				   "   10.0.0.0/8   \n"			       /* 3 */
				   "10.1.0.0/16 # the lab\n"		       /* 4 */
				   "\t192.0.2.7\r\n"			       /* 5 */
				   "2001:db8::/32\n"			       /* 6 */
				   "2001:db8:1::/48#no space before comment\n" /* 7 */
				   "10.0.0.300\n"			       /* 8 */
				   "1.2.3.4/33\n"			       /* 9 */
				   "hello\n"				       /* 10 */
				   "1.2.3.4 5.6.7.8\n"			       /* 11 */
				   "   # indented comment\n"		       /* 12 */
				   "10.0.0.0/8\n"			       /* 13: duplicate */
				   "172.16.5.4/12\n"			       /* 14: host bits */
				   "::1";				       /* 15: no newline */
	char path[256], want[400];
	struct iplist l = {0};
	int bad = -1, err;

	snprintf(path, sizeof(path), "%s/black.list", tmpdir);
	write_file(path, text);
	err = load_captured(&l, path, &bad);
	CHECK_EQ_INT(err, 0, "a list with bad lines still loads");
	CHECK_EQ_INT(bad, 4, "bad lines are counted");
	CHECK_EQ_INT(l.n, 7, "good lines loaded once each (duplicate dropped)");
	snprintf(want, sizeof(want), "%s:8: not an IPv4/IPv6 address or CIDR (10.0.0.300)", path);
	CHECK(strstr(captured, want) != NULL, "bad address named path:line: reason (text)",
	      "stderr:\n%s", captured);
	snprintf(want, sizeof(want), "%s:9: prefix length out of range", path);
	CHECK(strstr(captured, want) != NULL, "bad prefix length named", "stderr:\n%s", captured);
	snprintf(want, sizeof(want), "%s:10: ", path);
	CHECK(strstr(captured, want) && strstr(captured, "(hello)"), "garbage line named",
	      "stderr:\n%s", captured);
	snprintf(want, sizeof(want), "%s:11: more than one word", path);
	CHECK(strstr(captured, want) != NULL, "two addresses on a line named", "stderr:\n%s",
	      captured);
	snprintf(want, sizeof(want), "%s:14: host bits set in 172.16.5.4/12, using 172.16.0.0/12",
		 path);
	CHECK(strstr(captured, want) != NULL, "host bits warned about, entry kept", "stderr:\n%s",
	      captured);
	CHECK(!strstr(captured, ":1:") && !strstr(captured, ":2:") && !strstr(captured, ":12:") &&
		  !strstr(captured, ":4:") && !strstr(captured, ":7:"),
	      "comments and blanks are not warned about", "stderr:\n%s", captured);

	CHECK_EQ_STR(match(&l, "10.1.2.3"), "10.1.0.0/16", "longest prefix wins (/16 over /8)");
	CHECK_EQ_STR(match(&l, "10.2.0.1"), "10.0.0.0/8", "shorter prefix when only it covers");
	CHECK_EQ_STR(match(&l, "192.0.2.7"), "192.0.2.7/32", "bare IPv4 address is a /32");
	CHECK_EQ_STR(match(&l, "192.0.2.8"), "none", "neighbour of a /32 does not match");
	CHECK_EQ_STR(match(&l, "172.31.255.255"), "172.16.0.0/12", "host-bits entry matches");
	CHECK_EQ_STR(match(&l, "11.0.0.1"), "none", "address outside every entry");
	CHECK_EQ_STR(match(&l, "2001:db8:1::5"), "2001:db8:1::/48", "IPv6 longest prefix (/48)");
	CHECK_EQ_STR(match(&l, "2001:db8:2::5"), "2001:db8::/32", "IPv6 /32");
	CHECK_EQ_STR(match(&l, "::1"), "::1/128", "last line without newline loaded");
	CHECK_EQ_STR(match(&l, "::ffff:10.1.2.3"), "10.1.0.0/16",
		     "IPv4-mapped IPv6 checked against IPv4 entries");
	CHECK_EQ_STR(match(&l, "::"), "none", "IPv6 unspecified not matched");
	{
		uint8_t a[16] = {10, 1, 2, 3};

		CHECK_EQ_INT(iplist_contains(&l, AF_UNIX, a), -1, "unknown family matches nothing");
	}
	{
		int sorted = 1;

		for (size_t i = 1; i < l.n; i++)
			if (l.entries[i - 1].cidr.family == l.entries[i].cidr.family &&
			    l.entries[i - 1].cidr.prefixlen < l.entries[i].cidr.prefixlen)
				sorted = 0;
		CHECK(sorted && l.entries[0].cidr.family == AF_INET &&
			  l.entries[l.n - 1].cidr.family == AF_INET6,
		      "entries iterate IPv4 first, longest prefix first", "order wrong");
	}
	lists_free(&l);
	CHECK(l.n == 0 && l.entries == NULL, "lists_free empties the list", "not empty");
}

static void test_missing_and_empty(void)
{
	struct iplist l = {0};
	char path[256];
	int bad = -1;

	snprintf(path, sizeof(path), "%s/keep.list", tmpdir);
	write_file(path, "198.51.100.0/24\n");
	lists_load(&l, path, NULL);
	CHECK_EQ_INT(load_captured(&l, "/nonexistent/moat.list", &bad), -ENOENT,
		     "missing file is -ENOENT");
	CHECK(strstr(captured, "/nonexistent/moat.list") && strstr(captured, "does not exist"),
	      "missing file message names it", "stderr:\n%s", captured);
	CHECK_EQ_STR(match(&l, "198.51.100.9"), "198.51.100.0/24",
		     "a failed load keeps the previous list");
	CHECK_EQ_INT(lists_parse(&l, "mem", "", 0, &bad), 0, "empty text loads");
	CHECK(l.n == 0 && bad == 0 && !strcmp(match(&l, "198.51.100.9"), "none"),
	      "empty list matches nothing", "n=%zu", l.n);
	CHECK_EQ_INT(lists_parse(&l, "mem", "0.0.0.0/0\n", 10, &bad), 0, "default route loads");
	CHECK_EQ_STR(match(&l, "8.8.8.8"), "0.0.0.0/0", "0.0.0.0/0 matches everything IPv4");
	CHECK_EQ_STR(match(&l, "2001:db8::1"), "none", "0.0.0.0/0 does not match IPv6");
	lists_free(&l);
}

/* Random CIDRs against a linear longest-prefix scan. */
static void test_against_linear(void)
{
	char text[64 * 400], *p = text;
	struct iplist l = {0};
	int wrong = 0, bad;

	srand(7);
	for (int i = 0; i < 400; i++) {
		int len = rand() % 33;

		/* few first octets so that entries overlap and nest */
		p += snprintf(p, (size_t)(text + sizeof(text) - p), "%d.%d.%d.%d/%d\n",
			      10 + rand() % 3, rand() % 4, rand() % 256, rand() % 256, len);
	}
	log_level = LOG_ERROR; /* host bits are set on purpose */
	lists_parse(&l, "random", text, (size_t)(p - text), &bad);
	log_level = LOG_INFO;
	for (int i = 0; i < 20000; i++) {
		uint8_t a[16] = {(uint8_t)(10 + rand() % 3), (uint8_t)(rand() % 4),
				 (uint8_t)(rand() % 256), (uint8_t)(rand() % 256)};
		int best = -1, got = iplist_contains(&l, AF_INET, a);
		uint32_t x = (uint32_t)a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];

		for (size_t k = 0; k < l.n; k++) {
			const struct cidr *c = &l.entries[k].cidr;
			uint32_t net = (uint32_t)c->addr[0] << 24 | c->addr[1] << 16 |
				       c->addr[2] << 8 | c->addr[3];
			uint32_t mask = c->prefixlen ? ~0u << (32 - c->prefixlen) : 0;

			if ((x & mask) == net &&
			    (best < 0 || c->prefixlen > l.entries[best].cidr.prefixlen))
				best = (int)k;
		}
		wrong +=
		    (best < 0) != (got < 0) ||
		    (best >= 0 && l.entries[best].cidr.prefixlen != l.entries[got].cidr.prefixlen);
	}
	CHECK(bad == 0 && wrong == 0,
	      "longest-prefix match agrees with a linear scan (20,000 lookups)", "%d wrong, %d bad",
	      wrong, bad);
	lists_free(&l);
}

/* Wait for and read one inotify batch; returns its length. */
static ssize_t read_batch(int ifd, char *buf, size_t len)
{
	struct pollfd pfd = {.fd = ifd, .events = POLLIN};

	if (poll(&pfd, 1, 2000) != 1)
		return 0;
	return read(ifd, buf, len);
}

static void test_reload(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[256], white[256], tmp[300], other[256];
	struct lists_watch w, ww;
	struct iplist l = {0};
	int ifd, ifd2, bad;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/black.list", tmpdir);
	snprintf(white, sizeof(white), "%s/white.list", tmpdir);
	snprintf(tmp, sizeof(tmp), "%s/.black.list.swp", tmpdir);
	snprintf(other, sizeof(other), "%s/unrelated", tmpdir);
	write_file(path, "203.0.113.0/24\n");
	lists_load(&l, path, &bad);
	ifd = lists_watch_fd(-1, path, &w);
	CHECK(ifd >= 0, "watch fd created", "err=%d", ifd);
	if (ifd < 0)
		return;
	ifd2 = lists_watch_fd(ifd, white, &ww);
	CHECK(ifd2 == ifd, "a second list shares the inotify fd", "got %d", ifd2);

	write_file(other, "x\n");
	n = read_batch(ifd, buf, sizeof(buf));
	CHECK(n > 0 && !lists_watch_concerns(&w, buf, n), "another file's change is ignored",
	      "n=%zd", n);

	/* An editor that writes a temporary file and renames it over the list. */
	write_file(tmp, "203.0.113.0/24\n198.51.100.0/24\n");
	rename(tmp, path);
	n = read_batch(ifd, buf, sizeof(buf));
	CHECK(n > 0 && lists_watch_concerns(&w, buf, n), "rename over the list is seen", "n=%zd",
	      n);
	CHECK(!lists_watch_concerns(&ww, buf, n), "the other list is not concerned", "it is");
	lists_load(&l, path, &bad);
	CHECK_EQ_STR(match(&l, "198.51.100.1"), "198.51.100.0/24", "reload picks up a new entry");

	/* An in-place write (echo >> list). */
	write_file(path, "192.0.2.0/24\n");
	n = read_batch(ifd, buf, sizeof(buf));
	CHECK(n > 0 && lists_watch_concerns(&w, buf, n), "in-place write is seen", "n=%zd", n);
	lists_load(&l, path, &bad);
	CHECK(!strcmp(match(&l, "192.0.2.1"), "192.0.2.0/24") &&
		  !strcmp(match(&l, "198.51.100.1"), "none"),
	      "reload replaces the list", "198.51.100.1 -> %s", match(&l, "198.51.100.1"));

	/* Our own reads do not wake us. */
	n = read_batch(ifd, buf, sizeof(buf));
	CHECK(n <= 0 || !lists_watch_concerns(&w, buf, n), "loading the list does not trigger",
	      "n=%zd", n);
	CHECK_EQ_INT(lists_watch_fd(-1, "/nonexistent/dir/x.list", &w), -ENOENT,
		     "watching a missing directory is -ENOENT");
	close(ifd);
	lists_free(&l);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_format();
	test_missing_and_empty();
	test_against_linear();
	test_reload();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (fork() == 0)
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL), _exit(1);
	return TEST_EXIT();
}
