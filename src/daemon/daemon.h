/* daemon.h - `moat run`, the monitor: attach, follow Docker, read the kernel's events,
 * detect, alert and act, until SIGTERM (docs/configuration.md). */
#ifndef MOAT_DAEMON_H
#define MOAT_DAEMON_H

/* The `run` verb: options in argv, the pin directory. Returns the exit code (0 after a
 * clean stop, 1 when setting up failed, 2 on a usage error). */
int cmd_run(int argc, char **argv, const char *pin_dir);

#endif /* MOAT_DAEMON_H */
