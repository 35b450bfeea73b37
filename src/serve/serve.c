/* serve.c — `lakehouse serve`: all five services in one process (ADR 0001).
 *
 * Start order follows the dependencies: storaged and catalogd (each on a free
 * loopback port unless configured), then ingestd and queryd pointed at them,
 * then the gateway (default 127.0.0.1:8080) pointed at all four. The
 * embedded services still talk over HTTP, exactly as when they run apart.
 * On SIGTERM/SIGINT they stop in the reverse order — gateway first, so no new
 * request enters while the services behind it finish theirs.
 *
 * Invariants:
 *  1. A URL the user configured ([ingestd] storaged_url, [gateway]
 *     queryd_url, ...) is kept; only empty ones get the embedded service's.
 *     catalogd gets storaged's before it starts ([catalogd] storaged_url:
 *     garbage collection and the register's object check, ADR 0095).
 *  2. Any start failure stops what was started, prints one line and exits 1
 *     (e.g. port 8080 busy), so a half-started lakehouse never lingers.
 *  3. The "lakehouse is running at URL" line is the one a person looks for:
 *     on a terminal it stands apart (blank lines, bold) from the log lines on
 *     stderr (ADR 0121); with human logs elsewhere it is two plain lines on
 *     stdout; with JSON logs it is one JSON event on stderr with a "url"
 *     (ADR 0207: every line is JSON, so `jq` reads the journal).
 */
#include "serve/serve.h"

#include "catalogd/catalogd.h"
#include "common/config.h"
#include "common/error.h"
#include "common/log.h"
#include "common/service.h"
#include "gateway/gateway.h"
#include "ingestd/ingestd.h"
#include "queryd/queryd.h"
#include "storaged/storaged.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serve {
	struct storaged *storaged;
	struct catalogd *catalogd;
	struct ingestd *ingestd;
	struct queryd *queryd;
	struct gateway *gateway;
	int gateway_failed;   /* the gateway, on --bind, is what failed to start */
};

/* Invariant 1: fill `dst` with `url` only when the user left it empty. */
static void default_url(char dst[LH_CFG_STR], const char *url)
{
	if (!dst[0] && url)
		snprintf(dst, LH_CFG_STR, "%s", url);
}

/* Reverse start order; each stop lets its in-flight requests finish and
 * accepts NULL, so this also undoes a partial start. */
static void serve_stop(struct serve *s)
{
	gateway_stop(s->gateway);
	queryd_stop(s->queryd);
	ingestd_stop(s->ingestd);
	catalogd_stop(s->catalogd);
	storaged_stop(s->storaged);
	memset(s, 0, sizeof *s);
}

/* Start the five services over `cfg` (whose peer URLs get filled in). */
static int serve_start(struct serve *s, struct lh_config *cfg, struct lh_error *err)
{
	if (service_mkdirs(cfg->data_dir, err) != 0)
		return -1;
	s->storaged = storaged_start(cfg, err);
	if (!s->storaged)
		return -1;
	default_url(cfg->catalogd.storaged_url, storaged_url(s->storaged));  /* GC */
	s->catalogd = catalogd_start(cfg, err);
	if (!s->catalogd)
		return -1;
	const char *st_url = storaged_url(s->storaged), *ca_url = catalogd_url(s->catalogd);
	default_url(cfg->ingestd.storaged_url, st_url);
	default_url(cfg->ingestd.catalogd_url, ca_url);
	default_url(cfg->queryd.storaged_url, st_url);
	default_url(cfg->queryd.catalogd_url, ca_url);
	default_url(cfg->gateway.storaged_url, st_url);
	default_url(cfg->gateway.catalogd_url, ca_url);

	s->ingestd = ingestd_start(cfg, err);
	if (!s->ingestd)
		return -1;
	default_url(cfg->gateway.ingestd_url, ingestd_url(s->ingestd));
	default_url(cfg->queryd.ingestd_url, ingestd_url(s->ingestd));   /* feedback */
	s->queryd = queryd_start(cfg, err);
	if (!s->queryd)
		return -1;
	default_url(cfg->gateway.queryd_url, queryd_url(s->queryd));
	s->gateway = gateway_start(cfg, err);
	if (!s->gateway) {
		s->gateway_failed = 1;
		return -1;
	}
	return 0;
}

/* Invariant 3. */
static void print_running(const char *url, const char *data_dir)
{
	if (!log_is_human()) {
		log_announce("serve", url, "lakehouse is running at %s/; data in %s", url, data_dir);
		return;
	}
	if (isatty(STDOUT_FILENO) != 1) {
		printf("lakehouse is running at %s/\n"
		       "data in %s; stop with Ctrl-C\n", url, data_dir);
		fflush(stdout);
		return;
	}
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	int bold = !(no_color && no_color[0]) && !(term && !strcmp(term, "dumb"));
	printf("\n  %slakehouse is running at %s/%s\n"
	       "  data in %s; stop with Ctrl-C\n\n",
	       bold ? "\033[1m" : "", url, bold ? "\033[0m" : "", data_dir);
	fflush(stdout);
}

int serve_main(int argc, char **argv)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	struct serve s = { 0 };
	int rc = service_load_config(argc, argv, "gateway", &cfg, &err);

	if (rc == 1)
		return 0;
	if (rc)
		goto fail;
	config_finish(&cfg);
	if (serve_start(&s, &cfg, &err) != 0)
		goto fail;
	print_running(gateway_url(s.gateway), cfg.data_dir);
	int sig = service_wait_for_signal();
	log_event("info", "serve", "signal %d (%s): stopping; requests in flight finish first",
		  sig, sig == SIGINT ? "Ctrl-C" : "SIGTERM");
	serve_stop(&s);
	log_event("info", "serve", "stopped");
	lh_error_clear(&err);
	return 0;
fail:
	int bind_failed = s.gateway_failed && !strcmp(err.code, "bind_failed");
	serve_stop(&s);
	return service_die_hint(&err, bind_failed ? "choose another address with --bind HOST:PORT"
						  : NULL);
}
