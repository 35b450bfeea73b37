/* queryd.h — the read-only SQL service (docs/api.md, POST /query): public interface.
 *
 * Uses cfg->queryd.storaged_url and cfg->queryd.catalogd_url to reach its
 * peers (serve fills them with the embedded services' URLs). */
#ifndef LH_QUERYD_H
#define LH_QUERYD_H

struct lh_config;
struct lh_error;
struct queryd;

/* Start on cfg->queryd.bind; NULL + err on failure. */
struct queryd *queryd_start(const struct lh_config *cfg, struct lh_error *err);
/* Base URL, e.g. "http://127.0.0.1:40123"; lives with the service. */
const char *queryd_url(const struct queryd *s);
/* Graceful stop (in-flight requests finish); frees s. NULL is fine. */
void queryd_stop(struct queryd *s);
/* `lakehouse queryd [--bind ...]`. */
int queryd_main(int argc, char **argv);
/* `lakehouse queryd-worker ...`: the DuckDB process queryd starts for its
 * queries (worker.c); not for people to run. */
int queryd_worker_main(int argc, char **argv);

#endif
