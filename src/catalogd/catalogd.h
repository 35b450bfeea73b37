/* catalogd.h — the catalog service (SPEC 7): public interface. */
#ifndef LH_CATALOGD_H
#define LH_CATALOGD_H

struct lh_config;
struct lh_error;
struct catalogd;

struct catalogd *catalogd_start(const struct lh_config *cfg, struct lh_error *err);
const char *catalogd_url(const struct catalogd *c);
void catalogd_stop(struct catalogd *c);
/* `lakehouse catalogd [--bind ...]`. */
int catalogd_main(int argc, char **argv);

#endif
