/* test_live.c - the live feed (src/act/live.c): messages in order with their seq, resume
 * after a seq, gaps reported with -ERANGE, the count and byte bounds, a huge message
 * truncated, and one publisher with several reader threads that see every kept message
 * in order, each either received or reported missing. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "test.h"
#include "live.h"

#define N_READERS 4
#define N_PUB	  20000

static json_object *data_n(int n)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int(n));
	return o;
}

/* The seq, type and data.n of msg; 0 on success. */
static int parse(const char *msg, uint64_t *seq, char *type, size_t tn, int *n)
{
	json_object *o = json_tokener_parse(msg), *v, *d;
	int ok = o && json_object_object_get_ex(o, "seq", &v) &&
		 json_object_object_get_ex(o, "type", &d) &&
		 json_object_object_get_ex(o, "time", &v);

	if (ok) {
		json_object_object_get_ex(o, "seq", &v);
		*seq = (uint64_t)json_object_get_int64(v);
		snprintf(type, tn, "%s", json_object_get_string(d));
		*n = -1;
		if (json_object_object_get_ex(o, "data", &d) &&
		    json_object_object_get_ex(d, "n", &v))
			*n = json_object_get_int(v);
	}
	json_object_put(o);
	return ok ? 0 : -1;
}

struct reader {
	struct live *l;
	int slow;
	uint64_t received, missed, out_of_order, bad;
	uint64_t last;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t after = 0, seq;
	char *msg, type[32];
	int n;

	for (;;) {
		int err = live_next(r->l, after, &msg, &seq);

		if (err == -EAGAIN) {
			if (!live_wait(r->l, after, 2000))
				break; /* woken at the end, or nothing for 2 s */
			continue;
		}
		if (err == -ERANGE) {
			r->missed += seq - after;
			after = seq;
			continue;
		}
		if (err) {
			r->bad++;
			break;
		}
		uint64_t s2;
		if (parse(msg, &s2, type, sizeof(type), &n) || s2 != seq || n != (int)seq ||
		    strcmp(type, "test"))
			r->bad++;
		if (seq != after + 1)
			r->out_of_order++;
		free(msg);
		r->received++;
		after = seq;
		if (r->slow && r->received % 64 == 0) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
	r->last = after;
	return NULL;
}

int main(void)
{
	struct live *l = live_new(16, 0);
	struct live_stats st;
	char *msg = NULL, type[32];
	uint64_t seq = 0, s2;
	int n, err;

	CHECK(l != NULL, "live_new makes a feed", "NULL");
	CHECK_EQ_INT(live_next(l, 0, &msg, &seq), -EAGAIN, "an empty feed has nothing yet");
	CHECK_EQ_INT(live_wait(l, 0, 10), 0, "live_wait on an empty feed times out");
	for (int i = 1; i <= 10; i++)
		live_publish(l, "test", data_n(i));
	err = live_next(l, 0, &msg, &seq);
	CHECK(err == 0 && seq == 1 && parse(msg, &s2, type, sizeof(type), &n) == 0 && s2 == 1 &&
		  n == 1 && !strcmp(type, "test"),
	      "the first message is seq 1 with its type and data", "err %d seq %llu msg %s", err,
	      (unsigned long long)seq, msg ? msg : "(null)");
	free(msg);
	msg = NULL;
	err = live_next(l, 7, &msg, &seq);
	CHECK(err == 0 && seq == 8, "resume after seq 7 gives seq 8", "err %d seq %llu", err,
	      (unsigned long long)seq);
	free(msg);
	msg = NULL;
	CHECK_EQ_INT(live_wait(l, 9, 10), 1, "live_wait sees a message after seq 9");
	CHECK_EQ_INT(live_next(l, 10, &msg, &seq), -EAGAIN, "nothing after the last seq");
	{
		/* Text publication: the data is the caller's JSON text, as is. */
		static const char line[] = "{\"verdict\":\"deny\",\"path\":\"/bin/sh\",\"n\":10}";
		json_object *o, *d;

		s2 = live_publish_text(l, "decision", line, strlen(line));
		err = live_next(l, 10, &msg, &seq);
		o = err == 0 ? json_tokener_parse(msg) : NULL;
		CHECK(s2 == 11 && seq == 11 && o && json_object_object_get_ex(o, "data", &d) &&
			  !strcmp(json_object_to_json_string_ext(
				      d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
				  line) &&
			  strstr(msg, "\"type\":\"decision\""),
		      "live_publish_text: the data is the given JSON text", "msg %s",
		      msg ? msg : "(null)");
		json_object_put(o);
		free(msg);
		msg = NULL;
	}

	/* Count bound: 16 kept; the reader at 0 missed 1..14 after 30 publications. */
	for (int i = 12; i <= 30; i++)
		live_publish(l, "test", data_n(i));
	live_get_stats(l, &st);
	CHECK(st.published == 30 && st.n_kept == 16 && st.oldest == 15,
	      "the ring keeps the last max_msgs messages", "published %llu kept %llu oldest %llu",
	      (unsigned long long)st.published, (unsigned long long)st.n_kept,
	      (unsigned long long)st.oldest);
	err = live_next(l, 3, &msg, &seq);
	CHECK(err == -ERANGE && seq == 14,
	      "a reader behind the ring gets -ERANGE and the seq to go on from", "err %d seq %llu",
	      err, (unsigned long long)seq);
	err = live_next(l, seq, &msg, &seq);
	CHECK(err == 0 && seq == 15, "it goes on from the oldest kept message", "err %d seq %llu",
	      err, (unsigned long long)seq);
	free(msg);
	msg = NULL;

	/* Truncation: a 100 KB string is replaced by a "truncated" message. */
	{
		char *big = malloc(100000);
		json_object *o = json_object_new_object();
		json_object *m, *d, *v;

		memset(big, 'x', 99999);
		big[99999] = 0;
		json_object_object_add(o, "s", json_object_new_string(big));
		free(big);
		s2 = live_publish(l, "alert", o);
		err = live_next(l, s2 - 1, &msg, &seq);
		m = err ? NULL : json_tokener_parse(msg);
		CHECK(m && strlen(msg) < LIVE_MAX_MSG && json_object_object_get_ex(m, "type", &v) &&
			  !strcmp(json_object_get_string(v), "truncated") &&
			  json_object_object_get_ex(m, "data", &d) &&
			  json_object_object_get_ex(d, "type", &v) &&
			  !strcmp(json_object_get_string(v), "alert"),
		      "a message over LIVE_MAX_MSG becomes a \"truncated\" one naming its type",
		      "err %d msg %.200s", err, msg ? msg : "(null)");
		json_object_put(m);
		free(msg);
		msg = NULL;
	}
	live_free(l);

	/* Byte bound: 64 KiB (the minimum), messages of ~1 KiB each. */
	l = live_new(8192, 65536);
	for (int i = 0; i < 1000; i++) {
		json_object *o = json_object_new_object();
		char pad[1000];

		memset(pad, 'p', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = 0;
		json_object_object_add(o, "pad", json_object_new_string(pad));
		live_publish(l, "test", o);
	}
	live_get_stats(l, &st);
	CHECK(st.bytes_kept <= 65536 && st.n_kept > 30 && st.n_kept < 100 && st.published == 1000,
	      "the byte bound holds and the newest messages are kept",
	      "bytes %llu kept %llu published %llu", (unsigned long long)st.bytes_kept,
	      (unsigned long long)st.n_kept, (unsigned long long)st.published);
	live_free(l);

	/* Threads: one publisher, fast readers and a slow one. */
	{
		struct reader r[N_READERS];
		pthread_t t[N_READERS];
		int ok_fast = 1, ok_all = 1;

		l = live_new(1024, 0);
		for (int i = 0; i < N_READERS; i++) {
			r[i] = (struct reader){.l = l, .slow = i == N_READERS - 1};
			pthread_create(&t[i], NULL, reader_main, &r[i]);
		}
		for (int i = 1; i <= N_PUB; i++) {
			live_publish(l, "test", data_n(i));
			if (i % 500 == 0) {
				struct timespec ts = {0, 1000000};
				nanosleep(&ts, NULL);
			}
		}
		/* Let the readers drain, then stop them. */
		for (int w = 0; w < 500; w++) {
			int done = 1;
			struct timespec ts = {0, 10000000};

			for (int i = 0; i < N_READERS - 1; i++)
				done &= __atomic_load_n(&r[i].received, __ATOMIC_RELAXED) +
					    __atomic_load_n(&r[i].missed, __ATOMIC_RELAXED) ==
					N_PUB;
			if (done)
				break;
			nanosleep(&ts, NULL);
		}
		live_wake(l);
		for (int i = 0; i < N_READERS; i++) {
			pthread_join(t[i], NULL);
			if (r[i].received + r[i].missed != N_PUB || r[i].bad)
				ok_all = 0;
			if (!r[i].slow && r[i].out_of_order != r[i].missed && r[i].missed == 0)
				ok_fast = 0;
		}
		for (int i = 0; i < N_READERS; i++)
			printf("# reader %d%s: received %llu, missed %llu, gaps %llu\n", i,
			       r[i].slow ? " (slow)" : "", (unsigned long long)r[i].received,
			       (unsigned long long)r[i].missed,
			       (unsigned long long)r[i].out_of_order);
		CHECK(ok_all,
		      "with threads, every reader receives or is told it missed each of the "
		      "messages, each well-formed with its own seq",
		      "see the reader lines above");
		CHECK(r[N_READERS - 1].missed > 0,
		      "the slow reader fell off the ring and was told (-ERANGE)", "missed %llu",
		      (unsigned long long)r[N_READERS - 1].missed);
		CHECK(ok_fast, "the fast readers saw the messages in order", "see above");
		live_get_stats(l, &st);
		CHECK(st.n_kept <= 1024 && st.published == N_PUB,
		      "the count bound holds under threads", "kept %llu published %llu",
		      (unsigned long long)st.n_kept, (unsigned long long)st.published);
		live_free(l);
	}
	CHECK_EQ_INT(live_publish(NULL, "test", data_n(1)), 0,
		     "publishing to no feed frees the data and returns 0");
	return TEST_EXIT();
}
