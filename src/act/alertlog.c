/* alertlog.c - the alert sinks: one line on the terminal, one JSON line in the alert file
 * (created with its directories, reopened after rotation, torn lines fenced off). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "alertlog.h"
#include "fs.h"
#include "alertlog_int.h"
#include "log.h"

struct alertlog {
	char *path;  /* NULL: no file */
	int fd;	     /* -1 while the file cannot be opened */
	int term_fd; /* -1: no terminal */
	int color;   /* resolved once at open */
	int sync;    /* fdatasync after each alert */
	int failing; /* a file error was reported; reset by the next success */
	int torn;    /* the last write stopped mid-line: start the next with '\n' */
};

/* Write all of buf, retrying short writes and EINTR. Returns 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open l->path for appending (creating it and its directories). Reports
 * the first failure of a run of failures. Returns 0 or -errno. */
static int open_file(struct alertlog *l)
{
	int err = fs_mkdir_parent(l->path, 0750);

	if (!err) {
		l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		err = l->fd < 0 ? -errno : 0;
	}
	if (err && !l->failing) {
		log_error("cannot open the alert file %s: %s (alerts still go to the terminal; "
			  "check the directory and permissions)",
			  l->path, strerror(-err));
		l->failing = 1;
	}
	return err;
}

struct alertlog *alertlog_open(const char *path, int terminal_fd, int color_mode)
{
	struct alertlog *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->fd = -1;
	l->term_fd = terminal_fd;
	l->color = alertlog_use_color(color_mode, terminal_fd);
	if (path) {
		l->path = strdup(path);
		if (!l->path) {
			free(l);
			errno = ENOMEM;
			return NULL;
		}
		open_file(l);
	}
	return l;
}

void alertlog_set_sync(struct alertlog *l, int on)
{
	l->sync = on;
}

int alertlog_reopen(struct alertlog *l)
{
	if (!l->path)
		return 0;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->torn = 0;
	return open_file(l);
}

void alertlog_close(struct alertlog *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l);
}

/* Durability: the line goes out in one write(2) on an O_APPEND fd, so once
 * write returns it is in the page cache and survives a crash of moat (not
 * of the machine); readers never see two alerts interleaved. Syncing every
 * alert would cost a disk flush per alert in a burst, so it is opt-in
 * (alertlog_set_sync). A short write (disk full) is retried for the rest;
 * if that fails the line is torn, and the next write starts with '\n' so
 * the torn fragment does not swallow the next alert. */
int alertlog_write(struct alertlog *l, const struct alert *a)
{
	json_object *o;
	const char *js;
	char *buf = NULL, *term;
	size_t jlen, n, tlen;
	int err = 0;

	if (l->term_fd >= 0) {
		term = alertlog_line_dup(a, l->color, NULL, &tlen);
		if (term)
			write_all(l->term_fd, term, tlen); /* a closed terminal is not an error */
		free(term);
	}
	if (!l->path)
		return 0;
	if (l->fd < 0 && (err = open_file(l)))
		return err;
	o = alert_to_json(a);
	if (!o)
		return -ENOMEM;
	js = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	jlen = js ? strlen(js) : 0;
	buf = js ? malloc(jlen + 2) : NULL;
	if (!buf) {
		json_object_put(o);
		return -ENOMEM;
	}
	n = 0;
	if (l->torn)
		buf[n++] = '\n';
	memcpy(buf + n, js, jlen);
	n += jlen;
	buf[n++] = '\n';
	json_object_put(o);

	err = write_all(l->fd, buf, n);
	free(buf);
	if (!err && l->sync && fdatasync(l->fd))
		err = -errno;
	if (err) {
		/* The write may have stopped after some bytes; assume it did. */
		l->torn = 1;
		if (!l->failing)
			log_error("cannot write to the alert file %s: %s (alerts still go to the "
				  "terminal)",
				  l->path, strerror(-err));
		l->failing = 1;
		return err;
	}
	if (l->failing)
		log_info("writing alerts to %s again", l->path);
	l->failing = 0;
	l->torn = 0;
	return 0;
}
