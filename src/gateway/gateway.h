/* gateway.h — the front door (docs/api.md "gateway"): routes /v1/<service>/... to the
 * services and serves the web UI at /. Uses cfg->gateway.*_url for the
 * upstreams (serve fills them with the embedded services' URLs). */
#ifndef LH_GATEWAY_H
#define LH_GATEWAY_H

struct lh_config;
struct lh_error;
struct gateway;

/* Start on cfg->gateway.bind; NULL + err on failure. */
struct gateway *gateway_start(const struct lh_config *cfg, struct lh_error *err);
/* Base URL, e.g. "http://127.0.0.1:40123"; lives with the service. */
const char *gateway_url(const struct gateway *s);
/* Graceful stop (in-flight requests finish); frees s. NULL is fine. */
void gateway_stop(struct gateway *s);
/* `lakehouse gateway [--bind ...]`. */
int gateway_main(int argc, char **argv);

#endif
