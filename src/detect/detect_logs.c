/* detect_logs.c - the log pattern scanner: compiled pattern sets, the per-container scan
 * budget and rate limit, and the log-pattern / log-flood alerts (detect_logs.h). */
#include <errno.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_logs.h"
#include "textesc.h"

/* The seed's four groups (crabpot's log scanner), whole words. Log levels are matched in
 * capitals only ("0 errors" is not an ERROR line); the rest in any case. */
const struct log_pattern logs_default_patterns[LOGS_DEFAULT_N] = {
    {"error-level", "\\<(ERROR|FATAL|CRITICAL)\\>", ALERT_WARNING, 0},
    {"crash", "\\<(panic|panicked|segfault|segmentation fault|core dump|core dumped)\\>",
     ALERT_WARNING, 1},
    {"attack-words", "\\<(injection|unauthori[sz]ed|forbidden)\\>", ALERT_WARNING, 1},
    {"shell-spawn", "\\<(exec|spawn)[a-z_]*\\>.*(^|[^.[:alnum:]_])(sh|bash)\\>", ALERT_WARNING, 1},
};

/* A quick test before the regex of each seed pattern: a line it matches holds one of these
 * words (in any case where the pattern ignores case), so a line with none is no match. Most
 * lines hold none: the regex, ten times dearer, runs on few (docs/performance.md, 8.1). */
static const char *const default_words[LOGS_DEFAULT_N][5] = {
    {"ERROR", "FATAL", "CRITICAL", NULL},
    {"panic", "segfault", "segmentation fault", "core dump", NULL},
    {"injection", "unauthori", "forbidden", NULL},
    {"exec", "spawn", NULL},
};

struct logrule {
	struct log_pattern def;
	regex_t fast;		  /* REG_NOSUB: does it match? */
	regex_t sub;		  /* with offsets: what did it match? */
	const char *const *words; /* a seed pattern's quick test, NULL for the operator's */
};

struct logrules {
	atomic_int refs;
	int n;
	struct logrule r[LOGS_MAX_RULES];
};

static int add_rule(struct logrules *rs, const struct log_pattern *p, const char *const *words)
{
	struct logrule *r = &rs->r[rs->n];
	int flags = REG_EXTENDED | (p->icase ? REG_ICASE : 0);

	if (rs->n == LOGS_MAX_RULES)
		return 0;
	r->def = *p;
	r->words = words;
	if (regcomp(&r->fast, p->regex, flags | REG_NOSUB))
		return -EINVAL;
	if (regcomp(&r->sub, p->regex, flags)) {
		regfree(&r->fast);
		return -EINVAL;
	}
	rs->n++;
	return 0;
}

struct logrules *logrules_build(const struct logs_config *global, const struct logs_policy *pol)
{
	struct logrules *rs = calloc(1, sizeof(*rs));
	int defaults =
	    pol && pol->default_patterns >= 0 ? pol->default_patterns : global->default_patterns;
	int err = 0;

	if (!rs)
		return NULL;
	atomic_init(&rs->refs, 1);
	for (int i = 0; pol && !err && i < pol->n_patterns; i++)
		err = add_rule(rs, &pol->patterns[i], NULL);
	for (int i = 0; !err && i < global->n_patterns; i++)
		err = add_rule(rs, &global->patterns[i], NULL);
	for (int i = 0; defaults && !err && i < LOGS_DEFAULT_N; i++)
		err = add_rule(rs, &logs_default_patterns[i], default_words[i]);
	if (err) {
		logrules_put(rs);
		errno = -err;
		return NULL;
	}
	return rs;
}

struct logrules *logrules_get(struct logrules *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void logrules_put(struct logrules *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	for (int i = 0; i < r->n; i++) {
		regfree(&r->r[i].fast);
		regfree(&r->r[i].sub);
	}
	free(r);
}

int logrules_count(const struct logrules *r)
{
	return r ? r->n : 0;
}

/* ---- per-container state ------------------------------------------------ */

#define LOGS_LAST_ESC 512 /* the last line held back, escaped and cut, for the summary */

struct limit {
	int64_t window_end; /* mono ns; 0: no window open */
	uint32_t sent;	    /* alerts in this window */
	uint64_t held;	    /* lines held back in this window */
	char last[LOGS_LAST_ESC];
};

struct logscan {
	struct logrules *rules;
	struct logscan_opts o;
	double tokens; /* budget, bytes */
	int64_t refill_ns;
	uint64_t skipped_lines, skipped_bytes;
	int64_t flood_next; /* mono ns: no FLOOD report before */
	uint64_t lines, bytes;
	struct limit lim[]; /* one per rule */
};

struct logscan *logscan_new(struct logrules *rules, const struct logscan_opts *o)
{
	struct logscan *s =
	    calloc(1, sizeof(*s) + (size_t)logrules_count(rules) * sizeof(s->lim[0]));

	if (!s)
		return NULL;
	s->rules = logrules_get(rules);
	s->o = *o;
	if (!s->o.rate_alerts)
		s->o.rate_alerts = 1;
	if (!s->o.rate_window_s)
		s->o.rate_window_s = 1;
	if (!s->o.max_bytes_per_s)
		s->o.max_bytes_per_s = 1;
	s->tokens = s->o.max_bytes_per_s;
	return s;
}

void logscan_free(struct logscan *s)
{
	if (!s)
		return;
	logrules_put(s->rules);
	free(s);
}

void logscan_inherit(struct logscan *s, const struct logscan *old)
{
	if (!old)
		return;
	s->tokens = old->tokens < s->o.max_bytes_per_s ? old->tokens : s->o.max_bytes_per_s;
	s->refill_ns = old->refill_ns;
	s->skipped_lines = old->skipped_lines;
	s->skipped_bytes = old->skipped_bytes;
	s->flood_next = old->flood_next;
	s->lines = old->lines;
	s->bytes = old->bytes;
	for (int i = 0; i < logrules_count(s->rules); i++)
		for (int j = 0; j < logrules_count(old->rules); j++)
			if (!strcmp(s->rules->r[i].def.name, old->rules->r[j].def.name)) {
				s->lim[i] = old->lim[j];
				break;
			}
}

size_t logscan_size(const struct logscan *s)
{
	return sizeof(*s) + (size_t)logrules_count(s->rules) * sizeof(s->lim[0]);
}

void logscan_counts(const struct logscan *s, uint64_t *lines, uint64_t *bytes)
{
	*lines = s->lines;
	*bytes = s->bytes;
}

/* Bytes of the first max characters of s (a character: one UTF-8 sequence of at most 4
 * bytes, or one byte that starts none). */
static size_t chars_prefix(const char *s, size_t len, size_t max)
{
	size_t i = 0;

	for (size_t n = 0; i < len && n < max; n++) {
		unsigned char c = (unsigned char)s[i++];
		int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

		while (more-- > 0 && i < len && ((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

/* Take len bytes (at most one second's worth) from the budget at now; 1 when they fit. */
static int budget_take(struct logscan *s, size_t len, int64_t now)
{
	double cap = s->o.max_bytes_per_s, cost = (double)len < cap ? (double)len : cap;

	if (!s->refill_ns) {
		s->refill_ns = now;
	} else if (now > s->refill_ns) {
		s->tokens += cap * (double)(now - s->refill_ns) / 1e9;
		if (s->tokens > cap)
			s->tokens = cap;
		s->refill_ns = now;
	}
	if (s->tokens < cost)
		return 0;
	s->tokens -= cost;
	return 1;
}

/* Can rule r match line (NUL-terminated, no NUL inside; low: the same in lower case, or
 * NULL when the line was too long to copy)? 0 only when its quick test says it cannot. The
 * words of a pattern that ignores case are lower case, and are looked for in low (glibc's
 * strcasestr is several times slower than lowering the line once). */
static int may_match(const struct logrule *r, const char *line, const char *low)
{
	if (!r->words || (r->def.icase && !low))
		return 1;
	for (int i = 0; r->words[i]; i++)
		if (strstr(r->def.icase ? low : line, r->words[i]))
			return 1;
	return 0;
}

#define LOGS_LOWER_MAX 16384

/* line in ASCII lower case into a per-thread buffer; NULL when longer than LOGS_LOWER_MAX. */
static const char *lower(const char *line, size_t len)
{
	static __thread char buf[LOGS_LOWER_MAX + 1];

	if (len > LOGS_LOWER_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		buf[i] = line[i] >= 'A' && line[i] <= 'Z' ? (char)(line[i] | 0x20) : line[i];
	buf[len] = 0;
	return buf;
}

int logscan_line(struct logscan *s, int stream, char *line, size_t len, int cut, int64_t mono_ns,
		 int64_t unix_ns, struct log_hit *hit)
{
	const struct logrules *rs = s->rules;
	regmatch_t m[1];
	const char *low;
	size_t show;
	int best = -1;

	if (!budget_take(s, len + 1, mono_ns)) {
		s->skipped_lines++;
		s->skipped_bytes += len + 1;
		return 0;
	}
	s->lines++;
	s->bytes += len + 1;
	for (size_t i = 0; i < len; i++)
		if (!line[i])
			line[i] = ' ';
	low = lower(line, len);
	for (int i = 0; i < rs->n; i++)
		if ((best < 0 || rs->r[i].def.severity > rs->r[best].def.severity) &&
		    may_match(&rs->r[i], line, low) &&
		    regexec(&rs->r[i].fast, line, 0, NULL, 0) == 0)
			best = i;
	if (best < 0)
		return 0;
	show = chars_prefix(line, len, LOGS_LINE_CHARS);
	{
		struct limit *l = &s->lim[best];
		uint64_t carried = 0;

		if (mono_ns >= l->window_end) {
			/* A new window; what the last one held back goes with this alert (unless
			 * logscan_tick reported it already). */
			carried = l->held;
			l->window_end = mono_ns + (int64_t)s->o.rate_window_s * 1000000000LL;
			l->sent = 0;
			l->held = 0;
		}
		if (l->sent >= s->o.rate_alerts) {
			l->held++;
			text_escape(l->last, sizeof(l->last), line, show);
			return 0;
		}
		l->sent++;
		memset(hit, 0, sizeof(*hit));
		hit->suppressed = carried;
	}
	hit->kind = LOG_HIT_MATCH;
	hit->severity = rs->r[best].def.severity;
	hit->stream = stream;
	hit->cut = cut || show < len;
	hit->window_s = s->o.rate_window_s;
	hit->time_ns = unix_ns;
	snprintf(hit->pattern, sizeof(hit->pattern), "%s", rs->r[best].def.name);
	text_escape(hit->line, sizeof(hit->line), line, show);
	if (regexec(&rs->r[best].sub, line, 1, m, 0) == 0 && m[0].rm_so >= 0 &&
	    m[0].rm_eo >= m[0].rm_so)
		text_escape(hit->matched, sizeof(hit->matched), line + m[0].rm_so,
			    chars_prefix(line + m[0].rm_so, (size_t)(m[0].rm_eo - m[0].rm_so), 40));
	return 1;
}

int logscan_tick(struct logscan *s, int64_t mono_ns, int64_t unix_ns, struct log_hit *hit)
{
	for (int i = 0; i < logrules_count(s->rules); i++) {
		struct limit *l = &s->lim[i];

		if (!l->held || mono_ns < l->window_end)
			continue;
		memset(hit, 0, sizeof(*hit));
		hit->kind = LOG_HIT_SUMMARY;
		hit->severity = s->rules->r[i].def.severity;
		hit->suppressed = l->held;
		hit->window_s = s->o.rate_window_s;
		hit->time_ns = unix_ns;
		snprintf(hit->pattern, sizeof(hit->pattern), "%s", s->rules->r[i].def.name);
		snprintf(hit->line, sizeof(hit->line), "%s", l->last);
		l->held = 0;
		return 1;
	}
	if (s->skipped_lines && mono_ns >= s->flood_next) {
		memset(hit, 0, sizeof(*hit));
		hit->kind = LOG_HIT_FLOOD;
		hit->severity = ALERT_WARNING;
		hit->skipped_lines = s->skipped_lines;
		hit->skipped_bytes = s->skipped_bytes;
		hit->window_s = s->o.rate_window_s;
		hit->time_ns = unix_ns;
		s->skipped_lines = s->skipped_bytes = 0;
		s->flood_next = mono_ns + (int64_t)s->o.rate_window_s * 1000000000LL;
		return 1;
	}
	return 0;
}

/* ---- the alert ----------------------------------------------------------- */

static const char *stream_name(int stream)
{
	return stream == 2 ? "stderr" : "stdout";
}

int detect_log_alert(const struct log_hit *h, const struct container_info *c, struct alert *out)
{
	const char *name = c && c->name[0] ? c->name : h->container;
	json_object *o;

	if (h->kind != LOG_HIT_MATCH && h->kind != LOG_HIT_SUMMARY && h->kind != LOG_HIT_FLOOD)
		return 0;
	alert_start(out, h->time_ns, h->severity,
		    h->kind == LOG_HIT_FLOOD ? "log-flood" : "log-pattern", "logs",
		    c ? c->id : h->container, c ? c->name : "", c ? c->image : "");
	o = json_object_new_object();
	if (h->kind == LOG_HIT_MATCH) {
		char more[64] = "";

		if (h->suppressed)
			snprintf(more, sizeof(more), " (+%llu held back before)",
				 (unsigned long long)h->suppressed);
		/* The message is cut where it must be; the "log" object has the whole line. */
		if (snprintf(out->message, sizeof(out->message),
			     "Log pattern %s in %s (%s)%s: %s%s", h->pattern, name,
			     stream_name(h->stream), more, h->line, h->cut ? "..." : "") < 0)
			out->message[0] = 0;
		json_object_object_add(o, "stream", json_object_new_string(stream_name(h->stream)));
		json_object_object_add(o, "pattern", json_object_new_string(h->pattern));
		json_object_object_add(o, "matched", json_object_new_string(h->matched));
		json_object_object_add(o, "line", json_object_new_string(h->line));
		json_object_object_add(o, "truncated", json_object_new_boolean(h->cut));
		json_object_object_add(o, "suppressed",
				       json_object_new_int64((int64_t)h->suppressed));
	} else if (h->kind == LOG_HIT_SUMMARY) {
		if (snprintf(out->message, sizeof(out->message),
			     "Log pattern %s in %s: %llu more line(s) held back by the rate limit "
			     "in %u s; the last: %s",
			     h->pattern, name, (unsigned long long)h->suppressed, h->window_s,
			     h->line) < 0)
			out->message[0] = 0;
		json_object_object_add(o, "pattern", json_object_new_string(h->pattern));
		json_object_object_add(o, "line", json_object_new_string(h->line));
		json_object_object_add(o, "suppressed",
				       json_object_new_int64((int64_t)h->suppressed));
		json_object_object_add(o, "window_seconds", json_object_new_int64(h->window_s));
	} else {
		snprintf(out->message, sizeof(out->message),
			 "Container %s logs faster than the scan budget: %llu line(s), %llu bytes "
			 "not scanned",
			 name, (unsigned long long)h->skipped_lines,
			 (unsigned long long)h->skipped_bytes);
		json_object_object_add(o, "skipped_lines",
				       json_object_new_int64((int64_t)h->skipped_lines));
		json_object_object_add(o, "skipped_bytes",
				       json_object_new_int64((int64_t)h->skipped_bytes));
	}
	out->log = o;
	return 1;
}
