/* loadgen.c - moat's benchmark load generators, run inside busybox
 * containers (built static). Each one runs as fast as it can, stops by itself
 * after COUNT operations or SECS seconds, whichever comes first, and prints
 * one line: "loadgen KIND ops=N secs=S rate=R errors=E cpu=C" (C: user + system CPU
 * seconds of the process, kernel work of its system calls included).
 *
 *   loadgen connect ADDR PORT COUNT SECS   TCP connect() + close (RST, no TIME_WAIT)
 *   loadgen exec COUNT SECS                fork + execve(self, "noop") + wait
 *   loadgen dns ADDR NAME COUNT SECS       UDP A queries to ADDR:53, WINDOW in flight
 *   loadgen resolve ADDR NAME PORT COUNT SECS
 *                                          A query for NAME to ADDR:53 from a fresh UDP
 *                                          socket, then TCP connect() + close to the first
 *                                          A record of the answer, PORT (a stub resolver
 *                                          and its client; moat must explain every connect)
 *   loadgen noop                           exit 0 at once (the exec target)
 *
 * COUNT 0 means no count limit; SECS 0 means no time limit (not both). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DNS_WINDOW     4   /* queries kept in flight */
#define DNS_TIMEOUT_MS 500 /* no answer for this long: count the window lost, resend */

static char *self_path;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Parse a non-negative decimal argument; exits 2 on garbage. */
static long arg_num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "loadgen: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* 1 while another operation may start: under COUNT and before the deadline. */
static int more(long done, long count, double deadline)
{
	if (count && done >= count)
		return 0;
	/* Checking the clock every operation costs ~20 ns: noise here. */
	return !deadline || now_s() < deadline;
}

static int parse_v4(const char *addr, int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
		fprintf(stderr, "loadgen: '%s' is not an IPv4 address\n", addr);
		return -EINVAL;
	}
	return 0;
}

/* TCP connect + close. SO_LINGER 0 makes close() send RST, so the client
 * keeps no TIME_WAIT socket and the ephemeral ports never run out, however
 * many rounds run in one container. Returns operations done; errors counted. */
static long gen_connect(const struct sockaddr_in *sin, long count, double deadline, long *errors)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	long done = 0;

	while (more(done, count, deadline)) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0) {
			(*errors)++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)))
			(*errors)++;
		close(fd);
		done++;
	}
	return done;
}

/* fork + exec of this (static, tiny-startup) binary with "noop" + wait. */
static long gen_exec(long count, double deadline, long *errors)
{
	char *argv[] = {self_path, "noop", NULL};
	char *envp[] = {NULL};
	long done = 0;

	while (more(done, count, deadline)) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			(*errors)++;
			continue;
		}
		if (pid == 0) {
			execve(self_path, argv, envp);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			(*errors)++;
		done++;
	}
	return done;
}

/* Build a DNS query (A, IN, RD) for name into buf. Returns its length, or
 * -EINVAL when the name does not fit. */
static int dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name)
{
	size_t pos = 12;
	const char *p = name;

	if (cap < 12 + strlen(name) + 2 + 4)
		return -EINVAL;
	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;    /* QDCOUNT */
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (len == 0 || len > 63)
			return -EINVAL;
		buf[pos++] = (uint8_t)len;
		memcpy(buf + pos, p, len);
		pos += len;
		p += len + (dot ? 1 : 0);
	}
	buf[pos++] = 0;
	buf[pos++] = 0;
	buf[pos++] = 1; /* QTYPE A */
	buf[pos++] = 0;
	buf[pos++] = 1; /* QCLASS IN */
	return (int)pos;
}

/* DNS queries over one unconnected UDP socket (sendto, as a stub resolver
 * reusing its socket would), DNS_WINDOW in flight. An operation is one
 * answered query; a window with no answer for DNS_TIMEOUT_MS counts as
 * errors and is refilled. */
static long gen_dns(const struct sockaddr_in *sin, const char *name, long count, double deadline,
		    long *errors)
{
	uint8_t q[512], a[1500];
	uint16_t id = (uint16_t)getpid();
	long done = 0, sent = 0;
	int fd, len, inflight = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("loadgen: socket");
		return 0;
	}
	while (more(done, count, deadline)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		while (inflight < DNS_WINDOW && (!count || sent < count)) {
			len = dns_query(q, sizeof(q), ++id, name);
			if (len < 0) {
				fprintf(stderr, "loadgen: bad DNS name '%s'\n", name);
				close(fd);
				return done;
			}
			if (sendto(fd, q, (size_t)len, 0, (const struct sockaddr *)sin,
				   sizeof(*sin)) < 0) {
				(*errors)++;
				break;
			}
			inflight++;
			sent++;
		}
		if (poll(&pfd, 1, DNS_TIMEOUT_MS) <= 0) {
			*errors += inflight;
			sent -= inflight;
			inflight = 0;
			continue;
		}
		if (recv(fd, a, sizeof(a), 0) >= 12) {
			done++;
			if (inflight > 0)
				inflight--;
		}
	}
	close(fd);
	return done;
}

/* Skip a (possibly compressed) DNS name at a[pos]; returns the offset after it, or -1. */
static int dns_skip_name(const uint8_t *a, int len, int pos)
{
	while (pos < len) {
		if ((a[pos] & 0xc0) == 0xc0)
			return pos + 2 <= len ? pos + 2 : -1;
		if (a[pos] == 0)
			return pos + 1;
		pos += a[pos] + 1;
	}
	return -1;
}

/* The first A record of the answer a (len bytes) to query id, into *out.
 * Returns 0, or -ENOENT (no A record), -EPROTO (not the answer, rcode set,
 * truncated). */
static int dns_first_a(const uint8_t *a, int len, uint16_t id, struct in_addr *out)
{
	int pos, an;

	if (len < 12 || ((a[0] << 8) | a[1]) != id || !(a[2] & 0x80) || (a[3] & 0x0f))
		return -EPROTO;
	an = (a[6] << 8) | a[7];
	pos = dns_skip_name(a, len, 12); /* the question */
	if (pos < 0 || pos + 4 > len)
		return -EPROTO;
	pos += 4;
	while (an-- > 0) {
		int type, class, rdlen;

		pos = dns_skip_name(a, len, pos);
		if (pos < 0 || pos + 10 > len)
			return -EPROTO;
		type = (a[pos] << 8) | a[pos + 1];
		class = (a[pos + 2] << 8) | a[pos + 3];
		rdlen = (a[pos + 8] << 8) | a[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			return -EPROTO;
		if (type == 1 && class == 1 && rdlen == 4) {
			memcpy(out, a + pos, 4);
			return 0;
		}
		pos += rdlen; /* a CNAME: the A records follow */
	}
	return -ENOENT;
}

/* One lookup + connect per operation: a fresh UDP socket (as a stub resolver
 * opens per lookup) sends an A query for name to the resolver, the first A
 * record of the answer is connected to on port (TCP, RST close). A lookup
 * with no usable answer within DNS_TIMEOUT_MS, or a failed connect, counts as
 * an error; the operation still counts as done. */
static long gen_resolve(const struct sockaddr_in *resolver, const char *name, int port, long count,
			double deadline, long *errors)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	uint8_t q[512], a[1500];
	uint16_t id = (uint16_t)getpid();
	long done = 0;

	while (more(done, count, deadline)) {
		struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		int len, n, fd, ok = 0;

		done++;
		len = dns_query(q, sizeof(q), ++id, name);
		if (len < 0) {
			fprintf(stderr, "loadgen: bad DNS name '%s'\n", name);
			return done;
		}
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) {
			(*errors)++;
			continue;
		}
		if (sendto(fd, q, (size_t)len, 0, (const struct sockaddr *)resolver,
			   sizeof(*resolver)) == len) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};

			while (poll(&pfd, 1, DNS_TIMEOUT_MS) > 0) {
				n = (int)recv(fd, a, sizeof(a), 0);
				if (n >= 12 && ((a[0] << 8) | a[1]) == id) {
					ok = dns_first_a(a, n, id, &dst.sin_addr) == 0;
					break;
				}
			}
		}
		close(fd);
		if (!ok) {
			(*errors)++;
			continue;
		}
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			(*errors)++;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		if (connect(fd, (const struct sockaddr *)&dst, sizeof(dst)))
			(*errors)++;
		close(fd);
	}
	return done;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double cpu;
	struct sockaddr_in sin;
	long count, secs, done, errors = 0;
	int port = 0;
	double start, deadline, took;
	const char *kind = argc > 1 ? argv[1] : "";

	self_path = argv[0];
	if (strcmp(kind, "noop") == 0)
		return 0;
	if (strcmp(kind, "connect") == 0 && argc == 6) {
		if (parse_v4(argv[2], (int)arg_num(argv[3], "PORT"), &sin))
			return 2;
		count = arg_num(argv[4], "COUNT");
		secs = arg_num(argv[5], "SECS");
	} else if (strcmp(kind, "exec") == 0 && argc == 4) {
		count = arg_num(argv[2], "COUNT");
		secs = arg_num(argv[3], "SECS");
	} else if (strcmp(kind, "resolve") == 0 && argc == 7) {
		if (parse_v4(argv[2], 53, &sin))
			return 2;
		port = (int)arg_num(argv[4], "PORT");
		count = arg_num(argv[5], "COUNT");
		secs = arg_num(argv[6], "SECS");
	} else if (strcmp(kind, "dns") == 0 && argc == 6) {
		if (parse_v4(argv[2], 53, &sin))
			return 2;
		count = arg_num(argv[4], "COUNT");
		secs = arg_num(argv[5], "SECS");
	} else {
		fprintf(stderr, "usage: loadgen connect ADDR PORT COUNT SECS | exec COUNT SECS |\n"
				"               dns ADDR NAME COUNT SECS |\n"
				"               resolve ADDR NAME PORT COUNT SECS | noop\n");
		return 2;
	}
	if (!count && !secs) {
		fprintf(stderr, "loadgen: COUNT and SECS cannot both be 0 (it must stop)\n");
		return 2;
	}
	start = now_s();
	deadline = secs ? start + secs : 0;
	if (kind[0] == 'c')
		done = gen_connect(&sin, count, deadline, &errors);
	else if (kind[0] == 'r')
		done = gen_resolve(&sin, argv[3], port, count, deadline, &errors);
	else if (kind[0] == 'e')
		done = gen_exec(count, deadline, &errors);
	else
		done = gen_dns(&sin, argv[3], count, deadline, &errors);
	took = now_s() - start;
	getrusage(RUSAGE_SELF, &ru);
	/* CPU time of this process (user + system): the kernel work of its own system calls,
	 * where moat's hooks run, without the time spent waiting for a CPU. */
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	      ru.ru_stime.tv_usec / 1e6;
	printf("loadgen %s ops=%ld secs=%.3f rate=%.0f errors=%ld cpu=%.3f\n", kind, done, took,
	       took > 0 ? done / took : 0.0, errors, cpu);
	return errors && !done ? 1 : 0;
}
