/* cli_query.c — `lakehouse query SQL [--format table|csv|json|ndjson|parquet]
 * [--output FILE] [--max-rows N] [--wide]`.
 *
 * POSTs {"sql","format"[,"max_rows"]} to /v1/query. The default format is a
 * box table when stdout is a terminal and CSV otherwise, so
 * `lakehouse query ... > out.csv` gives a file other tools read (ADR 0060).
 * "table" asks for JSON and renders it to the terminal's width (cut values
 * end in "…"; --wide or a pipe prints them whole); csv/json/ndjson/parquet
 * stream the server's bytes to stdout — only once the status says success,
 * so an error never lands in the output file — or with --output FILE into
 * a file written atomically (cli_export.c). Parquet is binary: it is never
 * written to a terminal. An answer queryd gave from what the catalog said
 * earlier (X-Lakehouse-Catalog-Age, ADR 0205) adds a note on stderr.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ERROR_BODY_MAX (64u << 10)

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse query SQL [--format F] [--output FILE] [--max-rows N] [--wide]\n"
		"\n"
		"Runs read-only SQL over the datasets at LAKEHOUSE_URL (default\n"
		"http://127.0.0.1:8080). Every dataset is a table under its name; a past\n"
		"version is \"NAME@VERSION\" (a quoted identifier).\n"
		"\n"
		"  --format F       table (default on a terminal), csv (default otherwise),\n"
		"                   json, ndjson or parquet\n"
		"  --output FILE    write the result to FILE (replaced only once the whole\n"
		"                   result arrived) and say how many rows; the format\n"
		"                   follows the extension (.parquet, .json, .ndjson, else\n"
		"                   csv) unless --format says. Parquet needs it on a terminal.\n"
		"  --max-rows N     stop after N rows (the result says it was truncated)\n"
		"  --wide           a table's values whole, even wider than the terminal\n"
		"\n"
		"examples:\n"
		"  lakehouse query 'SELECT zip, count(*) FROM candidates GROUP BY zip'\n"
		"  lakehouse query 'SELECT * FROM candidates' --output candidates.parquet\n");
}

char *cli_value_text(const json_t *v)
{
	if (json_is_null(v) || !v)
		return NULL;
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.15g", json_real_value(v));
	if (json_is_true(v))
		return xstrdup("true");
	if (json_is_false(v))
		return xstrdup("false");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	char *out = xstrdup(s ? s : "");
	free(s);
	return out;
}

static int print_table(const json_t *res, size_t width)
{
	json_t *columns = json_object_get(res, "columns");
	json_t *rows = json_object_get(res, "rows");
	if (!json_is_array(columns) || !json_is_array(rows)) {
		fprintf(stderr, "lakehouse: the query answer has no columns/rows\n");
		return CLI_FAILED;
	}
	size_t ncols = json_array_size(columns), nrows = json_array_size(rows);
	const char **headers = xcalloc(ncols + 1, sizeof *headers);
	char **cells = xcalloc(ncols * nrows + 1, sizeof *cells);
	int *right = xcalloc(ncols + 1, sizeof *right);

	for (size_t c = 0; c < ncols; c++) {
		const char *name = json_string_value(json_object_get(json_array_get(columns, c), "name"));
		headers[c] = name ? name : "?";
		right[c] = 1;
	}
	for (size_t r = 0; r < nrows; r++) {
		json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			json_t *v = json_array_get(row, c);
			cells[r * ncols + c] = cli_value_text(v);
			if (v && !json_is_null(v) && !json_is_number(v))
				right[c] = 0;
		}
	}
	cli_table_print(stdout, CLI_TABLE_BOX, headers, ncols, (const char *const *)cells, nrows,
			right, width);
	json_t *elapsed = json_object_get(res, "elapsed_ms");
	printf("%zu row%s", nrows, nrows == 1 ? "" : "s");
	if (json_is_true(json_object_get(res, "truncated")))
		printf(" (truncated: more rows exist; see --max-rows)");
	if (json_is_number(elapsed))
		printf(" in %.0f ms", json_number_value(elapsed));
	printf("\n");
	for (size_t i = 0; i < ncols * nrows; i++)
		free(cells[i]);
	free(cells);
	free(headers);
	free(right);
	return CLI_OK;
}

/* Streaming to stdout (or the --output file) once the status is known to
 * be a success. */
struct stream_out {
	long status;
	char age[24];         /* X-Lakehouse-Catalog-Age, "" = none */
	char *err;            /* error body, capped */
	size_t err_len;
	int write_failed;
	struct cli_export *file;   /* --output, or NULL for stdout */
};

static int stream_header(void *ctx, long status, const char *name, const char *value)
{
	struct stream_out *s = ctx;
	if (!name)
		s->status = status;
	else if (!strcasecmp(name, "X-Lakehouse-Catalog-Age"))
		snprintf(s->age, sizeof s->age, "%s", value);
	return 0;
}

/* ADR 0205: say that the answer is what the catalog said a while ago. */
static void note_catalog_age(const struct stream_out *s)
{
	if (s->age[0])
		fprintf(stderr, "lakehouse: note: the catalog is not reachable; this answer is "
			"from what it said %s s ago\n", s->age);
}

static int stream_sink(void *ctx, const char *data, size_t n)
{
	struct stream_out *s = ctx;
	if (s->status >= 200 && s->status < 300) {
		if (s->file ? cli_export_write(s->file, data, n) != 0
			    : fwrite(data, 1, n, stdout) != n) {
			s->write_failed = 1;
			return -1;
		}
		return 0;
	}
	size_t room = ERROR_BODY_MAX - s->err_len;
	size_t k = n < room ? n : room;
	s->err = xrealloc(s->err, s->err_len + k + 1);
	memcpy(s->err + s->err_len, data, k);
	s->err_len += k;
	s->err[s->err_len] = '\0';
	return 0;
}

/* Takes `file` (NULL: stdout): committed on success, removed otherwise. */
static int run_streamed(const char *body, struct cli_export *file)
{
	struct http_client_request r;
	struct http_client_response resp;
	struct stream_out s = { .file = file };
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	char *url = cli_url("/v1/query");
	int rc;

	http_client_request_init(&r);
	r.method = "POST";
	r.url = url;
	r.headers = hdrs;
	r.body = body;
	r.body_len = strlen(body);
	r.sink = stream_sink;
	r.sink_ctx = &s;
	r.on_header = stream_header;
	r.on_header_ctx = &s;
	rc = cli_send(&r, &resp);
	if (rc == CLI_OK) {
		if (resp.status < 200 || resp.status >= 300) {
			cli_report_error(resp.status, s.err, s.err_len);
			rc = CLI_FAILED;
		}
		http_client_response_free(&resp);
		if (rc == CLI_OK)
			note_catalog_age(&s);
	} else if (s.write_failed) {
		fprintf(stderr, "lakehouse: cannot write the result: %s\n", strerror(errno));
	}
	if (file) {
		if (rc == CLI_OK)
			rc = cli_export_commit(file);
		else
			cli_export_abort(file);
	} else if (fflush(stdout) != 0 && rc == CLI_OK) {
		fprintf(stderr, "lakehouse: cannot write the result: %s\n", strerror(errno));
		rc = CLI_FAILED;
	}
	free(s.err);
	free(url);
	return rc;
}

/* --format table: the JSON answer as a box table. */
static int run_table(const char *body, size_t width)
{
	struct http_client_request r;
	struct http_client_response resp;
	struct stream_out s = { 0 };
	const char *hdrs[] = { "Accept: application/json", "Content-Type: application/json",
			       NULL };
	char *url = cli_url("/v1/query");
	json_t *res = NULL;
	int rc;

	http_client_request_init(&r);
	r.method = "POST";
	r.url = url;
	r.headers = hdrs;
	r.body = body;
	r.body_len = strlen(body);
	r.on_header = stream_header;
	r.on_header_ctx = &s;
	rc = cli_do(&r, &resp);
	if (rc == CLI_OK) {
		res = json_loadb(resp.body, resp.body_len, 0, NULL);
		http_client_response_free(&resp);
		if (!res) {
			fprintf(stderr, "lakehouse: the server's answer is not JSON\n");
			rc = CLI_FAILED;
		} else {
			rc = print_table(res, width);
		}
	}
	if (rc == CLI_OK)
		note_catalog_age(&s);
	json_decref(res);
	free(url);
	return rc;
}

/* --output's format when --format is not given: by the file's extension. */
static const char *format_of_file(const char *path)
{
	static const struct {
		const char *ext, *format;
	} exts[] = { { ".parquet", "parquet" }, { ".json", "json" }, { ".ndjson", "ndjson" },
		     { ".jsonl", "ndjson" }, { ".csv", "csv" } };
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
		size_t k = strlen(exts[i].ext);
		if (n > k && !strcasecmp(path + n - k, exts[i].ext))
			return exts[i].format;
	}
	return "csv";
}

int cli_query_main(int argc, char **argv)
{
	const char *sql = NULL, *format = NULL, *output = NULL;
	long long max_rows = -1;
	int wide = 0, rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--format") && i + 1 < argc) {
			format = argv[++i];
		} else if (!strncmp(a, "--format=", 9)) {
			format = a + 9;
		} else if ((!strcmp(a, "--output") || !strcmp(a, "-o")) && i + 1 < argc) {
			output = argv[++i];
		} else if (!strncmp(a, "--output=", 9)) {
			output = a + 9;
		} else if (!strcmp(a, "--wide")) {
			wide = 1;
		} else if (!strcmp(a, "--max-rows") && i + 1 < argc) {
			char *end;
			errno = 0;
			max_rows = strtoll(argv[++i], &end, 10);
			if (errno || *end || max_rows < 0) {
				fprintf(stderr, "lakehouse: --max-rows expects a number, got \"%s\"\n",
					argv[i]);
				return CLI_USAGE;
			}
		} else if (a[0] == '-' && a[1] && !sql) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			return CLI_USAGE;
		} else if (!sql) {
			sql = a;
		} else {
			fprintf(stderr, "lakehouse: give the SQL as one argument (quote it)\n\n");
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!sql) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (output && !*output) {
		fprintf(stderr, "lakehouse: --output needs a file name\n");
		return CLI_USAGE;
	}
	if (!format)
		format = output ? format_of_file(output) : isatty(STDOUT_FILENO) ? "table" : "csv";
	if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json") &&
	    strcmp(format, "ndjson") && strcmp(format, "parquet")) {
		fprintf(stderr, "lakehouse: --format must be table, csv, json, ndjson or parquet\n");
		return CLI_USAGE;
	}
	if (output && !strcmp(format, "table")) {
		fprintf(stderr, "lakehouse: --output writes csv, json, ndjson or parquet; a table "
				"is for the terminal\n");
		return CLI_USAGE;
	}
	if (!output && !strcmp(format, "parquet") && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "lakehouse: Parquet is binary and stdout is a terminal: write it to a "
				"file with --output FILE.parquet (or redirect stdout)\n");
		return CLI_USAGE;
	}

	json_t *req = json_object();
	json_object_set_new(req, "sql", json_string(sql));
	json_object_set_new(req, "format",
			    json_string(!strcmp(format, "table") ? "json" : format));
	if (max_rows >= 0)
		json_object_set_new(req, "max_rows", json_integer(max_rows));
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);

	if (!strcmp(format, "table")) {
		rc = run_table(body, cli_terminal_width(STDOUT_FILENO, wide));
	} else if (output) {
		struct cli_export *file = cli_export_open(output, format);
		rc = file ? run_streamed(body, file) : CLI_FAILED;
	} else {
		rc = run_streamed(body, NULL);
	}
	free(body);
	return rc;
}
