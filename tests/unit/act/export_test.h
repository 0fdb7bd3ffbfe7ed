/* export_test.h - what the exporter's tests share: a private clickhouse-server
 * (tests/helpers/clickhouse.sh), queries to it, and events to export. */
#ifndef MOAT_EXPORT_TEST_H
#define MOAT_EXPORT_TEST_H

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>

#include "event.h"
#include "export.h"
#include "output_test.h"

/* Run tests/helpers/clickhouse.sh CMD DIR. Returns its exit status (-1: not run). */
static inline int ch_script(const char *cmd, const char *dir)
{
	char script[PATH_MAX + 64];
	pid_t pid;
	int st;

	snprintf(script, sizeof(script), "%s/tests/helpers/clickhouse.sh", ot_srcdir());
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execl("/bin/bash", "bash", script, cmd, dir, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Start the server in dir (again on the same port after a stop). Its HTTP port, or -1. */
static inline int ch_start(const char *dir)
{
	char path[PATH_MAX + 16], *s;
	int port;

	if (ch_script("start", dir))
		return -1;
	snprintf(path, sizeof(path), "%s/http_port", dir);
	s = ot_read(path);
	port = s ? (int)strtol(s, NULL, 10) : -1;
	free(s);
	return port;
}

static inline void ch_stop(const char *dir)
{
	ch_script("stop", dir);
}

static inline size_t ch_body(char *p, size_t sz, size_t n, void *ud)
{
	fwrite(p, sz, n, ud);
	return sz * n;
}

/* POST sql to the server on port. Its answer (the caller frees) and *code (HTTP status,
 * 0 when unreachable). */
static inline char *ch_query_code(int port, const char *sql, long *code)
{
	CURL *c = curl_easy_init();
	char url[64], *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	*code = 0;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, sql);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ch_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, m);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_easy_cleanup(c);
	fclose(m);
	return buf;
}

/* The query's answer, or NULL when not HTTP 200. */
static inline char *ch_query(int port, const char *sql)
{
	long code;
	char *s = ch_query_code(port, sql, &code);

	if (code != 200) {
		fprintf(stderr, "query failed (HTTP %ld): %s\n%s\n", code, sql, s ? s : "");
		free(s);
		return NULL;
	}
	return s;
}

/* A number the query answers, or -1. */
static inline long long ch_num(int port, const char *sql)
{
	char *s = ch_query(port, sql);
	long long n = s && *s ? strtoll(s, NULL, 10) : -1;

	free(s);
	return n;
}

/* Run every statement of the schema (conf's tables). 0, or the number that failed. */
static inline int ch_schema(int port, const struct export_config *conf)
{
	char *buf = NULL, *p, *end;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int bad = 0;

	export_schema_print(m, conf, NULL);
	fclose(m);
	for (p = buf; p && (end = strstr(p, ";\n")); p = end + 2) {
		char *s;

		*end = 0;
		while (*p == '\n' || *p == '-') { /* skip comment lines */
			if (*p == '-')
				p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
			else
				p++;
		}
		s = ch_query(port, p);
		bad += !s;
		free(s);
	}
	free(buf);
	return bad;
}

/* Events to export. */
static inline void ev_exec(struct moat_exec_event *e, uint32_t pid, const char *file,
			   const char *arg1)
{
	size_t n;

	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_EXEC;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = (uint64_t)clock_boot_ns();
	e->hdr.cgroup_id = 4242;
	e->hdr.pid = e->hdr.tid = pid;
	snprintf(e->hdr.comm, sizeof(e->hdr.comm), "sh");
	e->ppid = 1;
	snprintf(e->filename, sizeof(e->filename), "%s", file);
	n = (size_t)snprintf(e->args, sizeof(e->args), "%s", file) + 1;
	n += (size_t)snprintf(e->args + n, sizeof(e->args) - n, "%s", arg1) + 1;
	e->args_len = (uint32_t)n;
	e->argc = 2;
}

static inline void ev_connect(struct moat_net_event *e, uint32_t pid, int verdict)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_CONNECT;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = (uint64_t)clock_boot_ns();
	e->hdr.cgroup_id = 4242;
	e->hdr.pid = e->hdr.tid = pid;
	snprintf(e->hdr.comm, sizeof(e->hdr.comm), "curl");
	e->family = 2;
	e->protocol = 6;
	e->dport = 443;
	e->verdict = (uint8_t)verdict;
	e->daddr[0] = 203;
	e->daddr[1] = 0;
	e->daddr[2] = 113;
	e->daddr[3] = (uint8_t)(pid & 0xff);
}

static inline void ev_dns(struct moat_dns_event *e, uint32_t pid, const char *qname)
{
	memset(e, 0, sizeof(*e));
	e->hdr.type = MOAT_EV_DNS_ANSWER;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = (uint64_t)clock_boot_ns();
	e->hdr.cgroup_id = 4242;
	e->hdr.pid = e->hdr.tid = pid;
	snprintf(e->hdr.comm, sizeof(e->hdr.comm), "curl");
	snprintf(e->qname, sizeof(e->qname), "%s", qname);
	e->qtype = 1;
	e->family = 2;
	e->dport = 53;
	e->n_addrs = 1;
	e->addrs[0].family = 2;
	e->addrs[0].addr[0] = 203;
	e->addrs[0].addr[3] = 7;
	e->addrs[0].ttl = 60;
}

static inline void ct_info(struct container_info *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s",
		 "0123456789abcdef0123456789abcdef0123456789abcdef01234567"
		 "89abcdef");
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->image, sizeof(c->image), "nginx:1.25");
}

/* The exporter's counter key of its status (a member of a member with "a.b"), or -1. */
static inline long long ex_stat(struct exporter *x, const char *key)
{
	json_object *s = export_status(x), *v = s, *w;
	char k[64], *dot;
	long long n = -1;

	snprintf(k, sizeof(k), "%s", key);
	dot = strchr(k, '.');
	if (dot)
		*dot = 0;
	if (json_object_object_get_ex(v, k, &w) &&
	    (!dot || json_object_object_get_ex(w, dot + 1, &w)))
		n = json_object_get_int64(w);
	json_object_put(s);
	return n;
}

/* The exporter's state line (static buffer). */
static inline const char *ex_state(struct exporter *x)
{
	static char buf[512];
	json_object *s = export_status(x), *v;

	buf[0] = 0;
	if (json_object_object_get_ex(s, "state", &v))
		snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
	json_object_put(s);
	return buf;
}

#endif /* MOAT_EXPORT_TEST_H */
