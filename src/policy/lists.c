/* lists.c - IP/CIDR list files: parse, longest-prefix match, reload on change. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lists.h"
#include "fs.h"
#include "log.h"

static int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Clear the bits of a (alen bytes) beyond prefixlen into out. */
static void mask_addr(const uint8_t *a, int alen, int prefixlen, uint8_t *out)
{
	for (int i = 0; i < alen; i++) {
		int bits = prefixlen - 8 * i;

		out[i] = bits >= 8 ? a[i] : bits <= 0 ? 0 : (uint8_t)(a[i] & (0xff00u >> bits));
	}
}

/* Order: family (IPv4 first), prefix length (longest first), address,
 * then line (so the first of duplicates comes first). */
static int entry_cmp(const void *x, const void *y)
{
	const struct iplist_entry *a = x, *b = y;
	int c;

	if (a->cidr.family != b->cidr.family)
		return a->cidr.family == AF_INET ? -1 : 1;
	if (a->cidr.prefixlen != b->cidr.prefixlen)
		return b->cidr.prefixlen - a->cidr.prefixlen;
	c = memcmp(a->cidr.addr, b->cidr.addr, (size_t)addr_len(a->cidr.family));
	if (c)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Copy s into a message-safe buffer: control characters as '?', at most
 * 80 characters with "..." after. */
static void printable(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; *s && i + 4 < len && i < 80; s++)
		out[i++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s && i + 4 <= len) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = 0;
}

/* Parse one trimmed, comment-free token of line lineno into e. Returns 0,
 * or -EINVAL with the reason in *why. */
static int parse_entry(const char *name, unsigned lineno, char *tok, struct iplist_entry *e,
		       const char **why)
{
	char addr[INET6_ADDRSTRLEN], *slash;
	struct cidr full;
	size_t n = strcspn(tok, " \t\v\f\r");

	if (tok[n]) {
		*why = "more than one word on the line (one address or CIDR per line)";
		return -EINVAL;
	}
	if (cidr_parse(tok, &e->cidr)) {
		slash = strchr(tok, '/');
		if (slash) {
			*slash = 0;
			*why = cidr_parse(tok, &full)
				   ? "not an IPv4/IPv6 address"
				   : "prefix length out of range (0-32 for IPv4, "
				     "0-128 for IPv6)";
			*slash = '/';
		} else {
			*why = "not an IPv4/IPv6 address or CIDR";
		}
		return -EINVAL;
	}
	e->line = lineno;
	inet_ntop(e->cidr.family, e->cidr.addr, addr, sizeof(addr));
	snprintf(e->text, sizeof(e->text), "%s/%d", addr, e->cidr.prefixlen);
	slash = strchr(tok, '/');
	if (slash) {
		*slash = 0;
		if (cidr_parse(tok, &full) == 0 &&
		    memcmp(full.addr, e->cidr.addr, (size_t)addr_len(full.family)))
			log_warn("%s:%u: host bits set in %s/%s, using %s", name, lineno, tok,
				 slash + 1, e->text);
		*slash = '/';
	}
	return 0;
}

static void report_bad(const char *name, unsigned lineno, const char *why, const char *text)
{
	char shown[96];

	printable(text, shown, sizeof(shown));
	log_warn("%s:%u: %s (%s)", name, lineno, why, shown);
}

/* Fill the per-prefix-length groups of the sorted, deduplicated l. */
static void build_groups(struct iplist *l)
{
	l->ngroups4 = l->ngroups6 = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct cidr *c = &l->entries[i].cidr;
		struct iplist_group *g = c->family == AF_INET ? l->groups4 : l->groups6;
		int *ng = c->family == AF_INET ? &l->ngroups4 : &l->ngroups6;

		if (*ng == 0 || g[*ng - 1].prefixlen != c->prefixlen) {
			g[*ng].prefixlen = c->prefixlen;
			g[*ng].start = i;
			(*ng)++;
		}
		g[*ng - 1].end = i + 1;
	}
}

/* Append e to l's entries, growing them. Returns 0 or -ENOMEM. */
static int append(struct iplist *l, size_t *cap, const struct iplist_entry *e)
{
	if (l->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct iplist_entry *ne = realloc(l->entries, nc * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		l->entries = ne;
		*cap = nc;
	}
	l->entries[l->n++] = *e;
	return 0;
}

int lists_parse(struct iplist *l, const char *name, const char *text, size_t len, int *n_bad)
{
	struct iplist nl = {0};
	size_t cap = 0, pos = 0;
	unsigned lineno = 0;
	int bad = 0, err = 0;
	char *buf = malloc(len + 1);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = 0;
	while (pos < len) {
		char *line = buf + pos, *nlc = memchr(line, '\n', len - pos), *tok, *end, *hash;
		size_t line_len = nlc ? (size_t)(nlc - line) : len - pos;
		struct iplist_entry e;
		const char *why;
		int has_nul;

		if (nlc)
			*nlc = 0;
		pos += line_len + 1;
		lineno++;
		has_nul = strlen(line) != line_len;
		tok = line + strspn(line, " \t\v\f\r");
		hash = strchr(tok, '#');
		end = hash ? hash : tok + strlen(tok);
		while (end > tok && strchr(" \t\v\f\r", end[-1]))
			end--;
		*end = 0;
		if (has_nul && !hash) {
			report_bad(name, lineno, "NUL byte in the line", tok);
			bad++;
		} else if (end == tok) {
			continue;
		} else if (parse_entry(name, lineno, tok, &e, &why)) {
			report_bad(name, lineno, why, tok);
			bad++;
		} else if ((err = append(&nl, &cap, &e))) {
			goto cleanup;
		}
	}
	if (nl.n) {
		size_t out = 1;

		qsort(nl.entries, nl.n, sizeof(*nl.entries), entry_cmp);
		for (size_t i = 1; i < nl.n; i++) {
			const struct iplist_entry *a = &nl.entries[out - 1], *b = &nl.entries[i];

			if (a->cidr.family == b->cidr.family &&
			    a->cidr.prefixlen == b->cidr.prefixlen &&
			    !memcmp(a->cidr.addr, b->cidr.addr, 16)) {
				log_debug("%s:%u: %s is already on line %u", name, b->line, b->text,
					  a->line);
				continue;
			}
			nl.entries[out++] = *b;
		}
		nl.n = out;
	}
	build_groups(&nl);
	lists_free(l);
	*l = nl;
	nl.entries = NULL;
	if (n_bad)
		*n_bad = bad;
cleanup:
	free(nl.entries);
	free(buf);
	return err;
}

int lists_load(struct iplist *l, const char *path, int *n_bad)
{
	char *buf;
	size_t len;
	int err = fs_read_all(path, LISTS_MAX_BYTES, &buf, &len);

	if (err == -ENOENT)
		log_error("list file %s does not exist (create it with one IP address or "
			  "CIDR per line, or fix the path)",
			  path);
	else if (err)
		log_error("cannot read list file %s: %s", path, strerror(-err));
	if (err)
		return err;
	err = lists_parse(l, path, buf, len, n_bad);
	free(buf);
	return err;
}

void lists_free(struct iplist *l)
{
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

/* Longest-prefix match within one family. */
static int lookup(const struct iplist *l, int family, const uint8_t *addr)
{
	const struct iplist_group *g = family == AF_INET ? l->groups4 : l->groups6;
	int ng = family == AF_INET ? l->ngroups4 : l->ngroups6, alen = addr_len(family);
	uint8_t key[16];

	for (int i = 0; i < ng; i++) {
		size_t lo = g[i].start, hi = g[i].end;

		mask_addr(addr, alen, g[i].prefixlen, key);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			int c = memcmp(l->entries[mid].cidr.addr, key, (size_t)alen);

			if (c == 0)
				return (int)mid;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return -1;
}

int iplist_contains(const struct iplist *l, int family, const uint8_t addr[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	int i;

	if (family == AF_INET)
		return lookup(l, AF_INET, addr);
	if (family != AF_INET6)
		return -1;
	i = lookup(l, AF_INET6, addr);
	if (i < 0 && memcmp(addr, mapped, sizeof(mapped)) == 0)
		i = lookup(l, AF_INET, addr + 12);
	return i;
}

const struct iplist_entry *iplist_entry(const struct iplist *l, int i)
{
	if (i < 0 || (size_t)i >= l->n)
		return NULL;
	return &l->entries[i];
}

int lists_watch_fd(int ifd, const char *path, struct lists_watch *w)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int own = ifd < 0, wd;

	if (!*base || strlen(base) >= sizeof(w->name))
		return -EINVAL;
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (own) {
		ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ifd < 0)
			return -errno;
	}
	/* A file that does not exist yet is watched too (moat rules creates it): its
	 * directory is made if missing, as /etc/moat on a fresh host. */
	if (mkdir(dir, 0755) == 0) /* one level only: a missing /etc, not a typo'd tree */
		log_info("created %s (for %s)", dir, base);
	/* IN_MASK_ADD: another list in the same directory shares the watch. */
	wd = inotify_add_watch(ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MASK_ADD);
	if (wd < 0) {
		int err = -errno;

		log_error("cannot watch %s for changes to %s: %s; changes need a restart or SIGHUP",
			  dir, base, strerror(-err));
		if (own)
			close(ifd);
		return err;
	}
	w->wd = wd;
	snprintf(w->name, sizeof(w->name), "%s", base);
	return ifd;
}

int lists_watch_concerns(const struct lists_watch *w, const void *buf, ssize_t len)
{
	const char *p = buf, *end = p + (len > 0 ? len : 0);

	while (p + sizeof(struct inotify_event) <= end) {
		const struct inotify_event *ev = (const struct inotify_event *)p;

		if (ev->mask & IN_Q_OVERFLOW)
			return 1;
		if (ev->wd == w->wd && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) && ev->len &&
		    strcmp(ev->name, w->name) == 0)
			return 1;
		p += sizeof(struct inotify_event) + ev->len;
	}
	return 0;
}
