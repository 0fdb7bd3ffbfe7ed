/* lists.h - IP/CIDR list files (whitelist, blacklist): loading, longest-prefix
 * lookup on every connect, and inotify-driven reload. */
#ifndef MOAT_LISTS_H
#define MOAT_LISTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cidr.h"

#define LISTS_MAX_BYTES (256u << 20) /* a larger list file is refused (-EFBIG) */

/* One entry of a list: the CIDR (parsed by cidr_parse), the line it came
 * from, and its canonical text ("10.0.0.0/8", "2001:db8::/32") for alerts. */
struct iplist_entry {
	struct cidr cidr;
	unsigned line;
	char text[48];
};

/* Entries of one prefix length, a sorted range of iplist.entries. */
struct iplist_group {
	int prefixlen;
	size_t start, end;
};

/* A loaded list. Zero-initialised it is a valid empty list; lists_free
 * releases it. entries[0..n) are sorted by family, then prefix length
 * (longest first), then address; iterate them in that order to write
 * each one into the kernel (netrules_put). */
struct iplist {
	struct iplist_entry *entries;
	size_t n;
	struct iplist_group groups4[33], groups6[129]; /* longest prefix first */
	int ngroups4, ngroups6;
};

/* Load the list file at path into l, replacing what l held. Format: one
 * IPv4/IPv6 address or CIDR per line; '#' starts a comment (whole-line or
 * trailing); blank lines and surrounding whitespace are ignored. Each bad
 * line is logged as "path:line: reason (text)" and skipped; *n_bad (may be
 * NULL) gets their count. Duplicates are loaded once. Returns 0 (also with
 * bad lines), -ENOENT when the file does not exist, or -errno; on error l
 * is unchanged, so a failed reload keeps the previous list. */
int lists_load(struct iplist *l, const char *path, int *n_bad);

/* Parse a list from memory (the same format; name is used in messages).
 * Same contract as lists_load. */
int lists_parse(struct iplist *l, const char *name, const char *text, size_t len, int *n_bad);

void lists_free(struct iplist *l);

/* Longest-prefix match of addr (network byte order; the first 4 bytes for
 * AF_INET) against l. An AF_INET6 IPv4-mapped address (::ffff:a.b.c.d)
 * that no IPv6 entry covers is looked up as IPv4. Returns the index of the
 * most specific matching entry in l->entries (so the alert can name the
 * CIDR), or -1 when none matches. O(prefix lengths in use x log n), no
 * allocation. */
int iplist_contains(const struct iplist *l, int family, const uint8_t addr[16]);

/* Entry i of l, or NULL when i is out of range (e.g. -1 from
 * iplist_contains). */
const struct iplist_entry *iplist_entry(const struct iplist *l, int i);

/* Reload on change. The watch is on the file's DIRECTORY, for
 * IN_CLOSE_WRITE | IN_MOVED_TO events naming the file, so both in-place
 * writes and editors that write a temporary file and rename it over the
 * list are seen, and a list that does not exist yet is seen when created. */
struct lists_watch {
	int wd;		/* the directory's watch descriptor */
	char name[256]; /* the file's name in that directory */
};

/* Watch path's directory on the inotify fd ifd, or on a new one
 * (IN_NONBLOCK | IN_CLOEXEC) when ifd < 0. Several lists may share one fd.
 * Returns the inotify fd (ifd, or the new one the caller now owns and
 * epolls for EPOLLIN), or -errno (-ENOENT: the directory does not exist). */
int lists_watch_fd(int ifd, const char *path, struct lists_watch *w);

/* Whether a batch read(2) from the inotify fd (buf must be aligned for
 * struct inotify_event; len is read's return value) concerns w's file: a
 * close-after-write or a rename onto it, or a queue overflow (events were
 * lost, so reload to be safe). Returns 1 or 0. */
int lists_watch_concerns(const struct lists_watch *w, const void *buf, ssize_t len);

#endif /* MOAT_LISTS_H */
