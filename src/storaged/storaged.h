/* storaged.h — the object store service (docs/api.md): public interface. */
#ifndef LH_STORAGED_H
#define LH_STORAGED_H

struct lh_config;
struct lh_error;
struct storaged;

/* Start storaged on cfg->storaged.bind (backend per cfg). NULL + err on failure. */
struct storaged *storaged_start(const struct lh_config *cfg, struct lh_error *err);
/* Base URL, e.g. "http://127.0.0.1:40123"; lives with the service. */
const char *storaged_url(const struct storaged *s);
/* Graceful stop; frees s. NULL is fine. */
void storaged_stop(struct storaged *s);
/* `lakehouse storaged [--bind ...]`. */
int storaged_main(int argc, char **argv);

#endif
