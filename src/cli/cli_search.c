/* cli_search.c — `lakehouse search NAME QUERY [--where SQL] [-k N]
 * [--mode hybrid|text|vector] [--columns a,b] [--feedback] [--json] [--wide]`: one search
 * through the gateway's POST /v1/search (SPEC 11, docs/cli.md, ADR 0151).
 *
 * The answer is a plain table fitted to the terminal's width (cli_table.c):
 * the rank, the score, in hybrid mode each ranking's rank, then the row's
 * columns — the index's id column first, then its text columns, then the
 * rest, or the order --columns asked for — where a text column the query matched shows its highlight (the
 * snippet around the match) with the matched words bold on a terminal and
 * [in brackets] in a pipe. A match in a column --columns left out shows in
 * a last MATCH column. NAME,NAME searches several datasets ("datasets"):
 * a DATASET column names each result's, the columns are every dataset's. A
 * footer says "N results of M rows searched (K not
 * yet indexed) in X ms". --json prints the server's answer as it is.
 * --feedback asks for the re-rank by past ratings (ADR 0190): a hit that
 * moved says why in a last FEEDBACK column (+1 "the past query" 0.93).
 *
 * Errors are the server's words on stderr (cli_http.c); a dataset without
 * an index also gets the `lakehouse index` command that declares one, with
 * the dataset's text columns filled in.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse search NAME[@VERSION][,NAME...] QUERY [--where SQL] [-k N]\n"
		"                        [--mode hybrid|text|vector] [--columns A,B] [--feedback]\n"
		"                        [--json] [--wide]\n"
		"\n"
		"Searches dataset NAME (its latest version, or VERSION) for QUERY: by its words\n"
		"(BM25) and by its meaning (embeddings), over the columns its search index\n"
		"declares (`lakehouse index NAME --text COLS` declares one). Rows not indexed\n"
		"yet are searched too, exactly. Words after NAME make the query, so quoting\n"
		"it is optional. NAME,NAME searches several datasets at once, merged by\n"
		"score (each result says its dataset).\n"
		"\n"
		"  --where SQL      only rows where this SQL condition holds, applied before\n"
		"                   ranking, e.g. --where \"state = 'WI' AND available\"\n"
		"  -k N             how many results (default 10)\n"
		"  --mode M         hybrid (default: both rankings fused), text (words only)\n"
		"                   or vector (meaning only)\n"
		"  --columns A,B    show only these columns of each row\n"
		"  --feedback       re-rank with what ratings of similar past searches taught\n"
		"                   (lakehouse feedback records them); a row that moved says why\n"
		"  --json           print the server's JSON answer\n"
		"  --wide           do not cut values to the terminal's width\n"
		"\n"
		"examples:\n"
		"  lakehouse search candidates forklift operator osha\n"
		"  lakehouse search candidates@3 \"night shift nurse\" --where \"state = 'IL'\" -k 5\n");
}

struct opts {
	const char *name, *where, *mode, *columns, *k;
	char *query; /* the words after NAME, joined by spaces; owned */
	int json, wide, feedback;
};

/* "--opt value" or "--opt=value": the value, advancing *i, or NULL when a
 * is not `opt`. *missing is set when `opt` has no value. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(opt);
	if (strncmp(a, opt, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = 1;
		return NULL;
	}
	return argv[++*i];
}

/* 0 to go on, or -1 with *rc set (help printed or bad usage). */
static int parse_args(int argc, char **argv, struct opts *o, int *rc)
{
	static const char *const valued[] = { "--where", "-k", "--mode", "--columns" };
	size_t qlen = 0;
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		int missing = 0;
		size_t j;
		if (cli_is_help(a)) {
			usage(stdout);
			*rc = CLI_OK;
			return -1;
		}
		for (j = 0; j < sizeof valued / sizeof valued[0]; j++) {
			v = opt_value(argc, argv, &i, valued[j], &missing);
			if (v || missing)
				break;
		}
		if (missing) {
			fprintf(stderr, "lakehouse: %s needs a value\n\n", a);
			goto bad;
		}
		if (v) {
			const char **slot[] = { &o->where, &o->k, &o->mode, &o->columns };
			*slot[j] = v;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--wide")) {
			o->wide = 1;
		} else if (!strcmp(a, "--feedback")) {
			o->feedback = 1;
		} else if (a[0] == '-' && a[1] && !o->query) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			goto bad;
		} else if (!o->name) {
			o->name = a;
		} else { /* a word of the query */
			size_t n = strlen(a);
			o->query = xrealloc(o->query, qlen + n + 2);
			if (qlen)
				o->query[qlen++] = ' ';
			memcpy(o->query + qlen, a, n + 1);
			qlen += n;
		}
	}
	if (!o->name || !o->query) {
		if (o->name)
			fprintf(stderr,
				"lakehouse: what to search for? e.g. lakehouse search %s "
				"forklift operator\n\n",
				o->name);
		goto bad;
	}
	if (o->mode && strcmp(o->mode, "hybrid") && strcmp(o->mode, "text") &&
	    strcmp(o->mode, "vector")) {
		fprintf(stderr, "lakehouse: --mode must be hybrid, text or vector\n\n");
		goto bad;
	}
	if (o->k) {
		char *end;
		errno = 0;
		long long k = strtoll(o->k, &end, 10);
		if (errno || end == o->k || *end || k < 1) {
			fprintf(stderr, "lakehouse: -k expects a positive number, got \"%s\"\n\n",
				o->k);
			goto bad;
		}
	}
	return 0;
bad:
	usage(stderr);
	free(o->query);
	o->query = NULL;
	*rc = CLI_USAGE;
	return -1;
}

/* "a,b@3" -> ["a","b@3"]; NULL (after printing why) for an empty name. */
static json_t *name_list(const char *s)
{
	json_t *arr = json_array();
	while (1) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		json_t *name = n ? json_stringn(s, n) : NULL;
		if (!name) {
			fprintf(stderr, "lakehouse: several datasets are NAME,NAME (no empty name, "
					"UTF-8), e.g. candidates,job_orders\n");
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, name);
		if (!comma)
			return arr;
		s = comma + 1;
	}
}

/* obj[key] = s, or -1 after saying why when s is not UTF-8 (JSON cannot
 * carry it, and the server would only say the field is missing). */
static int set_text(json_t *obj, const char *key, const char *s)
{
	json_t *v = json_string(s);
	if (!v) {
		fprintf(stderr, "lakehouse: the %s is not valid UTF-8 text\n", key);
		return -1;
	}
	json_object_set_new(obj, key, v);
	return 0;
}

/* "a,b, c" -> ["a","b","c"]; NULL (after printing why) for an empty name. */
static json_t *column_list(const char *s)
{
	json_t *arr = json_array();
	while (1) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n) {
			fprintf(stderr,
				"lakehouse: --columns needs column names separated by commas, "
				"e.g. --columns worker_id,full_name\n");
			json_decref(arr);
			return NULL;
		}
		json_t *name = json_stringn(s, n);
		if (!name) {
			fprintf(stderr, "lakehouse: the columns are not valid UTF-8 text\n");
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, name);
		if (!comma)
			return arr;
		s = comma + 1;
	}
}

char *cli_search_snippet(const char *html, int bold)
{
	static const struct {
		const char *from;
		char to;
	} entities[] = { { "&amp;", '&' },
			 { "&lt;", '<' },
			 { "&gt;", '>' },
			 { "&quot;", '"' },
			 { "&#39;", '\'' } };
	size_t n = strlen(html), k = 0;
	char *out = xmalloc(n + 1); /* every rewrite below shortens */
	for (size_t i = 0; i < n;) {
		const char *p = html + i;
		size_t e;
		if (!strncmp(p, "<mark>", 6)) {
			out[k++] = bold ? CLI_MARK_ON : '[';
			i += 6;
			continue;
		}
		if (!strncmp(p, "</mark>", 7)) {
			out[k++] = bold ? CLI_MARK_OFF : ']';
			i += 7;
			continue;
		}
		for (e = 0; *p == '&' && e < sizeof entities / sizeof entities[0]; e++)
			if (!strncmp(p, entities[e].from, strlen(entities[e].from)))
				break;
		if (*p == '&' && e < sizeof entities / sizeof entities[0]) {
			out[k++] = entities[e].to;
			i += strlen(entities[e].from);
			continue;
		}
		unsigned char c = (unsigned char)*p;
		out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		i++;
	}
	out[k] = '\0';
	return out;
}

/* The dataset part of "name@3". The caller frees. */
static char *bare_name(const char *name)
{
	const char *at = strchr(name, '@');
	return at ? xasprintf("%.*s", (int)(at - name), name) : xstrdup(name);
}

/* The index's declaration ({"text": [...], "id"}) for the column order, or
 * NULL when it cannot be read (the table then keeps the row's order). */
static json_t *declaration(const char *name)
{
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct catalog_client *cat = cli_catalog_open();
	char *bare = bare_name(name);
	json_t *ix = NULL, *decl = NULL;
	if (catalog_client_index_get(cat, &call, bare, &ix, &err) == 0)
		decl = json_incref(json_object_get(ix, "declaration"));
	json_decref(ix);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	free(bare);
	return decl;
}

static int in_list(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	}
	return 0;
}

/* The order of the row columns shown: the id, the text columns, the rest
 * in the answer's order (first seen first: results of several datasets have
 * different columns); with --columns (`keep`), the order asked for.
 * Appends to `cols`. */
static void column_order(const json_t *results, const json_t *decl, int keep, json_t *cols)
{
	const json_t *row = json_object_get(json_array_get(results, 0), "row");
	if (keep)
		decl = NULL;
	const char *id = json_string_value(json_object_get(decl, "id"));
	json_t *text = json_object_get(decl, "text"), *v;
	const char *key;
	size_t i;
	if (id && json_object_get(row, id))
		json_array_append_new(cols, json_string(id));
	json_array_foreach(text, i, v)
	{
		const char *c = json_string_value(v);
		if (c && json_object_get(row, c) && !in_list(cols, c))
			json_array_append_new(cols, json_string(c));
	}
	json_array_foreach(results, i, v)
	{
		json_t *c;
		json_object_foreach(json_object_get(v, "row"), key, c)
		{
			if (!in_list(cols, key))
				json_array_append_new(cols, json_string(key));
		}
	}
}

/* How many matches a highlight marks. */
static size_t marks_in(const char *hl)
{
	size_t n = 0;
	for (const char *p = hl; (p = strstr(p, "<mark>")); p += 6)
		n++;
	return n;
}

/* The cell of one result's MATCH column: the highlight of the matched
 * column not shown with the most marks, as "column: snippet"; NULL when
 * every match is in a shown column. */
static char *match_cell(const json_t *hl, const json_t *cols, int bold)
{
	const char *key, *best = NULL;
	json_t *v;
	size_t best_marks = 0;
	json_object_foreach((json_t *)hl, key, v)
	{
		size_t m = json_is_string(v) ? marks_in(json_string_value(v)) : 0;
		if (m > best_marks && !in_list((json_t *)cols, key)) {
			best = key;
			best_marks = m;
		}
	}
	if (!best)
		return NULL;
	char *snip = cli_search_snippet(json_string_value(json_object_get(hl, best)), bold);
	char *cell = xasprintf("%s: %s", best, snip);
	free(snip);
	return cell;
}

/* "1.2 ms", "35 ms", "1.4 s". */
static void format_ms(double ms, char out[32])
{
	if (ms < 10)
		snprintf(out, 32, "%.1f ms", ms);
	else if (ms < 1000)
		snprintf(out, 32, "%.0f ms", ms);
	else
		snprintf(out, 32, "%.1f s", ms / 1000);
}

static void print_footer(const json_t *ans, size_t nres)
{
	long long searched = json_integer_value(json_object_get(ans, "searched_rows"));
	long long unindexed = json_integer_value(json_object_get(ans, "unindexed_rows"));
	const char *mode = json_string_value(json_object_get(ans, "mode"));
	char ms[32];
	format_ms(json_number_value(json_object_get(ans, "elapsed_ms")), ms);
	printf("%zu result%s of %lld row%s searched", nres, nres == 1 ? "" : "s", searched,
	       searched == 1 ? "" : "s");
	if (unindexed > 0)
		printf(" (%lld not yet indexed: searched exactly)", unindexed);
	else
		printf(" (all indexed)");
	printf(" in %s \xc2\xb7 %s search of ", ms, mode ? mode : "?");
	size_t i;
	json_t *note, *d, *list = json_object_get(ans, "datasets");
	if (!json_is_array(list)) /* one dataset */
		printf("%s@%lld\n", json_string_value(json_object_get(ans, "dataset")),
		       (long long)json_integer_value(json_object_get(ans, "version")));
	json_array_foreach(list, i, d)
	{
		printf("%s%s@%lld", i ? ", " : "", json_string_value(json_object_get(d, "dataset")),
		       (long long)json_integer_value(json_object_get(d, "version")));
		if (i + 1 == json_array_size(list))
			printf("\n");
	}
	json_array_foreach(json_object_get(ans, "notes"), i, note)
	{
		if (json_is_string(note))
			printf("note: %s\n", json_string_value(note));
	}
	const json_t *fb = json_object_get(ans, "feedback");
	if (json_is_object(fb))
		printf("feedback: %lld rating%s in %s@%lld, %lld past quer%s close to this one\n",
		       (long long)json_integer_value(json_object_get(fb, "ratings")),
		       json_integer_value(json_object_get(fb, "ratings")) == 1 ? "" : "s",
		       json_string_value(json_object_get(fb, "dataset")),
		       (long long)json_integer_value(json_object_get(fb, "version")),
		       (long long)json_integer_value(json_object_get(fb, "close_queries")),
		       json_integer_value(json_object_get(fb, "close_queries")) == 1 ? "y" : "ies");
	else if (json_is_null(fb))
		printf("feedback: none recorded for this dataset yet (lakehouse feedback records it)\n");
}

/* Why feedback moved a hit: `+1 "forklift operator" 0.93`; "" when it did not. */
static char *feedback_cell(const json_t *fb)
{
	const char *q = json_string_value(json_object_get(fb, "query"));
	if (!json_is_object(fb) || !q)
		return xstrdup("");
	double sc = json_number_value(json_object_get(fb, "score"));
	return xasprintf("%+g \"%s\" %.2f", sc, q,
			 json_number_value(json_object_get(fb, "similarity")));
}

/* The answer as a table for people. */
static int print_results(const json_t *ans, const json_t *decl, int keep, size_t width, int bold)
{
	const json_t *results = json_object_get(ans, "results");
	const char *mode = json_string_value(json_object_get(ans, "mode"));
	int hybrid = mode && !strcmp(mode, "hybrid");
	size_t nres = json_array_size(results), i;
	json_t *cols = json_array(), *r;
	if (!json_is_array(results)) {
		fprintf(stderr, "lakehouse: the search answer has no results\n");
		json_decref(cols);
		return CLI_FAILED;
	}
	if (nres == 0) {
		printf("no row matches\n");
		print_footer(ans, 0);
		json_decref(cols);
		return CLI_OK;
	}
	column_order(results, decl, keep, cols);
	int has_match = 0, has_fb = 0;
	json_array_foreach(results, i, r)
	{
		char *m = match_cell(json_object_get(r, "highlight"), cols, bold);
		has_match |= m != NULL;
		has_fb |= json_is_object(json_object_get(r, "feedback"));
		free(m);
	}
	/* several datasets: each hit names its own */
	int many = json_is_string(json_object_get(json_array_get(results, 0), "dataset"));
	size_t lead = (hybrid ? 4 : 2) + (size_t)many;
	size_t ncols = lead + json_array_size(cols) + (size_t)has_match + (size_t)has_fb;
	size_t match_col = ncols - 1 - (size_t)has_fb;
	const char **headers = xcalloc(ncols, sizeof *headers);
	char **cells = xcalloc(ncols * nres, sizeof *cells);
	int *right = xcalloc(ncols, sizeof *right);
	size_t c = 0;
	headers[c] = "#";
	right[c++] = 1;
	headers[c] = "SCORE";
	right[c++] = 1;
	if (hybrid) {
		headers[c] = "TEXT";
		right[c++] = 1;
		headers[c] = "VECTOR";
		right[c++] = 1;
	}
	if (many)
		headers[c++] = "DATASET";
	for (size_t j = 0; j < json_array_size(cols); j++) {
		headers[c + j] = json_string_value(json_array_get(cols, j));
		right[c + j] = 1; /* numbers right, unless a value is not one */
	}
	if (has_match)
		headers[match_col] = "MATCH";
	if (has_fb)
		headers[ncols - 1] = "FEEDBACK";
	json_array_foreach(results, i, r)
	{
		char **row = cells + i * ncols;
		const json_t *vals = json_object_get(r, "row"),
			     *hl = json_object_get(r, "highlight");
		const json_t *tr = json_object_get(r, "text_rank"),
			     *vr = json_object_get(r, "vector_rank");
		size_t k = 0;
		row[k++] = xasprintf("%zu", i + 1);
		row[k++] = xasprintf("%.4f", json_number_value(json_object_get(r, "score")));
		if (hybrid) {
			row[k++] = json_is_integer(tr)
					   ? xasprintf("%lld", (long long)json_integer_value(tr))
					   : xstrdup("-");
			row[k++] = json_is_integer(vr)
					   ? xasprintf("%lld", (long long)json_integer_value(vr))
					   : xstrdup("-");
		}
		if (many)
			row[k++] = cli_value_text(json_object_get(r, "dataset"));
		for (size_t j = 0; j < json_array_size(cols); j++, k++) {
			const char *name = json_string_value(json_array_get(cols, j));
			const json_t *v = json_object_get(vals, name),
				     *h = json_object_get(hl, name);
			row[k] = json_is_string(h) ? cli_search_snippet(json_string_value(h), bold)
						   : cli_value_text(v);
			if (v && !json_is_null(v) && !json_is_number(v))
				right[lead + j] = 0;
		}
		if (has_match)
			row[match_col] = match_cell(hl, cols, bold);
		if (has_fb)
			row[ncols - 1] = feedback_cell(json_object_get(r, "feedback"));
	}
	cli_table_print_marked(stdout, CLI_TABLE_PLAIN, headers, ncols, (const char *const *)cells,
			       nres, right, width);
	print_footer(ans, nres);
	for (i = 0; i < ncols * nres; i++)
		free(cells[i]);
	free(cells);
	free(headers);
	free(right);
	json_decref(cols);
	return CLI_OK;
}

/* 409 no_index: the server's words, then the command with the dataset's
 * text columns (docs/schema.md "utf8") filled in, when the catalog says. */
static void report_no_index(const char *name, long status, const char *body, size_t len)
{
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct catalog_client *cat = cli_catalog_open();
	struct manifest *m = NULL;
	char *bare = bare_name(name), *cols = xstrdup("");
	cli_report_error(status, body, len);
	if (catalog_client_manifest(cat, &call, bare, 0, &m, &err) == 0) {
		for (size_t i = 0; i < m->ncolumns; i++) {
			if (strcmp(m->columns[i].type, "utf8"))
				continue;
			char *more =
				xasprintf("%s%s%s", cols, *cols ? "," : "", m->columns[i].name);
			free(cols);
			cols = more;
		}
		if (*cols)
			fprintf(stderr,
				"lakehouse: its text columns are %s; to search them all:\n"
				"  lakehouse index %s --text %s\n",
				cols, bare, cols);
	}
	manifest_unref(m);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	free(cols);
	free(bare);
}

int cli_search_main(int argc, char **argv)
{
	struct opts o;
	struct http_client_request r;
	struct http_client_response resp = { 0 };
	const char *hdrs[] = { "Accept: application/json", "Content-Type: application/json", NULL };
	json_t *req = NULL, *ans = NULL, *decl = NULL;
	char *body = NULL, *url = NULL;
	int rc, got = 0;

	if (parse_args(argc, argv, &o, &rc) != 0)
		return rc;
	req = json_object();
	if (strchr(o.name, ',')) { /* several datasets (no name holds a comma) */
		json_t *names = name_list(o.name);
		if (!names) {
			rc = CLI_USAGE;
			goto out;
		}
		json_object_set_new(req, "datasets", names);
	} else if (set_text(req, "dataset", o.name)) {
		rc = CLI_USAGE;
		goto out;
	}
	if (set_text(req, "query", o.query) || (o.mode && set_text(req, "mode", o.mode)) ||
	    (o.where && set_text(req, "where", o.where))) {
		rc = CLI_USAGE;
		goto out;
	}
	if (o.k)
		json_object_set_new(req, "k", json_integer(strtoll(o.k, NULL, 10)));
	if (o.feedback)
		json_object_set_new(req, "feedback", json_true());
	if (o.columns) {
		json_t *cols = column_list(o.columns);
		if (!cols) {
			rc = CLI_USAGE;
			goto out;
		}
		json_object_set_new(req, "columns", cols);
	}
	body = json_dumps(req, JSON_COMPACT);
	url = cli_url("/v1/search");
	http_client_request_init(&r);
	r.method = "POST";
	r.url = url;
	r.headers = hdrs;
	r.body = body;
	r.body_len = strlen(body);
	rc = cli_send(&r, &resp);
	if (rc != CLI_OK)
		goto out;
	got = 1;
	if (resp.status < 200 || resp.status >= 300) {
		json_t *e = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
		const char *code = json_string_value(json_object_get(e, "code"));
		if (resp.status == 409 && code && !strcmp(code, "no_index") && !strchr(o.name, ','))
			report_no_index(o.name, resp.status, resp.body, resp.body_len);
		else
			cli_report_error(resp.status, resp.body, resp.body_len);
		json_decref(e);
		rc = CLI_FAILED;
		goto out;
	}
	ans = json_loadb(resp.body ? resp.body : "", resp.body_len, 0, NULL);
	if (!ans) {
		fprintf(stderr, "lakehouse: the server's answer is not JSON\n");
		rc = CLI_FAILED;
		goto out;
	}
	if (o.json) {
		char *text = json_dumps(ans, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", text ? text : "null");
		free(text);
		goto out;
	}
	if (json_array_size(json_object_get(ans, "results")) && !o.columns && !strchr(o.name, ','))
		decl = declaration(o.name);
	rc = print_results(ans, decl, o.columns != NULL, cli_terminal_width(STDOUT_FILENO, o.wide),
			   isatty(STDOUT_FILENO));
out:
	if (got)
		http_client_response_free(&resp);
	json_decref(decl);
	json_decref(ans);
	json_decref(req);
	free(body);
	free(url);
	free(o.query);
	return rc;
}
