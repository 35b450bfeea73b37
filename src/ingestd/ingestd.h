/* ingestd.h — the ingest service (docs/api.md, POST /ingest): public interface.
 *
 * Uses cfg->ingestd.storaged_url and cfg->ingestd.catalogd_url to reach its
 * peers (serve fills them with the embedded services' URLs). */
#ifndef LH_INGESTD_H
#define LH_INGESTD_H

struct lh_config;
struct lh_error;
struct ingestd;

/* Start on cfg->ingestd.bind; NULL + err on failure. */
struct ingestd *ingestd_start(const struct lh_config *cfg, struct lh_error *err);
/* Base URL, e.g. "http://127.0.0.1:40123"; lives with the service. */
const char *ingestd_url(const struct ingestd *s);
/* Graceful stop (in-flight requests finish); frees s. NULL is fine. */
void ingestd_stop(struct ingestd *s);
/* `lakehouse ingestd [--bind ...]`. */
int ingestd_main(int argc, char **argv);

#endif
