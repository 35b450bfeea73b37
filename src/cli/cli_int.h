/* cli_int.h — what the client commands share (cli_*.c): the HTTP helper that
 * talks to LAKEHOUSE_URL and turns failures into one line on stderr, the
 * upload progress bar, and table rendering. Other modules include cli/cli.h.
 *
 * Exit codes (cli.h): 0 success, 1 the server answered an error or could not
 * be reached, 2 bad usage.
 */
#ifndef LH_CLI_INT_H
#define LH_CLI_INT_H
#include "common/http_client.h"
#include "common/json.h"
#include "common/peer_client.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

/* --- cli_http.c ----------------------------------------------------------- */

/* LAKEHOUSE_URL without trailing '/', default "http://127.0.0.1:8080".
 * Static storage; valid for the whole run. */
const char *cli_base_url(void);

/* base URL + `path` (already encoded where needed); the caller frees. */
char *cli_url(const char *path);

/* Append `in` percent-encoded (RFC 3986 unreserved bytes kept) to a new
 * string `prefix` + encoded + `suffix`; the caller frees. */
char *cli_url_encoded(const char *prefix, const char *in, const char *suffix);

/* The request headers every command sends (Authorization from
 * LAKEHOUSE_TOKEN, Accept), plus `extra` (NULL-terminated, may be NULL).
 * Returns a NULL-terminated array to free with cli_headers_free(). */
char **cli_headers(const char *const *extra);
void cli_headers_free(char **h);

/* Perform `r` with cli_headers(r->headers) instead of r->headers. Returns
 * CLI_OK with *resp filled whatever the status (the caller frees it), or
 * CLI_FAILED after printing "lakehouse: cannot reach ..." (resp freed). */
int cli_send(struct http_client_request *r, struct http_client_response *resp);

/* cli_send(), and a non-2xx answer is a failure too.
 * Success means a 2xx answer: returns CLI_OK with *resp filled (the caller
 * frees it). Otherwise prints "lakehouse: <the server's error message>" or
 * "lakehouse: cannot reach ..." on stderr and returns CLI_FAILED with *resp
 * freed. */
int cli_do(struct http_client_request *r, struct http_client_response *resp);

/* GET/POST a JSON API path (e.g. "/v1/catalog/datasets") and parse the
 * answer. Returns CLI_OK with *out (a new reference), or CLI_FAILED after
 * printing the error. `body` may be NULL. */
int cli_json(const char *method, const char *path, const char *body, json_t **out);

/* Print "lakehouse: <msg>" for an error answer (status + JSON body). */
void cli_report_error(long status, const char *body, size_t len);

/* The catalog at LAKEHOUSE_URL's /v1 as a typed client (catalog_client.h,
 * ADR 0130): relaying, so the server's errors come back as it said them,
 * with LAKEHOUSE_TOKEN. Free with catalog_client_destroy. */
struct catalog_client *cli_catalog_open(void);

/* Print a failed typed call as cli_send/cli_do would have: "cannot reach
 * the lakehouse at ..." when no server answered, else the server's message
 * (with its line and drift). Returns CLI_FAILED. */
int cli_report_call(const struct peer_call *call, const struct lh_error *err);

/* "12.3 MiB" style; writes into out[16]. */
void cli_format_bytes(uint64_t n, char out[16]);

/* 1 if `arg` is -h or --help. */
int cli_is_help(const char *arg);

/* --- cli_documents.c ------------------------------------------------------ */

/* `lakehouse ingest NAME --documents PATHS...` (ADR 0228): walk paths[0..n)
 * and upload the files in multipart batches of at most batch_bytes. */
int cli_ingest_documents(const char *name, char **paths, size_t npaths, const char *mode,
			 int partial, uint64_t batch_bytes);

/* --- cli_progress.c -------------------------------------------------------- */

struct cli_progress;
/* A progress bar for `total` bytes (0 = unknown) on stderr, drawn only when
 * `enabled` (the caller passes isatty(2)). Never NULL. */
struct cli_progress *cli_progress_create(const char *label, uint64_t total, int enabled);
/* `done` bytes so far; redraws at most ten times a second. */
void cli_progress_update(struct cli_progress *p, uint64_t done);
/* Replace the bar by `msg` (or clear the line when msg is NULL). */
void cli_progress_note(struct cli_progress *p, const char *msg);
/* Clear the line and free. NULL is fine. */
void cli_progress_destroy(struct cli_progress *p);

/* The transfer rate over a sliding window of samples (pure: the caller
 * passes the times). A rate exists once the samples span at least
 * CLI_RATE_MIN_SPAN_S seconds; it is measured over about the last
 * CLI_RATE_WINDOW_S seconds. */
#define CLI_RATE_SAMPLES 64
#define CLI_RATE_WINDOW_S 3.0
#define CLI_RATE_MIN_SPAN_S 0.5
struct cli_rate {
	double t[CLI_RATE_SAMPLES];     /* seconds, any monotonic origin */
	uint64_t bytes[CLI_RATE_SAMPLES];
	size_t n, next;                 /* samples held; where the next goes */
};
/* Record `done` bytes at time `t` (t never decreases). */
void cli_rate_add(struct cli_rate *r, double t, uint64_t done);
/* Bytes per second, or -1 while there is no rate yet. */
double cli_rate_get(const struct cli_rate *r);
/* "12.3 MiB/s" into out[24], or "" for a negative rate (none yet). */
void cli_format_rate(double bytes_per_s, char out[24]);

/* --- cli_table.c ------------------------------------------------------------- */

enum cli_table_style {
	CLI_TABLE_PLAIN,   /* space-aligned columns, header line: ls, versions */
	CLI_TABLE_BOX,     /* Unicode box drawing, like the DuckDB shell: query on a TTY */
};

/* Print `nrows` x `ncols` cells (row-major, borrowed strings; NULL prints
 * as "NULL" in BOX style and "" in PLAIN) under `headers`. Columns flagged in
 * `right` (may be NULL) are right-aligned. With `max_width` > 0 the table is
 * at most that many columns wide: the widest columns are cut first and cut
 * values end in "…" (never below CLI_TABLE_MIN_CELL columns, so a table with
 * very many columns may still be wider). 0 prints every value whole. Pure
 * output to `out`. */
#define CLI_TABLE_MIN_CELL 3
void cli_table_print(FILE *out, enum cli_table_style style, const char *const *headers,
		     size_t ncols, const char *const *cells, size_t nrows, const int *right,
		     size_t max_width);

/* cli_table_print, where cells (not headers) may hold CLI_MARK_ON ...
 * CLI_MARK_OFF around a search match: drawn bold (SGR 1, then 22), taking no
 * width (cli_table.c note 5). In every other table those bytes are control
 * bytes and print as spaces. */
#define CLI_MARK_ON '\x01'
#define CLI_MARK_OFF '\x02'
void cli_table_print_marked(FILE *out, enum cli_table_style style, const char *const *headers,
			    size_t ncols, const char *const *cells, size_t nrows, const int *right,
			    size_t max_width);

/* Cap the column widths `widths` (natural widths in, shown widths out) so
 * that their sum is at most `avail`: the widest columns are cut to one common
 * width, none below CLI_TABLE_MIN_CELL (or its natural width if smaller). */
void cli_table_fit(size_t *widths, size_t ncols, size_t avail);

/* The width tables on `fd` should fit: 0 (no limit) when `wide` or when fd
 * is not a terminal; else $COLUMNS if it is a number, else the terminal's
 * own width (TIOCGWINSZ), else 80. */
size_t cli_terminal_width(int fd, int wide);

/* Display width of a UTF-8 string (code points; control bytes count 1). */
size_t cli_display_width(const char *s);

/* --- cli_ingest.c ------------------------------------------------------------ */

/* The dataset name `lakehouse ingest FILE` uses: FILE's base name without
 * its extension, each run of bytes a name may not hold ([^A-Za-z0-9_]) made
 * one "_" (none at either end), "_" put first if it starts with a digit, at
 * most LH_DATASET_NAME_MAX (64) bytes. Writes out[65]; 0, or -1 when
 * nothing usable is left (e.g. "---.csv"). */
int cli_name_from_file(const char *path, char out[65]);

/* --- cli_search.c ------------------------------------------------------------ */

/* A search highlight (HTML: text escaped, matches in <mark>...</mark>) as
 * terminal text: the entities &amp; &lt; &gt; &quot; &#39; decoded, control
 * bytes made spaces, and each match wrapped in CLI_MARK_ON/CLI_MARK_OFF when
 * `bold` (for cli_table_print_marked) or in "[" "]" when not (a pipe, a
 * file). Any other tag or entity stays as it is. Pure; the caller frees. */
char *cli_search_snippet(const char *html, int bold);

/* --- cli_export.c ------------------------------------------------------------ */

/* `lakehouse query --output FILE`: the result goes to a temporary file in
 * FILE's directory, renamed over FILE only once all of it arrived, so FILE
 * is either the old file or the whole new result, never half of one. */
struct cli_export;
/* Create the temporary file for `path`; NULL after printing why. */
struct cli_export *cli_export_open(const char *path, const char *format);
/* Append result bytes; 0, or -1 (errno set). */
int cli_export_write(struct cli_export *e, const char *data, size_t n);
/* fsync, rename over the target and print "wrote N rows (SIZE) to FILE" on
 * stderr; CLI_OK or CLI_FAILED (the temporary file removed). Frees e. */
int cli_export_commit(struct cli_export *e);
/* Remove the temporary file and free e. NULL is fine. */
void cli_export_abort(struct cli_export *e);

/* Rows in a result as it streams by, per format: csv (records after the
 * header, quotes respected), ndjson (lines), json (the body's "row_count").
 * Parquet rows come from the file's footer (cli_parquet_rows). */
struct cli_row_count {
	int format;            /* CLI_ROWS_CSV, CLI_ROWS_NDJSON, CLI_ROWS_JSON */
	uint64_t lines;        /* line ends seen outside quotes */
	int in_quotes;
	char last;             /* the last byte seen, '\0' before any */
	char tail[128];        /* json: the last bytes seen */
	size_t tail_len;
};
enum { CLI_ROWS_CSV = 1, CLI_ROWS_NDJSON, CLI_ROWS_JSON };
void cli_row_count_feed(struct cli_row_count *rc, const char *data, size_t n);
/* The row count, or -1 when it cannot be told. */
int64_t cli_row_count_result(const struct cli_row_count *rc);

/* The row count of a Parquet file from its FileMetaData (the Thrift
 * compact-protocol footer, without the trailing length and "PAR1"): 0 with
 * *rows, or -1 if the bytes are not a FileMetaData we can read. Pure. */
int cli_parquet_rows(const unsigned char *meta, size_t n, int64_t *rows);

/* A JSON value as table text (cli_query.c); the caller frees. NULL for JSON
 * null. */
char *cli_value_text(const json_t *v);

/* cli_drop.c: 1 when `line` (what was typed, its end of line not counted)
 * is exactly the dataset's name, case and all (ADR 0175). Pure. */
int cli_drop_confirmed(const char *name, const char *line);
#endif
