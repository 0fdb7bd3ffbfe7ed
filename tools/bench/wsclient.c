/* wsclient.c - N clients of moat run's live stream (/ws), through civetweb's own WebSocket
 * client, for tools/bench/daemon.sh (dashboard) and tests/integration/test_web_server.sh.
 *
 *   build/bench/wsclient PORT TOKEN_FILE N SECONDS [AFTER]
 *
 * Opens N connections to ws://127.0.0.1:PORT/ws?token=...&after=AFTER, prints every message
 * the first one receives on stdout (one JSON object per line), the others read and drop
 * theirs; after SECONDS (or SIGTERM) it closes them and prints to stderr how many opened and
 * how many messages each kind received. Exit 0 when all N opened. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <civetweb.h>

static volatile sig_atomic_t exiting;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_first, n_others;

static void on_signal(int sig)
{
	exiting = 1;
}

static int on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *ud)
{
	if ((bits & 0x0f) != MG_WEBSOCKET_OPCODE_TEXT)
		return 1;
	pthread_mutex_lock(&out_lock);
	if (ud) {
		fwrite(data, 1, len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		n_first++;
	} else {
		n_others++;
	}
	pthread_mutex_unlock(&out_lock);
	return 1;
}

int main(int argc, char **argv)
{
	char token[128] = "", path[256], err[256];
	struct mg_connection **c;
	long port, n, secs;
	int opened = 0;
	FILE *f;

	if (argc < 5) {
		fprintf(stderr, "usage: wsclient PORT TOKEN_FILE N SECONDS [AFTER]\n");
		return 2;
	}
	port = strtol(argv[1], NULL, 10);
	n = strtol(argv[3], NULL, 10);
	secs = strtol(argv[4], NULL, 10);
	f = fopen(argv[2], "re");
	if (!f || !fgets(token, sizeof(token), f)) {
		fprintf(stderr, "wsclient: cannot read the token from %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	fclose(f);
	token[strcspn(token, "\n")] = 0;
	snprintf(path, sizeof(path), "/ws?token=%s&after=%s", token, argc > 5 ? argv[5] : "0");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);
	mg_init_library(MG_FEATURES_WEBSOCKET);
	c = calloc((size_t)(n > 0 ? n : 1), sizeof(*c));
	for (long i = 0; c && i < n; i++) {
		c[i] =
		    mg_connect_websocket_client("127.0.0.1", (int)port, 0, err, sizeof(err), path,
						NULL, on_data, NULL, i == 0 ? (void *)1 : NULL);
		if (c[i])
			opened++;
		else
			fprintf(stderr, "wsclient: client %ld: %s\n", i, err);
	}
	fprintf(stderr, "wsclient: %d of %ld clients open\n", opened, n);
	for (long t = 0; !exiting && t < secs * 10; t++)
		usleep(100000);
	for (long i = 0; c && i < n; i++)
		if (c[i])
			mg_close_connection(c[i]);
	fprintf(stderr, "wsclient: first client %lu messages, the others %lu\n", n_first, n_others);
	free(c);
	return opened == n ? 0 : 1;
}
