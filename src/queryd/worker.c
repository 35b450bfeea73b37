/* worker.c — `lakehouse queryd-worker`: the process that runs DuckDB for
 * queryd. queryd (pool.c) starts it with one end of a socketpair as fd 3,
 * sends it one query at a time, and reads the rendered result back as frames
 * (wire.c). Nothing else runs in this process, so a query that crashes
 * DuckDB, exhausts memory or ignores its time limit ends here and queryd,
 * the other services and the other queries go on (ADR 0114).
 *
 * DESIGN NOTES
 *  1. Limits, set before DuckDB is loaded: RLIMIT_AS (--address-limit) is the
 *     hard memory cap, so an allocation past it fails inside this process
 *     (DuckDB reports "Out of Memory" or the process dies; both end only
 *     this query); oom_score_adj 1000 makes the kernel's OOM killer pick a
 *     worker before any server. DuckDB's own memory_limit (--memory) is set
 *     below the cap so its buffer manager spills before the cap bites.
 *  2. The sandbox is engine.c's (engine_open): allowed_directories = the
 *     cache directory, external access off, configuration locked. Spill
 *     files go to <sandbox>/spill/<pid>/, which queryd removes on reap.
 *  3. One request at a time: a JSON frame WIRE_REQUEST {"sql","body_len",
 *     "format","max_rows","start_ms","deadline_ms","views":[{"name","paths",
 *     "schema","positions"}],"out_path"} ("positions": true makes search's
 *     view with each row's object and row number, engine.c). Answer: WIRE_ERROR {"status","code","error"}
 *     before any result; or WIRE_START, WIRE_DATA frames of rendered output,
 *     then WIRE_END {"rows","truncated"} (or WIRE_CUT on a failure
 *     mid-stream, after which queryd retires this worker: DuckDB may be in
 *     a bad state); format parquet answers WIRE_END once the file is written.
 *  4. The time limit is enforced twice: here a watchdog thread calls
 *     engine_query_interrupt at the deadline (the cooperative stop: the
 *     worker survives and is reused); queryd kills the process outright if
 *     no answer came a grace period later (DuckDB checks for interrupts only
 *     between chunks).
 *  5. EOF on the socket (queryd stopped or died) ends the process.
 *  6. After a failure that may leave DuckDB in a bad state (an INTERNAL or
 *     FATAL error, an allocation that failed at the cap) the answer carries
 *     "retire": true and queryd discards this worker instead of reusing it;
 *     the client gets plain words (out_of_memory, engine_error), the detail
 *     goes to stderr (the server's log).
 *  7. Datasets' views (engine.c note 7): a request may carry the catalog
 *     ({"gen","datasets":[{"name","version","schema"}]}, sent only when it
 *     changed since this worker last saw it): every dataset gets a stub
 *     view typed from its schema, views of dropped datasets go. "latest"
 *     lists the datasets the query reads, with their cached paths: those
 *     get real views, kept for later queries while the version stays.
 *     Past versions ("views") are TEMP views of the query's connection.
 *  8. "parse_only": just DuckDB's parser on the text, so that queryd can
 *     answer a statement its own guard refused as malformed with DuckDB's
 *     message (nothing is bound or run).
 *  9. "searches": [{"key","schema","rows","scores"}] are the results of the
 *     statement's search(...) calls, which queryd ran before sending it
 *     (search_sql.c); they are loaded into the query (engine.c note 10)
 *     before it is prepared. --glove names embed()'s word vectors.
 */
#include "queryd/queryd.h"
#include "queryd/queryd_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct worker {
	int fd;
	struct engine *engine;
	/* note 7: {"<dataset>": {"version": n, "key": "stub" | "<paths>"}} */
	json_t *views;
	/* the last catalog snapshot's datasets: their schemas make the stubs
	 * that a masked request puts back (restub_for_mask, ADR 0211) */
	json_t *catalog;
	/* watchdog (note 4) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct engine_query *current;
	double deadline_ms;
	int stopping;
};

static void *watchdog_main(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		double wait = 1000;
		if (w->current) {
			double left = w->deadline_ms - clock_mono_ms();
			if (left <= 0) {
				engine_query_interrupt(w->current);
				w->current = NULL;   /* once */
				continue;
			}
			wait = left < wait ? left : wait;
		}
		struct timespec ts;
		clock_deadline(CLOCK_REALTIME, wait, &ts);
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void watch(struct worker *w, struct engine_query *q, double deadline_ms)
{
	pthread_mutex_lock(&w->mu);
	w->current = q;
	w->deadline_ms = deadline_ms;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Note 6: DuckDB's own words for a failure that may have left this
 * database in a bad state. */
static int is_engine_failure(const char *msg)
{
	/* DuckDB's messages start with the exception type; what follows may
	 * quote the user's SQL, so only the start is trusted. */
	return !strncmp(msg, "INTERNAL Error", 14) || !strncmp(msg, "FATAL Error", 11) ||
	       !strncmp(msg, "Out of Memory Error", 19);
}

/* `msg` with every byte that is not part of a whole UTF-8 character made
 * '?': a message cut to its byte limit may split one, and jansson refuses
 * such a string (the worker then died on a plain SQL error). */
static void utf8_clean(char *msg)
{
	unsigned char *s = (unsigned char *)msg;
	size_t n = strlen(msg);
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80 ? 1 : s[i] >= 0xC2 && s[i] <= 0xDF ? 2
			   : s[i] >= 0xE0 && s[i] <= 0xEF ? 3 : s[i] >= 0xF0 && s[i] <= 0xF4 ? 4 : 0;
		int ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = (s[i + k] & 0xC0) == 0x80;
		if (!ok) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

static int send_error(struct worker *w, const struct lh_error *err)
{
	json_t *e;
	if (is_engine_failure(err->msg)) {
		int oom = !strncmp(err->msg, "Out of Memory", 13) || strstr(err->msg, "std::bad_alloc");
		log_event("warn", "queryd", "queryd-worker %ld: retiring after: %.300s",
			  (long)getpid(), err->msg);
		e = oom ? json_pack("{s:i, s:s, s:s, s:b}", "status", 400, "code", "out_of_memory",
				    "error", "the query needed more memory than a query may use "
				    "([queryd] duckdb_memory_bytes and worker_memory_bytes); "
				    "it was stopped and nothing else was affected", "retire", 1)
			: json_pack("{s:i, s:s, s:s, s:b}", "status", 500, "code", "engine_error",
				    "error", "the query engine failed on this query (an internal "
				    "DuckDB error); it was stopped and nothing else was affected",
				    "retire", 1);
	} else {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", err->msg);
		utf8_clean(msg);
		e = json_pack("{s:i, s:s, s:s}", "status", err->status ? err->status : 500, "code",
			      err->code[0] ? err->code : "internal", "error", msg);
		if (!e)   /* still not encodable (overlong forms): never die on words */
			e = json_pack("{s:i, s:s, s:s}", "status", err->status ? err->status : 500,
				      "code", err->code[0] ? err->code : "internal", "error",
				      "the query failed (its error text could not be encoded)");
	}
	int rc = wire_send_json(w->fd, WIRE_ERROR, e);
	json_decref(e);
	return rc;
}

static int add_views(struct engine_query *q, const json_t *views, struct lh_error *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(views, i, v) {
		const json_t *paths = json_object_get(v, "paths");
		const char *name = json_string_value(json_object_get(v, "name"));
		size_t np = json_array_size(paths);
		const char **p = xcalloc(np ? np : 1, sizeof *p);
		for (size_t k = 0; k < np; k++)
			p[k] = json_string_value(json_array_get(paths, k));
		int positions = json_is_true(json_object_get(v, "positions"));
		int rc = !name ? lh_fail(err, 500, "internal", "a view without a name")
			 : positions ? engine_query_add_positions_view(q, name, p, np,
								       json_object_get(v, "schema"),
								       json_object_get(v, "runs"), err)
				     : engine_query_add_view(q, name, p, np,
							     json_object_get(v, "schema"),
							     json_object_get(v, "runs"), err);
		free(p);
		if (rc)
			return -1;
	}
	return 0;
}

/* Note 9: search(...)'s results, computed by queryd (search_sql.c). */
static int add_searches(struct engine_query *q, const json_t *searches, struct lh_error *err)
{
	size_t i;
	json_t *s;
	json_array_foreach(searches, i, s) {
		const char *key = json_string_value(json_object_get(s, "key"));
		if (!key)
			return lh_fail(err, 500, "internal", "a search result without its key");
		const json_t *schema = json_object_get(s, "schema");
		const json_t *rows = json_object_get(s, "rows");
		const json_t *scores = json_object_get(s, "scores");
		if (engine_query_add_search(q, key, schema, rows, scores, err))
			return -1;
	}
	return 0;
}

/* Note 7: the datasets' views follow the catalog queryd sent. */
static int apply_catalog(struct worker *w, const json_t *catalog, struct lh_error *err)
{
	const json_t *list = json_object_get(catalog, "datasets");
	json_t *seen = json_object();
	size_t i;
	json_t *d;
	int rc = -1;
	json_decref(w->catalog);
	w->catalog = json_incref((json_t *)list);
	json_array_foreach(list, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		json_int_t version = json_integer_value(json_object_get(d, "version"));
		if (!name)
			continue;
		json_object_set_new(seen, name, json_true());
		json_t *st = json_object_get(w->views, name);
		if (st && json_integer_value(json_object_get(st, "version")) == version)
			continue;
		if (engine_dataset_view(w->engine, name, NULL, 0, json_object_get(d, "schema"), NULL, 1,
					err))
			goto out;
		json_object_set_new(w->views, name, json_pack("{s:I, s:s}", "version", version,
							      "key", "stub"));
	}
	const char *name;
	json_t *st, *tmp;
	json_object_foreach_safe(w->views, tmp, name, st) {
		if (json_object_get(seen, name))
			continue;
		if (engine_dataset_view_drop(w->engine, name, err))
			goto out;
		json_object_del(w->views, name);
	}
	rc = 0;
out:
	json_decref(seen);
	return rc;
}

/* Note 7: a dataset the query reads gets its real view (kept while its
 * version and objects stay the same). */
static int apply_latest(struct worker *w, const json_t *latest, struct lh_error *err)
{
	size_t i;
	json_t *d;
	json_array_foreach(latest, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		const json_t *paths = json_object_get(d, "paths");
		json_int_t version = json_integer_value(json_object_get(d, "version"));
		if (!name)
			return lh_fail(err, 500, "internal", "a dataset without a name");
		/* ADR 0211: the same objects masked or not are different views */
		json_t *kj = json_pack("{s:O, s:O}", "paths", paths, "schema",
				       json_object_get(d, "schema"));
		char *key = kj ? json_dumps(kj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(kj);
		json_t *st = json_object_get(w->views, name);
		const char *old = json_string_value(json_object_get(st, "key"));
		int same = old && key && !strcmp(old, key) &&
			   json_integer_value(json_object_get(st, "version")) == version;
		int rc = 0;
		if (!same) {
			size_t np = json_array_size(paths);
			const char **p = xcalloc(np ? np : 1, sizeof *p);
			for (size_t k = 0; k < np; k++)
				p[k] = json_string_value(json_array_get(paths, k));
			rc = engine_dataset_view(w->engine, name, p, np, json_object_get(d, "schema"),
						 json_object_get(d, "runs"), 0, err);
			free(p);
			if (rc == 0)
				json_object_set_new(w->views, name,
						    json_pack("{s:I, s:s}", "version", version,
							      "key", key ? key : ""));
		}
		free(key);
		if (rc)
			return -1;
	}
	return 0;
}

/* ADR 0211: a request of a caller who may not see personal columns turns
 * every real view it does not pin itself back into a stub, so a view a
 * writer's query left behind (unmasked) can never answer it, whatever its
 * SQL names. The next query that reads such a dataset makes its view again
 * (note 7). 0, or -1 with err. */
static int restub_for_mask(struct worker *w, const json_t *latest, struct lh_error *err)
{
	json_t *pinned = json_object(), *st, *tmp;
	const char *name;
	size_t i;
	json_t *d;
	int rc = -1;
	json_array_foreach(latest, i, d) {
		const char *n = json_string_value(json_object_get(d, "name"));
		if (n)
			json_object_set_new(pinned, n, json_true());
	}
	json_object_foreach_safe(w->views, tmp, name, st) {
		const char *key = json_string_value(json_object_get(st, "key"));
		if ((key && !strcmp(key, "stub")) || json_object_get(pinned, name))
			continue;
		const json_t *schema = NULL;
		json_array_foreach(w->catalog, i, d) {
			const char *n = json_string_value(json_object_get(d, "name"));
			if (n && !strcmp(n, name))
				schema = json_object_get(d, "schema");
		}
		if (schema ? engine_dataset_view(w->engine, name, NULL, 0, schema, NULL, 1, err)
			   : engine_dataset_view_drop(w->engine, name, err))
			goto out;
		if (schema)
			json_object_set_new(st, "key", json_string("stub"));
		else
			json_object_del(w->views, name);
	}
	rc = 0;
out:
	json_decref(pinned);
	return rc;
}

/* Views could not be brought up to date: this worker's catalog is unknown,
 * so queryd must not reuse it. */
static int send_retire(struct worker *w, const struct lh_error *err)
{
	log_event("warn", "queryd", "queryd-worker %ld: retiring: cannot update the views: %.300s",
		  (long)getpid(), err->msg);
	json_t *e = json_pack("{s:i, s:s, s:s, s:b}", "status", 500, "code", "engine_error",
			      "error", "the query engine could not load the catalog", "retire", 1);
	int rc = wire_send_json(w->fd, WIRE_ERROR, e);
	json_decref(e);
	return rc;
}

static enum engine_format format_of(const char *name)
{
	if (!strcmp(name, "csv"))
		return ENGINE_CSV;
	if (!strcmp(name, "ndjson"))
		return ENGINE_NDJSON;
	if (!strcmp(name, "parquet"))
		return ENGINE_PARQUET;
	return ENGINE_JSON;
}

/* Run one request (note 3). Returns -1 only when the socket failed. */
static int run_one(struct worker *w, const json_t *req)
{
	struct lh_error err = { 0 };
	struct engine_query *q = NULL;
	const char *sql = json_string_value(json_object_get(req, "sql"));
	const char *fmt = json_string_value(json_object_get(req, "format"));
	const char *out_path = json_string_value(json_object_get(req, "out_path"));
	size_t body_len = (size_t)json_integer_value(json_object_get(req, "body_len"));
	int64_t max_rows = json_integer_value(json_object_get(req, "max_rows"));
	double start_ms = json_number_value(json_object_get(req, "start_ms"));
	double deadline_ms = json_number_value(json_object_get(req, "deadline_ms"));
	char *buf = NULL;
	json_t *end = NULL;
	int rc = 0;

	if (!sql || !fmt) {
		lh_fail(&err, 500, "internal", "queryd sent a malformed request to its worker");
		goto fail;
	}
	if (json_is_true(json_object_get(req, "parse_only"))) {
		/* note 8: only DuckDB's parser's opinion, nothing runs */
		if (engine_parse(w->engine, sql, &err))
			goto fail;
		end = json_pack("{s:I, s:b}", "rows", (json_int_t)0, "truncated", 0);
		if (wire_send_json(w->fd, WIRE_END, end))
			goto io_fail;
		goto done;
	}
	const json_t *catalog = json_object_get(req, "catalog");
	if ((catalog && apply_catalog(w, catalog, &err)) ||
	    (json_is_true(json_object_get(req, "mask")) &&
	     restub_for_mask(w, json_object_get(req, "latest"), &err)) ||
	    apply_latest(w, json_object_get(req, "latest"), &err)) {
		if (send_retire(w, &err))
			goto io_fail;
		goto done;
	}
	q = engine_query_create(w->engine, &err);
	if (!q)
		goto fail;
	watch(w, q, deadline_ms);
	if (add_views(q, json_object_get(req, "views"), &err) ||
	    add_searches(q, json_object_get(req, "searches"), &err) ||
	    engine_query_prepare(q, sql, &err))
		goto fail;
	enum engine_format f = format_of(fmt);
	if (f == ENGINE_PARQUET) {
		if (!out_path) {
			lh_fail(&err, 500, "internal", "queryd sent no output path");
			goto fail;
		}
		if (engine_query_to_parquet(q, sql, body_len, max_rows, out_path, &err))
			goto fail;
	} else {
		if (engine_query_start(q, f, max_rows, &err))
			goto fail;
		if (wire_send(w->fd, WIRE_START, NULL, 0))
			goto io_fail;
		buf = xmalloc(WIRE_DATA_CHUNK);
		for (;;) {
			ssize_t n = engine_query_read(q, buf, WIRE_DATA_CHUNK,
						      clock_mono_ms() - start_ms);
			if (n < 0) {
				/* note 6: whatever failed mid-stream, do not reuse */
				log_event("warn", "queryd",
					  "queryd-worker %ld: a result failed mid-stream; retiring",
					  (long)getpid());
				if (wire_send(w->fd, WIRE_CUT, NULL, 0))
					goto io_fail;
				goto done;
			}
			if (n == 0)
				break;
			if (wire_send(w->fd, WIRE_DATA, buf, (size_t)n))
				goto io_fail;
		}
	}
	end = json_pack("{s:I, s:b}", "rows", (json_int_t)engine_query_rows(q),
			"truncated", engine_query_truncated(q));
	if (wire_send_json(w->fd, WIRE_END, end))
		goto io_fail;
	goto done;
fail:
	if (send_error(w, &err))
		goto io_fail;
	goto done;
io_fail:
	rc = -1;
done:
	watch(w, NULL, 0);
	engine_query_destroy(q);
	lh_error_clear(&err);
	json_decref(end);
	free(buf);
	return rc;
}

/* Note 1: the limits, before DuckDB allocates anything. */
static void set_limits(uint64_t address_bytes)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1000", 4) < 0) {
			/* best effort: the cap below is what bounds memory */
		}
		close(fd);
	}
#if defined(__SANITIZE_ADDRESS__)
	/* AddressSanitizer reserves terabytes of shadow address space: an
	 * RLIMIT_AS would stop the worker before main(). Sanitizer builds are
	 * for finding bugs, not for enforcing limits. */
	address_bytes = 0;
#endif
	if (address_bytes) {
		struct rlimit rl = { .rlim_cur = address_bytes, .rlim_max = address_bytes };
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			log_event("warn", "queryd", "queryd-worker: cannot set the memory cap: %s",
				  strerror(errno));
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !end || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int queryd_worker_main(int argc, char **argv)
{
	struct worker w = { .fd = WORKER_FD, .views = json_object() };
	struct lh_error err = { 0 };
	const char *sandbox = NULL, *glove = NULL;
	uint64_t memory = 0, threads = 0, address = 0, spill_bytes = 0;
	enum log_mode log_mode = LOG_MODE_AUTO;
	char *spill = NULL;
	pthread_t wd;
	int wd_started = 0, rc = 1;
	sigset_t none;

	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i + 1 < argc; i += 2) {
		int bad = 0;
		if (!strcmp(argv[i], "--sandbox"))
			sandbox = argv[i + 1];
		else if (!strcmp(argv[i], "--memory"))
			bad = parse_u64(argv[i + 1], &memory);
		else if (!strcmp(argv[i], "--threads"))
			bad = parse_u64(argv[i + 1], &threads);
		else if (!strcmp(argv[i], "--address-limit"))
			bad = parse_u64(argv[i + 1], &address);
		else if (!strcmp(argv[i], "--spill"))
			bad = parse_u64(argv[i + 1], &spill_bytes);
		else if (!strcmp(argv[i], "--glove"))
			glove = argv[i + 1];
		else if (!strcmp(argv[i], "--log"))
			bad = log_mode_parse(argv[i + 1], &log_mode);
		else
			bad = 1;
		if (bad) {
			fprintf(stderr, "queryd-worker: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!sandbox || fcntl(w.fd, F_GETFD) < 0) {
		fprintf(stderr, "queryd-worker: started by queryd only (needs --sandbox and fd %d)\n",
			WORKER_FD);
		return 2;
	}
	log_setup(log_mode, NULL);
	set_limits(address);
	spill = xasprintf("%s/spill/%ld", sandbox, (long)getpid());
	if (mkdir(spill, 0700) != 0 && errno != EEXIST) {
		log_event("error", "queryd", "queryd-worker: cannot create %s: %s", spill,
			  strerror(errno));
		goto out;
	}
	struct engine_options eo = {
		.sandbox_dir = sandbox,
		.temp_dir = spill,
		.memory_bytes = memory,
		.spill_bytes = spill_bytes,
		.threads = (unsigned)threads,
		.session = 1,
		.glove_path = glove,
	};
	w.engine = engine_open(&eo, &err);
	if (!w.engine) {
		log_event("error", "queryd", "queryd-worker: %s", err.msg);
		send_error(&w, &err);
		goto out;
	}
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (pthread_create(&wd, NULL, watchdog_main, &w) != 0)
		goto out;
	wd_started = 1;
	if (wire_send(w.fd, WIRE_READY, NULL, 0))
		goto out;
	for (;;) {
		char type, *payload = NULL;
		size_t n;
		if (wire_recv(w.fd, &type, &payload, &n))
			break;   /* note 5 */
		json_t *req = type == WIRE_REQUEST ? json_loadb(payload, n, 0, NULL) : NULL;
		free(payload);
		if (!req)
			break;
		int r = run_one(&w, req);
		json_decref(req);
		if (r)
			break;
	}
	rc = 0;
out:
	if (wd_started) {
		pthread_mutex_lock(&w.mu);
		w.stopping = 1;
		pthread_cond_signal(&w.cv);
		pthread_mutex_unlock(&w.mu);
		pthread_join(wd, NULL);
	}
	engine_close(w.engine);
	json_decref(w.views);
	json_decref(w.catalog);
	lh_error_clear(&err);
	if (spill)
		rmdir(spill);
	free(spill);
	return rc;
}
