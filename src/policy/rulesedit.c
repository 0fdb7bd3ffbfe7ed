/* rulesedit.c - one change to the egress rules file, shared by `moat rules` and the API. */
#define _GNU_SOURCE /* O_DIRECTORY */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "cidr.h"
#include "fs.h"
#include "log.h"
#include "rulesedit.h"

int rules_edit_kind(const char *verdict, const char *match)
{
	struct cidr c;
	int ip = match && cidr_parse(match, &c) == 0;

	if (!verdict)
		return 0;
	if (!strcmp(verdict, "allow"))
		return ip ? RULE_ALLOW_IP : RULE_ALLOW_DOMAIN;
	if (!strcmp(verdict, "deny"))
		return ip ? RULE_DENY_IP : RULE_DENY_DOMAIN;
	return 0;
}

/* An exclusive flock on the directory holding path (created 0755 when missing): every
 * editor (CLI or API thread) opens it anew, so they exclude each other. Returns the fd
 * (close releases the lock) or -errno. */
static int lock_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, err;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if ((err = fs_mkdir_parent(path, 0755)))
		return err;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	return fd;
}

static int apply(struct ruleset *rs, const char *path, const struct rules_edit *e, char *why,
		 size_t n)
{
	switch (e->op) {
	case RULES_EDIT_ADD:
		if (!e->match || !*e->match) {
			snprintf(why, n, "no match given: a domain, *.domain or an IP/CIDR");
			return -EINVAL;
		}
		return rules_add(rs, e->kind, e->match, e->comment);
	case RULES_EDIT_REMOVE:
		if (!e->match || rules_remove(rs, e->match)) {
			snprintf(why, n,
				 "no rule with id or match '%.200s' in %.200s (list them first)",
				 e->match ? e->match : "", path);
			return -ENOENT;
		}
		return 0;
	case RULES_EDIT_DEFAULT: rs->default_deny = !!e->default_deny; return 0;
	case RULES_EDIT_IMPORT:
		return e->text ? rules_import_buf(rs, "the imported text", e->text, e->text_len)
			       : rules_import(rs, e->match);
	}
	snprintf(why, n, "unknown change to the rules file");
	return -EINVAL;
}

/* Whether rs, written out, loads again (rules_load's whole-file checks). 0 or -errno. */
static int check_loads(const struct ruleset *rs, const char *path, char *msg)
{
	struct ruleset again = {0};
	size_t len;
	char *text = rules_format(rs, &len);
	int err;

	if (!text)
		return -ENOMEM;
	msg[0] = 0;
	err = rules_load_buf(&again, path, text, len);
	rules_free(&again);
	free(text);
	return err;
}

int rules_edit_file(const char *path, const struct rules_edit *e, struct ruleset *out, char *why,
		    size_t n)
{
	struct ruleset rs = {0};
	char msg[512];
	int lock, err, ret;

	why[0] = 0;
	lock = lock_dir(path);
	if (lock < 0) {
		snprintf(why, n, "cannot lock the directory of %.300s: %s (does it exist? root?)",
			 path, strerror(-lock));
		return lock;
	}
	log_capture_begin(msg, sizeof(msg));
	err = rules_load(&rs, path);
	if (err && err != -ENOENT) {
		snprintf(why, n, "the rules file does not load: %.400s (fix it by hand first)",
			 msg[0] ? msg : strerror(-err));
		goto out;
	}
	ret = apply(&rs, path, e, why, n);
	if (ret < 0) {
		err = ret;
		if (!why[0])
			snprintf(why, n, "%.500s", msg[0] ? msg : strerror(-err));
		goto out;
	}
	/* never write a file moat run would refuse (e.g. an allow and a deny of one target) */
	if ((err = check_loads(&rs, path, msg)) < 0) {
		snprintf(why, n, "%.500s", msg[0] ? msg : strerror(-err));
		goto out;
	}
	err = rules_save(&rs, path);
	if (err) {
		snprintf(why, n,
			 "cannot write %.300s: %s (does its directory exist? are you root?)", path,
			 strerror(-err));
		goto out;
	}
	err = ret;
out:
	log_capture_end();
	close(lock);
	if (out && err >= 0)
		*out = rs;
	else
		rules_free(&rs);
	return err;
}
