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

/* "12.3 MiB" style; writes into out[16]. */
void cli_format_bytes(uint64_t n, char out[16]);

/* 1 if `arg` is -h or --help. */
int cli_is_help(const char *arg);

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

/* --- cli_table.c ------------------------------------------------------------- */

enum cli_table_style {
	CLI_TABLE_PLAIN,   /* space-aligned columns, header line: ls, versions */
	CLI_TABLE_BOX,     /* Unicode box drawing, like the DuckDB shell: query on a TTY */
};

/* Print `nrows` x `ncols` cells (row-major, borrowed strings; NULL prints
 * as "NULL" in BOX style and "" in PLAIN) under `headers`. Columns flagged in
 * `right` (may be NULL) are right-aligned. Cells wider than
 * CLI_TABLE_MAX_CELL display columns are cut with "…". Pure output to `out`. */
#define CLI_TABLE_MAX_CELL 48
void cli_table_print(FILE *out, enum cli_table_style style, const char *const *headers,
		     size_t ncols, const char *const *cells, size_t nrows, const int *right);

/* Display width of a UTF-8 string (code points; control bytes count 1). */
size_t cli_display_width(const char *s);

#endif
