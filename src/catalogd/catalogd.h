/* catalogd.h — the catalog service (docs/api.md): public interface.
 *
 * Other modules include only this header. The dataset-name rule the catalog
 * enforces is common/names.h, shared with ingestd and queryd.
 */
#ifndef LH_CATALOGD_H
#define LH_CATALOGD_H

struct lh_config;
struct lh_error;
struct catalogd;

/* Start catalogd on cfg->catalogd.bind with the backend of
 * cfg->catalogd.backend ("sqlite": cfg->catalogd.sqlite_path, its parent
 * directory created if needed). Call config_finish() first. Returns NULL with
 * err on failure (bad backend, database unusable, address in use). */
struct catalogd *catalogd_start(const struct lh_config *cfg, struct lh_error *err);
/* Base URL, e.g. "http://127.0.0.1:40123"; lives with the service. */
const char *catalogd_url(const struct catalogd *c);
/* Graceful stop (in-flight requests finish), close the store, free c.
 * NULL is fine. */
void catalogd_stop(struct catalogd *c);
/* `lakehouse catalogd [--bind ...]`. */
int catalogd_main(int argc, char **argv);

#endif
