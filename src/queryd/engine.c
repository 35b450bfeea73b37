/* engine.c — queryd's DuckDB adapter: the only queryd file that includes
 * <duckdb.h> (the database itself is opened by common/duckdb_open.c).
 *
 * One sandboxed in-memory database per queryd; one connection per query
 * (temp views are connection-local, connections are cheap). Results are read
 * as a stream of chunks and rendered a chunk at a time, so no result sits in
 * memory whole.
 *
 * DESIGN NOTES
 *  1. Sandbox (engine_open): threads, memory_limit, temp_directory and
 *     max_temp_directory_size (spill on a shared disk is bounded) are set
 *     at open time; then, on a setup connection, SET allowed_directories =
 *     ['<sandbox>/'], SET enable_external_access = false, SET
 *     lock_configuration = true — the order measured to work with DuckDB
 *     1.4.4 (MEASUREMENTS.md). Afterwards read_parquet over the cache works
 *     and every other path is a "Permission Error", which we report as 400
 *     "forbidden_statement". No SET can undo it: the configuration is locked.
 *  2. Statement check (engine_query_prepare): DuckDB's own parser must see
 *     exactly one statement; then, BEFORE the statement is prepared (binding
 *     runs table functions' bind code: arrow_scan's calls a pointer, query()
 *     binds SQL text), json_serialize_sql gives DuckDB's parse of it (of the
 *     query inside EXPLAIN [ANALYZE]) and sql_allow.c checks every function,
 *     table function and system view it names against the allow-list (ADR
 *     0113); the views engine_query_add_view made are ours and allowed. Only
 *     then is it prepared, and its type must be SELECT (EXPLAIN when the
 *     text began with EXPLAIN). DESCRIBE, SHOW, SUMMARIZE, VALUES and
 *     FROM-first are SELECTs to DuckDB. sql_guard.c has already refused every
 *     other statement kind by keyword.
 *  3. Execution is streaming (duckdb_execute_prepared_streaming +
 *     duckdb_fetch_chunk). engine_query_start fetches the first chunk so
 *     errors and time-outs become proper 4xx/504 answers before any byte is
 *     sent; a failure later (engine_query_read returns -1) cuts the stream.
 *  4. Time limit: queryd's watchdog calls engine_query_interrupt (DuckDB's
 *     duckdb_interrupt is safe from another thread); the flag `timed_out`
 *     turns the resulting "Interrupted" error into 504 "query_timeout".
 *  5. Rendering: values are written straight from the vectors. JSON: integers
 *     of any width, HUGEINT and DECIMAL as JSON numbers with exact digits;
 *     DOUBLE/FLOAT with the shortest round-trip digits, NaN/Infinity as the
 *     strings "NaN", "Infinity", "-Infinity"; DATE "YYYY-MM-DD"; TIMESTAMP
 *     "YYYY-MM-DDTHH:MM:SS[.ffffff]" (TIMESTAMPTZ with "Z"); TIME, INTERVAL
 *     (ISO 8601 duration), UUID, ENUM and BLOB (\xNN escapes) as strings;
 *     LIST/ARRAY as arrays, STRUCT as objects, MAP as [{"key","value"}].
 *     CSV writes the same text, nested values as JSON text, RFC 4180 quoting,
 *     NULL as an empty field and the empty string as "". Types we cannot
 *     render (UNION, BIT, BIGNUM, TIME WITH TIME ZONE, TIME_NS) are refused
 *     with 400 "unsupported_type" before streaming: CAST them to VARCHAR.
 *  6. max_rows: rendering stops after n rows; `truncated` is true if one more
 *     row existed (peeked in the current or next chunk).
 *  7. Datasets' views (engine_dataset_view, issue 12): the latest version
 *     of every dataset is a view in `main` that lives as long as the
 *     database (a worker's), so SHOW TABLES, information_schema and
 *     DESCRIBE see every dataset, and a dataset queried again costs no
 *     CREATE VIEW. A dataset the query reads is a view over its cached
 *     Parquet; one it does not read is a stub typed from the manifest's
 *     schema that fails if it is ever run (queryd over-approximates what a
 *     query reads, so that is a bug caught, never silently empty rows).
 *     parquet_metadata_cache is on: objects are immutable, so a footer read
 *     once serves every later bind. Past versions stay TEMP views of one
 *     query's connection.
 *  8. The session (engine_options.session, queryd's workers, which run one
 *     query at a time): every query uses one long-lived connection, and a
 *     statement that passed the check and prepared is kept by its exact
 *     text (ENGINE_STMT_CACHE, least recently used out) for as long as the
 *     set of datasets' view names is the same (views_gen): a statement the
 *     check allowed because a name was one of our views is checked again
 *     when that changes. Replacing a view (a new version) needs no new
 *     check — DuckDB rebinds a prepared statement whose catalog changed.
 *     Queries that read past versions (TEMP views) are never kept, and
 *     their views are dropped at the end. Any failure, time-out included,
 *     forgets the session: the next query starts on a fresh connection.
 *  9. Output (struct obuf, over common/buf.h's lh_buf): every buffer has a
 *     cap. A result row is rendered whole into q->out before any of it is
 *     handed out; a row (or one value of it) longer than
 *     LH_QUERY_MAX_ROW_BYTES fails the query: the first row is rendered by
 *     engine_query_start, so there it is an answer, 400 "row_too_large";
 *     a later one cuts the stream like any failure mid-stream (note 3).
 *     The SQL we build for views has its own cap, LH_QUERY_VIEW_SQL_BYTES.
 * 10. Our SQL functions (ADR 0152), registered in every database at open
 *     and classified as allowed in sql_functions.c:
 *     - embed(text) -> FLOAT[100] (an ARRAY, so array_cosine_similarity
 *       takes it as is and list functions through DuckDB's implicit cast):
 *       the builtin embedder (search/embed.h: SIF over GloVe, no component
 *       removed, as POST /embed), opened on first use and kept for the
 *       database's life (the word vectors are one shared mapping per
 *       process); NULL for NULL. Batches of LH_EMBED_MAX_TEXTS per call.
 *     - search(dataset, query, k :=, mode :=, filter :=): queryd has run
 *       the calls before the statement came (search_sql.c) and
 *       engine_query_add_search loaded each result into this query: its
 *       rows, as JSON, are typed back with DuckDB's own casts from the
 *       version's schema (every value of engine.c's JSON rendering casts
 *       back from its text) into chunks kept with the query. The table
 *       function's bind finds the running query by its connection id
 *       and the result by its arguments (search_sql_key), declares the
 *       dataset's columns plus "_score" DOUBLE, and hands the chunks out
 *       by reference. No result for the arguments (they were computed, or
 *       come from a column: a search per row) is a 400 in words; a query
 *       with searches is never kept prepared (note 8), since its results
 *       are its own.
 * 11. Evolved datasets (ADR 0173): a version whose objects were written
 *     with several schemas comes with `runs` ([{"count","schema"}]: the
 *     objects in order, grouped by the schema they were written with).
 *     Its view is one SELECT per run over that run's files, joined by
 *     UNION ALL, each projected to the version's schema (run_projection):
 *     the same name and type as it is, a widening type CAST (a timestamp
 *     to utf8: note 5's text, not the zone-dependent CAST), anything
 *     else (absent, or a type that does not widen) NULL. Search's
 *     positions view does the same and adds the run's first object index
 *     to file_index, so "__lh_object" stays the object's index in the
 *     version. Without runs a view is the plain read_parquet of note 7.
 */
#include "queryd/queryd_int.h"
#include "queryd/search_sql.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/schema.h"
#include "common/xmalloc.h"
#include "search/embed.h"

/* duckdb.h declares a few `f()` prototypes; keep -Werror for our code. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop

#include "common/duckdb_open.h"

#include <inttypes.h>
#include <pthread.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Note 8: statements a worker keeps prepared (dashboards and agents send the
 * same few texts again and again). */
#define ENGINE_STMT_CACHE 32

/* Note 10: embed()'s dimension (the builtin embedder's). */
#define ENGINE_EMBED_DIM 100

/* ---- output buffer (note 9) ---------------------------------------------- */

/* Bytes a rendered result may hold beyond its row: what is waiting to be
 * handed out (less than LH_STREAM_CHUNK when a row starts), the header's
 * or trailer's punctuation. */
#define ENGINE_OUT_SLACK (LH_STREAM_CHUNK + 4096)

/* Text with a cap: an append past it is dropped and sets `overflow`, which
 * the caller turns into an error; what was built is then never used. */
struct obuf {
	struct lh_buf b;
	size_t off;             /* bytes already handed out */
	int overflow;
};

static void ob_init(struct obuf *b, size_t max)
{
	lh_buf_init(&b->b, max);
	b->off = 0;
	b->overflow = 0;
}

/* Free the data, not the struct. */
static void ob_free(struct obuf *b)
{
	lh_buf_free(&b->b);
}

/* The text (never NULL), owned by b. */
static const char *ob_str(const struct obuf *b)
{
	return b->b.data ? b->b.data : "";
}

static size_t ob_len(const struct obuf *b)
{
	return b->b.len;
}

/* Keep the first n (<= ob_len) bytes. */
static void ob_truncate(struct obuf *b, size_t n)
{
	b->b.len = n;
	if (b->b.data)
		b->b.data[n] = '\0';
}

/* The text, handed to the caller (free()). */
static char *ob_take(struct obuf *b)
{
	return lh_buf_take(&b->b);
}

static void ob_put(struct obuf *b, const char *s, size_t n)
{
	if (!b->overflow && lh_buf_append(&b->b, s, n) != 0)
		b->overflow = 1;
}

static void ob_puts(struct obuf *b, const char *s)
{
	ob_put(b, s, strlen(s));
}

static void ob_putc(struct obuf *b, char c)
{
	ob_put(b, &c, 1);
}

static void ob_printf(struct obuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ob_printf(struct obuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		ob_put(b, tmp, (size_t)n);
		return;
	}
	if ((size_t)n > b->b.max - b->b.len) {
		b->overflow = 1;
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ob_put(b, big, (size_t)n);
	free(big);
}

static void ob_json_string(struct obuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	ob_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		ob_put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': ob_puts(b, "\\\""); break;
		case '\\': ob_puts(b, "\\\\"); break;
		case '\n': ob_puts(b, "\\n"); break;
		case '\r': ob_puts(b, "\\r"); break;
		case '\t': ob_puts(b, "\\t"); break;
		default: {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			ob_put(b, e, 6);
		}
		}
	}
	ob_put(b, s + run, n - run);
	ob_putc(b, '"');
}

static void ob_csv_field(struct obuf *b, const char *s, size_t n)
{
	int quote = n == 0;
	for (size_t i = 0; i < n && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = 1;
	if (!quote) {
		ob_put(b, s, n);
		return;
	}
	ob_putc(b, '"');
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"') {
			ob_put(b, s + run, i + 1 - run);
			ob_putc(b, '"');
			run = i + 1;
		}
	}
	ob_put(b, s + run, n - run);
	ob_putc(b, '"');
}

/* ---- database ------------------------------------------------------------- */

struct engine {
	duckdb_database db;
	/* Note 2: one connection with `SELECT json_serialize_sql($1)` prepared
	 * once, shared by the queries under check_mu (made on first use). */
	pthread_mutex_t check_mu;
	duckdb_connection check_con;
	duckdb_prepared_statement check_st;
	/* Note 7: the datasets' persistent views (under check_mu), and the
	 * connection that makes them. */
	char **dviews;
	size_t ndviews;
	duckdb_connection admin_con;
	uint64_t views_gen;          /* bumped when the set of dviews names changes */
	/* Note 8: the session (engine_options.session). */
	int session_mode, session_busy;
	duckdb_connection session;
	struct cached_stmt {
		char *sql;
		uint64_t views_gen;
		duckdb_prepared_statement st;
		uint64_t used;
	} stmts[ENGINE_STMT_CACHE];
	uint64_t tick;
	/* Note 10: embed()'s embedder (opened on first use, under embed_mu)
	 * and the queries that carry search results (under search_mu). */
	char *glove_path;
	pthread_mutex_t embed_mu;
	struct embedder *embedder;
	pthread_mutex_t search_mu;
	struct engine_query **searching;
	size_t nsearching;
};

/* Note 10: one search(...) result of a query, typed. */
struct esearch {
	char *key;
	duckdb_result res;
	idx_t ncols;
	char **names;
	duckdb_logical_type *types;
	duckdb_data_chunk *chunks;
	size_t nchunks;
};

/* Note 8: forget every prepared statement and the session's connection. */
static void session_reset(struct engine *e)
{
	for (size_t i = 0; i < ENGINE_STMT_CACHE; i++) {
		if (e->stmts[i].st)
			duckdb_destroy_prepare(&e->stmts[i].st);
		free(e->stmts[i].sql);
		memset(&e->stmts[i], 0, sizeof e->stmts[i]);
	}
	if (e->session)
		duckdb_disconnect(&e->session);
	e->session = NULL;
}

struct engine_query {
	duckdb_connection con;
	duckdb_prepared_statement stmt;
	duckdb_result res;
	int have_res;
	duckdb_data_chunk chunk;
	idx_t chunk_row, chunk_size;
	int shared;             /* con is the engine's session (note 8) */
	int stmt_cached;        /* stmt belongs to the session's cache */
	int failed;             /* something failed: the session starts over */
	idx_t ncols;
	duckdb_logical_type *types;
	char **names;
	enum engine_format fmt;
	int64_t max_rows;       /* < 0: unlimited */
	int64_t rows;
	int truncated;
	int phase;              /* 0 header, 1 rows, 2 trailer, 3 done, -1 failed */
	size_t max_row;         /* note 9: LH_QUERY_MAX_ROW_BYTES unless a test says */
	struct obuf out, scratch;
	atomic_int timed_out;
	struct engine *e;
	char **views;           /* names engine_query_add_view created (note 2) */
	size_t nviews;
	struct esearch *searches;   /* note 10 */
	size_t nsearches;
	idx_t con_id;
};

/* "'" + s with quotes doubled + "'" */
static char *sql_quote(const char *s)
{
	struct obuf b;
	ob_init(&b, 2 * strlen(s) + 2);   /* every byte doubled: always fits */
	ob_putc(&b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			ob_putc(&b, '\'');
		ob_putc(&b, *s);
	}
	ob_putc(&b, '\'');
	return ob_take(&b);
}

static char *ident_quote(const char *s)
{
	struct obuf b;
	ob_init(&b, 2 * strlen(s) + 2);   /* every byte doubled: always fits */
	ob_putc(&b, '"');
	for (; *s; s++) {
		if (*s == '"')
			ob_putc(&b, '"');
		ob_putc(&b, *s);
	}
	ob_putc(&b, '"');
	return ob_take(&b);
}

static int run_sql(duckdb_connection con, const char *sql, struct lh_error *err)
{
	duckdb_result r;
	int rc = 0;
	if (duckdb_query(con, sql, &r) == DuckDBError)
		rc = lh_fail(err, 500, "internal", "query engine setup failed: %s",
			     duckdb_result_error(&r));
	duckdb_destroy_result(&r);
	return rc;
}

/* ---- our SQL functions (note 10) ------------------------------------------ */

/* The builtin embedder, opened on first use. NULL + err. */
static struct embedder *engine_embedder(struct engine *e, struct lh_error *err)
{
	pthread_mutex_lock(&e->embed_mu);
	if (!e->embedder) {
		struct embed_config ec = { .glove_path = e->glove_path };
		e->embedder = embedder_open("builtin", &ec, err);
		if (e->embedder && embedder_dim(e->embedder) != ENGINE_EMBED_DIM) {
			lh_fail(err, 500, "internal",
				"the word vectors have %u dimensions; embed() returns %d",
				embedder_dim(e->embedder), ENGINE_EMBED_DIM);
			embedder_close(e->embedder);
			e->embedder = NULL;
		}
	}
	struct embedder *em = e->embedder;
	pthread_mutex_unlock(&e->embed_mu);
	return em;
}

static void embed_fn(duckdb_function_info info, duckdb_data_chunk input, duckdb_vector output)
{
	struct engine *e = duckdb_scalar_function_get_extra_info(info);
	struct lh_error err = { 0 };
	idx_t n = duckdb_data_chunk_get_size(input);
	struct embedder *em = engine_embedder(e, &err);
	if (!em) {
		char *msg = xasprintf("embed(): %s", err.msg);
		duckdb_scalar_function_set_error(info, msg);
		free(msg);
		lh_error_clear(&err);
		return;
	}
	duckdb_vector in = duckdb_data_chunk_get_vector(input, 0);
	duckdb_string_t *data = (duckdb_string_t *)duckdb_vector_get_data(in);
	uint64_t *valid = duckdb_vector_get_validity(in);
	float *out = (float *)duckdb_vector_get_data(duckdb_array_vector_get_child(output));
	const char **texts = xcalloc(n ? n : 1, sizeof *texts);
	size_t *lens = xcalloc(n ? n : 1, sizeof *lens);
	int any_null = 0;
	for (idx_t i = 0; i < n; i++) {
		if (valid && !duckdb_validity_row_is_valid(valid, i)) {
			texts[i] = "";
			any_null = 1;
			continue;
		}
		texts[i] = duckdb_string_t_data(&data[i]);
		lens[i] = duckdb_string_t_length(data[i]);
	}
	for (idx_t off = 0; off < n; off += LH_EMBED_MAX_TEXTS) {
		size_t m = n - off < LH_EMBED_MAX_TEXTS ? (size_t)(n - off) : LH_EMBED_MAX_TEXTS;
		float *to = out + off * ENGINE_EMBED_DIM;
		if (embedder_embed(em, texts + off, lens + off, m, to, &err)) {
			char *msg = xasprintf("embed(): %s", err.msg);
			duckdb_scalar_function_set_error(info, msg);
			free(msg);
			lh_error_clear(&err);
			goto out;
		}
	}
	if (any_null) {
		duckdb_vector_ensure_validity_writable(output);
		uint64_t *ov = duckdb_vector_get_validity(output);
		for (idx_t i = 0; i < n; i++)
			if (!duckdb_validity_row_is_valid(valid, i))
				duckdb_validity_set_row_invalid(ov, i);
	}
out:
	free(texts);
	free(lens);
}

/* A VARCHAR argument's text (NULL when absent or NULL); duckdb_free it. */
static char *arg_text(duckdb_value v)
{
	return v && !duckdb_is_null_value(v) ? duckdb_get_varchar(v) : NULL;
}

static const char search_usage[] =
	"search(...) takes constants only: write search('<dataset>', '<query>', k := 10, "
	"mode := 'hybrid', filter := '<SQL condition>') with text in single quotes and k a "
	"whole number. queryd runs each search before the query, so an argument taken from a "
	"column (a search per row) or computed by an expression is not possible: search once "
	"and JOIN its rows instead";

static void search_bind(duckdb_bind_info info)
{
	struct engine *e = duckdb_bind_get_extra_info(info);
	duckdb_value v[5] = { duckdb_bind_get_parameter(info, 0),
			      duckdb_bind_get_parameter(info, 1),
			      duckdb_bind_get_named_parameter(info, "k"),
			      duckdb_bind_get_named_parameter(info, "mode"),
			      duckdb_bind_get_named_parameter(info, "filter") };
	char *ds = arg_text(v[0]), *query = arg_text(v[1]), *mode = arg_text(v[3]),
	     *filter = arg_text(v[4]);
	int64_t k = v[2] && !duckdb_is_null_value(v[2]) ? duckdb_get_int64(v[2]) : 0;
	int null_arg = !ds || !query || (v[2] && duckdb_is_null_value(v[2])) ||
		       (v[3] && !mode) || (v[4] && !filter);
	struct esearch *found = NULL;
	if (!null_arg) {
		char *key = search_sql_key(ds, query, v[2] ? &k : NULL, mode, filter);
		duckdb_client_context ctx = NULL;
		duckdb_table_function_get_client_context(info, &ctx);
		idx_t id = duckdb_client_context_get_connection_id(ctx);
		duckdb_destroy_client_context(&ctx);
		pthread_mutex_lock(&e->search_mu);
		for (size_t i = 0; i < e->nsearching && !found; i++) {
			struct engine_query *q = e->searching[i];
			for (size_t j = 0; q->con_id == id && j < q->nsearches && !found; j++)
				if (!strcmp(q->searches[j].key, key))
					found = &q->searches[j];
		}
		pthread_mutex_unlock(&e->search_mu);
		free(key);
	}
	if (found) {
		for (idx_t c = 0; c < found->ncols; c++)
			duckdb_bind_add_result_column(info, found->names[c], found->types[c]);
		duckdb_bind_set_bind_data(info, found, NULL);   /* owned by its query */
	} else {
		duckdb_bind_set_error(info, search_usage);
	}
	for (size_t i = 0; i < 5; i++)
		if (v[i])
			duckdb_destroy_value(&v[i]);
	duckdb_free(ds);
	duckdb_free(query);
	duckdb_free(mode);
	duckdb_free(filter);
}

static void search_init(duckdb_init_info info)
{
	duckdb_init_set_init_data(info, xcalloc(1, sizeof(size_t)), free);
	duckdb_init_set_max_threads(info, 1);
}

static void search_fn(duckdb_function_info info, duckdb_data_chunk out)
{
	const struct esearch *es = duckdb_function_get_bind_data(info);
	size_t *next = duckdb_function_get_init_data(info);
	if (*next >= es->nchunks) {
		duckdb_data_chunk_set_size(out, 0);
		return;
	}
	duckdb_data_chunk c = es->chunks[(*next)++];
	for (idx_t j = 0; j < es->ncols; j++)
		duckdb_vector_reference_vector(duckdb_data_chunk_get_vector(out, j),
					       duckdb_data_chunk_get_vector(c, j));
	duckdb_data_chunk_set_size(out, duckdb_data_chunk_get_size(c));
}

/* Note 10: register embed() and search(...) in the database. */
static int register_functions(struct engine *e, duckdb_connection con, struct lh_error *err)
{
	duckdb_logical_type vc = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
	duckdb_logical_type big = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
	duckdb_logical_type fl = duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
	duckdb_logical_type arr = duckdb_create_array_type(fl, ENGINE_EMBED_DIM);
	duckdb_scalar_function sf = duckdb_create_scalar_function();
	duckdb_table_function tf = duckdb_create_table_function();
	int rc = 0;

	duckdb_scalar_function_set_name(sf, "embed");
	duckdb_scalar_function_add_parameter(sf, vc);
	duckdb_scalar_function_set_return_type(sf, arr);
	duckdb_scalar_function_set_function(sf, embed_fn);
	duckdb_scalar_function_set_extra_info(sf, e, NULL);
	if (duckdb_register_scalar_function(con, sf) == DuckDBError)
		rc = lh_fail(err, 500, "internal", "cannot register embed()");

	duckdb_table_function_set_name(tf, "search");
	duckdb_table_function_add_parameter(tf, vc);
	duckdb_table_function_add_parameter(tf, vc);
	duckdb_table_function_add_named_parameter(tf, "k", big);
	duckdb_table_function_add_named_parameter(tf, "mode", vc);
	duckdb_table_function_add_named_parameter(tf, "filter", vc);
	duckdb_table_function_set_extra_info(tf, e, NULL);
	duckdb_table_function_set_bind(tf, search_bind);
	duckdb_table_function_set_init(tf, search_init);
	duckdb_table_function_set_function(tf, search_fn);
	if (rc == 0 && duckdb_register_table_function(con, tf) == DuckDBError)
		rc = lh_fail(err, 500, "internal", "cannot register search()");

	duckdb_destroy_scalar_function(&sf);
	duckdb_destroy_table_function(&tf);
	duckdb_destroy_logical_type(&arr);
	duckdb_destroy_logical_type(&fl);
	duckdb_destroy_logical_type(&big);
	duckdb_destroy_logical_type(&vc);
	return rc;
}

struct engine *engine_open(const struct engine_options *o, struct lh_error *err)
{
	struct engine *e = NULL;
	duckdb_connection con = NULL;
	char *dir = NULL, *tmp = NULL, *sql = NULL;
	int rc = -1;
	/* Note 1: the one DuckDB opener (common/duckdb_open.h): no extension is
	 * installed or auto-loaded, every refused setting is an error. */
	struct lh_duckdb_options dopt = {
		.memory_limit_bytes = o->memory_bytes, .threads = o->threads,
		.temp_directory = o->temp_dir, .max_temp_bytes = o->spill_bytes,
		.fail_code = "internal",
	};

	e = xcalloc(1, sizeof *e);
	e->session_mode = o->session;
	pthread_mutex_init(&e->check_mu, NULL);
	pthread_mutex_init(&e->embed_mu, NULL);
	pthread_mutex_init(&e->search_mu, NULL);
	e->glove_path = xstrdup(o->glove_path ? o->glove_path : "");
	if (lh_duckdb_open(&dopt, &e->db, err) != 0)
		goto out;
	if (duckdb_connect(e->db, &con) == DuckDBError) {
		lh_fail(err, 500, "internal", "cannot connect to DuckDB");
		goto out;
	}
	tmp = xasprintf("%s/", o->sandbox_dir);
	dir = sql_quote(tmp);
	sql = xasprintf("SET allowed_directories = [%s]", dir);
	/* Note 7: objects are immutable, so their footers can be cached (the
	 * parquet extension's option, known only once the database is open). */
	if (run_sql(con, "SET GLOBAL parquet_metadata_cache = true", err) ||
	    run_sql(con, sql, err) || run_sql(con, "SET enable_external_access = false", err) ||
	    run_sql(con, "SET lock_configuration = true", err) || register_functions(e, con, err))
		goto out;
	rc = 0;
out:
	if (con)
		duckdb_disconnect(&con);
	free(tmp);
	free(dir);
	free(sql);
	if (rc != 0 && e) {
		engine_close(e);
		e = NULL;
	}
	return e;
}

int engine_functions_each(struct engine *e, engine_function_fn fn, void *ctx, struct lh_error *err)
{
	duckdb_connection con = NULL;
	duckdb_result r;
	int have_r = 0, rc = -1;
	if (duckdb_connect(e->db, &con) == DuckDBError) {
		lh_fail(err, 500, "internal", "cannot connect to DuckDB");
		goto out;
	}
	have_r = 1;
	if (duckdb_query(con, "SELECT DISTINCT function_type, schema_name, function_name "
			 "FROM duckdb_functions() UNION ALL SELECT DISTINCT 'view', schema_name, "
			 "view_name FROM duckdb_views() WHERE internal ORDER BY ALL", &r) == DuckDBError) {
		lh_fail(err, 500, "internal", "cannot list DuckDB's functions: %s",
			duckdb_result_error(&r));
		goto out;
	}
	for (duckdb_data_chunk c; (c = duckdb_fetch_chunk(r)) != NULL; duckdb_destroy_data_chunk(&c)) {
		duckdb_string_t *col[3];
		for (idx_t j = 0; j < 3; j++)
			col[j] = (duckdb_string_t *)duckdb_vector_get_data(duckdb_data_chunk_get_vector(c, j));
		for (idx_t i = 0; i < duckdb_data_chunk_get_size(c); i++) {
			char *v[3];
			for (idx_t j = 0; j < 3; j++)
				v[j] = xasprintf("%.*s", (int)duckdb_string_t_length(col[j][i]),
						 duckdb_string_t_data(&col[j][i]));
			fn(ctx, v[0], v[1], v[2]);
			for (idx_t j = 0; j < 3; j++)
				free(v[j]);
		}
	}
	rc = 0;
out:
	if (have_r)
		duckdb_destroy_result(&r);
	if (con)
		duckdb_disconnect(&con);
	return rc;
}

void engine_close(struct engine *e)
{
	if (!e)
		return;
	if (e->check_st)
		duckdb_destroy_prepare(&e->check_st);
	if (e->check_con)
		duckdb_disconnect(&e->check_con);
	if (e->admin_con)
		duckdb_disconnect(&e->admin_con);
	session_reset(e);
	for (size_t i = 0; i < e->ndviews; i++)
		free(e->dviews[i]);
	free(e->dviews);
	if (e->db)
		duckdb_close(&e->db);
	embedder_close(e->embedder);
	free(e->glove_path);
	free(e->searching);
	pthread_mutex_destroy(&e->check_mu);
	pthread_mutex_destroy(&e->embed_mu);
	pthread_mutex_destroy(&e->search_mu);
	free(e);
}

struct engine_query *engine_query_create(struct engine *e, struct lh_error *err)
{
	struct engine_query *q = xcalloc(1, sizeof *q);
	if (e->session_mode && !e->session_busy &&
	    (e->session || duckdb_connect(e->db, &e->session) != DuckDBError)) {
		e->session_busy = 1;
		q->shared = 1;
		q->con = e->session;
	} else if (duckdb_connect(e->db, &q->con) == DuckDBError) {
		free(q);
		lh_fail(err, 500, "internal", "cannot open a query engine connection");
		return NULL;
	}
	q->max_rows = -1;
	q->e = e;
	q->max_row = LH_QUERY_MAX_ROW_BYTES;
	ob_init(&q->out, q->max_row + ENGINE_OUT_SLACK);
	ob_init(&q->scratch, q->max_row);
	return q;
}

void engine_query_set_max_row(struct engine_query *q, size_t bytes)
{
	q->max_row = bytes;
	q->out.b.max = bytes + ENGINE_OUT_SLACK;
	q->scratch.b.max = bytes;
}

static void clear_result(struct engine_query *q)
{
	if (q->chunk)
		duckdb_destroy_data_chunk(&q->chunk);
	q->chunk = NULL;
	if (q->have_res)
		duckdb_destroy_result(&q->res);
	q->have_res = 0;
}

static const char *manifest_sql_type(const char *t, char buf[SCHEMA_TYPE_NAME_MAX]);

/* Note 10: forget the query's search results (its statement is gone). */
static void searches_free(struct engine_query *q)
{
	struct engine *e = q->e;
	if (!q->nsearches)
		return;
	pthread_mutex_lock(&e->search_mu);
	for (size_t i = 0; i < e->nsearching; i++) {
		if (e->searching[i] == q) {
			e->searching[i] = e->searching[--e->nsearching];
			break;
		}
	}
	pthread_mutex_unlock(&e->search_mu);
	for (size_t i = 0; i < q->nsearches; i++) {
		struct esearch *es = &q->searches[i];
		for (size_t j = 0; j < es->nchunks; j++)
			duckdb_destroy_data_chunk(&es->chunks[j]);
		free(es->chunks);
		for (idx_t c = 0; c < es->ncols; c++) {
			duckdb_destroy_logical_type(&es->types[c]);
			free(es->names[c]);
		}
		free(es->types);
		free(es->names);
		duckdb_destroy_result(&es->res);
		free(es->key);
	}
	free(q->searches);
	q->searches = NULL;
	q->nsearches = 0;
}

/* "_score", or, when the dataset has a column of that name (DuckDB's names
 * ignore case), "_search_score" (then "_search_score_2", ...). xmalloc'd. */
static char *score_name(const json_t *schema)
{
	char *name = xstrdup("_score");
	for (unsigned n = 1;; n++) {
		size_t i;
		const json_t *c;
		int taken = 0;
		json_array_foreach(schema, i, c) {
			const char *col = json_string_value(json_object_get(c, "name"));
			taken |= col && !strcasecmp(col, name);
		}
		if (!taken)
			return name;
		free(name);
		name = n == 1 ? xstrdup("_search_score") : xasprintf("_search_score_%u", n);
	}
}

int engine_query_add_search(struct engine_query *q, const char *key, const json_t *schema,
			    const json_t *rows, const json_t *scores, struct lh_error *err)
{
	struct engine *e = q->e;
	struct obuf b;
	json_t *shape = json_object();
	size_t i, ncol = json_array_size(schema);
	const json_t *c;
	char *shape_text = NULL, *rows_text = NULL, *scores_text = NULL, *shape_q = NULL;
	duckdb_prepared_statement st = NULL;
	int rc = -1;
	/* Every value comes in as text and is CAST to its column's type (a
	 * struct, not column names in SQL, so any name is safe). */
	json_array_foreach(schema, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		json_object_set_new(shape, name ? name : "", json_string("VARCHAR"));
	}
	shape_text = json_dumps(shape, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rows_text = json_dumps(rows, JSON_COMPACT);
	scores_text = json_dumps(scores, JSON_COMPACT);
	if (!shape_text || !rows_text || !scores_text ||
	    json_array_size(rows) != json_array_size(scores)) {
		lh_fail(err, 500, "internal", "queryd sent a malformed search result");
		goto out;
	}
	shape_q = xasprintf("[%s]", shape_text);
	free(shape_text);
	shape_text = sql_quote(shape_q);
	/* the rows and scores are parameters: DuckDB's parser is slow on a
	 * string literal of megabytes */
	ob_init(&b, 2 * strlen(shape_text) + 160 * ncol + 4096);
	ob_puts(&b, "SELECT ");
	json_array_foreach(schema, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		char *lit = sql_quote(name ? name : ""), *id = ident_quote(name ? name : "");
		ob_printf(&b, "CAST(struct_extract(r, %s) AS %s) AS ", lit,
			  manifest_sql_type(type ? type : "utf8", tbuf));
		ob_puts(&b, id);
		ob_puts(&b, ", ");
		free(lit);
		free(id);
	}
	char *score = score_name(schema), *score_id = ident_quote(score);
	ob_printf(&b, "s AS %s FROM (SELECT unnest(from_json($1::VARCHAR, ", score_id);
	free(score);
	free(score_id);
	ob_puts(&b, shape_text);
	ob_printf(&b, ")) AS r, unnest(from_json($2::VARCHAR, '[\"DOUBLE\"]')) AS s, "
		  "unnest(range(%zu)) AS i) ORDER BY i", json_array_size(rows));
	if (b.overflow) {
		ob_free(&b);
		lh_fail(err, 500, "internal", "a search result is too large to load");
		goto out;
	}
	q->searches = xrealloc(q->searches, (q->nsearches + 1) * sizeof *q->searches);
	struct esearch *es = &q->searches[q->nsearches];
	memset(es, 0, sizeof *es);
	if (duckdb_prepare(q->con, ob_str(&b), &st) == DuckDBError ||
	    duckdb_bind_varchar_length(st, 1, rows_text, strlen(rows_text)) == DuckDBError ||
	    duckdb_bind_varchar_length(st, 2, scores_text, strlen(scores_text)) == DuckDBError) {
		lh_fail(err, 500, "internal", "cannot load a search result: %.300s",
			duckdb_prepare_error(st));
		ob_free(&b);
		goto out;
	}
	ob_free(&b);
	if (duckdb_execute_prepared(st, &es->res) == DuckDBError) {
		lh_fail(err, 500, "internal", "cannot load a search result: %.300s",
			duckdb_result_error(&es->res));
		duckdb_destroy_result(&es->res);
		goto out;
	}
	es->key = xstrdup(key);
	es->ncols = duckdb_column_count(&es->res);
	es->names = xcalloc(es->ncols + 1, sizeof *es->names);
	es->types = xcalloc(es->ncols + 1, sizeof *es->types);
	for (idx_t j = 0; j < es->ncols; j++) {
		es->names[j] = xstrdup(duckdb_column_name(&es->res, j));
		es->types[j] = duckdb_column_logical_type(&es->res, j);
	}
	for (duckdb_data_chunk ch; (ch = duckdb_fetch_chunk(es->res)) != NULL;) {
		es->chunks = xrealloc(es->chunks, (es->nchunks + 1) * sizeof *es->chunks);
		es->chunks[es->nchunks++] = ch;
	}
	if (q->nsearches++ == 0) {
		duckdb_client_context ctx = NULL;
		duckdb_connection_get_client_context(q->con, &ctx);
		q->con_id = duckdb_client_context_get_connection_id(ctx);
		duckdb_destroy_client_context(&ctx);
		pthread_mutex_lock(&e->search_mu);
		e->searching = xrealloc(e->searching, (e->nsearching + 1) * sizeof *e->searching);
		e->searching[e->nsearching++] = q;
		pthread_mutex_unlock(&e->search_mu);
	}
	rc = 0;
out:
	if (rc)
		q->failed = 1;
	json_decref(shape);
	free(shape_text);
	free(shape_q);
	free(rows_text);
	free(scores_text);
	if (st)
		duckdb_destroy_prepare(&st);
	return rc;
}

void engine_query_destroy(struct engine_query *q)
{
	if (!q)
		return;
	clear_result(q);
	if (q->stmt && !q->stmt_cached)
		duckdb_destroy_prepare(&q->stmt);
	searches_free(q);
	for (idx_t i = 0; i < q->ncols; i++) {
		if (q->types)
			duckdb_destroy_logical_type(&q->types[i]);
		free(q->names ? q->names[i] : NULL);
	}
	free(q->types);
	free(q->names);
	ob_free(&q->out);
	ob_free(&q->scratch);
	if (q->shared) {
		struct engine *e = q->e;
		/* A past version's TEMP view goes with its query, so the next
		 * query's check sees exactly its own views. */
		for (size_t i = 0; i < q->nviews && !q->failed; i++) {
			struct lh_error derr = { 0 };
			char *v = ident_quote(q->views[i]);
			char *sql = xasprintf("DROP VIEW IF EXISTS temp.%s", v);
			if (run_sql(e->session, sql, &derr))
				q->failed = 1;
			lh_error_clear(&derr);
			free(sql);
			free(v);
		}
		if (q->failed || atomic_load(&q->timed_out))
			session_reset(e);
		e->session_busy = 0;
	} else if (q->con) {
		duckdb_disconnect(&q->con);
	}
	for (size_t i = 0; i < q->nviews; i++)
		free(q->views[i]);
	free(q->views);
	free(q);
}

void engine_query_interrupt(struct engine_query *q)
{
	atomic_store(&q->timed_out, 1);
	duckdb_interrupt(q->con);
}

/* DuckDB's type for a manifest's type name (schema.h); VARCHAR if unknown. */
static const char *manifest_sql_type(const char *t, char buf[SCHEMA_TYPE_NAME_MAX])
{
	struct schema_type ty;
	if (schema_type_parse(t, strlen(t), &ty) != 0)
		return "VARCHAR";
	return schema_type_sql(&ty, buf);
}

/* Note 9: a view's SQL past its cap (more objects than a manifest holds). */
static int view_too_long(const char *view, struct lh_error *err)
{
	return lh_fail(err, 500, "internal", "the view of %s is longer than %u bytes of SQL", view,
		       (unsigned)LH_QUERY_VIEW_SQL_BYTES);
}

/* Note 11: 1 if a column stored as `from` reads as `to` (catalogd's
 * catalog_type_widens: the same type, int64 -> float64, any -> utf8,
 * date32 -> timestamp[us], decimal(p,s) -> decimal(q >= p, s)). */
static int type_widens(const char *from, const char *to)
{
	struct schema_type f, t;
	if (schema_type_parse(from, strlen(from), &f) || schema_type_parse(to, strlen(to), &t))
		return 0;
	if (schema_type_casts_to(&f, &t))
		return 1;
	return f.id == SCHEMA_DECIMAL && t.id == SCHEMA_DECIMAL && f.scale == t.scale &&
	       t.precision >= f.precision;
}

/* Note 11: a timestamp widened to utf8 reads as the text queryd answers
 * for it (note 5's JSON rendering: "2024-01-01T10:00:00.500000Z", the
 * fraction only when not zero), whatever the server's time zone: DuckDB's
 * CAST of a TIMESTAMPTZ to VARCHAR uses the TimeZone setting, and of a
 * TIMESTAMP writes a space and a short fraction. The zoned value is taken
 * as its UTC wall time by epoch_us (no zone involved); infinities keep
 * their word. A date's CAST is already the rendering. 1 if it wrote the
 * column (select item i, quoted name n). */
static int utf8_text(struct obuf *b, size_t i, const char *n, const char *from, const char *to)
{
	struct schema_type f, t;
	if (schema_type_parse(from, strlen(from), &f) || schema_type_parse(to, strlen(to), &t) ||
	    t.id != SCHEMA_UTF8 || (f.id != SCHEMA_TIMESTAMP && f.id != SCHEMA_TIMESTAMPTZ))
		return 0;
	int tz = f.id == SCHEMA_TIMESTAMPTZ;
	const char *pre = tz ? "make_timestamp(epoch_us(" : "", *post = tz ? "))" : "";
	ob_printf(b, "%sCASE WHEN isinf(%s) THEN CAST(%s AS VARCHAR) ELSE ", i ? ", " : "", n, n);
	ob_printf(b, "strftime(%s%s%s, '%%Y-%%m-%%dT%%H:%%M:%%S') || ", pre, n, post);
	ob_printf(b, "CASE strftime(%s%s%s, '%%f') WHEN '000000' THEN '' ", pre, n, post);
	ob_printf(b, "ELSE '.' || strftime(%s%s%s, '%%f') END%s END AS %s", pre, n, post,
		  tz ? " || 'Z'" : "", n);
	return 1;
}

/* Note 11: the select list reading objects written with `old` as the
 * version's `schema`: a column of the same name whose type is the same is
 * read as it is, one whose type widens is CAST, anything else is NULL. */
static void run_projection(struct obuf *b, const json_t *schema, const json_t *old)
{
	size_t i, ncol = json_array_size(schema);
	for (i = 0; i < ncol; i++) {
		const json_t *c = json_array_get(schema, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		const char *otype = NULL;
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		size_t k;
		const json_t *oc;
		if (!name || !type)
			continue;
		json_array_foreach(old, k, oc) {
			const char *on = json_string_value(json_object_get(oc, "name"));
			if (on && !strcmp(on, name)) {
				otype = json_string_value(json_object_get(oc, "type"));
				break;
			}
		}
		char *n = ident_quote(name);
		if (otype && !strcmp(otype, type))
			ob_printf(b, "%s%s", i ? ", " : "", n);
		else if (otype && type_widens(otype, type) && utf8_text(b, i, n, otype, type))
			;
		else if (otype && type_widens(otype, type))
			ob_printf(b, "%sCAST(%s AS %s) AS %s", i ? ", " : "", n,
				  manifest_sql_type(type, tbuf), n);
		else
			ob_printf(b, "%sCAST(NULL AS %s) AS %s", i ? ", " : "",
				  manifest_sql_type(type, tbuf), n);
		free(n);
	}
}

/* Note 11: a version whose objects were written with several schemas:
 * one SELECT per run of objects with the same schema, projected to the
 * version's, joined by UNION ALL; `positions` adds search's two columns
 * with the object's index in the whole version. */
static void runs_body(struct obuf *b, const char *const *paths, size_t npaths,
		      const json_t *schema, const json_t *runs, int positions)
{
	size_t r, from = 0;
	const json_t *run;
	json_array_foreach(runs, r, run) {
		size_t count = (size_t)json_integer_value(json_object_get(run, "count"));
		if (count == 0 || from + count > npaths)
			break;
		ob_puts(b, r ? " UNION ALL SELECT " : "SELECT ");
		run_projection(b, schema, json_object_get(run, "schema"));
		if (positions)
			ob_printf(b, ", file_index + %zu AS \"__lh_object\", file_row_number AS "
				  "\"__lh_row\"", from);
		ob_puts(b, " FROM read_parquet([");
		for (size_t i = 0; i < count; i++) {
			char *p = sql_quote(paths[from + i]);
			ob_printf(b, "%s%s", i ? ", " : "", p);
			free(p);
		}
		ob_puts(b, "])");
		from += count;
	}
}

/* The body of a view over a dataset: read_parquet over `paths`; with no
 * paths a typed relation with no rows (an empty dataset), or with `stub`
 * one that fails if it is ever run (note 7: a view known by its schema only,
 * for discovery; a query that reads the dataset gets the real view). With
 * `runs` (note 11) objects written with older schemas read with the
 * version's. */
static void view_body(struct obuf *b, const char *view, const char *const *paths,
		      size_t npaths, const json_t *schema, const json_t *runs, int stub)
{
	if (npaths > 0 && json_array_size(runs) > 0) {
		runs_body(b, paths, npaths, schema, runs, 0);
		return;
	}
	if (npaths > 0) {
		ob_puts(b, "SELECT * FROM read_parquet([");
		for (size_t i = 0; i < npaths; i++) {
			char *p = sql_quote(paths[i]);
			ob_printf(b, "%s%s", i ? ", " : "", p);
			free(p);
		}
		ob_puts(b, "])");
		return;
	}
	ob_puts(b, "SELECT ");
	size_t i, ncol = json_array_size(schema);
	for (i = 0; i < ncol; i++) {
		const json_t *c = json_array_get(schema, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "type"));
		char *n = ident_quote(name ? name : "column");
		char tbuf[SCHEMA_TYPE_NAME_MAX];
		ob_printf(b, "%sCAST(NULL AS %s) AS %s", i ? ", " : "",
			  manifest_sql_type(type ? type : "utf8", tbuf), n);
		free(n);
	}
	if (ncol == 0)
		ob_puts(b, "NULL AS \"empty\"");
	if (stub) {
		char *msg = xasprintf("internal: dataset %s was not loaded for this query", view);
		char *q = sql_quote(msg);
		ob_printf(b, " FROM range(1) WHERE error(%s) IS NULL", q);
		free(q);
		free(msg);
	} else {
		ob_puts(b, " WHERE false");
	}
}

/* ADR 0211: personal columns read as NULL of their own type for a caller
 * whose role does not see them. The schema's columns marked "masked": true
 * (queryd marks them, per request) are replaced in a SELECT around the
 * view's body; CASE WHEN false THEN col END keeps col's type and is never
 * true, so no value of it is read. Returns 1 when it opened the wrap (the
 * caller closes it with mask_close), else 0. */
static int mask_open(struct obuf *b, const json_t *schema)
{
	size_t i, n = 0;
	const json_t *c;
	json_array_foreach(schema, i, c) {
		if (!json_is_true(json_object_get(c, "masked")))
			continue;
		const char *name = json_string_value(json_object_get(c, "name"));
		char *id = ident_quote(name ? name : "");
		ob_printf(b, "%sCASE WHEN false THEN %s END AS %s", n++ ? ", " : "SELECT * REPLACE (",
			  id, id);
		free(id);
	}
	if (n)
		ob_puts(b, ") FROM (");
	return n > 0;
}

static void mask_close(struct obuf *b, int opened)
{
	if (opened)
		ob_puts(b, ")");
}

int engine_query_add_view(struct engine_query *q, const char *view, const char *const *paths,
			  size_t npaths, const json_t *schema, const json_t *runs,
			  struct lh_error *err)
{
	struct obuf b;
	char *v = ident_quote(view);
	int rc, masked;
	ob_init(&b, LH_QUERY_VIEW_SQL_BYTES);
	ob_printf(&b, "CREATE OR REPLACE TEMP VIEW %s AS ", v);
	masked = mask_open(&b, schema);
	view_body(&b, view, paths, npaths, schema, runs, 0);
	mask_close(&b, masked);
	rc = b.overflow ? view_too_long(view, err) : run_sql(q->con, ob_str(&b), err);
	if (rc == 0) {
		q->views = xrealloc(q->views, (q->nviews + 1) * sizeof *q->views);
		q->views[q->nviews++] = xstrdup(view);
	}
	ob_free(&b);
	free(v);
	return rc;
}

int engine_query_add_positions_view(struct engine_query *q, const char *view,
				    const char *const *paths, size_t npaths, const json_t *schema,
				    const json_t *runs, struct lh_error *err)
{
	struct obuf b;
	char *v = ident_quote(view);
	int rc, masked;
	if (npaths == 0) {
		free(v);
		return lh_fail(err, 500, "internal", "a positions view needs objects");
	}
	ob_init(&b, LH_QUERY_VIEW_SQL_BYTES);
	ob_printf(&b, "CREATE OR REPLACE TEMP VIEW %s AS ", v);
	masked = mask_open(&b, schema);
	if (json_array_size(runs) > 0) {                                     /* note 11 */
		runs_body(&b, paths, npaths, schema, runs, 1);
	} else {
		ob_puts(&b, "SELECT *, file_index AS \"__lh_object\", "
			    "file_row_number AS \"__lh_row\" FROM read_parquet([");
		for (size_t i = 0; i < npaths; i++) {
			char *p = sql_quote(paths[i]);
			ob_printf(&b, "%s%s", i ? ", " : "", p);
			free(p);
		}
		ob_puts(&b, "])");
	}
	mask_close(&b, masked);
	rc = b.overflow ? view_too_long(view, err) : run_sql(q->con, ob_str(&b), err);
	if (rc == 0) {
		q->views = xrealloc(q->views, (q->nviews + 1) * sizeof *q->views);
		q->views[q->nviews++] = xstrdup(view);
	}
	ob_free(&b);
	free(v);
	return rc;
}

static int admin_connect(struct engine *e, struct lh_error *err)
{
	if (!e->admin_con && duckdb_connect(e->db, &e->admin_con) == DuckDBError) {
		e->admin_con = NULL;
		return lh_fail(err, 500, "internal", "cannot connect to DuckDB");
	}
	return 0;
}

int engine_dataset_view(struct engine *e, const char *view, const char *const *paths,
			size_t npaths, const json_t *schema, const json_t *runs, int stub,
			struct lh_error *err)
{
	struct obuf b;
	char *v = ident_quote(view);
	int rc = admin_connect(e, err);
	ob_init(&b, LH_QUERY_VIEW_SQL_BYTES);
	if (rc == 0) {
		ob_printf(&b, "CREATE OR REPLACE VIEW main.%s AS ", v);
		int masked = mask_open(&b, schema);
		view_body(&b, view, paths, npaths, schema, runs, stub);
		mask_close(&b, masked);
		rc = b.overflow ? view_too_long(view, err) : run_sql(e->admin_con, ob_str(&b), err);
	}
	if (rc == 0) {
		pthread_mutex_lock(&e->check_mu);
		size_t i;
		for (i = 0; i < e->ndviews && strcmp(e->dviews[i], view); i++)
			;
		if (i == e->ndviews) {
			e->dviews = xrealloc(e->dviews, (e->ndviews + 1) * sizeof *e->dviews);
			e->dviews[e->ndviews++] = xstrdup(view);
			e->views_gen++;
		}
		pthread_mutex_unlock(&e->check_mu);
	}
	ob_free(&b);
	free(v);
	return rc;
}

int engine_parse(struct engine *e, const char *sql, struct lh_error *err)
{
	duckdb_extracted_statements ex = NULL;
	int rc = admin_connect(e, err);
	if (rc)
		return rc;
	if (duckdb_extract_statements(e->admin_con, sql, &ex) == 0) {
		const char *msg = duckdb_extract_statements_error(ex);
		rc = lh_fail(err, 400, "sql_error", "%s", msg ? msg : "DuckDB cannot parse this query");
	}
	duckdb_destroy_extracted(&ex);
	return rc;
}

int engine_dataset_view_drop(struct engine *e, const char *view, struct lh_error *err)
{
	char *v = ident_quote(view);
	char *sql = xasprintf("DROP VIEW IF EXISTS main.%s", v);
	int rc = admin_connect(e, err);
	if (rc == 0)
		rc = run_sql(e->admin_con, sql, err);
	if (rc == 0) {
		pthread_mutex_lock(&e->check_mu);
		for (size_t i = 0; i < e->ndviews; i++) {
			if (!strcmp(e->dviews[i], view)) {
				free(e->dviews[i]);
				e->dviews[i] = e->dviews[--e->ndviews];
				e->views_gen++;
				break;
			}
		}
		pthread_mutex_unlock(&e->check_mu);
	}
	free(sql);
	free(v);
	return rc;
}

static int is_permission(const char *msg)
{
	return msg && !strncmp(msg, "Permission Error", 16);
}

/* Turn a DuckDB failure message into the right answer. */
static int engine_fail(struct engine_query *q, const char *msg, struct lh_error *err)
{
	q->failed = 1;
	if (atomic_load(&q->timed_out))
		return lh_fail(err, 504, "query_timeout",
			       "the query ran past its time limit and was interrupted");
	if (is_permission(msg))
		return lh_fail(err, 400, "forbidden_statement",
			       "file access outside the lakehouse is not allowed (%s)", msg);
	/* note 10: a search per row, in our words */
	if (msg && strstr(msg, "Table function \"search\" does not support lateral join"))
		return lh_fail(err, 400, "sql_error", "%s", search_usage);
	return lh_fail(err, 400, "sql_error", "%s", msg ? msg : "query failed");
}

/* Note 2: DuckDB's parse of `sql` (or of the query after EXPLAIN [ANALYZE],
 * *explain = 1) as JSON, checked by sql_allow_check. 0 or -1 with err. */
static int allow_check(struct engine_query *q, const char *sql, int *explain,
		       struct lh_error *err)
{
	struct engine *e = q->e;
	size_t n = strlen(sql), off = sql_allow_explain_body(sql, n);
	duckdb_result r;
	duckdb_data_chunk chunk = NULL;
	int have_r = 0, rc = -1;
	*explain = off > 0;
	pthread_mutex_lock(&e->check_mu);
	if (!e->check_st && (duckdb_connect(e->db, &e->check_con) == DuckDBError ||
			     duckdb_prepare(e->check_con, "SELECT json_serialize_sql($1::VARCHAR)",
					    &e->check_st) == DuckDBError)) {
		lh_fail(err, 500, "internal", "the query engine cannot check statements: %s",
			e->check_st ? duckdb_prepare_error(e->check_st) : "no connection");
		if (e->check_st)
			duckdb_destroy_prepare(&e->check_st);
		goto out;
	}
	if (duckdb_bind_varchar_length(e->check_st, 1, sql + off, n - off) == DuckDBError) {
		lh_fail(err, 400, "forbidden_statement",
			"queryd cannot check this statement, so it is not allowed");
		goto out;
	}
	have_r = 1;
	if (duckdb_execute_prepared(e->check_st, &r) == DuckDBError) {
		lh_fail(err, 400, "forbidden_statement",
			"queryd cannot check this statement, so it is not allowed (DuckDB: %.200s)",
			duckdb_result_error(&r));
		goto out;
	}
	chunk = duckdb_fetch_chunk(r);
	if (!chunk || duckdb_data_chunk_get_size(chunk) != 1) {
		lh_fail(err, 400, "forbidden_statement",
			"queryd cannot check this statement, so it is not allowed");
		goto out;
	}
	duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, 0);
	uint64_t *valid = duckdb_vector_get_validity(vec);
	duckdb_string_t *str = (duckdb_string_t *)duckdb_vector_get_data(vec);
	if (valid && !duckdb_validity_row_is_valid(valid, 0)) {
		lh_fail(err, 400, "forbidden_statement",
			"queryd cannot check this statement, so it is not allowed");
		goto out;
	}
	/* ours: this query's temporary views and the datasets' views */
	const char **own = xcalloc(q->nviews + e->ndviews + 1, sizeof *own);
	for (size_t i = 0; i < q->nviews; i++)
		own[i] = q->views[i];
	for (size_t i = 0; i < e->ndviews; i++)
		own[q->nviews + i] = e->dviews[i];
	rc = sql_allow_check(duckdb_string_t_data(str), duckdb_string_t_length(*str), own,
			     q->nviews + e->ndviews, err);
	free(own);
out:
	if (chunk)
		duckdb_destroy_data_chunk(&chunk);
	if (have_r)
		duckdb_destroy_result(&r);
	if (e->check_st)
		duckdb_clear_bindings(e->check_st);
	pthread_mutex_unlock(&e->check_mu);
	return rc;
}

/* Note 8: the session's statement prepared for exactly this text, with the
 * same datasets' views, or NULL. */
static struct cached_stmt *stmt_lookup(struct engine *e, const char *sql)
{
	for (size_t i = 0; i < ENGINE_STMT_CACHE; i++) {
		struct cached_stmt *c = &e->stmts[i];
		if (c->st && c->views_gen == e->views_gen && !strcmp(c->sql, sql)) {
			c->used = ++e->tick;
			return c;
		}
	}
	return NULL;
}

static void stmt_keep(struct engine *e, const char *sql, duckdb_prepared_statement st)
{
	struct cached_stmt *victim = &e->stmts[0];
	for (size_t i = 0; i < ENGINE_STMT_CACHE; i++) {
		if (!e->stmts[i].st) {
			victim = &e->stmts[i];
			break;
		}
		if (e->stmts[i].used < victim->used)
			victim = &e->stmts[i];
	}
	if (victim->st)
		duckdb_destroy_prepare(&victim->st);
	free(victim->sql);
	victim->sql = xstrdup(sql);
	victim->st = st;
	victim->views_gen = e->views_gen;
	victim->used = ++e->tick;
}

int engine_query_prepare(struct engine_query *q, const char *sql, struct lh_error *err)
{
	duckdb_extracted_statements ex = NULL;
	int rc = -1, explain = 0;
	if (q->shared && q->nviews == 0 && q->nsearches == 0) {
		struct cached_stmt *c = stmt_lookup(q->e, sql);
		if (c) {
			q->stmt = c->st;
			q->stmt_cached = 1;
			return 0;
		}
	}
	idx_t n = duckdb_extract_statements(q->con, sql, &ex);
	if (n == 0) {
		engine_fail(q, duckdb_extract_statements_error(ex), err);
		goto out;
	}
	if (n != 1) {
		lh_fail(err, 400, "forbidden_statement", "only one statement per request is allowed");
		goto out;
	}
	if (allow_check(q, sql, &explain, err))
		goto out;
	if (duckdb_prepare_extracted_statement(q->con, ex, 0, &q->stmt) == DuckDBError) {
		engine_fail(q, duckdb_prepare_error(q->stmt), err);
		goto out;
	}
	duckdb_statement_type t = duckdb_prepared_statement_type(q->stmt);
	if (t != (explain ? DUCKDB_STATEMENT_TYPE_EXPLAIN : DUCKDB_STATEMENT_TYPE_SELECT)) {
		lh_fail(err, 400, "forbidden_statement",
			"only read-only queries are allowed (DuckDB classified this statement as type %d)",
			(int)t);
		goto out;
	}
	if (duckdb_nparams(q->stmt) != 0) {
		lh_fail(err, 400, "sql_error", "query parameters ($1, ?) are not supported");
		goto out;
	}
	if (q->shared && q->nviews == 0 && q->nsearches == 0) {
		stmt_keep(q->e, sql, q->stmt);
		q->stmt_cached = 1;
	}
	rc = 0;
out:
	if (rc)
		q->failed = 1;
	duckdb_destroy_extracted(&ex);
	return rc;
}

/* ---- types ---------------------------------------------------------------- */

static int type_supported(duckdb_logical_type lt)
{
	duckdb_type t = duckdb_get_type_id(lt);
	int ok = 1;
	duckdb_logical_type c = NULL;
	switch (t) {
	case DUCKDB_TYPE_UNION: case DUCKDB_TYPE_BIT: case DUCKDB_TYPE_BIGNUM:
	case DUCKDB_TYPE_TIME_TZ: case DUCKDB_TYPE_TIME_NS: case DUCKDB_TYPE_ANY:
	case DUCKDB_TYPE_INVALID:
		return 0;
	case DUCKDB_TYPE_LIST:
		c = duckdb_list_type_child_type(lt);
		ok = type_supported(c);
		break;
	case DUCKDB_TYPE_ARRAY:
		c = duckdb_array_type_child_type(lt);
		ok = type_supported(c);
		break;
	case DUCKDB_TYPE_MAP: {
		duckdb_logical_type k = duckdb_map_type_key_type(lt);
		c = duckdb_map_type_value_type(lt);
		ok = type_supported(k) && type_supported(c);
		duckdb_destroy_logical_type(&k);
		break;
	}
	case DUCKDB_TYPE_STRUCT:
		for (idx_t i = 0; ok && i < duckdb_struct_type_child_count(lt); i++) {
			duckdb_logical_type s = duckdb_struct_type_child_type(lt, i);
			ok = type_supported(s);
			duckdb_destroy_logical_type(&s);
		}
		break;
	default:
		break;
	}
	if (c)
		duckdb_destroy_logical_type(&c);
	return ok;
}

static void type_name(struct obuf *b, duckdb_logical_type lt)
{
	duckdb_type t = duckdb_get_type_id(lt);
	duckdb_logical_type c = NULL;
	switch (t) {
	case DUCKDB_TYPE_BOOLEAN: ob_puts(b, "BOOLEAN"); break;
	case DUCKDB_TYPE_TINYINT: ob_puts(b, "TINYINT"); break;
	case DUCKDB_TYPE_SMALLINT: ob_puts(b, "SMALLINT"); break;
	case DUCKDB_TYPE_INTEGER: ob_puts(b, "INTEGER"); break;
	case DUCKDB_TYPE_BIGINT: ob_puts(b, "BIGINT"); break;
	case DUCKDB_TYPE_UTINYINT: ob_puts(b, "UTINYINT"); break;
	case DUCKDB_TYPE_USMALLINT: ob_puts(b, "USMALLINT"); break;
	case DUCKDB_TYPE_UINTEGER: ob_puts(b, "UINTEGER"); break;
	case DUCKDB_TYPE_UBIGINT: ob_puts(b, "UBIGINT"); break;
	case DUCKDB_TYPE_HUGEINT: ob_puts(b, "HUGEINT"); break;
	case DUCKDB_TYPE_UHUGEINT: ob_puts(b, "UHUGEINT"); break;
	case DUCKDB_TYPE_FLOAT: ob_puts(b, "FLOAT"); break;
	case DUCKDB_TYPE_DOUBLE: ob_puts(b, "DOUBLE"); break;
	case DUCKDB_TYPE_DECIMAL:
		ob_printf(b, "DECIMAL(%u,%u)", duckdb_decimal_width(lt), duckdb_decimal_scale(lt));
		break;
	case DUCKDB_TYPE_VARCHAR: ob_puts(b, "VARCHAR"); break;
	case DUCKDB_TYPE_BLOB: ob_puts(b, "BLOB"); break;
	case DUCKDB_TYPE_DATE: ob_puts(b, "DATE"); break;
	case DUCKDB_TYPE_TIME: ob_puts(b, "TIME"); break;
	case DUCKDB_TYPE_TIMESTAMP: ob_puts(b, "TIMESTAMP"); break;
	case DUCKDB_TYPE_TIMESTAMP_TZ: ob_puts(b, "TIMESTAMP WITH TIME ZONE"); break;
	case DUCKDB_TYPE_TIMESTAMP_S: ob_puts(b, "TIMESTAMP_S"); break;
	case DUCKDB_TYPE_TIMESTAMP_MS: ob_puts(b, "TIMESTAMP_MS"); break;
	case DUCKDB_TYPE_TIMESTAMP_NS: ob_puts(b, "TIMESTAMP_NS"); break;
	case DUCKDB_TYPE_INTERVAL: ob_puts(b, "INTERVAL"); break;
	case DUCKDB_TYPE_UUID: ob_puts(b, "UUID"); break;
	case DUCKDB_TYPE_ENUM: ob_puts(b, "ENUM"); break;
	case DUCKDB_TYPE_SQLNULL: ob_puts(b, "NULL"); break;
	case DUCKDB_TYPE_LIST:
		c = duckdb_list_type_child_type(lt);
		type_name(b, c);
		ob_puts(b, "[]");
		break;
	case DUCKDB_TYPE_ARRAY:
		c = duckdb_array_type_child_type(lt);
		type_name(b, c);
		ob_printf(b, "[%llu]", (unsigned long long)duckdb_array_type_array_size(lt));
		break;
	case DUCKDB_TYPE_MAP: {
		duckdb_logical_type k = duckdb_map_type_key_type(lt);
		c = duckdb_map_type_value_type(lt);
		ob_puts(b, "MAP(");
		type_name(b, k);
		ob_puts(b, ", ");
		type_name(b, c);
		ob_puts(b, ")");
		duckdb_destroy_logical_type(&k);
		break;
	}
	case DUCKDB_TYPE_STRUCT:
		ob_puts(b, "STRUCT(");
		for (idx_t i = 0; i < duckdb_struct_type_child_count(lt); i++) {
			char *n = duckdb_struct_type_child_name(lt, i);
			duckdb_logical_type s = duckdb_struct_type_child_type(lt, i);
			if (i)
				ob_puts(b, ", ");
			ob_printf(b, "%s ", n);
			type_name(b, s);
			duckdb_free(n);
			duckdb_destroy_logical_type(&s);
		}
		ob_puts(b, ")");
		break;
	default:
		ob_printf(b, "TYPE%d", (int)t);
	}
	if (c)
		duckdb_destroy_logical_type(&c);
}

/* ---- values --------------------------------------------------------------- */

static void put_u128(struct obuf *b, uint64_t hi, uint64_t lo, int neg)
{
	char d[48];
	size_t n = 0;
	if (hi == 0) {
		n = (size_t)snprintf(d, sizeof d, "%" PRIu64, lo);
		if (neg)
			ob_putc(b, '-');
		ob_put(b, d, n);
		return;
	}
	unsigned __int128 v = ((unsigned __int128)hi << 64) | lo;
	while (v) {
		d[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	}
	if (neg)
		ob_putc(b, '-');
	while (n)
		ob_putc(b, d[--n]);
}

static void put_hugeint(struct obuf *b, duckdb_hugeint h)
{
	__int128 v = (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
	put_u128(b, (uint64_t)(u >> 64), (uint64_t)u, v < 0);
}

/* Decimal: the integer `v` scaled down by `scale` digits, exactly. */
static void put_decimal(struct obuf *b, __int128 v, unsigned scale)
{
	struct obuf t;
	ob_init(&t, 64);   /* at most 39 digits */
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
	put_u128(&t, (uint64_t)(u >> 64), (uint64_t)u, 0);
	if (v < 0)
		ob_putc(b, '-');
	const char *d = ob_str(&t);
	size_t n = ob_len(&t);
	if (scale == 0) {
		ob_put(b, d, n);
	} else if (n > scale) {
		ob_put(b, d, n - scale);
		ob_putc(b, '.');
		ob_put(b, d + n - scale, scale);
	} else {
		ob_puts(b, "0.");
		for (size_t i = n; i < scale; i++)
			ob_putc(b, '0');
		ob_put(b, d, n);
	}
	ob_free(&t);
}

static void put_double(struct obuf *b, double d, int json)
{
	if (isnan(d) || isinf(d)) {
		const char *s = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
		if (json)
			ob_json_string(b, s, strlen(s));
		else
			ob_puts(b, s);
		return;
	}
	char tmp[40];
	snprintf(tmp, sizeof tmp, "%.15g", d);
	if (strtod(tmp, NULL) != d)
		snprintf(tmp, sizeof tmp, "%.17g", d);
	ob_puts(b, tmp);
	/* keep it a float in JSON readers that care: 1 -> 1.0 */
	if (!strpbrk(tmp, ".eE"))
		ob_puts(b, ".0");
}

static void put_date(struct obuf *b, int32_t days)
{
	duckdb_date d = { days };
	if (!duckdb_is_finite_date(d)) {
		ob_puts(b, days > 0 ? "infinity" : "-infinity");
		return;
	}
	duckdb_date_struct s = duckdb_from_date(d);
	if (s.year < 0)
		ob_printf(b, "%05d-%02d-%02d", s.year, s.month, s.day);
	else
		ob_printf(b, "%04d-%02d-%02d", s.year, s.month, s.day);
}

static void put_time_us(struct obuf *b, int64_t us)
{
	int64_t sec = us / 1000000, frac = us % 1000000;
	ob_printf(b, "%02d:%02d:%02d", (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60));
	if (frac)
		ob_printf(b, ".%06d", (int)frac);
}

/* Timestamp from units since the epoch; `per_sec` units per second. */
static void put_timestamp(struct obuf *b, int64_t v, int64_t per_sec, int tz)
{
	if (v == INT64_MAX || v == -INT64_MAX) {
		ob_puts(b, v > 0 ? "infinity" : "-infinity");
		return;
	}
	int64_t sec = v / per_sec, frac = v % per_sec;
	if (frac < 0) {
		frac += per_sec;
		sec--;
	}
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	put_date(b, (int32_t)days);
	ob_printf(b, "T%02d:%02d:%02d", (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
	if (frac) {
		if (per_sec == 1000)
			ob_printf(b, ".%03d", (int)frac);
		else if (per_sec == 1000000)
			ob_printf(b, ".%06d", (int)frac);
		else
			ob_printf(b, ".%09d", (int)frac);
	}
	if (tz)
		ob_putc(b, 'Z');
}

static void put_interval(struct obuf *b, duckdb_interval iv)
{
	ob_putc(b, 'P');
	if (iv.months)
		ob_printf(b, "%dM", iv.months);
	if (iv.days || (!iv.months && !iv.micros))
		ob_printf(b, "%dD", iv.days);
	if (iv.micros) {
		int64_t us = iv.micros, a = us < 0 ? -us : us;
		ob_printf(b, "T%s%" PRId64, us < 0 ? "-" : "", a / 1000000);
		if (a % 1000000)
			ob_printf(b, ".%06d", (int)(a % 1000000));
		ob_putc(b, 'S');
	}
}

static void put_uuid(struct obuf *b, duckdb_hugeint h)
{
	uint64_t hi = (uint64_t)h.upper ^ (1ull << 63), lo = h.lower;
	ob_printf(b, "%08x-%04x-%04x-%04x-%012" PRIx64, (unsigned)(hi >> 32),
		  (unsigned)(hi >> 16 & 0xffff), (unsigned)(hi & 0xffff),
		  (unsigned)(lo >> 48), (uint64_t)(lo & 0xffffffffffffull));
}

static void put_blob(struct obuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && c != '\'') {
			ob_putc(b, (char)c);
		} else {
			char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
			ob_put(b, e, 4);
		}
	}
}

/* Render row `row` of `vec` (of type `lt`). json = 1: as a JSON value;
 * json = 0: as plain text (the caller handles NULL and CSV quoting). */
static void render_value(struct obuf *b, struct obuf *tmp, duckdb_vector vec,
			 duckdb_logical_type lt, idx_t row, int json)
{
	uint64_t *valid = duckdb_vector_get_validity(vec);
	if (valid && !duckdb_validity_row_is_valid(valid, row)) {
		if (json)
			ob_puts(b, "null");
		return;
	}
	void *data = duckdb_vector_get_data(vec);
	duckdb_type t = duckdb_get_type_id(lt);
	switch (t) {
	case DUCKDB_TYPE_BOOLEAN: ob_puts(b, ((bool *)data)[row] ? "true" : "false"); return;
	case DUCKDB_TYPE_TINYINT: ob_printf(b, "%d", ((int8_t *)data)[row]); return;
	case DUCKDB_TYPE_SMALLINT: ob_printf(b, "%d", ((int16_t *)data)[row]); return;
	case DUCKDB_TYPE_INTEGER: ob_printf(b, "%d", ((int32_t *)data)[row]); return;
	case DUCKDB_TYPE_BIGINT: ob_printf(b, "%" PRId64, ((int64_t *)data)[row]); return;
	case DUCKDB_TYPE_UTINYINT: ob_printf(b, "%u", ((uint8_t *)data)[row]); return;
	case DUCKDB_TYPE_USMALLINT: ob_printf(b, "%u", ((uint16_t *)data)[row]); return;
	case DUCKDB_TYPE_UINTEGER: ob_printf(b, "%u", ((uint32_t *)data)[row]); return;
	case DUCKDB_TYPE_UBIGINT: ob_printf(b, "%" PRIu64, ((uint64_t *)data)[row]); return;
	case DUCKDB_TYPE_HUGEINT: put_hugeint(b, ((duckdb_hugeint *)data)[row]); return;
	case DUCKDB_TYPE_UHUGEINT: {
		duckdb_uhugeint u = ((duckdb_uhugeint *)data)[row];
		put_u128(b, u.upper, u.lower, 0);
		return;
	}
	case DUCKDB_TYPE_FLOAT: put_double(b, ((float *)data)[row], json); return;
	case DUCKDB_TYPE_DOUBLE: put_double(b, ((double *)data)[row], json); return;
	case DUCKDB_TYPE_DECIMAL: {
		unsigned scale = duckdb_decimal_scale(lt);
		__int128 v;
		switch (duckdb_decimal_internal_type(lt)) {
		case DUCKDB_TYPE_SMALLINT: v = ((int16_t *)data)[row]; break;
		case DUCKDB_TYPE_INTEGER: v = ((int32_t *)data)[row]; break;
		case DUCKDB_TYPE_BIGINT: v = ((int64_t *)data)[row]; break;
		default: {
			duckdb_hugeint h = ((duckdb_hugeint *)data)[row];
			v = (__int128)(((unsigned __int128)(uint64_t)h.upper << 64) | h.lower);
		}
		}
		put_decimal(b, v, scale);
		return;
	}
	case DUCKDB_TYPE_SQLNULL:
		if (json)
			ob_puts(b, "null");
		return;
	case DUCKDB_TYPE_LIST:
	case DUCKDB_TYPE_ARRAY: {
		duckdb_logical_type ct;
		duckdb_vector child;
		idx_t off, len;
		if (t == DUCKDB_TYPE_LIST) {
			duckdb_list_entry e = ((duckdb_list_entry *)data)[row];
			ct = duckdb_list_type_child_type(lt);
			child = duckdb_list_vector_get_child(vec);
			off = e.offset;
			len = e.length;
		} else {
			ct = duckdb_array_type_child_type(lt);
			child = duckdb_array_vector_get_child(vec);
			len = duckdb_array_type_array_size(lt);
			off = row * len;
		}
		ob_putc(b, '[');
		for (idx_t i = 0; i < len; i++) {
			if (i)
				ob_putc(b, ',');
			render_value(b, tmp, child, ct, off + i, 1);
		}
		ob_putc(b, ']');
		duckdb_destroy_logical_type(&ct);
		return;
	}
	case DUCKDB_TYPE_MAP: {
		duckdb_list_entry e = ((duckdb_list_entry *)data)[row];
		duckdb_vector kv = duckdb_list_vector_get_child(vec);
		duckdb_vector kvec = duckdb_struct_vector_get_child(kv, 0);
		duckdb_vector vvec = duckdb_struct_vector_get_child(kv, 1);
		duckdb_logical_type kt = duckdb_map_type_key_type(lt);
		duckdb_logical_type vt = duckdb_map_type_value_type(lt);
		ob_putc(b, '[');
		for (idx_t i = 0; i < e.length; i++) {
			ob_puts(b, i ? ",{\"key\":" : "{\"key\":");
			render_value(b, tmp, kvec, kt, e.offset + i, 1);
			ob_puts(b, ",\"value\":");
			render_value(b, tmp, vvec, vt, e.offset + i, 1);
			ob_putc(b, '}');
		}
		ob_putc(b, ']');
		duckdb_destroy_logical_type(&kt);
		duckdb_destroy_logical_type(&vt);
		return;
	}
	case DUCKDB_TYPE_STRUCT: {
		ob_putc(b, '{');
		for (idx_t i = 0; i < duckdb_struct_type_child_count(lt); i++) {
			char *n = duckdb_struct_type_child_name(lt, i);
			duckdb_logical_type ct = duckdb_struct_type_child_type(lt, i);
			if (i)
				ob_putc(b, ',');
			ob_json_string(b, n, strlen(n));
			ob_putc(b, ':');
			render_value(b, tmp, duckdb_struct_vector_get_child(vec, i), ct, row, 1);
			duckdb_free(n);
			duckdb_destroy_logical_type(&ct);
		}
		ob_putc(b, '}');
		return;
	}
	default:
		break;
	}
	/* String-shaped values: build the text, then quote it for JSON. */
	struct obuf *s = json ? tmp : b;
	size_t mark = ob_len(s);
	switch (t) {
	case DUCKDB_TYPE_VARCHAR:
	case DUCKDB_TYPE_BLOB: {
		duckdb_string_t *str = &((duckdb_string_t *)data)[row];
		const char *p = duckdb_string_t_data(str);
		uint32_t n = duckdb_string_t_length(*str);
		if (t == DUCKDB_TYPE_BLOB) {
			put_blob(s, p, n);
		} else if (json) {
			ob_json_string(b, p, n);
			return;
		} else {
			ob_put(s, p, n);
		}
		break;
	}
	case DUCKDB_TYPE_DATE: put_date(s, ((duckdb_date *)data)[row].days); break;
	case DUCKDB_TYPE_TIME: put_time_us(s, ((duckdb_time *)data)[row].micros); break;
	case DUCKDB_TYPE_TIMESTAMP:
		put_timestamp(s, ((duckdb_timestamp *)data)[row].micros, 1000000, 0);
		break;
	case DUCKDB_TYPE_TIMESTAMP_TZ:
		put_timestamp(s, ((duckdb_timestamp *)data)[row].micros, 1000000, 1);
		break;
	case DUCKDB_TYPE_TIMESTAMP_S: put_timestamp(s, ((int64_t *)data)[row], 1, 0); break;
	case DUCKDB_TYPE_TIMESTAMP_MS: put_timestamp(s, ((int64_t *)data)[row], 1000, 0); break;
	case DUCKDB_TYPE_TIMESTAMP_NS: put_timestamp(s, ((int64_t *)data)[row], 1000000000, 0); break;
	case DUCKDB_TYPE_INTERVAL: put_interval(s, ((duckdb_interval *)data)[row]); break;
	case DUCKDB_TYPE_UUID: put_uuid(s, ((duckdb_hugeint *)data)[row]); break;
	case DUCKDB_TYPE_ENUM: {
		uint64_t idx;
		switch (duckdb_enum_internal_type(lt)) {
		case DUCKDB_TYPE_UTINYINT: idx = ((uint8_t *)data)[row]; break;
		case DUCKDB_TYPE_USMALLINT: idx = ((uint16_t *)data)[row]; break;
		default: idx = ((uint32_t *)data)[row]; break;
		}
		char *v = duckdb_enum_dictionary_value(lt, idx);
		ob_puts(s, v ? v : "");
		duckdb_free(v);
		break;
	}
	default:
		ob_puts(s, "?");
	}
	if (json) {
		ob_json_string(b, ob_str(tmp) + mark, ob_len(tmp) - mark);
		ob_truncate(tmp, mark);
	}
}

/* ---- execution ------------------------------------------------------------ */

/* Fetch the next chunk into q->chunk; 1 = got one, 0 = end, -1 = error. */
static int fetch(struct engine_query *q, struct lh_error *err)
{
	if (q->chunk)
		duckdb_destroy_data_chunk(&q->chunk);
	q->chunk = NULL;
	q->chunk_row = q->chunk_size = 0;
	for (;;) {
		q->chunk = duckdb_fetch_chunk(q->res);
		if (!q->chunk)
			break;
		q->chunk_size = duckdb_data_chunk_get_size(q->chunk);
		if (q->chunk_size > 0)
			return 1;
		duckdb_destroy_data_chunk(&q->chunk);
	}
	const char *msg = duckdb_result_error(&q->res);
	if (msg || atomic_load(&q->timed_out))
		return engine_fail(q, msg, err);
	return 0;
}

static int render_first(struct engine_query *q, struct lh_error *err);

int engine_query_start(struct engine_query *q, enum engine_format fmt, int64_t max_rows,
		       struct lh_error *err)
{
	q->fmt = fmt;
	q->max_rows = max_rows;
	if (duckdb_execute_prepared_streaming(q->stmt, &q->res) == DuckDBError) {
		q->have_res = 1;
		return engine_fail(q, duckdb_result_error(&q->res), err);
	}
	q->have_res = 1;
	q->ncols = duckdb_column_count(&q->res);
	q->types = xcalloc(q->ncols ? q->ncols : 1, sizeof *q->types);
	q->names = xcalloc(q->ncols ? q->ncols : 1, sizeof *q->names);
	for (idx_t i = 0; i < q->ncols; i++) {
		q->types[i] = duckdb_column_logical_type(&q->res, i);
		q->names[i] = xstrdup(duckdb_column_name(&q->res, i));
	}
	for (idx_t i = 0; i < q->ncols; i++) {
		if (!type_supported(q->types[i])) {
			struct obuf tn;
			ob_init(&tn, LH_QUERY_MAX_ROW_BYTES);
			type_name(&tn, q->types[i]);
			lh_fail(err, 400, "unsupported_type",
				"column \"%s\" has type %s, which queryd cannot render; CAST it to VARCHAR",
				q->names[i], ob_str(&tn));
			ob_free(&tn);
			return -1;
		}
	}
	if (fetch(q, err) < 0)
		return -1;
	return render_first(q, err);
}

static void render_header(struct engine_query *q)
{
	struct obuf *b = &q->out;
	if (q->fmt == ENGINE_JSON) {
		ob_puts(b, "{\"columns\":[");
		for (idx_t i = 0; i < q->ncols; i++) {
			ob_puts(b, i ? ",{\"name\":" : "{\"name\":");
			ob_json_string(b, q->names[i], strlen(q->names[i]));
			ob_puts(b, ",\"type\":");
			ob_truncate(&q->scratch, 0);
			type_name(&q->scratch, q->types[i]);
			ob_json_string(b, ob_str(&q->scratch), ob_len(&q->scratch));
			ob_putc(b, '}');
		}
		ob_puts(b, "],\"rows\":[");
	} else if (q->fmt == ENGINE_CSV) {
		for (idx_t i = 0; i < q->ncols; i++) {
			if (i)
				ob_putc(b, ',');
			ob_csv_field(b, q->names[i], strlen(q->names[i]));
		}
		ob_putc(b, '\n');
	}
}

/* Render row `row` of the current chunk into q->out. Returns 0, or -1 when
 * the row (or a value of it) is longer than q->max_row (note 9). */
static int render_row(struct engine_query *q, idx_t row)
{
	struct obuf *b = &q->out;
	size_t start = ob_len(b);
	int overflow = 0;
	if (q->fmt == ENGINE_JSON)
		ob_puts(b, q->rows ? ",[" : "[");
	else if (q->fmt == ENGINE_NDJSON)
		ob_putc(b, '{');
	for (idx_t i = 0; i < q->ncols; i++) {
		duckdb_vector v = duckdb_data_chunk_get_vector(q->chunk, i);
		if (i)
			ob_putc(b, ',');
		if (q->fmt == ENGINE_NDJSON) {
			ob_json_string(b, q->names[i], strlen(q->names[i]));
			ob_putc(b, ':');
		}
		if (q->fmt != ENGINE_CSV) {
			render_value(b, &q->scratch, v, q->types[i], row, 1);
			continue;
		}
		uint64_t *valid = duckdb_vector_get_validity(v);
		if (valid && !duckdb_validity_row_is_valid(valid, row))
			continue;   /* NULL: empty field */
		ob_truncate(&q->scratch, 0);
		duckdb_type t = duckdb_get_type_id(q->types[i]);
		int nested = t == DUCKDB_TYPE_LIST || t == DUCKDB_TYPE_ARRAY ||
			     t == DUCKDB_TYPE_STRUCT || t == DUCKDB_TYPE_MAP;
		struct obuf tmp2;
		ob_init(&tmp2, q->max_row);
		render_value(&q->scratch, &tmp2, v, q->types[i], row, nested);
		overflow |= tmp2.overflow;
		ob_free(&tmp2);
		ob_csv_field(b, ob_str(&q->scratch), ob_len(&q->scratch));
	}
	if (q->fmt == ENGINE_JSON)
		ob_putc(b, ']');
	else if (q->fmt == ENGINE_NDJSON)
		ob_puts(b, "}\n");
	else
		ob_putc(b, '\n');
	return overflow || b->overflow || q->scratch.overflow || ob_len(b) - start > q->max_row
		       ? -1
		       : 0;
}

/* Note 9: the header and the first row, rendered by engine_query_start so
 * that a first row past the cap is an answer, not a cut stream. */
static int render_first(struct engine_query *q, struct lh_error *err)
{
	static const char *const formats[] = { [ENGINE_JSON] = "json", [ENGINE_CSV] = "csv",
					       [ENGINE_NDJSON] = "ndjson" };
	const char *fmt = (size_t)q->fmt < sizeof formats / sizeof formats[0] && formats[q->fmt]
				  ? formats[q->fmt]
				  : "text";
	render_header(q);
	q->phase = 1;
	if (q->out.overflow)
		return lh_fail(err, 400, "row_too_large",
			       "the result's column names and types are longer than %zu bytes as %s",
			       q->max_row, fmt);
	if (!q->chunk || q->max_rows == 0)
		return 0;
	/* The row gets its whole cap whatever the header took (a wide result's
	 * header can be long); the buffer goes back to its cap when emptied. */
	q->out.b.max = ob_len(&q->out) + q->max_row + ENGINE_OUT_SLACK;
	if (render_row(q, q->chunk_row) != 0)
		return lh_fail(err, 400, "row_too_large",
			       "a row of the result is longer than %zu bytes as %s; select fewer "
			       "or shorter columns",
			       q->max_row, fmt);
	q->chunk_row++;
	q->rows++;
	return 0;
}

/* Produce more output into q->out. Returns 0, or -1 on a failure. */
static int produce(struct engine_query *q, double elapsed_ms)
{
	struct lh_error err = { 0 };
	if (q->phase == 0) {
		render_header(q);
		q->phase = 1;
		return 0;
	}
	if (q->phase == 1) {
		/* Render up to one chunk's remaining rows per call. */
		while (q->chunk && ob_len(&q->out) - q->out.off < LH_STREAM_CHUNK) {
			if (q->chunk_row >= q->chunk_size) {
				int r = fetch(q, &err);
				lh_error_clear(&err);
				if (r < 0)
					return -1;
				if (r == 0)
					break;
			}
			if (q->max_rows >= 0 && q->rows >= q->max_rows) {
				q->truncated = 1;   /* a row exists past the cap */
				break;
			}
			if (render_row(q, q->chunk_row++) != 0)
				return -1;   /* note 9: the stream is cut */
			q->rows++;
		}
		if (q->chunk && !q->truncated)
			return 0;   /* the buffer is full; more rows follow */
		q->phase = 2;
		return 0;
	}
	if (q->phase == 2) {
		if (q->fmt == ENGINE_JSON)
			ob_printf(&q->out, "],\"row_count\":%" PRId64 ",\"truncated\":%s,\"elapsed_ms\":%.3f}\n",
				  q->rows, q->truncated ? "true" : "false", elapsed_ms);
		q->phase = 3;
	}
	return 0;
}

ssize_t engine_query_read(struct engine_query *q, char *buf, size_t max, double elapsed_ms)
{
	if (q->phase < 0)
		return -1;
	while (q->out.off == ob_len(&q->out) && q->phase != 3) {
		ob_truncate(&q->out, 0);
		q->out.off = 0;
		q->out.b.max = q->max_row + ENGINE_OUT_SLACK;   /* render_first may widen it */
		if (produce(q, elapsed_ms) != 0) {
			q->phase = -1;
			return -1;
		}
	}
	size_t avail = ob_len(&q->out) - q->out.off;
	if (avail == 0)
		return 0;
	size_t n = avail < max ? avail : max;
	memcpy(buf, ob_str(&q->out) + q->out.off, n);
	q->out.off += n;
	return (ssize_t)n;
}

int engine_query_to_parquet(struct engine_query *q, const char *sql, size_t len,
			    int64_t max_rows, const char *out_path, struct lh_error *err)
{
	duckdb_extracted_statements ex = NULL;
	duckdb_prepared_statement st = NULL;
	duckdb_result r;
	int have_r = 0, rc = -1;
	char *path = sql_quote(out_path), *copy = NULL;
	if (duckdb_prepared_statement_type(q->stmt) != DUCKDB_STATEMENT_TYPE_SELECT) {
		lh_fail(err, 400, "bad_request", "format \"parquet\" needs a SELECT query");
		goto out;
	}
	/* The text passed sql_guard_check: one statement, balanced parentheses,
	 * nothing unterminated, so it nests as a subquery. The newlines keep a
	 * trailing -- comment from swallowing our closing parenthesis. */
	if (max_rows >= 0)
		copy = xasprintf("COPY (SELECT * FROM (\n%.*s\n) LIMIT %" PRId64 ") TO %s "
				 "(FORMAT parquet, COMPRESSION snappy)", (int)len, sql, max_rows, path);
	else
		copy = xasprintf("COPY (\n%.*s\n) TO %s (FORMAT parquet, COMPRESSION snappy)",
				 (int)len, sql, path);
	if (duckdb_extract_statements(q->con, copy, &ex) != 1) {
		lh_fail(err, 400, "bad_request", "this query cannot be written as Parquet");
		goto out;
	}
	if (duckdb_prepare_extracted_statement(q->con, ex, 0, &st) == DuckDBError) {
		engine_fail(q, duckdb_prepare_error(st), err);
		goto out;
	}
	if (duckdb_prepared_statement_type(st) != DUCKDB_STATEMENT_TYPE_COPY) {
		lh_fail(err, 400, "bad_request", "this query cannot be written as Parquet");
		goto out;
	}
	have_r = 1;
	if (duckdb_execute_prepared(st, &r) == DuckDBError) {
		engine_fail(q, duckdb_result_error(&r), err);
		goto out;
	}
	q->rows = duckdb_value_int64(&r, 0, 0);
	rc = 0;
out:
	if (have_r)
		duckdb_destroy_result(&r);
	if (st)
		duckdb_destroy_prepare(&st);
	duckdb_destroy_extracted(&ex);
	free(path);
	free(copy);
	return rc;
}

int64_t engine_query_rows(const struct engine_query *q)
{
	return q->rows;
}

int engine_query_truncated(const struct engine_query *q)
{
	return q->truncated;
}
