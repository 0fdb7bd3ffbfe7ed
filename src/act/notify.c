/* notify.c - the desktop notification output: CRITICAL alerts (by default) as a
 * freedesktop notification through notify-send on the session bus, or under WSL2 as a
 * Windows toast through powershell.exe, as the CrabPot seed did. Runs the command through
 * execout's runner (timeout, process group, bounded). Text from containers never reaches a
 * command line as code: notify-send gets it as an argument with its markup escaped, and
 * PowerShell reads it from environment variables. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output_int.h"

/* The toast: the text comes from $env:MOAT_TOAST_TITLE and $env:MOAT_TOAST_BODY (passed to
 * Windows through WSLENV) and is set as text nodes, so nothing in it is parsed. */
static const char toast_script[] =
    "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, "
    "ContentType = WindowsRuntime] > $null; "
    "$t = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent("
    "[Windows.UI.Notifications.ToastTemplateType]::ToastText02); "
    "$x = $t.GetElementsByTagName('text'); "
    "$x.Item(0).AppendChild($t.CreateTextNode($env:MOAT_TOAST_TITLE)) > $null; "
    "$x.Item(1).AppendChild($t.CreateTextNode($env:MOAT_TOAST_BODY)) > $null; "
    "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('moat')"
    ".Show([Windows.UI.Notifications.ToastNotification]::new($t))";

struct notify {
	int wsl;
	char prog[PATH_MAX]; /* notify-send or powershell.exe, found at start */
	char bus[300];	     /* "DBUS_SESSION_BUS_ADDRESS=..." or "" */
};

/* Find name on $PATH (or the absolute fallback) into out. 0 or -ENOENT. */
static int find_prog(const char *name, const char *fallback, char *out, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *e = strchr(path, ':');
		size_t n = e ? (size_t)(e - path) : strlen(path);

		if (n && (size_t)snprintf(out, len, "%.*s/%s", (int)n, path, name) < len &&
		    !access(out, X_OK))
			return 0;
		path += n + (e ? 1 : 0);
	}
	if (fallback && !access(fallback, X_OK)) {
		snprintf(out, len, "%s", fallback);
		return 0;
	}
	return -ENOENT;
}

static int notify_start(struct output *o, const struct outputs_env *env)
{
	struct notify *n = calloc(1, sizeof(*n));
	const char *bus = o->conf.bus[0] ? o->conf.bus : getenv("DBUS_SESSION_BUS_ADDRESS");

	if (!n)
		return -ENOMEM;
	o->priv = n;
	n->wsl = output_is_wsl(NULL);
	if (n->wsl) {
		if (find_prog("powershell.exe",
			      "/mnt/c/Windows/System32/WindowsPowerShell/v1.0/powershell.exe",
			      n->prog, sizeof(n->prog))) {
			output_set_state(o, "WSL without powershell.exe (not on $PATH nor under "
					    "/mnt/c): no toasts");
			goto fail;
		}
		return 0;
	}
	if (!bus || !*bus) {
		output_set_state(o, "no session bus (DBUS_SESSION_BUS_ADDRESS unset and no "
				    "\"bus\" configured): no desktop notifications");
		goto fail;
	}
	if (find_prog("notify-send", NULL, n->prog, sizeof(n->prog))) {
		output_set_state(o, "notify-send not found on $PATH (Debian: libnotify-bin)");
		goto fail;
	}
	snprintf(n->bus, sizeof(n->bus), "DBUS_SESSION_BUS_ADDRESS=%s", bus);
	return 0;
fail:
	free(n);
	o->priv = NULL;
	return -ENOENT;
}

/* s with the characters notification markup gives meaning to (& < >) escaped, and
 * control characters shown as spaces, into out. */
static void markup_escape(const char *s, char *out, size_t len)
{
	size_t k = 0;

	for (; *s && k + 6 < len; s++) {
		const char *rep = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
					      : NULL;

		if (rep) {
			memcpy(out + k, rep, strlen(rep));
			k += strlen(rep);
		} else {
			out[k++] = (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s;
		}
	}
	out[k] = 0;
}

static int notify_prepare(struct output *o, const struct output_item *it, struct exec_job *j)
{
	static const char *const drop[] = {"DBUS_SESSION_BUS_ADDRESS", "MOAT_TOAST_TITLE",
					   "MOAT_TOAST_BODY",	       "WSLENV",
					   EXEC_SECRET_VARS,	       NULL};
	struct notify *n = o->priv;
	char title[128], body[1024], esc[2048], t_env[160], b_env[2200], wslenv[512];
	const char *wsl_prev = getenv("WSLENV");
	int k = 0;

	snprintf(title, sizeof(title), "moat %s: %s", alert_severity_name(it->severity), it->rule);
	snprintf(body, sizeof(body), "%s%s%s", it->message, it->container[0] ? "\ncontainer " : "",
		 it->container);
	j->argv[k++] = exec_job_str(j, n->prog);
	if (n->wsl) {
		const char *extra[] = {t_env, b_env, wslenv, NULL};

		j->argv[k++] = exec_job_str(j, "-NoProfile");
		j->argv[k++] = exec_job_str(j, "-NonInteractive");
		j->argv[k++] = exec_job_str(j, "-Command");
		j->argv[k++] = exec_job_str(j, toast_script);
		j->argv[k] = NULL;
		snprintf(t_env, sizeof(t_env), "MOAT_TOAST_TITLE=%s", title);
		snprintf(b_env, sizeof(b_env), "MOAT_TOAST_BODY=%s", body);
		snprintf(wslenv, sizeof(wslenv), "WSLENV=%s%sMOAT_TOAST_TITLE/u:MOAT_TOAST_BODY/u",
			 wsl_prev ? wsl_prev : "", wsl_prev && *wsl_prev ? ":" : "");
		for (int i = 0; i < k; i++)
			if (!j->argv[i])
				return -ENOSPC;
		return exec_job_env(j, drop, extra);
	}
	markup_escape(body, esc, sizeof(esc));
	j->argv[k++] = exec_job_str(j, "--app-name=moat");
	j->argv[k++] = exec_job_str(j, it->severity >= ALERT_CRITICAL ? "--urgency=critical"
								      : "--urgency=normal");
	j->argv[k++] = exec_job_str(j, "--icon=security-high");
	j->argv[k++] = exec_job_str(j, "--");
	j->argv[k++] = exec_job_str(j, title);
	j->argv[k++] = exec_job_str(j, esc);
	j->argv[k] = NULL;
	for (int i = 0; i < k; i++)
		if (!j->argv[i])
			return -ENOSPC;
	{
		const char *extra[] = {n->bus, NULL};

		return exec_job_env(j, drop, extra);
	}
}

static void *notify_run(void *arg)
{
	execout_loop(arg, notify_prepare);
	return NULL;
}

static void notify_free(struct output *o)
{
	free(o->priv);
	o->priv = NULL;
}

static void notify_status(struct output *o, json_object *j)
{
	struct notify *n = o->priv;

	json_object_object_add(
	    j, "via", json_object_new_string(n->wsl ? "powershell.exe toast" : "notify-send"));
	json_object_object_add(j, "timeouts", json_object_new_uint64(atomic_load(&o->timeouts)));
}

const struct output_ops notify_ops = {
    .start = notify_start,
    .run = notify_run,
    .free = notify_free,
    .status = notify_status,
};
