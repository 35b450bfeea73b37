/* catalogd.h — the catalog service (SPEC 7): public interface.
 *
 * Other modules include only this header: the service's start/stop/main, and
 * the dataset-name rule that ingestd and queryd share with the catalog.
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

/* Dataset names (SPEC 6): [A-Za-z_][A-Za-z0-9_]{0,63}; they become SQL table
 * names. Pure. Returns 1 if `name` is valid, 0 otherwise (NULL is invalid). */
int catalogd_name_valid(const char *name);
/* The same rule as an error: returns 0, or -1 with 400 "bad_name" whose extra
 * "field" is `field` (e.g. "name"). */
int catalogd_name_check(const char *name, const char *field, struct lh_error *err);

#endif
