/* live.c - the live feed (live.h): a ring of numbered JSON messages bounded by count and
 * bytes, one mutex (priority inheritance: moat run's loop may run SCHED_FIFO) and one
 * condition variable; the publisher copies its message in and never waits for a reader. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "live.h"
#include "pimutex.h"

struct live_msg {
	uint64_t seq;
	char *text; /* the whole message, NUL-terminated; NULL: slot empty */
	size_t len;
};

struct live {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct live_msg *ring; /* slot of seq s: s % cap */
	size_t cap, max_bytes;
	uint64_t last;	 /* the last seq published (0: none) */
	uint64_t oldest; /* the oldest seq kept (0: none) */
	uint64_t n_kept, bytes_kept, dropped_nomem;
	int woken; /* live_wake was called: waits return at once */
};

struct live *live_new(size_t max_msgs, size_t max_bytes)
{
	struct live *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l)
		return NULL;
	l->cap = max_msgs ? max_msgs : LIVE_MAX_MSGS;
	l->max_bytes = max_bytes ? max_bytes : LIVE_MAX_BYTES;
	/* Room for the longest message, so that the byte bound always holds. */
	if (l->max_bytes < LIVE_MAX_MSG)
		l->max_bytes = LIVE_MAX_MSG;
	l->ring = calloc(l->cap, sizeof(*l->ring));
	if (!l->ring) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	pimutex_init(&l->lock);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	return l;
}

void live_free(struct live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->cap; i++)
		free(l->ring[i].text);
	free(l->ring);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Drop the oldest kept message. Under the lock; n_kept > 0. */
static void drop_oldest(struct live *l)
{
	struct live_msg *m = &l->ring[l->oldest % l->cap];

	l->bytes_kept -= m->len;
	l->n_kept--;
	free(m->text);
	m->text = NULL;
	m->len = 0;
	l->oldest = l->n_kept ? l->oldest + 1 : 0;
}

/* "2026-11-26T19:00:00.123Z" of now into buf (at least 64 bytes: room for any year). */
/* The serialization of every message: compact, '/' not escaped. */
#define LIVE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* One message {"seq":N,"time":"T","type":"TYPE","data":D} of ds (dlen bytes of JSON): the
 * header is written under the lock (the seq), the data copied with it. */
uint64_t live_publish_text(struct live *l, const char *type, const char *ds, size_t dlen)
{
	char tbuf[64], *text, rbuf[96];
	size_t hlen, len;
	uint64_t seq;
	int n;

	if (!l)
		return 0;
	if (!ds) {
		ds = "{}";
		dlen = 2;
	}
	clock_format_utc_ms(clock_unix_ns(), tbuf, sizeof(tbuf));
	/* The type is a static string of ours, no escaping needed; 20 digits hold any seq. */
	hlen = strlen("{\"seq\":,\"time\":\"\",\"type\":\"\",\"data\":") + 20 + strlen(tbuf) +
	       strlen(type);
	if (hlen + dlen + 2 > LIVE_MAX_MSG) {
		/* Too long for a reader to take in one frame: say what it was. */
		snprintf(rbuf, sizeof(rbuf), "{\"type\":\"%s\",\"bytes\":%zu}", type, dlen);
		type = "truncated";
		ds = rbuf;
		dlen = strlen(rbuf);
		hlen = strlen("{\"seq\":,\"time\":\"\",\"type\":\"\",\"data\":") + 20 +
		       strlen(tbuf) + strlen(type);
	}
	text = malloc(hlen + dlen + 2);
	pthread_mutex_lock(&l->lock);
	if (!text) {
		l->dropped_nomem++;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	seq = l->last + 1;
	n = snprintf(text, hlen + 1, "{\"seq\":%llu,\"time\":\"%s\",\"type\":\"%s\",\"data\":",
		     (unsigned long long)seq, tbuf, type);
	memcpy(text + n, ds, dlen);
	text[n + dlen] = '}';
	text[n + dlen + 1] = 0;
	len = (size_t)n + dlen + 1;
	/* Room by count and by bytes, the oldest first. */
	while (l->n_kept && (l->n_kept >= l->cap || l->bytes_kept + len > l->max_bytes))
		drop_oldest(l);
	l->ring[seq % l->cap] = (struct live_msg){.seq = seq, .text = text, .len = len};
	l->n_kept++;
	l->bytes_kept += len;
	if (!l->oldest)
		l->oldest = seq;
	l->last = seq;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return seq;
}

uint64_t live_publish(struct live *l, const char *type, json_object *data)
{
	const char *ds = data ? json_object_to_json_string_ext(data, LIVE_JSON_FLAGS) : "{}";
	uint64_t seq;

	if (!l || (data && !ds)) {
		if (l) {
			pthread_mutex_lock(&l->lock);
			l->dropped_nomem++;
			pthread_mutex_unlock(&l->lock);
		}
		json_object_put(data);
		return 0;
	}
	seq = live_publish_text(l, type, ds, strlen(ds));
	json_object_put(data);
	return seq;
}

int live_next(struct live *l, uint64_t after, char **msg, uint64_t *seq)
{
	struct live_msg *m;
	char *copy;
	size_t len;

	pthread_mutex_lock(&l->lock);
	if (after >= l->last) {
		pthread_mutex_unlock(&l->lock);
		return -EAGAIN;
	}
	if (!l->oldest || after + 1 < l->oldest) {
		/* Lost: the reader goes on from just before the oldest kept one. Nothing kept
		 * (a publication larger than the byte bound was dropped) counts as all lost. */
		*seq = l->oldest ? l->oldest - 1 : l->last;
		pthread_mutex_unlock(&l->lock);
		return -ERANGE;
	}
	m = &l->ring[(after + 1) % l->cap];
	len = m->len;
	copy = malloc(len + 1);
	if (copy) {
		memcpy(copy, m->text, len + 1);
		*seq = m->seq;
	}
	pthread_mutex_unlock(&l->lock);
	if (!copy)
		return -ENOMEM;
	*msg = copy;
	return 0;
}

int live_wait(struct live *l, uint64_t after, int timeout_ms)
{
	struct timespec ts;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&l->lock);
	while (l->last <= after && !l->woken)
		if (pthread_cond_timedwait(&l->cond, &l->lock, &ts) == ETIMEDOUT)
			break;
	ret = l->last > after && !l->woken;
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void live_wake(struct live *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->woken = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

void live_get_stats(struct live *l, struct live_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	st->published = l->last;
	st->oldest = l->oldest;
	st->n_kept = l->n_kept;
	st->bytes_kept = l->bytes_kept;
	st->dropped_nomem = l->dropped_nomem;
	pthread_mutex_unlock(&l->lock);
}
