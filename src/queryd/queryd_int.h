/* queryd_int.h — queryd's private interfaces: the statement guard, the
 * Parquet cache and the DuckDB engine adapter. Only src/queryd/ and its unit
 * tests include this; other modules use queryd.h.
 *
 *   sql_guard.c  pure: tokenizer, read-only statement classifier, dataset
 *                reference scanner ("name" and "name@N" identifiers).
 *   cache.c      content-addressed LRU cache of Parquet objects on disk,
 *                with pins so a running query never loses its files.
 *   engine.c     the only file that includes <duckdb.h>: one sandboxed
 *                database, one connection per query, result rendering.
 */
#ifndef LH_QUERYD_INT_H
#define LH_QUERYD_INT_H
#include "common/json.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lh_error;

/* ---- sql_guard.c -------------------------------------------------------- */

/* Check that `sql` is one read-only query: its first keyword is SELECT, WITH,
 * VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW or EXPLAIN (whose inner statement
 * must be one of the others), or it opens with a parenthesised SELECT; at most
 * trailing semicolons; no unterminated string, quoted identifier or comment;
 * parentheses balanced. Returns 0 and sets *body_len to the length of the
 * statement without its trailing semicolons, comments and spaces; or -1 with
 * 400 "forbidden_statement" (a statement kind queryd refuses) or 400
 * "bad_query" (empty, unterminated, several statements). Pure. */
int sql_guard_check(const char *sql, size_t n, size_t *body_len, struct lh_error *err);

/* A dataset a query may reference: `name` as written (case kept) and the
 * version for "name@N" (0 = latest; -1 for a quoted "name@0", "name@007"
 * or one with too many digits, so that queryd answers "no such version"
 * instead of "no such table"). */
struct sql_ref {
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;
};

/* The first unquoted `name@N` of `sql` (a word, '@', a number, with nothing
 * between): 1 and name/version, else 0. Pure. For the error that tells the
 * user to quote it. */
int sql_find_unquoted_version(const char *sql, size_t n, char name[LH_DATASET_NAME_MAX + 1],
			      int64_t *version);

/* Collect every identifier of `sql` that could name a dataset: unquoted words
 * and double-quoted identifiers shaped like a dataset name, or "name@N" with
 * N >= 1. Deduplicated case-insensitively, at most `max` (the rest dropped).
 * Tokens inside strings and comments are skipped. Returns the count. Pure. */
size_t sql_refs_scan(const char *sql, size_t n, struct sql_ref *out, size_t max);

/* Parse "name@N" (N a positive decimal without leading zero, fits int64).
 * Returns 1 and fills name/version, or 0 when `ident` is not of that shape. */
int sql_parse_versioned(const char *ident, size_t n, char name[LH_DATASET_NAME_MAX + 1],
			int64_t *version);

/* sql_guard.c's tokenizer, for other scanners (search_sql.c): the token at
 * *pos (spaces and comments skipped), *pos moved past it. STRING is any
 * string literal ('...', E'...', $$...$$); a number is a PUNCT token that
 * starts with a digit. Pure. */
enum { SQL_TOK_END, SQL_TOK_WORD, SQL_TOK_QIDENT, SQL_TOK_STRING, SQL_TOK_PUNCT, SQL_TOK_ERROR };
struct sql_tok {
	int kind;
	size_t start, len;
};
void sql_token_next(const char *s, size_t n, size_t *pos, struct sql_tok *out);

/* ---- sql_allow.c, sql_functions.c: the function allow-list (ADR 0113) --- */

/* The kinds of function DuckDB offers under one name (duckdb_functions()
 * function_type), plus SQL_FN_BINDER: a name DuckDB's binder handles in
 * expressions without a catalog entry (unnest, unlist). */
enum {
	SQL_FN_SCALAR = 1, SQL_FN_AGGREGATE = 2, SQL_FN_MACRO = 4, SQL_FN_TABLE = 8,
	SQL_FN_TABLE_MACRO = 16, SQL_FN_PRAGMA = 32, SQL_FN_BINDER = 64,
};
#define SQL_FN_IN_EXPR (SQL_FN_SCALAR | SQL_FN_AGGREGATE | SQL_FN_MACRO | SQL_FN_BINDER)
#define SQL_FN_IN_FROM (SQL_FN_TABLE | SQL_FN_TABLE_MACRO)

/* Why a function or view is denied; sql_why_text() says it in words. */
enum sql_why {
	WHY_ALLOWED, WHY_SQL, WHY_PLAN, WHY_FILES, WHY_SETTINGS, WHY_LOGS, WHY_SHARED,
	WHY_SECRETS, WHY_POINTER, WHY_SEQUENCE, WHY_INTERNAL, WHY_PRAGMA, WHY_VIEWS,
};

struct sql_fn {
	const char *name;
	unsigned char kinds;    /* SQL_FN_* DuckDB offers under this name */
	unsigned char denied;   /* the subset of `kinds` a query may not call */
	unsigned char why;      /* enum sql_why, when `denied` */
};

struct sql_view {
	const char *schema, *name;   /* a DuckDB internal view */
	unsigned char denied, why;
};

/* The entry for `name` (case-insensitive), or NULL: not classified. */
const struct sql_fn *sql_fn_find(const char *name);
/* The internal view `name` (case-insensitive) in `schema` (NULL: any; of
 * several, a denied one), or NULL. */
const struct sql_view *sql_view_find(const char *schema, const char *name);
/* A short reason in plain words ("it reads files ..."); static. */
const char *sql_why_text(int why);
/* NULL, or the first name out of order or inconsistent in the table. */
const char *sql_functions_selftest(void);

/* 1 if the list classifies what DuckDB reports: `kind` is a
 * duckdb_functions() function_type ("scalar", "aggregate", "macro", "table",
 * "table_macro", "pragma") or "view" for an internal view in `schema`. */
int sql_allow_classified(const char *kind, const char *schema, const char *name);

/* The offset of the query inside "EXPLAIN [ANALYZE] <query>" (spaces and
 * comments allowed around the keywords), or 0 when `sql` does not begin
 * with EXPLAIN. Pure. */
size_t sql_allow_explain_body(const char *sql, size_t n);

/* Check DuckDB's parse of one statement — the JSON text `json_serialize_sql`
 * returned for it — against the allow-list: every function, aggregate,
 * macro, window function and operator it calls, every table function in its
 * FROM clauses and every table it names, in subqueries, CTEs, set
 * operations, lambdas, PIVOTs and SHOW/DESCRIBE/SUMMARIZE included.
 * `views` are the names queryd itself created on this connection (they may
 * shadow a DuckDB view). Returns 0, or -1 with 400 "forbidden_function"
 * (a denied or unknown function or view, a file read by name) or 400
 * "forbidden_statement" (DuckDB could not serialize the statement, or it
 * holds a construct this check does not know: fail closed). Pure. */
int sql_allow_check(const char *json, size_t len, const char *const *views, size_t nviews,
		    struct lh_error *err);

/* ---- cache.c ------------------------------------------------------------ */

/* Fetch callback: write the object `key` into `fd` (an empty temp file in the
 * cache dir) and verify it. Returns 0 or -1 with err. */
typedef int (*cache_fetch_fn)(void *ctx, const char *key, int fd, struct lh_error *err);

struct qcache;

struct qcache_stats {
	uint64_t hits, misses, fetches, evictions, bytes, files;
};

/* Open the cache in `dir` (created if missing), bounded by `cap_bytes`.
 * Files left by an earlier run are adopted (oldest mtime evicted first);
 * stale temp files are removed. NULL + err on failure. */
struct qcache *qcache_open(const char *dir, uint64_t cap_bytes, struct lh_error *err);
void qcache_close(struct qcache *c);

/* Make `key` present and pin it. On a hit nothing is fetched; on a miss
 * `fetch` fills a temp file that is then renamed into place (a concurrent
 * acquire of the same key waits for that fetch instead of repeating it).
 * Writes the file's absolute path to path[size]. Every successful acquire
 * must be matched by qcache_release(). *fetched (if not NULL) is set to 1
 * when this call fetched the object, 0 on a hit. Returns 0 or -1 with err. */
int qcache_acquire(struct qcache *c, const char *key, cache_fetch_fn fetch, void *ctx,
		   char *path, size_t size, int *fetched, struct lh_error *err);
/* Unpin; then evict least-recently-used unpinned files while over the cap. */
void qcache_release(struct qcache *c, const char *key);
void qcache_stats(struct qcache *c, struct qcache_stats *out);
/* The file name a key is stored under: "<sha256(key)>.parquet". */
#define QCACHE_NAME_LEN (64 + sizeof ".parquet")
void qcache_file_name(const char *key, char out[QCACHE_NAME_LEN]);

/* ---- engine.c ----------------------------------------------------------- */

enum engine_format { ENGINE_JSON, ENGINE_CSV, ENGINE_NDJSON, ENGINE_PARQUET };

struct engine_options {
	const char *sandbox_dir;   /* the only directory DuckDB may touch */
	const char *temp_dir;      /* spill directory (inside sandbox_dir) */
	uint64_t memory_bytes;     /* memory_limit; 0 = DuckDB's default */
	uint64_t spill_bytes;      /* max_temp_directory_size; 0 = DuckDB's default
				    * (90% of the free disk: never for queryd) */
	unsigned threads;          /* 0 = DuckDB's default */
	int session;               /* one query at a time: one connection, and
				    * statements kept prepared (engine.c note 8) */
	const char *glove_path;    /* embed()'s word vectors (engine.c note 10);
				    * NULL or "" = the compiled-in file */
};

struct engine;
struct engine_query;

/* Open one in-memory database, then lock it down: allowed_directories =
 * [sandbox_dir], enable_external_access = false, lock_configuration = true,
 * in that order. NULL + err on failure. */
struct engine *engine_open(const struct engine_options *o, struct lh_error *err);
void engine_close(struct engine *e);

/* Call fn(ctx, kind, schema, name) for every function DuckDB offers (kind:
 * duckdb_functions()' function_type) and every internal view (kind "view"),
 * once per distinct triple; the strings live for the call. For the
 * allow-list's completeness test (ADR 0113). 0, or -1 with err. */
typedef void (*engine_function_fn)(void *ctx, const char *kind, const char *schema,
				   const char *name);
int engine_functions_each(struct engine *e, engine_function_fn fn, void *ctx,
			  struct lh_error *err);

/* A fresh connection for one query. NULL + err. */
struct engine_query *engine_query_create(struct engine *e, struct lh_error *err);
/* Disconnect and free everything of the query. NULL is fine. */
void engine_query_destroy(struct engine_query *q);
/* Ask DuckDB to stop the running statement; thread-safe, may race with the
 * end of the query harmlessly. Marks the query as timed out. */
void engine_query_interrupt(struct engine_query *q);

/* CREATE TEMP VIEW "<view>" over the Parquet files `paths` (absolute, in the
 * sandbox), or, with npaths == 0, over an empty relation typed from `schema`
 * (the manifest's [{"name","type"}] array). `runs` (NULL or []: every object
 * has the version's schema) is an evolved version's [{"count","schema"}]
 * (engine.c note 11, ADR 0173): the objects grouped in order by the schema
 * they were written with, read with `schema`. Returns 0 or -1 with err. */
int engine_query_add_view(struct engine_query *q, const char *view, const char *const *paths,
			  size_t npaths, const json_t *schema, const json_t *runs,
			  struct lh_error *err);

/* CREATE TEMP VIEW "<view>" over `paths` (npaths >= 1) with two more
 * columns: "__lh_object" (the index of the path a row comes from) and
 * "__lh_row" (its row number in that file, from 0) — where search's
 * filters find the rows they keep (docs/search.md). `schema` (NULL = none)
 * only says which columns are masked. 0 or -1 with err.
 *
 * In every view function, a column of `schema` marked "masked": true reads
 * as NULL of its type (ADR 0211: personal columns for read and agent
 * tokens). */
int engine_query_add_positions_view(struct engine_query *q, const char *view,
				    const char *const *paths, size_t npaths, const json_t *schema,
				    const json_t *runs, struct lh_error *err);

/* The result of one search(...) call of the statement this query will
 * prepare, computed by queryd (search_sql.h): the table function
 * search(...) whose arguments give `key` (search_sql_key) returns `rows`
 * ([{column: value}] as engine.c renders JSON) typed by `schema` (the
 * version's [{"name","type"}]) plus "_score" DOUBLE from `scores`, in
 * order (engine.c note 10). A query with searches is never kept prepared.
 * 0 or -1 with err. */
int engine_query_add_search(struct engine_query *q, const char *key, const json_t *schema,
			    const json_t *rows, const json_t *scores, struct lh_error *err);

/* CREATE OR REPLACE VIEW main."<view>" for a dataset's latest version
 * (engine.c note 7): over `paths` (absolute, in the sandbox); with npaths == 0 typed from
 * `schema` — with no rows, or with `stub` a view that fails when run. The
 * view stays until dropped; its name is allowed by the function check.
 * Not to be called while a query runs on `e`. 0 or -1 with err (500). */
int engine_dataset_view(struct engine *e, const char *view, const char *const *paths,
			size_t npaths, const json_t *schema, const json_t *runs, int stub,
			struct lh_error *err);
/* Only DuckDB's parser on `sql` (nothing bound or run): 0 if it parses,
 * else -1 with 400 "sql_error" and DuckDB's message. */
int engine_parse(struct engine *e, const char *sql, struct lh_error *err);
/* DROP VIEW IF EXISTS main."<view>". 0 or -1 with err. */
int engine_dataset_view_drop(struct engine *e, const char *view, struct lh_error *err);

/* Prepare the user's statement with DuckDB's own parser and check it is one
 * statement of a read-only type (belt and braces after sql_guard_check).
 * 400 "forbidden_statement" / "sql_error" on failure. */
int engine_query_prepare(struct engine_query *q, const char *sql, struct lh_error *err);

/* Execute (streaming) and fetch the first chunk, so that SQL errors and time
 * outs surface before any byte is sent. `max_rows` < 0 = unlimited.
 * 400 "sql_error", 400 "forbidden_statement" (sandbox refusal), 504
 * "query_timeout". */
int engine_query_start(struct engine_query *q, enum engine_format fmt, int64_t max_rows,
		       struct lh_error *err);

/* Render the next piece of the result into buf (at most `max` bytes, keeping
 * what does not fit for the next call). Returns bytes written, 0 at the end
 * (after the JSON trailer), -1 on a failure mid-stream (time limit, DuckDB
 * error): the caller cuts the connection. `elapsed_ms` is read at the end. */
ssize_t engine_query_read(struct engine_query *q, char *buf, size_t max, double elapsed_ms);

/* The cap on one rendered row (engine.c note 9), LH_QUERY_MAX_ROW_BYTES
 * unless set before engine_query_start (the unit tests set a small one). */
void engine_query_set_max_row(struct engine_query *q, size_t bytes);

/* Write the result as Snappy Parquet to `out_path` (inside the sandbox),
 * limited to max_rows rows when >= 0. The statement must be a SELECT-type
 * query; `sql`/`len` is its text without trailing semicolons. Returns 0 or -1
 * with err (as engine_query_start). */
int engine_query_to_parquet(struct engine_query *q, const char *sql, size_t len,
			    int64_t max_rows, const char *out_path, struct lh_error *err);

/* After the stream ended: rows sent and whether more existed. */
int64_t engine_query_rows(const struct engine_query *q);
int engine_query_truncated(const struct engine_query *q);


/* ---- wire.c: frames between queryd and its workers ----------------------- */

/* The worker's end of its socketpair is this descriptor. */
#define WORKER_FD 3
/* Largest frame payload: a request carries the SQL (JSON-escaped), the
 * cached path of every object and every schema it reads. */
#define WIRE_MAX_PAYLOAD (64u << 20)
/* Result data frames are at most this big. */
#define WIRE_DATA_CHUNK (256u << 10)

enum wire_type {
	WIRE_READY = 'R',    /* worker -> queryd: DuckDB is open and sandboxed */
	WIRE_REQUEST = 'Q',  /* queryd -> worker: one query (JSON, worker.c note 3) */
	WIRE_ERROR = 'E',    /* the query failed before any result: {"status","code","error"} */
	WIRE_START = 'S',    /* the result follows as WIRE_DATA frames */
	WIRE_DATA = 'D',     /* rendered result bytes */
	WIRE_END = 'Z',      /* the result is complete: {"rows","truncated"} */
	WIRE_CUT = 'X',      /* the result failed mid-stream (time limit, error) */
};

/* Write one whole frame (blocking, no SIGPIPE). 0, -1 when the socket
 * failed, or -2 (nothing written) when the payload is over WIRE_MAX_PAYLOAD. */
int wire_send(int fd, char type, const void *payload, size_t n);
/* The same with a JSON payload. */
int wire_send_json(int fd, char type, const json_t *doc);
/* Read one whole frame (blocking): *payload is malloc'd and NUL-terminated,
 * the caller frees it. 0, or -1 on EOF, error or an oversized frame. */
int wire_recv(int fd, char *type, char **payload, size_t *n);

enum { WIRE_WAIT_READY, WIRE_WAIT_TIMEOUT, WIRE_WAIT_CLIENT_GONE, WIRE_WAIT_ERROR };
/* Wait until `fd` is readable (or at EOF), the CLOCK_MONOTONIC deadline (ms)
 * passes, or `client_fd` (if >= 0) reports a hang-up. */
int wire_wait(int fd, int client_fd, double deadline_ms);

/* ---- pool.c: worker processes ------------------------------------------- */

struct qpool_options {
	const char *exe;           /* the lakehouse binary (normally /proc/self/exe) */
	const char *sandbox_dir;   /* the cache directory: all DuckDB may touch */
	uint64_t memory_bytes;     /* DuckDB memory_limit in each worker */
	uint64_t address_bytes;    /* each worker's RLIMIT_AS; 0 = none */
	uint64_t spill_bytes;      /* DuckDB max_temp_directory_size per worker */
	unsigned threads;          /* DuckDB threads per worker */
	unsigned max_workers;      /* concurrent queries */
	unsigned kill_grace_ms;    /* a busy worker dies this long after its deadline */
	const char *glove_path;    /* embed()'s word vectors; NULL or "" = compiled in */
};

struct qpool;
struct qworker;

struct qpool_stats {
	unsigned idle, busy, max;
	uint64_t spawned, crashed, killed, retired, overdue;
};

/* Start the pool and one warm worker. NULL + err if a worker cannot start. */
struct qpool *qpool_create(const struct qpool_options *o, struct lh_error *err);
/* Stop idle workers and free the pool; every worker must be back. */
void qpool_destroy(struct qpool *p);
/* A worker for one query whose CLOCK_MONOTONIC deadline (ms) is given: an
 * idle one that is still alive, or a new one while fewer than max_workers
 * exist, else wait until the deadline -> NULL + 503 "overloaded". NULL +
 * 500 if a new worker cannot start, 504 if that outlasts the deadline, 499
 * if `client_fd` (>= 0) hangs up meanwhile. Whatever happens later, the pool
 * kills the worker kill_grace_ms after the deadline if it is still lent. */
struct qworker *qpool_acquire(struct qpool *p, double deadline_ms, int client_fd,
			      struct lh_error *err);
int qworker_fd(const struct qworker *w);
/* The catalog generation the worker was last sent (0 for a new one); only
 * the query that holds the worker reads or sets it. */
uint64_t qworker_gen(const struct qworker *w);
void qworker_set_gen(struct qworker *w, uint64_t gen);
/* The query ended cleanly: the worker goes back to the idle list. */
void qpool_release(struct qpool *p, struct qworker *w);
/* Kill (SIGKILL), reap and free a worker that must not be reused. */
void qpool_discard(struct qpool *p, struct qworker *w);
/* Reap and free a worker whose socket hit EOF; fills err with how it ended,
 * in plain words: 504 "query_timeout" if the pool killed it past its
 * deadline, else 500 "engine_crashed". */
void qpool_discard_dead(struct qpool *p, struct qworker *w, struct lh_error *err);
void qpool_stats(struct qpool *p, struct qpool_stats *out);

/* ---- queryd.c: internal queries, for search (search_*.c) ----------------- */

struct catalog_client;
struct lh_config;
struct manifest;
struct qrun;
struct queryd;
struct search;
struct storage_client;

struct catalog_client *queryd_catalog(struct queryd *s);
struct storage_client *queryd_storage(struct queryd *s);
struct qcache *queryd_cache(struct queryd *s);
const struct lh_config *queryd_config(const struct queryd *s);
struct search *queryd_search(struct queryd *s);

/* qcache_acquire of `key`, fetched from storaged on a miss (streamed and
 * checked against its ETag): Parquet objects and index parts alike. */
int queryd_cache_acquire(struct queryd *s, const char *key, const char *rid, char *path,
			 size_t size, int *fetched, struct lh_error *err);

/* ADR 0211: the columns (a JSON array text, NULL = none) masked in every
 * version or object pinned next (qrun_add_version, qrun_add_object): search
 * sets them for a caller who may not see personal columns. */
void qrun_set_masked(struct qrun *r, const char *masked);
/* The queryd a run belongs to. */
struct queryd *qrun_queryd(struct qrun *r);
/* The personal columns of dataset `name` now (GET /catalog/datasets'
 * "masked") into out as a JSON array text, "" when none; during a catalog
 * outage the last known ones (ADR 0205), or 503. A dataset the list does
 * not have: 404 (fresh) or 503 (a known list), never "none". A fresh list
 * becomes the known one. 0 or -1 with err. */
int qrun_dataset_masked(struct qrun *r, const char *name, const char *rid,
			char out[LH_MASKED_JSON_MAX + 1], struct lh_error *err);
/* ADR 0211/0205: r answers a caller whose personal columns are masked (a
 * read or agent token): the masks apply, and during a catalog outage the
 * bound [queryd] catalog_stale_masked_seconds. */
void qrun_set_mask(struct qrun *r, int mask);
/* ADR 0205: a catalog call r made failed with err. An outage: it is
 * recorded, err becomes the 503 catalog_unavailable, 1. Otherwise 0 (an
 * answer, err as it is). */
int qrun_catalog_failed(struct qrun *r, struct lh_error *err);
/* ADR 0205: the age in ms of the known catalog state r was answered from,
 * -1 when the catalog answered everything r asked. */
double qrun_catalog_age(const struct qrun *r);
/* ADR 0205: an answer's X-Lakehouse-Catalog-Age (age_ms >= 0: answered from
 * a known catalog state) and /health's counts; err: a failed answer's, or
 * NULL. Call after the response was made. */
struct http_request;
void queryd_catalog_answer(struct queryd *s, struct http_request *req, double age_ms,
			   const struct lh_error *err);
/* iceberg_build.c: GET /iceberg/tables/<name>?base=<URL>[&version=N]
 * (ADR 0230): the table metadata of a dataset version, built and stored on
 * first request. */
int iceberg_route_table(struct http_request *req);

/* One internal query's state: the objects it pinned, the views it sends, its
 * deadline (CLOCK_MONOTONIC ms) and the client whose hang-up stops it
 * (client_fd -1: none). Free with qrun_free (unpins). */
struct qrun *qrun_create(struct queryd *s, int client_fd, double deadline_ms);
void qrun_free(struct qrun *r);
/* name@version's manifest (0 = the latest, asked every time): 404
 * unknown_dataset / unknown_version; during a catalog outage the last
 * answer (ADR 0205) or 503 catalog_unavailable. *out holds a reference. */
int qrun_manifest(struct qrun *r, const char *name, int64_t version, const char *rid,
		  struct manifest **out, struct lh_error *err);
/* GET /catalog/index/<name> (catalog_client_index_get), with the same
 * outage rule as qrun_manifest. *out: a new reference. */
int qrun_index_get(struct qrun *r, const char *name, const char *rid, json_t **out,
		   struct lh_error *err);
/* Pin m's objects and add the TEMP view `view` over them; with `positions`
 * the view has engine_query_add_positions_view's two columns. */
int qrun_add_version(struct qrun *r, const struct manifest *m, const char *view, int positions,
		     const char *rid, struct lh_error *err);
/* Pin object `object` of m and add the TEMP view `view` over it alone. */
int qrun_add_object(struct qrun *r, const struct manifest *m, size_t object, const char *view,
		    const char *rid, struct lh_error *err);
/* Run `sql` (over the views added) on a worker in `format` ("ndjson",
 * "csv") and hand each line of the output to fn (not NUL-terminated, no
 * newline); fn returns 0 to go on, -1 (with err) to stop. 0 or -1 with err. */
typedef int (*qrun_line_fn)(void *ctx, const char *line, size_t len, struct lh_error *err);
int qrun_lines(struct qrun *r, const char *sql, const char *format, qrun_line_fn fn, void *ctx,
	       struct lh_error *err);

#endif
