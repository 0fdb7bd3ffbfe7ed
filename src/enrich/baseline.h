/* baseline.h - the baseline store of learn mode: per image (its name, as given to docker
 * run, and the image ids seen under it), what its containers did while it learned -
 * executables run (path, interpreter, parent's name), domains resolved, the names behind
 * connects, direct-IP destinations, UDP peers and bound ports - each with first/last seen and
 * a count, merged across containers of the image and across restarts (the file).
 *
 * Bounded: at most max_images images (the least recently seen one is evicted whole when a
 * new one comes, counted), max_items_per_image items per image and max_items_total in all
 * (a new item beyond a cap is refused and counted; the image's baseline is then marked
 * incomplete). Recording is O(1) on average (hash lookups, no I/O). Not thread-safe: one
 * owner (the event loop); moat run saves it from a forked child, like the registry.
 *
 * The file (baseline.json next to registry.json) is JSON Lines: {"moat_baseline": 1,
 * "images": N, ...} and one image per line (the baseline_image_json format). Loading treats
 * it as hostile: a bad image or item is skipped with a message naming the file, the image,
 * the item and the field; the rest loads. */
#ifndef MOAT_BASELINE_H
#define MOAT_BASELINE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define BASELINE_FILE_VERSION 1
#define BASELINE_MAX_KEY      320	   /* bytes of an item's key, NUL included */
#define BASELINE_MAX_IDS      4		   /* image ids kept per image (the most recent) */
#define BASELINE_MAX_CTS      64	   /* container ids kept per image to count distinct ones */
#define BASELINE_MAX_PARENTS  4		   /* parent names kept per executable */
#define BASELINE_NAME_LEN     16	   /* a parent's name (comm), NUL included */
#define BASELINE_MAX_BYTES    (256u << 20) /* a larger file is refused */
#define BASELINE_MAX_COUNT    ((uint64_t)1 << 62) /* an item's count saturates here */

enum baseline_kind {
	BL_EXEC = 0, /* key: the path executed (filename passed to execve) */
	BL_DOMAIN,   /* key: a name resolved (lower case, no trailing dot) */
	BL_CONNECT,  /* key: "NAME:PORT/tcp|udp": a connect a DNS answer explains */
	BL_DIRECT,   /* key: "ADDR:PORT/tcp|udp": a connect to an address no answer explains */
	BL_UDP,	     /* key: "NAME|ADDR:PORT": an unconnected UDP send (sendmsg) */
	BL_LISTEN,   /* key: "ADDR:PORT": a bind moat saw (only binds to port 53 are events) */
	BL_NKINDS,
};

/* The kind's name in files and JSON ("exec", "domain", "connect", "direct", "udp",
 * "listen"), and back (-1 when unknown). */
const char *baseline_kind_name(int kind);
int baseline_kind_parse(const char *s);

struct baseline_limits {
	uint32_t max_images, max_items_per_image, max_items_total; /* 0: the default */
};

struct baseline;
struct baseline_image;

/* An empty store with limits l (NULL: 256 images, 4096 items each, 262144 in all). NULL +
 * errno (ENOMEM). */
struct baseline *baseline_new(const struct baseline_limits *l);
void baseline_free(struct baseline *b);

/* The image named name (exact), or NULL. With create, a new empty one (not learning) when
 * none: the least recently seen image is evicted when the store is full. NULL + errno
 * (EINVAL for an empty or too long name, ENOMEM). The pointer is valid until the image is
 * evicted or the store freed or loaded into. */
struct baseline_image *baseline_image(struct baseline *b, const char *name, int create);

/* Note that container `container` (its id) of image id image_id ("" unknown) ran at now
 * (Unix s): counts distinct containers, keeps the most recent ids. */
void baseline_note_container(struct baseline *b, struct baseline_image *im, const char *container,
			     const char *image_id, int64_t now);

/* Record one item of kind for im at now. attr: an executable's interpreter ("" none; the
 * latest kept); parent: its parent's name (up to BASELINE_MAX_PARENTS kept). Returns 1 when
 * the item is new, 0 when known (its last seen and count updated), -EDQUOT when a cap
 * refused it (counted), -EINVAL for a bad kind or a key that is empty or too long. */
int baseline_record(struct baseline *b, struct baseline_image *im, int kind, const char *key,
		    const char *attr, const char *parent, int64_t now);

/* Is key of kind in im's baseline? */
int baseline_has(const struct baseline_image *im, int kind, const char *key);

/* Learning on or off for im (persisted). Starting records the time learning began when it
 * was off. */
void baseline_set_learning(struct baseline_image *im, int on, int64_t now);
/* The "learn everything" switch: every image records (persisted). */
void baseline_set_learn_all(struct baseline *b, int on);
int baseline_learn_all(const struct baseline *b);

/* What status and the detections read of one image. */
struct baseline_info {
	const char *name;
	int learning; /* set by baseline_set_learning */
	int enforced; /* baseline_set_enforced: switched to enforce once stable */
	int64_t first_seen, last_seen, last_new, learn_since; /* Unix s, 0: never */
	uint32_t n_items, n_by_kind[BL_NKINDS];
	uint64_t n_containers; /* distinct containers seen (exact up to BASELINE_MAX_CTS) */
	uint64_t refused;      /* items a cap refused: the baseline is incomplete */
};
void baseline_info(const struct baseline_image *im, struct baseline_info *out);
void baseline_set_enforced(struct baseline_image *im, int on);

/* Is im stable at now: it has items and none was new for stable_s seconds? */
int baseline_stable(const struct baseline_image *im, int64_t now, uint32_t stable_s);

/* The status of every image at now, for `moat learn status`: [{"image", "learning",
 * "enforced", "stable" (baseline_stable), "learned_seconds" (since learning began, or the
 * first container), "containers", "items", "by_kind": {KIND: N}, "since_last_new" (s; -1
 * when it has no item), "refused"}]. New reference or NULL (ENOMEM). */
json_object *baseline_status_json(struct baseline *b, int64_t now, uint32_t stable_s);

/* The images, 0 .. baseline_count-1 (order changes when an image is evicted). */
size_t baseline_count(const struct baseline *b);
struct baseline_image *baseline_at(struct baseline *b, size_t i);

/* Store-wide counters. */
struct baseline_stats {
	uint64_t items, refused, evicted_images;
};
void baseline_stats(const struct baseline *b, struct baseline_stats *out);

/* One image as JSON: {"image", "ids": [...], "first_seen", "last_seen", "last_new",
 * "learning", "learn_since", "enforced", "containers", "container_ids": [...], "refused",
 * "items": [{"kind", "key", "first_seen", "last_seen", "count", "interp"?, "parents"?}]}
 * (items in the order first seen). New reference or NULL (ENOMEM). */
json_object *baseline_image_json(const struct baseline_image *im);

/* Write the store to path atomically (lib/fs.h), mode 0600. 0 or -errno (the old file is then
 * unchanged). */
int baseline_save(const struct baseline *b, const char *path);

/* Merge a file written by baseline_save into b (items merge: first seen the earliest, last
 * seen the latest, counts added; the caps apply). A missing file returns -ENOENT, quietly.
 * A file that is no baseline (unreadable, too big, bad first line) returns -EINVAL after an
 * error naming the file. A bad image or item is skipped with a warning naming the file, the
 * line, the item and the field ("baseline.json:3: item 7: field \"count\" must be a whole
 * number"); *skipped (may be NULL) counts them. Returns 0 otherwise. */
int baseline_load(struct baseline *b, const char *path, int *skipped);
int baseline_load_buf(struct baseline *b, const char *name, const char *buf, size_t len,
		      int *skipped);

#endif /* MOAT_BASELINE_H */
