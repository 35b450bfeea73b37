/* service.h — what every `lakehouse <service>` subcommand does around its
 * server: read flags and configuration, block signals, wait for SIGTERM or
 * SIGINT, then stop.
 *
 * Signals: service_signals_block() must run first in main(), before any
 * thread exists, so every thread inherits the blocked mask and only
 * service_wait_for_signal() (sigwait) ever sees SIGTERM/SIGINT.
 */
#ifndef LH_SERVICE_H
#define LH_SERVICE_H

struct lh_config;
struct lh_error;

void service_signals_block(void);
/* Block until SIGTERM or SIGINT; returns the signal number. */
int service_wait_for_signal(void);

/* Common flags of the server subcommands, applied over config_load():
 *   --config FILE   --data-dir DIR   --bind HOST:PORT (sets [<section>] bind)
 *   --set section.key=value (repeatable)
 *   --log auto|json|human|quiet (over LAKEHOUSE_LOG and the file's `log`)
 * Then sets up the log (log_setup; `section` is the service whose requests
 * human log lines show in full). Returns 0, 1 if --help was printed, or -1
 * with err. */
int service_load_config(int argc, char **argv, const char *section,
			struct lh_config *cfg, struct lh_error *err);

/* Raise the soft RLIMIT_NOFILE to the hard limit (at most 65536), so a
 * server can hold [http] max_connections connections plus its files even
 * where the default soft limit is 1024. Best effort; service_load_config()
 * calls it, so every server subcommand does. */
void service_raise_nofile(void);

/* What a server subcommand runs: `name` is also its config section and the
 * label of its "<name> listening on URL" line. */
struct service_ops {
	const char *name;
	void *(*start)(const struct lh_config *cfg, struct lh_error *err);
	const char *(*url)(const void *svc);
	void (*stop)(void *svc);
};

/* Define `static const struct service_ops <svc>_service_ops` for the service
 * whose typed API is
 *     struct <svc> *<svc>_start(const struct lh_config *, struct lh_error *);
 *     const char *<svc>_url(const struct <svc> *);
 *     void <svc>_stop(struct <svc> *);
 * named "<svc>". The three adapters convert between void * and the typed
 * pointer, so no function is called through a pointer of another type and
 * each service keeps its typed API. Use at file scope:
 *     SERVICE_OPS(queryd);
 *     int queryd_main(int argc, char **argv)
 *     { return service_run(argc, argv, &queryd_service_ops); } */
#define SERVICE_OPS(svc)                                                                  \
	static void *svc##_ops_start(const struct lh_config *cfg, struct lh_error *err)   \
	{                                                                                 \
		return svc##_start(cfg, err);                                             \
	}                                                                                 \
	static const char *svc##_ops_url(const void *s)                                   \
	{                                                                                 \
		return svc##_url(s);                                                      \
	}                                                                                 \
	static void svc##_ops_stop(void *s)                                               \
	{                                                                                 \
		svc##_stop(s);                                                            \
	}                                                                                 \
	static const struct service_ops svc##_service_ops = { #svc, svc##_ops_start,      \
							      svc##_ops_url, svc##_ops_stop }

/* The whole `lakehouse <service>` life: flags and configuration, start,
 * print the URL, wait for SIGTERM/SIGINT, stop. Returns the exit code. */
int service_run(int argc, char **argv, const struct service_ops *ops);

/* Print err as "lakehouse: <msg>" on stderr (with JSON logs: one JSON
 * event, level error, ADR 0207), then release it (lh_error_clear); returns
 * the exit code 1. */
int service_die(struct lh_error *err);
/* The same with a second sentence (`hint`, or NULL) saying what to do. */
int service_die_hint(struct lh_error *err, const char *hint);

/* Create a directory and its parents (mode 0755); 0 or -1 with err (500). */
int service_mkdirs(const char *path, struct lh_error *err);

#endif
