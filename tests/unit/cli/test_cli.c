/* test_cli.c - the verb table (src/cli/verbs.c) and what must agree with it: `moat --help`
 * (generated from it), the COMMANDS of docs/moat.8 and the command headings of
 * docs/configuration.md (same verbs, same synopsis word for word), and every `moat VERB`
 * the README and docs name. A verb added, renamed or removed on one side only fails here. */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "commands.h"
#include "fs.h"

#define HELP_MAX    48 /* so that `moat --help` lines fit 80 columns (help column 32) */
#define USAGE_WIDTH 80

static char root[PATH_MAX];

/* The source tree: the current directory when it has docs/moat.8 (tests/run.sh runs
 * from the repo root), else three levels above this binary (build/tests/test_cli). */
static int find_root(void)
{
	char exe[PATH_MAX], probe[PATH_MAX + 16];
	ssize_t n;

	if (access("docs/moat.8", R_OK) == 0) {
		snprintf(root, sizeof(root), ".");
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = 0;
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(exe, '/');

		if (!slash)
			return -1;
		*slash = 0;
	}
	snprintf(root, sizeof(root), "%s", exe[0] ? exe : "/");
	snprintf(probe, sizeof(probe), "%s/docs/moat.8", root);
	return access(probe, R_OK);
}

/* The file at root/rel, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *rel)
{
	char path[PATH_MAX + 64], *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return fs_read_all(path, 16u << 20, &buf, &len) ? NULL : buf;
}

/* "NAME ARGS", or "NAME" when it takes none: what the docs must say. */
static void synopsis(const struct verb *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", v->name, v->args[0] ? " " : "", v->args);
}

static void test_table(void)
{
	int ok_help = 1, ok_args = 1, ok_fn = 1, ok_unique = 1, ok_find = 1, ok_name = 1;
	char why[512] = "";

	CHECK(cli_n_verbs >= 17, "the table has every verb", "%zu verbs", cli_n_verbs);
	for (size_t i = 0; i < cli_n_verbs; i++) {
		const struct verb *v = &cli_verbs[i];
		size_t hl = v->help ? strlen(v->help) : 0;

		if (!v->name || !v->name[0] ||
		    strspn(v->name, "abcdefghijklmnopqrstuvwxyz-") != strlen(v->name)) {
			ok_name = 0;
			snprintf(why, sizeof(why), "verb %zu: name '%s'", i,
				 v->name ? v->name : "");
			continue;
		}
		if (!v->help || hl == 0 || hl > HELP_MAX || strchr(v->help, '\n') ||
		    v->help[hl - 1] == '.') {
			ok_help = 0;
			snprintf(why, sizeof(why), "%s: help '%s'", v->name,
				 v->help ? v->help : "");
		}
		if (!v->args || strchr(v->args, '\n')) {
			ok_args = 0;
			snprintf(why, sizeof(why), "%s: no synopsis (\"\" when no arguments)",
				 v->name);
		}
		if (!v->fn) {
			ok_fn = 0;
			snprintf(why, sizeof(why), "%s: no handler", v->name);
		}
		for (size_t j = 0; j < i; j++)
			if (cli_verbs[j].name && strcmp(cli_verbs[j].name, v->name) == 0) {
				ok_unique = 0;
				snprintf(why, sizeof(why), "%s twice", v->name);
			}
		if (cli_verb_find(v->name) != v)
			ok_find = 0;
	}
	CHECK(ok_name, "every verb has a lowercase name", "%s", why);
	CHECK(ok_help, "every verb has one line of help (no period, at most 48 characters)", "%s",
	      why);
	CHECK(ok_args, "every verb has a one-line synopsis", "%s", why);
	CHECK(ok_fn, "every verb has a handler", "%s", why);
	CHECK(ok_unique, "no verb is listed twice", "%s", why);
	CHECK(ok_find && !cli_verb_find("nosuchverb") && !cli_verb_find(""),
	      "cli_verb_find finds each verb and nothing else", "mismatch");
}

static void test_usage(void)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int longest = 0, missing = 0;
	char why[256] = "";

	if (!m) {
		CHECK(0, "moat --help", "open_memstream failed");
		return;
	}
	cli_usage(m);
	fclose(m);
	for (size_t i = 0; i < cli_n_verbs; i++) {
		const struct verb *v = &cli_verbs[i];
		char head[64];

		/* "  NAME ARGS" or "  NAME" padded to the help column */
		snprintf(head, sizeof(head), "\n  %s ", v->name);
		if (!strstr(text, head) || !strstr(text, v->help)) {
			missing++;
			snprintf(why, sizeof(why), "%s or its help is not in moat --help", v->name);
		}
	}
	CHECK(missing == 0, "moat --help lists every verb with its help", "%s:\n%s", why, text);
	CHECK(strstr(text, "\n  pause C ") && strstr(text, "\n  domain allow|deny|del "),
	      "moat --help shows the synopsis from the table", "%s", text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if ((int)strlen(line) > longest)
			longest = (int)strlen(line);
	CHECK(longest <= USAGE_WIDTH, "moat --help fits 80 columns", "a line of %d", longest);
	free(text);
}

/* s without roff escapes: \- is '-', font changes (\fB \fR \fI \fP) and \& go. */
static void unroff(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 1 < len; s++) {
		if (s[0] == '\\' && s[1] == '-') {
			out[o++] = '-';
			s++;
		} else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
			s += 2;
		} else if (s[0] == '\\' && s[1] == '&') {
			s++;
		} else if (s[0] == '\\' && s[1] == 'e') {
			out[o++] = '\\';
			s++;
		} else {
			out[o++] = *s;
		}
	}
	out[o] = 0;
	while (o && isspace((unsigned char)out[o - 1]))
		out[--o] = 0;
}

/* What one document says about the verbs: each command it names, with its synopsis. */
struct doc_cmds {
	const char *doc;
	int n;
	char syn[64][256];
};

/* Compare a document's commands with the table, both ways and word for word. */
static void check_against_table(const struct doc_cmds *d)
{
	char name[64], want[512], what[256];
	int found;

	for (size_t i = 0; i < cli_n_verbs; i++) {
		const struct verb *v = &cli_verbs[i];

		synopsis(v, want, sizeof(want));
		found = -1;
		for (int k = 0; k < d->n && found < 0; k++) {
			size_t nl = strcspn(d->syn[k], " ");

			if (nl == strlen(v->name) && strncmp(d->syn[k], v->name, nl) == 0)
				found = k;
		}
		snprintf(what, sizeof(what), "%s documents `moat %s`", d->doc, v->name);
		CHECK(found >= 0, what, "no entry for %s (add: %s)", v->name, want);
		if (found < 0)
			continue;
		snprintf(what, sizeof(what), "%s: `moat %s` has the table's synopsis", d->doc,
			 v->name);
		CHECK(strcmp(d->syn[found], want) == 0, what, "doc \"%s\", table \"%s\"",
		      d->syn[found], want);
	}
	for (int k = 0; k < d->n; k++) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(d->syn[k], " "), d->syn[k]);
		snprintf(what, sizeof(what), "%s: `moat %s` is a verb", d->doc, name);
		CHECK(cli_verb_find(name) != NULL, what, "no such verb in src/cli/verbs.c");
	}
}

/* docs/moat.8: the tag line (.B ...) of each .TP/.TQ in the COMMANDS section. */
static void test_man(void)
{
	struct doc_cmds *d = calloc(1, sizeof(*d));
	char *text = slurp("docs/moat.8"), *line, *save = NULL;
	int in = 0, tag = 0, bad = 0;
	char why[256] = "";

	if (!text || !d) {
		CHECK(0, "docs/moat.8 is readable", "not found under %s", root);
		free(text);
		free(d);
		return;
	}
	d->doc = "docs/moat.8";
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ".SH", 3) == 0) {
			in = strcmp(line, ".SH COMMANDS") == 0;
			continue;
		}
		if (!in)
			continue;
		if (strcmp(line, ".TP") == 0 || strcmp(line, ".TQ") == 0) {
			tag = 1;
			continue;
		}
		if (!tag)
			continue;
		tag = 0;
		if (strncmp(line, ".B ", 3) != 0) {
			bad++;
			snprintf(why, sizeof(why), "tag line \"%s\"", line);
			continue;
		}
		if (d->n < 64)
			unroff(line + 3, d->syn[d->n++], sizeof(d->syn[0]));
	}
	CHECK(d->n > 0 && bad == 0, "docs/moat.8 COMMANDS: every entry is a .B synopsis line",
	      "%d entries, %s", d->n, why);
	check_against_table(d);
	free(text);
	free(d);
}

/* docs/configuration.md: the `moat ...` spans of the ### headings under "## Commands". */
static void test_configuration(void)
{
	struct doc_cmds *d = calloc(1, sizeof(*d));
	char *text = slurp("docs/configuration.md"), *line, *save = NULL;
	int in = 0;

	if (!text || !d) {
		CHECK(0, "docs/configuration.md is readable", "not found under %s", root);
		free(text);
		free(d);
		return;
	}
	d->doc = "docs/configuration.md";
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "## ", 3) == 0) {
			in = strcmp(line, "## Commands") == 0;
			continue;
		}
		if (!in || strncmp(line, "### ", 4) != 0)
			continue;
		for (char *p = line; (p = strchr(p, '`'));) {
			char *end = strchr(p + 1, '`');

			if (!end)
				break;
			if (strncmp(p + 1, "moat ", 5) == 0 && d->n < 64)
				snprintf(d->syn[d->n++], sizeof(d->syn[0]), "%.*s",
					 (int)(end - p - 6), p + 6);
			p = end + 1;
		}
	}
	CHECK(d->n > 0, "docs/configuration.md has command headings under ## Commands",
	      "none found");
	check_against_table(d);
	free(text);
	free(d);
}

/* Every `moat WORD` (also `sudo build/moat WORD`) in README.md and docs/ names a verb. */
static void test_mentions(void)
{
	static const char *const docs[] = {
	    "README.md",      "docs/alerts.md",	     "docs/configuration.md", "docs/design.md",
	    "docs/events.md", "docs/performance.md", "docs/security.md"};
	static const char *const prefixes[] = {"`moat ",
					       "`sudo moat ",
					       "`build/moat ",
					       "`sudo build/moat ",
					       "\nsudo build/moat ",
					       "\nbuild/moat "};
	int n = 0, bad = 0;
	char why[256] = "";

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char *text = slurp(docs[i]);

		if (!text)
			continue;
		for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
			for (char *p = text; (p = strstr(p, prefixes[k])); p++) {
				char word[64];
				size_t wl;

				p += strlen(prefixes[k]);
				wl = strspn(p, "abcdefghijklmnopqrstuvwxyz-");
				if (wl == 0 || *p == '-' || wl >= sizeof(word))
					continue; /* an option (`moat -v`) or not a word */
				snprintf(word, sizeof(word), "%.*s", (int)wl, p);
				n++;
				if (!cli_verb_find(word)) {
					bad++;
					snprintf(why, sizeof(why), "%s: `moat %s`", docs[i], word);
				}
			}
		free(text);
	}
	CHECK(n > 0 && bad == 0, "every `moat VERB` in README.md and docs/ is a verb",
	      "%d of %d: %s", bad, n, why);
}

int main(void)
{
	test_table();
	test_usage();
	if (find_root()) {
		CHECK(0, "the source tree is found", "no docs/moat.8 in . or above the binary");
		return TEST_EXIT();
	}
	test_man();
	test_configuration();
	test_mentions();
	return TEST_EXIT();
}
