/* mcp_tools.c — the MCP tools and resources (SPEC 14, docs/mcp.md): each a
 * few calls of the lakehouse's /v1 API through a `struct mcp_backend`, the
 * answer rendered as compact text a model reads well.
 *
 * DESIGN NOTES
 *  1. A tool never fails the JSON-RPC request: a lakehouse error (an unknown
 *     dataset, bad SQL, a read token on a write) is a result with isError
 *     true and the lakehouse's own message, so the model can correct itself
 *     (mcp_protocol.c note 4). So are arguments of the wrong type.
 *  2. The write tool (ingest_csv) is listed only when the token is known to
 *     write (b->writer == 1; unknown, the lakehouse being down at the
 *     stdio probe, is no, and the next tools/list asks again); called
 *     with a read token anyway, it answers isError "this token may only
 *     read" (and so does a 403 from the lakehouse,
 *     whichever transport). A `path` is read only when the server runs on
 *     the caller's machine (b->local_files: stdio, ADR 0161).
 *  3. query shows at most LH_MCP_QUERY_MAX_ROWS rows and
 *     LH_MCP_QUERY_MAX_BYTES bytes of table: queryd is asked for the row cap
 *     (its `truncated` says whether there were more), the byte cap cuts the
 *     rendered rows, and the last line states both caps and whether the
 *     result was cut (structuredContent.truncated too).
 *  4. record_feedback (SPEC 13, issue 17, ADR 0190) is the second write
 *     tool: POST /v1/search/feedback with one rating; search's "feedback"
 *     asks for the re-rank by past ratings.
 */
#include "mcp/mcp.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void mcp_answer_free(struct mcp_answer *a)
{
	if (!a)
		return;
	free(a->body);
	a->body = NULL;
	a->len = 0;
}

/* --- the tool table ------------------------------------------------------------ */

struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;
	const char *schema;          /* the input JSON Schema, as JSON text */
	int read_only, destructive, idempotent;
	int write;                   /* needs a write token */
	json_t *(*run)(struct mcp_backend *b, const json_t *args);
};

static json_t *run_list_datasets(struct mcp_backend *b, const json_t *args);
static json_t *run_describe_dataset(struct mcp_backend *b, const json_t *args);
static json_t *run_query(struct mcp_backend *b, const json_t *args);
static json_t *run_search(struct mcp_backend *b, const json_t *args);
static json_t *run_list_versions(struct mcp_backend *b, const json_t *args);
static json_t *run_ingest_csv(struct mcp_backend *b, const json_t *args);
static json_t *run_record_feedback(struct mcp_backend *b, const json_t *args);

#define NAME_PROP                                                                        \
	"\"name\":{\"type\":\"string\",\"description\":\"The dataset's name, exactly as "  \
	"list_datasets shows it\",\"pattern\":\"^[A-Za-z_][A-Za-z0-9_]{0,63}$\"}"

static const struct mcp_tool mcp_tools[] = {
	{ "list_datasets", "List datasets",
	  "List every dataset in the lakehouse with its latest version, row count, size and "
	  "last update. Start here to find out what data exists; each dataset is also a SQL "
	  "table of the same name for the query tool.",
	  "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}", 1, 0, 1, 0,
	  run_list_datasets },
	{ "describe_dataset", "Describe a dataset",
	  "Describe one dataset before querying it: its columns with types and nullability, "
	  "row count, every version, 5 sample rows, and whether it has a search index (which "
	  "columns the search tool can search).",
	  "{\"type\":\"object\",\"properties\":{" NAME_PROP "},\"required\":[\"name\"],"
	  "\"additionalProperties\":false}",
	  1, 0, 1, 0, run_describe_dataset },
	{ "query", "Run read-only SQL",
	  "Run one read-only SQL statement (DuckDB dialect) over the datasets; each dataset is "
	  "a table under its name, a past version is \"name@N\" (quoted). SELECT, WITH, "
	  "DESCRIBE, SHOW TABLES and information_schema work; nothing can be changed. The "
	  "result is a table with cells separated by ' | ', at most 1,000 rows and 64 KiB: "
	  "the last line says when it was truncated, so aggregate or add a LIMIT rather than "
	  "fetch everything. search(dataset, query) also works in FROM.",
	  "{\"type\":\"object\",\"properties\":{\"sql\":{\"type\":\"string\",\"description\":"
	  "\"One read-only SQL statement, e.g. SELECT state, count(*) FROM candidates GROUP "
	  "BY state\"},\"max_rows\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,"
	  "\"description\":\"Rows to show, at most 1000 (the default)\"}},"
	  "\"required\":[\"sql\"],\"additionalProperties\":false}",
	  1, 0, 1, 0, run_query },
	{ "search", "Search a dataset",
	  "Search the rows of a dataset that has a search index by words and meaning (hybrid "
	  "BM25 + embeddings by default), best first. Use it to find rows by free text "
	  "(\"forklift operator\"), then query for exact filters and joins. `where` is a SQL "
	  "condition over the dataset's columns applied before ranking (e.g. state = 'WI').",
	  "{\"type\":\"object\",\"properties\":{\"dataset\":{\"type\":\"string\","
	  "\"description\":\"The dataset, or \\\"name@N\\\" for version N\"},"
	  "\"query\":{\"type\":\"string\",\"description\":\"What to look for, in words\"},"
	  "\"k\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,\"description\":"
	  "\"How many results (default 10)\"},\"mode\":{\"type\":\"string\",\"enum\":"
	  "[\"hybrid\",\"text\",\"vector\"],\"description\":\"hybrid (default): words and "
	  "meaning; text: words only (BM25); vector: meaning only\"},\"where\":{\"type\":"
	  "\"string\",\"description\":\"Optional SQL condition over the dataset's columns\"},"
	  "\"columns\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":"
	  "\"Optional: which columns each hit shows (default all)\"},\"feedback\":{\"type\":"
	  "\"boolean\",\"description\":\"Re-rank with what ratings of similar past searches "
	  "taught (record_feedback records them); a hit that moved says why\"}},"
	  "\"required\":[\"dataset\",\"query\"],\"additionalProperties\":false}",
	  1, 0, 1, 0, run_search },
	{ "list_versions", "List a dataset's versions",
	  "List every version of a dataset, oldest first: when it was made, its row count, "
	  "size, whether it replaced or appended, and its schema fingerprint. Query a past "
	  "version as \"name@N\".",
	  "{\"type\":\"object\",\"properties\":{" NAME_PROP "},\"required\":[\"name\"],"
	  "\"additionalProperties\":false}",
	  1, 0, 1, 0, run_list_versions },
	{ "ingest_csv", "Add CSV data",
	  "Add CSV data (a header line, then rows) as a new version of a dataset: mode replace "
	  "(default) makes the CSV the dataset's whole content, append adds its rows (same "
	  "columns required). Give the text in `csv`, or, only when the server runs on your "
	  "machine (lakehouse mcp over stdio), a file in `path`. Types are inferred. Needs a "
	  "write token.",
	  "{\"type\":\"object\",\"properties\":{" NAME_PROP ",\"csv\":{\"type\":\"string\","
	  "\"description\":\"The CSV text, header first\"},\"path\":{\"type\":\"string\","
	  "\"description\":\"A CSV file on the server's machine (stdio only)\"},\"mode\":"
	  "{\"type\":\"string\",\"enum\":[\"replace\",\"append\"]}},\"required\":[\"name\"],"
	  "\"additionalProperties\":false}",
	  0, 1, 0, 1, run_ingest_csv },
	{ "record_feedback", "Rate a search result",
	  "Record that, for a search query over a dataset, one result row was good (score 1: "
	  "placed, shortlisted) or bad (-1: rejected), or in between. Later searches with "
	  "feedback true move rated rows up or down for similar queries. `id` is the value of "
	  "the row's id column (the index declares it; search hits show it). Appends to the "
	  "dataset <dataset>__feedback, queryable with SQL. Needs a write token.",
	  "{\"type\":\"object\",\"properties\":{\"dataset\":{\"type\":\"string\","
	  "\"description\":\"The searched dataset (its name, without @N)\"},\"query\":"
	  "{\"type\":\"string\",\"description\":\"The search's text, as it was asked\"},"
	  "\"id\":{\"type\":[\"string\",\"integer\"],\"description\":\"The rated row's id\"},"
	  "\"score\":{\"type\":\"number\",\"minimum\":-1,\"maximum\":1,\"description\":"
	  "\"From -1 (rejected) to 1 (placed)\"}},\"required\":[\"dataset\",\"query\",\"id\","
	  "\"score\"],\"additionalProperties\":false}",
	  0, 0, 0, 1, run_record_feedback },
};
#define MCP_NTOOLS (sizeof mcp_tools / sizeof mcp_tools[0])

json_t *mcp_tools_list(struct mcp_backend *b)
{
	json_t *tools = json_array();
	if (b->writer < 0)
		mcp_tools_writer(b);   /* stdio: ask the lakehouse once (note 2) */
	for (size_t i = 0; i < MCP_NTOOLS; i++) {
		const struct mcp_tool *t = &mcp_tools[i];
		if (t->write && b->writer != 1)
			continue;   /* not known (the lakehouse did not answer) is no */
		json_t *schema = json_loads(t->schema, 0, NULL);
		json_t *ann = json_pack("{s:s,s:b,s:b,s:b,s:b}", "title", t->title, "readOnlyHint",
					t->read_only, "destructiveHint", t->destructive,
					"idempotentHint", t->idempotent, "openWorldHint", 0);
		json_array_append_new(tools, json_pack("{s:s,s:s,s:s,s:o,s:o}", "name", t->name,
						       "title", t->title, "description",
						       t->description, "inputSchema", schema,
						       "annotations", ann));
	}
	return json_pack("{s:o}", "tools", tools);
}

int mcp_tool_known(const char *name)
{
	for (size_t i = 0; i < MCP_NTOOLS; i++)
		if (strcmp(name, mcp_tools[i].name) == 0)
			return 1;
	return 0;
}

/* --- results ------------------------------------------------------------------------ */

/* Never NULL: text that is not UTF-8 (a byte cut) is clipped to whole
 * characters, and failing that a fixed text says so. */
static json_t *result_new(const char *text, int is_error)
{
	json_t *r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", text,
			      "isError", is_error);
	if (!r) {
		size_t n = strlen(text ? text : "") + 1;
		char *clean = xmalloc(n);
		r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
			      mcp_clip(clean, n, text), "isError", is_error);
		free(clean);
	}
	if (!r)
		r = json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text",
			      "internal error: the answer's text could not be encoded", "isError",
			      1);
	return r;
}

static json_t *result_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *result_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char clean[sizeof msg];   /* the byte cut may split a character */
	return result_new(mcp_clip(clean, sizeof clean, msg), 1);
}

/* The lakehouse's error answer as a tool error, in its own words. */
static json_t *result_answer_error(const struct mcp_answer *a)
{
	json_t *j = a->body ? json_loadb(a->body, a->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "error"));
	json_t *r;
	if (a->status == 403)
		r = result_error("this token may only read; the lakehouse said: %s",
				 msg ? msg : "forbidden");
	else if (a->status == 401)
		r = result_error("the lakehouse refused the token (check LAKEHOUSE_TOKEN or the "
				 "Authorization header): %s",
				 msg ? msg : "unauthorized");
	else if (msg)
		r = result_error("%s", msg);
	else
		r = result_error("the lakehouse answered HTTP %ld", a->status);
	json_decref(j);
	return r;
}

/* One /v1 JSON call. Returns 0 with *out (the 2xx answer's JSON), or -1
 * with *fail set to the tool result that says why (a new reference);
 * *status (optional OUT) is the HTTP status, 0 when nothing answered. */
static int v1_json(struct mcp_backend *b, const char *method, const char *path,
		   const json_t *body, long *status, json_t **out, json_t **fail)
{
	struct lh_error err = { 0 };
	struct mcp_answer a = { 0 };
	char *text = body ? json_dump_compact(body) : NULL;
	int rc = -1;

	*out = NULL;
	*fail = NULL;
	if (status)
		*status = 0;
	if (b->call(b->ctx, method, path, text ? "application/json" : NULL, text,
		    text ? strlen(text) : 0, -1, &a, &err) != 0) {
		*fail = result_error("%s", err.msg);
		lh_error_clear(&err);
		goto out;
	}
	if (status)
		*status = a.status;
	if (a.status < 200 || a.status > 299) {
		*fail = result_answer_error(&a);
		goto out;
	}
	*out = a.body ? json_loadb(a.body, a.len, 0, NULL) : NULL;
	if (!*out) {
		*fail = result_error("the lakehouse sent an answer that is not JSON");
		goto out;
	}
	rc = 0;
out:
	free(text);
	mcp_answer_free(&a);
	return rc;
}

/* --- rendering ----------------------------------------------------------------------- */

/* A cell: strings as they are (control bytes made spaces, '|' escaped),
 * NULL as NULL, anything else as compact JSON. */
static void cell_append(struct lh_buf *out, const json_t *v)
{
	if (json_is_null(v) || !v) {
		lh_buf_append(out, "NULL", 4);
		return;
	}
	char *dumped = NULL;
	const char *s = json_string_value(v);
	if (!s)
		s = dumped = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	for (const char *p = s; p && *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			lh_buf_append(out, " ", 1);
		else if (c == '|')
			lh_buf_append(out, "\\|", 2);
		else
			lh_buf_append(out, p, 1);
	}
	free(dumped);
}

static void thousands(char out[32], size_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof digits, "%zu", n);
	size_t k = 0;
	for (int i = 0; i < len; i++) {
		if (i && (len - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
}

/* Cut `b` to at most `room` bytes (room >= 4) at a UTF-8 character boundary
 * and end it with "…\n" (the text in it is UTF-8: it came from jansson). */
static void line_cut(struct lh_buf *b, size_t room)
{
	size_t n = room > 4 ? room - 4 : 0;   /* "…" is 3 bytes, then "\n" */
	if (n > b->len)
		n = b->len;
	while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
		n--;
	b->len = n;
	lh_buf_append(b, "\xE2\x80\xA6\n", 4);
}

/* mcp_render_rows, also saying in *cut_out whether a line (the header or
 * the one row shown) was wider than the byte cap and cut at "…". */
static char *render_rows(const json_t *answer, size_t max_rows, size_t max_bytes,
			 int *truncated, size_t *nshown_out, int *cut_out)
{
	const json_t *columns = json_object_get(answer, "columns");
	const json_t *rows = json_object_get(answer, "rows");
	struct lh_buf out, line;
	size_t shown = 0, i;
	int cut = 0, more = 0;
	char caps_rows[32], caps_bytes[32], nshown[32];

	*truncated = json_is_true(json_object_get(answer, "truncated"));
	more = *truncated;
	lh_buf_init(&out, (size_t)-1);
	lh_buf_init(&line, (size_t)-1);
	for (i = 0; i < json_array_size(columns); i++) {
		const json_t *c = json_array_get(columns, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		if (i)
			lh_buf_append(&out, " | ", 3);
		cell_append(&out, name ? json_object_get(c, "name") : c);
	}
	lh_buf_append(&out, "\n", 1);
	if (out.len > max_bytes / 2) {   /* the header counts: leave room for a row */
		line_cut(&out, max_bytes / 2);
		cut = 1;
		*truncated = 1;
	}
	for (i = 0; i < json_array_size(rows); i++) {
		if (shown >= max_rows) {
			*truncated = more = 1;
			break;
		}
		const json_t *row = json_array_get(rows, i);
		for (size_t j = 0; j < json_array_size(row); j++) {
			if (j)
				lh_buf_append(&line, " | ", 3);
			cell_append(&line, json_array_get(row, j));
		}
		lh_buf_append(&line, "\n", 1);
		if (out.len + line.len > max_bytes) {
			*truncated = 1;
			if (shown > 0) {
				more = 1;
				break;
			}
			/* one row wider than the cap: show it cut, not nothing */
			line_cut(&line, max_bytes - out.len);
			cut = 1;
			if (i + 1 < json_array_size(rows))
				more = 1;
		}
		lh_buf_append(&out, line.data, line.len);
		line.len = 0;
		shown++;
	}
	lh_buf_free(&line);
	if (nshown_out)
		*nshown_out = shown;
	if (cut_out)
		*cut_out = cut;
	thousands(caps_rows, max_rows);
	thousands(nshown, shown);
	snprintf(caps_bytes, sizeof caps_bytes, "%zu KiB", max_bytes / 1024);
	char *tail;
	if (cut)
		tail = xasprintf("(%s row%s shown; truncated: a line was wider than the %s cap and "
				 "was cut at \"\xE2\x80\xA6\"%s; select fewer or shorter columns, "
				 "e.g. left(col, 200))",
				 nshown, shown == 1 ? "" : "s", caps_bytes,
				 more ? ", and the result has more rows than shown" : "");
	else if (max_rows == (size_t)-1 && !*truncated)
		tail = xasprintf("(%s row%s)", nshown, shown == 1 ? "" : "s");
	else if (max_rows == (size_t)-1)
		tail = xasprintf("(%s row%s shown; truncated at %s)", nshown, shown == 1 ? "" : "s",
				 caps_bytes);
	else if (*truncated)
		tail = xasprintf("(%s row%s shown; truncated: the result has more rows than "
				 "shown, the caps being %s rows / %s; aggregate, filter or add "
				 "a LIMIT to see the rest)",
				 nshown, shown == 1 ? "" : "s", caps_rows, caps_bytes);
	else
		tail = xasprintf("(%s row%s; not truncated; caps %s rows / %s)", nshown,
				 shown == 1 ? "" : "s", caps_rows, caps_bytes);
	lh_buf_append(&out, tail, strlen(tail));
	free(tail);
	return lh_buf_take(&out);
}

char *mcp_render_rows(const json_t *answer, size_t max_rows, size_t max_bytes, int *truncated,
		      size_t *nshown_out)
{
	return render_rows(answer, max_rows, max_bytes, truncated, nshown_out, NULL);
}

/* --- "did you mean" ----------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return (size_t)-1;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t m = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < m)
				m = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < m)
				m = d[i - 1][j - 1] + cost;
			d[i][j] = m;
		}
	return d[la][lb];
}

const char *mcp_closest_name(const char *name, const char *const *names, size_t n)
{
	size_t best = (size_t)-1, limit = strlen(name) / 3;
	const char *found = NULL;
	if (limit < 2)
		limit = 2;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, names[i]);
		if (d <= limit && d < best) {
			best = d;
			found = names[i];
		}
	}
	return found;
}

/* An unknown dataset in words, with the closest existing name. */
static json_t *unknown_dataset(struct mcp_backend *b, const char *name)
{
	json_t *list = NULL, *fail = NULL;
	const char **names = NULL;
	size_t n = 0;
	const char *close = NULL;

	if (v1_json(b, "GET", "/v1/catalog/datasets", NULL, NULL, &list, &fail) == 0) {
		const json_t *ds = json_object_get(list, "datasets");
		names = xcalloc(json_array_size(ds) + 1, sizeof *names);
		for (size_t i = 0; i < json_array_size(ds); i++) {
			const char *s = json_string_value(
				json_object_get(json_array_get(ds, i), "name"));
			if (s)
				names[n++] = s;
		}
		close = mcp_closest_name(name, names, n);
	}
	json_t *r = close ? result_error("unknown dataset '%s'; did you mean '%s'?", name, close)
			  : result_error("unknown dataset '%s' (list_datasets shows them all)",
					 name);
	free(names);
	json_decref(list);
	json_decref(fail);
	return r;
}

/* --- argument helpers ---------------------------------------------------------------- */

static const char *arg_string(const json_t *args, const char *field)
{
	return json_string_value(json_object_get(args, field));
}

/* A required dataset name: NULL with *fail when missing or malformed. */
static const char *arg_name(const json_t *args, const char *field, json_t **fail)
{
	const char *name = arg_string(args, field);
	*fail = NULL;
	if (!name)
		*fail = result_error("\"%s\" is required (a dataset name)", field);
	return name;
}

/* --- the tools ----------------------------------------------------------------------- */

static json_t *run_list_datasets(struct mcp_backend *b, const json_t *args)
{
	json_t *list = NULL, *fail = NULL;
	(void)args;
	if (v1_json(b, "GET", "/v1/catalog/datasets", NULL, NULL, &list, &fail) != 0)
		return fail;
	const json_t *ds = json_object_get(list, "datasets");
	json_t *table = json_pack("{s:[s,s,s,s,s],s:[]}", "columns", "name", "version", "rows",
				  "size_bytes", "updated_at", "rows");
	json_t *rows = json_object_get(table, "rows");
	for (size_t i = 0; i < json_array_size(ds); i++) {
		const json_t *d = json_array_get(ds, i);
		json_array_append_new(
			rows, json_pack("[O,O,O,O,O]", json_object_get(d, "name"),
					json_object_get(d, "version"), json_object_get(d, "row_count"),
					json_object_get(d, "size_bytes"),
					json_object_get(d, "updated_at")));
	}
	json_t *r;
	if (json_array_size(ds) == 0) {
		r = result_new("No datasets yet.", 0);
	} else {
		int trunc;
		char *text = mcp_render_rows(table, (size_t)-1, LH_MCP_QUERY_MAX_BYTES, &trunc, NULL);
		r = result_new(text, 0);
		free(text);
	}
	json_object_set_new(r, "structuredContent", json_pack("{s:O}", "datasets", ds));
	json_decref(table);
	json_decref(list);
	return r;
}

static json_t *v1_query(struct mcp_backend *b, const char *sql, size_t max_rows, json_t **out)
{
	json_t *fail = NULL;
	json_t *body = json_pack("{s:s,s:s,s:I}", "sql", sql, "format", "json", "max_rows",
				 (json_int_t)max_rows);
	v1_json(b, "POST", "/v1/query", body, NULL, out, &fail);
	json_decref(body);
	return fail;
}

static void versions_text(struct lh_buf *t, const json_t *versions)
{
	const json_t *vs = json_object_get(versions, "versions");
	for (size_t i = 0; i < json_array_size(vs); i++) {
		const json_t *v = json_array_get(vs, i);
		char *s = xasprintf("%s%lld (%s, %lld rows, %s)", i ? "; " : "",
				    (long long)json_integer_value(json_object_get(v, "version")),
				    json_string_value(json_object_get(v, "created_at")),
				    (long long)json_integer_value(json_object_get(v, "row_count")),
				    json_string_value(json_object_get(v, "mode"))
					    ? json_string_value(json_object_get(v, "mode"))
					    : "?");
		lh_buf_append(t, s, strlen(s));
		free(s);
	}
}

/* The index state in words, and its JSON summary in *state (new ref). */
static void index_text(struct mcp_backend *b, const char *enc, struct lh_buf *t, json_t **state)
{
	json_t *idx = NULL, *fail = NULL;
	long status = 0;
	char *path = xasprintf("/v1/catalog/index/%s", enc);
	char *s;

	*state = json_null();
	if (v1_json(b, "GET", path, NULL, &status, &idx, &fail) != 0) {
		if (status == 404)
			s = xstrdup("Search index: none, so the search tool cannot search it (a "
				    "person with a write token declares one: lakehouse index "
				    "<name> --text col1,col2).");
		else
			s = xstrdup("Search index: unknown (the lakehouse did not say).");
		goto out;
	}
	const json_t *decl = json_object_get(idx, "declaration");
	const json_t *text_cols = json_object_get(decl, "text");
	const json_t *vs = json_object_get(idx, "versions");
	const json_t *last = json_array_get(vs, json_array_size(vs) - 1);
	char *cols = json_dumps(text_cols, JSON_COMPACT);
	s = xasprintf("Search index: text columns %s, embedder %s; latest version %lld is %s.",
		      cols ? cols : "[]",
		      json_string_value(json_object_get(decl, "embedder"))
			      ? json_string_value(json_object_get(decl, "embedder"))
			      : "?",
		      (long long)json_integer_value(json_object_get(last, "version")),
		      json_string_value(json_object_get(last, "state"))
			      ? json_string_value(json_object_get(last, "state"))
			      : "unknown");
	json_decref(*state);
	*state = json_pack("{s:O,s:O}", "text", text_cols ? text_cols : json_null(), "state",
			   json_object_get(last, "state") ? json_object_get(last, "state")
							  : json_null());
	free(cols);
out:
	lh_buf_append(t, s, strlen(s));
	free(s);
	free(path);
	json_decref(idx);
	json_decref(fail);
}

/* describe_dataset and resources/read: the text, and *structured (new ref,
 * optional). Returns NULL with *fail (new ref) when the dataset is unknown
 * or the lakehouse failed; *status the manifest call's status. */
static char *describe(struct mcp_backend *b, const char *name, json_t **structured,
		      long *status, json_t **fail)
{
	json_t *man = NULL, *vers = NULL, *sample = NULL, *state = NULL, *f2 = NULL;
	char *enc = url_encode(name, 0);
	char *path = xasprintf("/v1/catalog/manifest/%s", enc);
	char *text = NULL, *s;
	struct lh_buf t;

	lh_buf_init(&t, (size_t)-1);
	if (v1_json(b, "GET", path, NULL, status, &man, fail) != 0)
		goto out;
	const char *real = json_string_value(json_object_get(man, "name"));
	s = xasprintf("Dataset %s: version %lld, %lld rows, %lld bytes, updated %s.\nColumns "
		      "(name type nullability):\n",
		      real ? real : name,
		      (long long)json_integer_value(json_object_get(man, "version")),
		      (long long)json_integer_value(json_object_get(man, "row_count")),
		      (long long)json_integer_value(json_object_get(man, "size_bytes")),
		      json_string_value(json_object_get(man, "updated_at"))
			      ? json_string_value(json_object_get(man, "updated_at"))
			      : "?");
	lh_buf_append(&t, s, strlen(s));
	free(s);
	const json_t *schema = json_object_get(man, "schema");
	for (size_t i = 0; i < json_array_size(schema); i++) {
		const json_t *c = json_array_get(schema, i);
		s = xasprintf("  %s %s %s\n", json_string_value(json_object_get(c, "name")),
			      json_string_value(json_object_get(c, "type")),
			      json_is_true(json_object_get(c, "nullable")) ? "NULL"
									  : "NOT NULL");
		lh_buf_append(&t, s, strlen(s));
		free(s);
	}
	free(path);
	path = xasprintf("/v1/catalog/versions/%s", enc);
	lh_buf_append(&t, "Versions: ", 10);
	if (v1_json(b, "GET", path, NULL, NULL, &vers, &f2) == 0)
		versions_text(&t, vers);
	else
		lh_buf_append(&t, "(unknown)", 9);
	json_decref(f2);
	f2 = NULL;
	lh_buf_append(&t, "\n", 1);
	index_text(b, enc, &t, &state);
	lh_buf_append(&t, "\n", 1);
	char *sql = xasprintf("SELECT * FROM \"%s\" LIMIT %d", real ? real : name,
			      LH_MCP_SAMPLE_ROWS);
	f2 = v1_query(b, sql, LH_MCP_SAMPLE_ROWS, &sample);
	free(sql);
	if (!f2) {
		int trunc;
		char *rows = mcp_render_rows(sample, LH_MCP_SAMPLE_ROWS, LH_MCP_QUERY_MAX_BYTES,
					     &trunc, NULL);
		s = xasprintf("Sample rows (first %d):\n%s", LH_MCP_SAMPLE_ROWS, rows);
		free(rows);
	} else {
		s = xasprintf("Sample rows: unavailable (%s)",
			      json_string_value(json_object_get(
				      json_array_get(json_object_get(f2, "content"), 0), "text")));
	}
	lh_buf_append(&t, s, strlen(s));
	free(s);
	if (structured)
		*structured = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "name",
					json_object_get(man, "name"), "version",
					json_object_get(man, "version"), "row_count",
					json_object_get(man, "row_count"), "schema", schema,
					"versions",
					vers ? json_object_get(vers, "versions") : json_null(),
					"index", state);
	text = lh_buf_take(&t);
out:
	lh_buf_free(&t);
	json_decref(man);
	json_decref(vers);
	json_decref(sample);
	json_decref(state);
	json_decref(f2);
	free(path);
	free(enc);
	return text;
}

static json_t *run_describe_dataset(struct mcp_backend *b, const json_t *args)
{
	json_t *fail = NULL, *structured = NULL;
	long status = 0;
	const char *name = arg_name(args, "name", &fail);
	if (!name)
		return fail;
	char *text = describe(b, name, &structured, &status, &fail);
	if (!text) {
		if (status == 404 || status == 400) {
			json_decref(fail);
			return unknown_dataset(b, name);
		}
		return fail;
	}
	json_t *r = result_new(text, 0);
	json_object_set_new(r, "structuredContent", structured);
	free(text);
	return r;
}

static json_t *run_query(struct mcp_backend *b, const json_t *args)
{
	json_t *answer = NULL, *fail;
	const char *sql = arg_string(args, "sql");
	json_int_t max_rows = LH_MCP_QUERY_MAX_ROWS;
	const json_t *mr = json_object_get(args, "max_rows");
	int trunc;

	if (!sql)
		return result_error("\"sql\" is required: one read-only SQL statement");
	if (mr && (!json_is_integer(mr) || json_integer_value(mr) < 1))
		return result_error("\"max_rows\" must be an integer from 1 to %d",
				    LH_MCP_QUERY_MAX_ROWS);
	if (mr && json_integer_value(mr) < max_rows)
		max_rows = json_integer_value(mr);
	fail = v1_query(b, sql, (size_t)max_rows, &answer);
	if (fail)
		return fail;
	size_t shown = 0;
	char *text = mcp_render_rows(answer, (size_t)max_rows, LH_MCP_QUERY_MAX_BYTES, &trunc,
				     &shown);
	json_t *r = result_new(text, 0);
	free(text);
	json_t *cols = json_array();
	const json_t *ac = json_object_get(answer, "columns");
	for (size_t i = 0; i < json_array_size(ac); i++)
		json_array_append(cols, json_object_get(json_array_get(ac, i), "name"));
	json_object_set_new(r, "structuredContent",
			    json_pack("{s:o,s:I,s:b,s:i,s:i}", "columns", cols, "row_count",
				      (json_int_t)shown, "truncated", trunc,
				      "max_rows", LH_MCP_QUERY_MAX_ROWS, "max_bytes",
				      (int)LH_MCP_QUERY_MAX_BYTES));
	json_decref(answer);
	return r;
}

static json_t *run_search(struct mcp_backend *b, const json_t *args)
{
	json_t *answer = NULL, *fail = NULL;
	const char *dataset = arg_string(args, "dataset");
	const char *query = arg_string(args, "query");
	static const char *const optional[] = { "k", "mode", "where", "columns", "feedback" };
	int trunc;

	if (!dataset || !query)
		return result_error("\"dataset\" and \"query\" are required");
	json_t *body = json_pack("{s:s,s:s}", "dataset", dataset, "query", query);
	for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++) {
		json_t *v = json_object_get(args, optional[i]);
		if (v && !json_is_null(v))
			json_object_set(body, optional[i], v);
	}
	long status = 0;
	int rc = v1_json(b, "POST", "/v1/search", body, &status, &answer, &fail);
	json_decref(body);
	if (rc != 0)
		return fail;
	/* Hits as a table: score, then the row's columns in order. */
	const json_t *hits = json_object_get(answer, "results");
	json_t *table = json_pack("{s:[s],s:[]}", "columns", "_score", "rows");
	json_t *columns = json_object_get(table, "columns");
	json_t *rows = json_object_get(table, "rows");
	const char *key;
	json_t *v;
	json_object_foreach(json_object_get(json_array_get(hits, 0), "row"), key, v)
		json_array_append_new(columns, json_string(key));
	for (size_t i = 0; i < json_array_size(hits); i++) {
		const json_t *h = json_array_get(hits, i);
		json_t *row = json_array();
		json_array_append(row, json_object_get(h, "score"));
		for (size_t j = 1; j < json_array_size(columns); j++)
			json_array_append(row,
					  json_object_get(json_object_get(h, "row"),
							  json_string_value(
								  json_array_get(columns, j))));
		json_array_append_new(rows, row);
	}
	size_t shown = 0;
	int cut = 0;
	char *hits_text = render_rows(table, LH_MCP_QUERY_MAX_ROWS, LH_MCP_QUERY_MAX_BYTES,
				      &trunc, &shown, &cut);
	const json_t *ver = json_object_get(answer, "version");
	const char *ds_name = json_string_value(json_object_get(answer, "dataset"));
	const char *mode = json_string_value(json_object_get(answer, "mode"));
	char where[128];
	if (ver)
		snprintf(where, sizeof where, "%s version %lld", ds_name ? ds_name : dataset,
			 (long long)json_integer_value(ver));
	else
		snprintf(where, sizeof where, "%s", ds_name ? ds_name : dataset);
	char *text = xasprintf("%zu hit%s in %s (mode %s, %lld rows searched), best first:\n%s",
			       json_array_size(hits), json_array_size(hits) == 1 ? "" : "s",
			       where, mode ? mode : "?",
			       (long long)json_integer_value(
				       json_object_get(answer, "searched_rows")),
			       hits_text);
	json_t *r = result_new(text, 0);
	/* structuredContent holds what the text shows, no more (the caps):
	 * the hits shown, and a hit whose line was cut without its row */
	json_t *shown_hits = json_array();
	for (size_t i = 0; i < shown && i < json_array_size(hits); i++) {
		json_t *h = json_deep_copy(json_array_get(hits, i));
		if (cut)
			json_object_del(h, "row");
		json_array_append_new(shown_hits, h);
	}
	json_object_set_new(r, "structuredContent",
			    json_pack("{s:o,s:I,s:I,s:b}", "results", shown_hits, "shown",
				      (json_int_t)shown, "hits", (json_int_t)json_array_size(hits),
				      "truncated", trunc));
	free(text);
	free(hits_text);
	json_decref(table);
	json_decref(answer);
	return r;
}

static json_t *run_list_versions(struct mcp_backend *b, const json_t *args)
{
	json_t *vers = NULL, *fail = NULL;
	long status = 0;
	int trunc;
	const char *name = arg_name(args, "name", &fail);
	if (!name)
		return fail;
	char *enc = url_encode(name, 0);
	char *path = xasprintf("/v1/catalog/versions/%s", enc);
	int rc = v1_json(b, "GET", path, NULL, &status, &vers, &fail);
	free(path);
	free(enc);
	if (rc != 0) {
		if (status == 404 || status == 400) {
			json_decref(fail);
			return unknown_dataset(b, name);
		}
		return fail;
	}
	const json_t *vs = json_object_get(vers, "versions");
	json_t *table = json_pack("{s:[s,s,s,s,s,s],s:[]}", "columns", "version", "created_at",
				  "rows", "size_bytes", "mode", "schema_fingerprint", "rows");
	for (size_t i = 0; i < json_array_size(vs); i++) {
		const json_t *v = json_array_get(vs, i);
		json_array_append_new(json_object_get(table, "rows"),
				      json_pack("[O,O,O,O,O,O]", json_object_get(v, "version"),
						json_object_get(v, "created_at"),
						json_object_get(v, "row_count"),
						json_object_get(v, "size_bytes"),
						json_object_get(v, "mode") ? json_object_get(v, "mode")
									   : json_null(),
						json_object_get(v, "schema_fingerprint")));
	}
	char *text = mcp_render_rows(table, (size_t)-1, LH_MCP_QUERY_MAX_BYTES, &trunc, NULL);
	json_t *r = result_new(text, 0);
	json_object_set_new(r, "structuredContent", json_pack("{s:O}", "versions", vs));
	free(text);
	json_decref(table);
	json_decref(vers);
	return r;
}

static json_t *run_ingest_csv(struct mcp_backend *b, const json_t *args)
{
	json_t *fail = NULL, *r = NULL, *answer = NULL;
	const char *name = arg_name(args, "name", &fail);
	const char *csv = arg_string(args, "csv");
	const char *file = arg_string(args, "path");
	const char *mode = arg_string(args, "mode");
	struct lh_error err = { 0 };
	struct mcp_answer a = { 0 };
	char *enc = NULL, *enc_mode = NULL, *path = NULL;
	int fd = -1;
	size_t len = 0;

	if (!name)
		return fail;
	if (b->writer == 0)
		return result_error("this token may only read: ingest_csv needs a write token");
	if ((csv != NULL) == (file != NULL))
		return result_error("give the CSV either as text in \"csv\" or as a file in "
				    "\"path\", one of the two");
	if (file && !b->local_files)
		return result_error("\"path\" is read only by the stdio server (lakehouse mcp, "
				    "on your own machine); over HTTP send the CSV text in "
				    "\"csv\"");
	if (file) {
		struct stat st;
		/* O_NONBLOCK: a FIFO or a device must not block the server in
		 * open(); only a regular file is read, then in blocking mode */
		fd = open(file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			r = result_error("cannot read %s: %s", file,
					 fd < 0 ? strerror(errno) : "not a regular file");
			goto out;
		}
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
			r = result_error("cannot read %s: %s", file, strerror(errno));
			goto out;
		}
		len = (size_t)st.st_size;
	} else {
		len = strlen(csv);
	}
	enc = url_encode(name, 0);
	enc_mode = url_encode(mode ? mode : "replace", 0);
	path = xasprintf("/v1/ingest?name=%s&mode=%s", enc, enc_mode);
	if (b->call(b->ctx, "POST", path, "text/csv", fd >= 0 ? NULL : csv, len, fd, &a, &err) !=
	    0) {
		r = result_error("%s", err.msg);
		goto out;
	}
	if (a.status < 200 || a.status > 299) {
		r = result_answer_error(&a);
		goto out;
	}
	answer = a.body ? json_loadb(a.body, a.len, 0, NULL) : NULL;
	const json_t *man = json_object_get(answer, "manifest");
	long long rows = (long long)json_integer_value(json_object_get(answer, "row_count"));
	long long version = (long long)json_integer_value(json_object_get(man, "version"));
	long long total = (long long)json_integer_value(json_object_get(man, "row_count"));
	char *text;
	if (json_is_true(json_object_get(answer, "existing")))
		text = xasprintf("Nothing new: %s version %lld already holds this CSV (%lld row%s).",
				 name, version, total, total == 1 ? "" : "s");
	else
		text = xasprintf("Ingested %lld row%s into %s: now version %lld with %lld row%s in "
				 "all (mode %s).",
				 rows, rows == 1 ? "" : "s", name, version, total,
				 total == 1 ? "" : "s", mode ? mode : "replace");
	/* columns read with the dataset's types (ADR 0170): say which */
	const json_t *cast = json_object_get(answer, "cast");
	for (size_t i = 0; i < json_array_size(cast); i++) {
		const json_t *c = json_array_get(cast, i);
		const char *col = json_string_value(json_object_get(c, "column"));
		const char *from = json_string_value(json_object_get(c, "from"));
		const char *to = json_string_value(json_object_get(c, "to"));
		char *more = xasprintf("%s%s%s %s -> %s%s", text,
				       i ? ", " : " Read with the dataset's types: ", col ? col : "?",
				       from ? from : "?", to ? to : "?",
				       i + 1 == json_array_size(cast) ? "." : "");
		free(text);
		text = more;
	}
	r = result_new(text, 0);
	free(text);
	if (answer)
		json_object_set_new(r, "structuredContent", json_incref(answer));
out:
	if (fd >= 0)
		close(fd);
	lh_error_clear(&err);
	mcp_answer_free(&a);
	json_decref(answer);
	free(enc);
	free(enc_mode);
	free(path);
	return r;
}

static json_t *run_record_feedback(struct mcp_backend *b, const json_t *args)
{
	json_t *answer = NULL, *fail = NULL;
	const char *dataset = arg_string(args, "dataset");
	const char *query = arg_string(args, "query");
	const json_t *id = json_object_get(args, "id"), *score = json_object_get(args, "score");
	long status = 0;

	if (b->writer == 0)
		return result_error("this token may only read: record_feedback needs a write token");
	if (!dataset || !query || !(json_is_string(id) || json_is_integer(id)) ||
	    !json_is_number(score))
		return result_error("\"dataset\", \"query\" (text), \"id\" (the row's id) and "
				    "\"score\" (a number from -1 to 1) are required");
	json_t *body = json_pack("{s:s,s:s,s:O,s:O}", "dataset", dataset, "query", query, "id", id,
				 "score", score);
	int rc = v1_json(b, "POST", "/v1/search/feedback", body, &status, &answer, &fail);
	json_decref(body);
	if (rc != 0)
		return fail;
	char *idtext = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	char *text = xasprintf("Recorded: row %s rated %g for \"%s\" in %s version %lld. Search "
			       "with feedback true to use it.",
			       idtext ? idtext : "?", json_number_value(score), query,
			       json_string_value(json_object_get(answer, "feedback_dataset")),
			       (long long)json_integer_value(json_object_get(answer, "version")));
	json_t *r = result_new(text, 0);
	json_object_set_new(r, "structuredContent", answer);
	free(idtext);
	free(text);
	return r;
}

json_t *mcp_tools_call(struct mcp_backend *b, const char *name, const json_t *args)
{
	json_t *empty = NULL;
	if (!args)
		args = empty = json_object();
	json_t *r = NULL;
	for (size_t i = 0; i < MCP_NTOOLS; i++)
		if (strcmp(name, mcp_tools[i].name) == 0) {
			if (mcp_tools[i].write && b->writer == 0)
				r = result_error("this token may only read: %s needs a write "
						 "token",
						 name);
			else
				r = mcp_tools[i].run(b, args);
			break;
		}
	if (!r)   /* mcp_protocol.c checked the name: only a failed tool gets here */
		r = result_error("internal error: the tool %s gave no answer", name);
	json_decref(empty);
	return r;
}

void mcp_tools_writer(struct mcp_backend *b)
{
	struct lh_error err = { 0 };
	struct mcp_answer a = { 0 };

	if (b->writer >= 0)
		return;
	if (b->call(b->ctx, "POST", "/v1/ingest", "text/csv", "", 0, -1, &a, &err) == 0) {
		if (a.status == 403)
			b->writer = 0;
		else if (a.status != 401)
			b->writer = 1;
	}
	lh_error_clear(&err);
	mcp_answer_free(&a);
}

/* --- resources ----------------------------------------------------------------------- */

#define MCP_URI_PREFIX "lakehouse://datasets/"

int mcp_resources_list(struct mcp_backend *b, json_t **out, struct lh_error *err)
{
	json_t *list = NULL, *fail = NULL;
	*out = NULL;
	if (v1_json(b, "GET", "/v1/catalog/datasets", NULL, NULL, &list, &fail) != 0) {
		lh_fail(err, 502, "upstream_failed", "%s",
			json_string_value(json_object_get(
				json_array_get(json_object_get(fail, "content"), 0), "text")));
		json_decref(fail);
		return -1;
	}
	json_t *res = json_array();
	const json_t *ds = json_object_get(list, "datasets");
	for (size_t i = 0; i < json_array_size(ds); i++) {
		const json_t *d = json_array_get(ds, i);
		const char *name = json_string_value(json_object_get(d, "name"));
		if (!name)
			continue;
		char *uri = xasprintf(MCP_URI_PREFIX "%s", name);
		char *desc = xasprintf("Dataset %s: version %lld, %lld rows; its schema and "
				       "sample rows",
				       name,
				       (long long)json_integer_value(json_object_get(d, "version")),
				       (long long)json_integer_value(
					       json_object_get(d, "row_count")));
		json_array_append_new(res, json_pack("{s:s,s:s,s:s,s:s}", "uri", uri, "name", name,
						     "description", desc, "mimeType",
						     "text/plain"));
		free(uri);
		free(desc);
	}
	*out = json_pack("{s:o}", "resources", res);
	json_decref(list);
	return 0;
}

int mcp_resources_read(struct mcp_backend *b, const char *uri, json_t **out,
		       struct lh_error *err)
{
	json_t *fail = NULL;
	long status = 0;
	char clipped_uri[201];
	*out = NULL;
	if (strncmp(uri, MCP_URI_PREFIX, strlen(MCP_URI_PREFIX)) != 0 ||
	    !uri[strlen(MCP_URI_PREFIX)])
		return lh_fail(err, 404, "not_found",
			       "Resource not found: %s (resources are "
			       "lakehouse://datasets/<name>)",
			       mcp_clip(clipped_uri, sizeof clipped_uri, uri));
	const char *name = uri + strlen(MCP_URI_PREFIX);
	char *text = describe(b, name, NULL, &status, &fail);
	if (!text) {
		const char *msg = json_string_value(json_object_get(
			json_array_get(json_object_get(fail, "content"), 0), "text"));
		if (status == 404 || status == 400)
			lh_fail(err, 404, "not_found", "Resource not found: %s (%s)",
				mcp_clip(clipped_uri, sizeof clipped_uri, uri),
				msg ? msg : "no such dataset");
		else
			lh_fail(err, 502, "upstream_failed", "%s", msg ? msg : "failed");
		json_decref(fail);
		return -1;
	}
	*out = json_pack("{s:[{s:s,s:s,s:s}]}", "contents", "uri", uri, "mimeType", "text/plain",
			 "text", text);
	free(text);
	return 0;
}
