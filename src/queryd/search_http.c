/* search_http.c — POST /search and POST /embed (SPEC 11-12; docs/api.md
 * "queryd"; docs/search.md; ADR 0150).
 *
 * DESIGN NOTES — one POST /search, in order:
 *  1. Parse and check the request (parse_request): every refusal is a 400
 *     naming the field; k above LH_SEARCH_MAX_K is capped and the answer
 *     says so in "notes".
 *  2. Per dataset (one, or several with "datasets"): load the version
 *     (search_parts.c: manifest, index, component, one part per object).
 *  3. `where` runs BEFORE ranking: a worker evaluates it over a view of the
 *     version that carries each row's object and row number
 *     (engine_query_add_positions_view); the rows it keeps become one
 *     bitmap per part. The expression is the user's text inside
 *     parentheses after WHERE, so it is checked first to be one expression
 *     (where_check: no ';', parentheses that never close what they did
 *     not open); the worker's function allow-list (ADR 0113) then refuses
 *     file readers and table functions, and DuckDB's binder unknown
 *     columns, each a 400 in DuckDB's or our words.
 *  4. Rankings over the whole version: BM25 with the version's statistics
 *     (document frequencies and lengths summed over every part, so a
 *     version's scores do not depend on how its rows were split into
 *     parts), and cosine similarity: exact over the allowed rows when a
 *     part has no graph or the filter leaves fewer than
 *     LH_SEARCH_EXACT_BELOW of its rows, else the HNSW graph with the
 *     filter as its predicate (and exact again if the graph finds fewer
 *     than it should). Each keeps its best `depth` (k, or
 *     SEARCH_HYBRID_DEPTH for hybrid).
 *  5. hybrid = weighted Reciprocal Rank Fusion: sum_i w_i / (60 + rank_i)
 *     over the rankings a row appears in (ranks from 1). Ties everywhere
 *     are broken by (part, row), so the same request gives the same order.
 *  7. A filter's bitmaps are kept per (version, where) in a small LRU
 *     (search_filter_get/put, SEARCH_FILTERS entries): the same filter on
 *     the same version — the page's next search, an agent's follow-up —
 *     costs no worker query.
 *  6. Several datasets: each answers its best k, merged by score with the
 *     dataset named on every hit; one failure fails the search (502 unless
 *     the failure is the caller's: then its own status), never a partial
 *     answer.
 *  8. "feedback": true (ADR 0190): each dataset's ranking keeps its best
 *     SEARCH_HYBRID_DEPTH (or k) candidates, search_feedback.c re-ranks them
 *     with past ratings of close queries (and may add a rated row from a very
 *     close one, if the where keeps it), then the list is cut to k; a hit
 *     that moved says why ("feedback": {query, score, similarity}).
 */
#include "queryd/queryd_int.h"
#include "queryd/search_feedback.h"
#include "queryd/search_int.h"
#include "queryd/search_sql.h"

#include "search/ann.h"
#include "search/embed.h"
#include "search/feedback.h"
#include "search/highlight.h"
#include "search/segment.h"
#include "search/sif.h"
#include "search/text_index.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_server.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/tokens.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_HYBRID_DEPTH 100
/* Hybrid's default weights: bench/search/quality.py's sweep on 500,000
 * profiles and 200 judged queries put text 3 : vector 2 first (nDCG@10
 * 0.727 against 0.720 for 1 : 1); BM25 wins the literal queries (titles,
 * certifications), the embedder synonyms and paraphrases (bench/README.md). */
#define SEARCH_WEIGHT_TEXT 1.5
#define SEARCH_WEIGHT_VECTOR 1.0
/* HNSW's expansion at search time: recall@10 0.887 at 64, 0.948 at 192 and
 * 0.957 at 256 on one 500,000-row graph (bench/README.md "Search"); parts
 * hold at most [search] part_rows rows, whose graphs do better at the same
 * expansion. */
#define SEARCH_EF 192
#define SEARCH_LIKE_TERMS 25
#define SEARCH_RRF_K 60.0
#define SEARCH_HIGHLIGHT_CHARS 160
#define SEARCH_MAX_EMBED_TEXTS 256

enum smode { MODE_HYBRID, MODE_TEXT, MODE_VECTOR };
static const char *const mode_names[] = { "hybrid", "text", "vector" };

struct sreq {
	const char *names[LH_SEARCH_MAX_DATASETS];
	size_t nnames;
	int many;                      /* "datasets" was given */
	const char *query;
	size_t query_len;
	float *vector;                 /* "vector": xmalloc'd */
	size_t vector_dim;
	const char *like_dataset;
	json_t *like_id;               /* borrowed */
	int64_t k;
	int k_capped;
	enum smode mode;
	const char *where;
	const json_t *columns;         /* borrowed array or NULL */
	double w_text, w_vector;
	int64_t timeout_ms;
	int feedback;                  /* "feedback": true or {...} (search_feedback.c) */
	double fb_sim, fb_inject, fb_boost;
	int mask;                      /* the caller does not see personal columns */
};

/* ---- note 1 ----------------------------------------------------------------- */

/* Note 3: one expression — read with sql_guard's tokenizer (the one that
 * knows '...', E'...', $tag$...$tag$ and "..."), so a string hides nothing:
 * no ';', no comment (what the tokenizer skips must be blank), no ')'
 * closing what the expression did not open, none left open. */
static int where_check(const char *w, size_t n, struct lh_error *err)
{
	int depth = 0;
	size_t pos = 0;
	if (memchr(w, '\0', n))
		return lh_fail(err, 400, "bad_where", "field \"where\" contains a NUL character");
	for (;;) {
		struct sql_tok t;
		size_t from = pos;
		sql_token_next(w, n, &pos, &t);
		size_t gap_end = t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR ? pos : t.start;
		for (size_t i = from; i < gap_end && i < n; i++)
			if (!strchr(" \t\r\n\f\v", w[i]))
				return lh_fail(err, 400, "bad_where",
					       "field \"where\" may not hold comments");
		if (t.kind == SQL_TOK_END)
			break;
		if (t.kind == SQL_TOK_ERROR)
			return lh_fail(err, 400, "bad_where", "field \"where\" has an unterminated "
				       "string, quoted name or comment");
		if (t.kind != SQL_TOK_PUNCT)
			continue;
		char c = w[t.start];
		if (c == ';')
			return lh_fail(err, 400, "bad_where",
				       "field \"where\" must be one SQL expression (it has a ';')");
		if (c == '(')
			depth++;
		else if (c == ')' && --depth < 0)
			return lh_fail(err, 400, "bad_where",
				       "field \"where\" closes a parenthesis it did not open");
	}
	if (depth != 0)
		return lh_fail(err, 400, "bad_where", "field \"where\" leaves a parenthesis open");
	return 0;
}

static int parse_request(const json_t *body, const struct lh_config *cfg, struct sreq *q,
			 struct lh_error *err)
{
	const json_t *ds = json_object_get(body, "dataset");
	const json_t *many = json_object_get(body, "datasets");
	const json_t *query = json_object_get(body, "query");
	const json_t *vec = json_object_get(body, "vector");
	const json_t *like = json_object_get(body, "like");
	const json_t *k = json_object_get(body, "k");
	const json_t *mode = json_object_get(body, "mode");
	const json_t *where = json_object_get(body, "where");
	const json_t *cols = json_object_get(body, "columns");
	const json_t *weights = json_object_get(body, "weights");
	const json_t *timeout = json_object_get(body, "timeout_ms");
	const json_t *feedback = json_object_get(body, "feedback");
	const char *key;
	const json_t *val;
	static const char *const known[] = { "dataset", "datasets", "query", "vector", "like", "k",
					      "mode", "where", "columns", "weights", "timeout_ms",
					      "feedback" };
	memset(q, 0, sizeof *q);
	q->w_text = SEARCH_WEIGHT_TEXT;
	q->w_vector = SEARCH_WEIGHT_VECTOR;
	q->k = LH_SEARCH_DEFAULT_K;
	q->timeout_ms = cfg->queryd.timeout_ms;
	json_object_foreach((json_t *)body, key, val) {
		size_t i;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (i == sizeof known / sizeof known[0])
			return lh_fail(err, 400, "bad_request", "unknown field \"%.64s\"", key);
	}
	if (!!ds == !!many)
		return lh_fail(err, 400, "bad_request",
			       "give either \"dataset\" (one name, or \"name@N\") or \"datasets\" "
			       "(a list of names)");
	if (ds) {
		if (!json_is_string(ds) || !json_string_length(ds))
			return lh_fail(err, 400, "bad_request", "field \"dataset\" must be a name");
		q->names[q->nnames++] = json_string_value(ds);
	} else {
		size_t i;
		const json_t *d;
		if (!json_is_array(many) || json_array_size(many) == 0 ||
		    json_array_size(many) > LH_SEARCH_MAX_DATASETS)
			return lh_fail(err, 400, "bad_request", "field \"datasets\" must be a list of 1 "
				       "to %d dataset names", LH_SEARCH_MAX_DATASETS);
		json_array_foreach(many, i, d) {
			if (!json_is_string(d) || !json_string_length(d))
				return lh_fail(err, 400, "bad_request",
					       "field \"datasets\" must hold dataset names");
			for (size_t j = 0; j < q->nnames; j++)
				if (!strcasecmp(q->names[j], json_string_value(d)))
					return lh_fail(err, 400, "bad_request", "field \"datasets\" "
						       "names \"%.64s\" twice", json_string_value(d));
			q->names[q->nnames++] = json_string_value(d);
		}
		q->many = 1;
	}
	if ((query != NULL) + (vec != NULL) + (like != NULL) != 1)
		return lh_fail(err, 400, "bad_request", "give one of \"query\" (text), \"vector\" "
			       "(numbers) or \"like\" ({\"dataset\", \"id\"})");
	if (query) {
		if (!json_is_string(query))
			return lh_fail(err, 400, "bad_request", "field \"query\" must be text");
		q->query = json_string_value(query);
		q->query_len = json_string_length(query);
		size_t i = 0;
		while (i < q->query_len && strchr(" \t\r\n", q->query[i]))
			i++;
		if (i == q->query_len)
			return lh_fail(err, 400, "bad_query", "field \"query\" is empty");
		if (q->query_len > LH_SEARCH_MAX_QUERY_BYTES)
			return lh_fail(err, 400, "bad_query", "field \"query\" is %zu bytes; the limit "
				       "is %d", q->query_len, LH_SEARCH_MAX_QUERY_BYTES);
		if (strlen(q->query) != q->query_len)
			return lh_fail(err, 400, "bad_query", "field \"query\" contains a NUL character");
	}
	if (vec) {
		size_t i;
		const json_t *x;
		if (!json_is_array(vec) || json_array_size(vec) == 0 || json_array_size(vec) > 8192)
			return lh_fail(err, 400, "bad_vector",
				       "field \"vector\" must be a list of numbers");
		q->vector_dim = json_array_size(vec);
		q->vector = xcalloc(q->vector_dim, sizeof *q->vector);
		json_array_foreach(vec, i, x) {
			double d = json_number_value(x);
			if (!json_is_number(x) || !isfinite(d) || !isfinite((float)d))
				return lh_fail(err, 400, "bad_vector", "field \"vector\": item %zu is not "
					       "a finite number", i);
			q->vector[i] = (float)d;
		}
	}
	if (like) {
		q->like_dataset = json_string_value(json_object_get(like, "dataset"));
		q->like_id = json_object_get(like, "id");
		if (!json_is_object(like) || !q->like_dataset || !q->like_id ||
		    !(json_is_string(q->like_id) || json_is_integer(q->like_id)))
			return lh_fail(err, 400, "bad_request", "field \"like\" must be {\"dataset\": "
				       "\"<name>\", \"id\": <the row's id>}");
		if (json_is_string(q->like_id) &&
		    (json_string_length(q->like_id) > LH_SEARCH_MAX_QUERY_BYTES ||
		     strlen(json_string_value(q->like_id)) != json_string_length(q->like_id)))
			return lh_fail(err, 400, "bad_request", "field \"like\": the id is over %d "
				       "bytes or holds a NUL", LH_SEARCH_MAX_QUERY_BYTES);
	}
	if (k) {
		if (!json_is_integer(k) || json_integer_value(k) < 1)
			return lh_fail(err, 400, "bad_request", "field \"k\" must be a positive integer");
		q->k = json_integer_value(k);
		if (q->k > LH_SEARCH_MAX_K) {
			q->k = LH_SEARCH_MAX_K;
			q->k_capped = 1;
		}
	}
	if (mode) {
		size_t i;
		const char *m = json_string_value(mode);
		for (i = 0; m && i < 3; i++)
			if (!strcmp(m, mode_names[i]))
				break;
		if (!m || i == 3)
			return lh_fail(err, 400, "bad_request",
				       "field \"mode\" must be \"hybrid\", \"text\" or \"vector\"");
		q->mode = (enum smode)i;
	}
	if (vec && q->mode != MODE_VECTOR) {
		if (mode)
			return lh_fail(err, 400, "bad_request",
				       "a search by \"vector\" is mode \"vector\" (it has no words)");
		q->mode = MODE_VECTOR;
	}
	if (where) {
		if (!json_is_string(where))
			return lh_fail(err, 400, "bad_where", "field \"where\" must be SQL text");
		size_t n = json_string_length(where);
		if (n > LH_SEARCH_MAX_WHERE_BYTES)
			return lh_fail(err, 400, "bad_where", "field \"where\" is %zu bytes; the limit "
				       "is %u", n, LH_SEARCH_MAX_WHERE_BYTES);
		if (where_check(json_string_value(where), n, err))
			return -1;
		q->where = n ? json_string_value(where) : NULL;
	}
	if (cols) {
		size_t i;
		const json_t *c;
		if (!json_is_array(cols))
			return lh_fail(err, 400, "bad_request",
				       "field \"columns\" must be a list of column names");
		json_array_foreach(cols, i, c)
			if (!json_is_string(c))
				return lh_fail(err, 400, "bad_request",
					       "field \"columns\" must be a list of column names");
		q->columns = cols;
	}
	if (weights) {
		const json_t *wt = json_object_get(weights, "text"), *wv = json_object_get(weights, "vector");
		if (!json_is_object(weights) || (wt && !json_is_number(wt)) ||
		    (wv && !json_is_number(wv)))
			return lh_fail(err, 400, "bad_request", "field \"weights\" must be {\"text\": "
				       "<number>, \"vector\": <number>}");
		if (wt)
			q->w_text = json_number_value(wt);
		if (wv)
			q->w_vector = json_number_value(wv);
		if (q->w_text < 0 || q->w_vector < 0 || !isfinite(q->w_text) ||
		    !isfinite(q->w_vector) || q->w_text + q->w_vector <= 0)
			return lh_fail(err, 400, "bad_request",
				       "field \"weights\": both must be >= 0 and one > 0");
	}
	q->fb_sim = FEEDBACK_SIM_MIN;
	q->fb_inject = FEEDBACK_INJECT_MIN;
	q->fb_boost = FEEDBACK_BOOST;
	if (feedback) {
		static const char *const fbk[] = { "min_similarity", "inject_similarity", "boost" };
		double *fbv[] = { &q->fb_sim, &q->fb_inject, &q->fb_boost };
		static const double lo[] = { 0, 0, 0 }, hi[] = { 1, 2, 100 };
		if (!json_is_boolean(feedback) && !json_is_object(feedback))
			return lh_fail(err, 400, "bad_request", "field \"feedback\" must be true, false "
				       "or {\"min_similarity\", \"inject_similarity\", \"boost\"}");
		json_object_foreach((json_t *)feedback, key, val) {
			size_t i;
			for (i = 0; i < 3; i++)
				if (!strcmp(key, fbk[i]))
					break;
			if (i == 3)
				return lh_fail(err, 400, "bad_request", "field \"feedback\": unknown field "
					       "\"%.64s\" (min_similarity, inject_similarity, boost)", key);
			double x = json_number_value(val);
			if (!json_is_number(val) || !(x >= lo[i] && x <= hi[i]))
				return lh_fail(err, 400, "bad_request", "field \"feedback\": \"%s\" must "
					       "be a number from %g to %g", fbk[i], lo[i], hi[i]);
			*fbv[i] = x;
		}
		q->feedback = !json_is_false(feedback);
		if (q->feedback && !query)
			return lh_fail(err, 400, "bad_request", "\"feedback\": true needs a \"query\" "
				       "(ratings are matched to searches by their text)");
	}
	if (timeout) {
		if (!json_is_integer(timeout) || json_integer_value(timeout) < 1)
			return lh_fail(err, 400, "bad_request",
				       "field \"timeout_ms\" must be a positive integer");
		if (json_integer_value(timeout) < q->timeout_ms || !q->timeout_ms)
			q->timeout_ms = json_integer_value(timeout);
	}
	return 0;
}

/* ---- top-k ---------------------------------------------------------------- */

struct hit {
	double score;
	uint32_t part;
	uint32_t row;
};

/* a ranks before b: higher score, then lower (part, row) (note 5). */
static int hit_before(const struct hit *a, const struct hit *b)
{
	if (a->score != b->score)
		return a->score > b->score;
	if (a->part != b->part)
		return a->part < b->part;
	return a->row < b->row;
}

/* A bounded heap whose root is the worst kept hit. */
struct topk {
	struct hit *h;
	size_t n, k;
};

static void topk_init(struct topk *t, size_t k)
{
	t->h = xcalloc(k ? k : 1, sizeof *t->h);
	t->n = 0;
	t->k = k;
}

static void sift_down(struct topk *t, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < t->n && hit_before(&t->h[w], &t->h[l]))
			w = l;
		if (r < t->n && hit_before(&t->h[w], &t->h[r]))
			w = r;
		if (w == i)
			return;
		struct hit tmp = t->h[i];
		t->h[i] = t->h[w];
		t->h[w] = tmp;
		i = w;
	}
}

static void topk_push(struct topk *t, double score, uint32_t part, uint32_t row)
{
	struct hit x = { score, part, row };
	if (t->k == 0)
		return;
	if (t->n < t->k) {
		size_t i = t->n++;
		t->h[i] = x;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!hit_before(&t->h[p], &t->h[i]))
				break;
			struct hit tmp = t->h[i];
			t->h[i] = t->h[p];
			t->h[p] = tmp;
			i = p;
		}
		return;
	}
	if (!hit_before(&x, &t->h[0]))
		return;
	t->h[0] = x;
	sift_down(t, 0);
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	return hit_before(x, y) ? -1 : hit_before(y, x) ? 1 : 0;
}

/* Sorted best first; the heap's array is handed to the caller. */
static struct hit *topk_sorted(struct topk *t, size_t *n)
{
	qsort(t->h, t->n, sizeof *t->h, hit_cmp);
	*n = t->n;
	return t->h;
}

/* ---- one dataset ------------------------------------------------------------ */

struct sds {
	const char *asked;               /* the name as asked (may hold "@N") */
	struct sversion v;
	uint64_t **allowed;              /* per part: a bitmap, or NULL = every row */
	uint64_t *nallowed;              /* per part */
	uint64_t searched;
	uint64_t unindexed;              /* of those, rows no stored part covers */
	int words_only;                  /* hybrid whose query the embedder knows nothing of */
	struct text_query tq;
	struct hit *hits;                /* this dataset's best k */
	size_t nhits;
	uint32_t *text_rank, *vector_rank;  /* per hit, 0 = not in that ranking */
	struct sfb_hit *why;             /* per hit with "feedback": why it moved, or NULL */
	struct sfb_set *fb_set;          /* holds the why_query strings */
	json_t *fb_info;                 /* the answer's "feedback", or NULL */
	json_t *masked;                  /* ADR 0211: personal columns hidden from
					  * this caller (array), or NULL */
};

static int split_name(const char *asked, char *name, size_t size, int64_t *version,
		      struct lh_error *err)
{
	const char *at = strrchr(asked, '@');
	size_t len = at ? (size_t)(at - asked) : strlen(asked);
	*version = 0;
	/* a name catalogd would refuse is refused here (ADR 0205: its 400 must
	 * not even be asked for) */
	if (len >= size || len > LH_DATASET_NAME_MAX)
		return lh_fail(err, 400, "bad_name", "a dataset name is at most %d characters",
			       LH_DATASET_NAME_MAX);
	snprintf(name, size, "%.*s", (int)len, asked);
	if (dataset_name_check(name, err))
		return -1;
	if (!at)
		return 0;
	char *end = NULL;
	long long v = strtoll(at + 1, &end, 10);
	if (at == asked || !at[1] || *end || v < 1 || at[1] == '0')
		return lh_fail(err, 404, "unknown_version", "\"%s\": versions are numbered from 1, "
			       "e.g. \"name@1\"", asked);
	*version = v;
	return 0;
}

struct where_rows {
	struct sds *d;
	int header;
};

static int where_line(void *ctx, const char *line, size_t len, struct lh_error *err)
{
	struct where_rows *w = ctx;
	struct sds *d = w->d;
	if (!w->header) {
		w->header = 1;
		return 0;
	}
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return lh_fail(err, 500, "internal", "a filter result line is malformed");
	memcpy(buf, line, len);
	buf[len] = '\0';
	char *comma = strchr(buf, ','), *end = NULL;
	if (!comma)
		return lh_fail(err, 500, "internal", "a filter result line is malformed");
	unsigned long long obj = strtoull(buf, &end, 10);
	unsigned long long row = strtoull(comma + 1, NULL, 10);
	if (end != comma || obj >= d->v.m->nobjects ||
	    row >= (unsigned long long)d->v.m->objects[obj].row_count)
		return lh_fail(err, 500, "internal", "a filter result names a row that does not exist");
	size_t part = d->v.first_part[obj] + (size_t)(row / d->v.part_rows);
	row %= d->v.part_rows;
	uint64_t *bits = d->allowed[part];
	if (!(bits[row / 64] & (1ull << (row % 64)))) {
		bits[row / 64] |= 1ull << (row % 64);
		d->nallowed[part]++;
	}
	return 0;
}

/* Note 3. */
static int run_where(struct qrun *r, struct sds *d, const char *where, const char *rid,
		     struct lh_error *err)
{
	const struct manifest *m = d->v.m;
	if (d->v.nparts == 0)
		return 0;
	static const char *const hidden[] = { "file_index", "file_row_number", "__lh_object",
					       "__lh_row" };
	for (size_t i = 0; i < m->ncolumns; i++)
		for (size_t j = 0; j < sizeof hidden / sizeof hidden[0]; j++)
			if (!strcasecmp(m->columns[i].name, hidden[j]))
				return lh_fail(err, 400, "bad_where", "dataset \"%s\" has a column named "
					       "\"%s\", which hides the row positions a filter needs; "
					       "search it without \"where\" (or \"like\"), or rename the "
					       "column", m->name, m->columns[i].name);
	if (qrun_add_version(r, m, "__lh_search", 1, rid, err))
		return -1;
	char *sql = xasprintf("SELECT \"__lh_object\", \"__lh_row\" FROM \"__lh_search\" WHERE (%s)",
			      where);
	struct where_rows w = { .d = d };
	int rc = qrun_lines(r, sql, "csv", where_line, &w, err);
	free(sql);
	if (rc && err->status == 400) {
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "where: %.400s", err->msg);
		snprintf(err->msg, sizeof err->msg, "%s", msg);
	}
	return rc;
}

/* Note 7: the bitmaps of `where` over a version, kept. A version never
 * changes, so an entry is right forever; the cache only bounds memory. */
static char *filter_key(const struct sds *d, const char *where)
{
	/* a filter run over the masked view is another filter (ADR 0211) */
	char *mask = d->masked ? json_dumps(d->masked, JSON_COMPACT) : NULL;
	char *key = xasprintf("%s@%" PRId64 "/%u/%s\n%s", d->v.m->name, d->v.m->version,
			      d->v.part_rows, mask ? mask : "", where);
	free(mask);
	return key;
}

/* ADR 0211: for a caller who may not see personal columns (`mask`), the
 * dataset's masked columns go into d->masked: its `where` runs over the
 * masked view (apply_where) and its hits are shown without them (hit_json).
 * The version itself (its parts, the in-memory parts of unindexed rows, the
 * index's common component) is opened unmasked, since it is shared with
 * every caller. An index over a masked column is refused: its ranking and
 * highlights would show them. 0, or -1 with 403 masked_column. */
static int mask_dataset(struct qrun *r, struct sds *d, int mask, const char *rid,
			struct lh_error *err)
{
	char masked[LH_MASKED_JSON_MAX + 1];
	if (!mask)
		return 0;
	if (qrun_dataset_masked(r, d->v.m->name, rid, masked, err))
		return -1;
	if (!masked[0])
		return 0;
	d->masked = json_loads(masked, 0, NULL);
	size_t i;
	const json_t *c;
	json_array_foreach(d->masked, i, c) {
		const char *col = json_string_value(c);
		int hit = col && d->v.decl.id && !strcmp(col, d->v.decl.id);
		for (size_t t = 0; col && t < d->v.decl.ntext; t++)
			hit |= !strcmp(col, d->v.decl.text[t]);
		if (hit)
			return lh_fail(err, 403, "masked_column",
				       "the search index of %s covers the personal column \"%s\", "
				       "which is masked for your token: its results would show it; "
				       "ask for a write token, or index other columns", d->v.m->name, col);
	}
	return 0;
}

static int apply_where(struct search *s, struct qrun *r, struct sds *d, const char *where,
		       const char *rid, struct lh_error *err)
{
	char *key = filter_key(d, where);
	size_t nparts = d->v.nparts;
	for (size_t i = 0; i < nparts; i++) {   /* every part gets a bitmap, all zeros */
		d->allowed[i] = xcalloc(segment_rows(d->v.parts[i]->seg) / 64 + 1, sizeof **d->allowed);
		d->nallowed[i] = 0;
	}
	if (search_filter_get(s, key, d->allowed, d->nallowed, nparts)) {
		free(key);
		return 0;
	}
	char *mask = d->masked ? json_dumps(d->masked, JSON_COMPACT) : NULL;
	qrun_set_masked(r, mask);   /* the filter's view only (mask_dataset) */
	int rc = run_where(r, d, where, rid, err);
	qrun_set_masked(r, NULL);
	free(mask);
	if (rc == 0)
		search_filter_put(s, key, (const uint64_t *const *)d->allowed, d->nallowed,
				  d->v.parts, nparts);
	free(key);
	return rc;
}

static int allowed_row(const struct sds *d, uint32_t part, uint32_t row)
{
	const uint64_t *b = d->allowed[part];
	return !b || (b[row / 64] >> (row % 64) & 1);
}

/* Lucene's English stop words: a query's words that match nearly every
 * row and carry no meaning ("operator for a warehouse"). They are left out
 * of the query's BM25 terms and highlights (the index keeps them: a query
 * made only of them still searches them). Compared after token_stem, as
 * the query's terms are. */
static const char *const stop_words[] = {
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
	"it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
	"these", "they", "this", "to", "was", "will", "with",
};

static int is_stop_word(const char *term)
{
	for (size_t i = 0; i < sizeof stop_words / sizeof stop_words[0]; i++) {
		char w[TOKEN_MAX_BYTES + 1];
		size_t n = strlen(stop_words[i]);
		memcpy(w, stop_words[i], n + 1);
		n = token_stem(w, n);
		w[n] = '\0';
		if (!strcmp(w, term))
			return 1;
	}
	return 0;
}

static void drop_stop_words(struct text_query *tq)
{
	size_t n = 0;
	for (size_t i = 0; i < tq->nterms; i++)
		n += !is_stop_word(tq->terms[i]);
	if (n == 0 || n == tq->nterms)
		return;   /* only stop words: keep them all */
	n = 0;
	for (size_t i = 0; i < tq->nterms; i++) {
		if (is_stop_word(tq->terms[i]))
			continue;
		if (n != i)
			memcpy(tq->terms[n], tq->terms[i], sizeof tq->terms[n]);
		n++;
	}
	tq->nterms = n;
}

/* A `like` query is a whole row: keep its SEARCH_LIKE_TERMS rarest words
 * (lowest document frequency, then the terms' order), as Lucene's
 * MoreLikeThis does; the rest add time and little ranking. d->tq's terms
 * and df stay in their (sorted) order. */
static void like_terms(struct sds *d, uint64_t *df)
{
	size_t nt = d->tq.nterms;
	if (nt <= SEARCH_LIKE_TERMS)
		return;
	size_t *order = xcalloc(nt, sizeof *order);
	unsigned char *keep = xcalloc(nt, 1);
	for (size_t i = 0; i < nt; i++)
		order[i] = i;
	for (size_t i = 1; i < nt; i++) {   /* insertion sort by (df, position) */
		size_t x = order[i], j = i;
		while (j > 0 && df[order[j - 1]] > df[x]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	for (size_t i = 0; i < SEARCH_LIKE_TERMS; i++)
		keep[order[i]] = 1;
	size_t n = 0;
	for (size_t i = 0; i < nt; i++) {
		if (!keep[i])
			continue;
		if (n != i) {
			memcpy(d->tq.terms[n], d->tq.terms[i], sizeof d->tq.terms[n]);
			df[n] = df[i];
		}
		n++;
	}
	d->tq.nterms = n;
	free(order);
	free(keep);
}

/* Note 4: BM25 over the version. -1 with err when a part's postings are
 * damaged. */
static int rank_text(struct sds *d, size_t depth, int like, struct topk *out,
		     struct lh_error *err)
{
	const struct sversion *v = &d->v;
	size_t nt = d->tq.nterms;
	uint64_t *df = xcalloc(nt ? nt : 1, sizeof *df);
	struct text_stats st = { .df = df };
	int rc = -1;
	for (size_t i = 0; i < v->nparts; i++) {
		const struct text_index *t = segment_text(v->parts[i]->seg);
		st.docs += text_index_docs(t);
		st.total_len += text_index_total_len(t);
		for (size_t j = 0; j < nt; j++)
			df[j] += text_index_df(t, d->tq.terms[j], strlen(d->tq.terms[j]));
	}
	if (like)
		like_terms(d, df);
	struct text_hit *th = xcalloc(depth ? depth : 1, sizeof *th);
	for (size_t i = 0; i < v->nparts; i++) {
		size_t n = 0;
		if (d->allowed[i] && d->nallowed[i] == 0)
			continue;
		if (text_index_search(segment_text(v->parts[i]->seg), &d->tq, &st, TEXT_BM25_K1,
				      TEXT_BM25_B, d->allowed[i], depth, th, &n)) {
			lh_fail(err, 502, "bad_index_part", "an index part of \"%s\" is damaged (its "
				"postings do not decode); drop and declare the index again",
				v->m->name);
			goto out;
		}
		for (size_t j = 0; j < n; j++)
			topk_push(out, th[j].score, (uint32_t)i, th[j].doc);
	}
	rc = 0;
out:
	free(th);
	free(df);
	return rc;
}

static double dot(const float *a, const float *b, unsigned dim)
{
	double s = 0;
	for (unsigned i = 0; i < dim; i++)
		s += (double)a[i] * b[i];
	return s;
}

struct allow_ctx {
	const struct sds *d;
	uint32_t part;
};

static int ann_allow(void *ctx, uint64_t key)
{
	const struct allow_ctx *a = ctx;
	return key < UINT32_MAX && allowed_row(a->d, a->part, (uint32_t)key);
}

/* Note 4: cosine similarity to q (unit length) over the version. */
static int rank_vector(struct sds *d, const float *q, size_t depth, struct topk *out,
		       struct lh_error *err)
{
	const struct sversion *v = &d->v;
	uint64_t *keys = xcalloc(depth ? depth : 1, sizeof *keys);
	float *dist = xcalloc(depth ? depth : 1, sizeof *dist);
	int rc = -1;
	for (size_t i = 0; i < v->nparts; i++) {
		const struct segment *seg = v->parts[i]->seg;
		const struct ann *a = segment_ann(seg);
		uint32_t rows = segment_rows(seg);
		uint64_t allowed = d->allowed[i] ? d->nallowed[i] : rows;
		size_t want = depth < allowed ? depth : (size_t)allowed;
		if (allowed == 0)
			continue;
		if (a && allowed >= LH_SEARCH_EXACT_BELOW) {
			struct allow_ctx ac = { d, (uint32_t)i };
			size_t n = 0;
			unsigned ef = depth > SEARCH_EF ? (unsigned)depth : SEARCH_EF;
			if (ann_search(a, q, depth, ef, d->allowed[i] ? ann_allow : NULL, &ac, keys, dist,
				       &n, err))
				goto out;
			if (n >= want) {
				for (size_t j = 0; j < n; j++)
					if (keys[j] < rows)
						topk_push(out, 1.0 - dist[j], (uint32_t)i, (uint32_t)keys[j]);
				continue;
			}
			/* the graph found too few of the allowed rows: exactly, below */
		}
		struct topk part;
		topk_init(&part, depth);
		for (uint32_t row = 0; row < rows; row++)
			if (allowed_row(d, (uint32_t)i, row))
				topk_push(&part, dot(q, segment_vector(seg, row), v->dim), (uint32_t)i, row);
		for (size_t j = 0; j < part.n; j++)
			topk_push(out, part.h[j].score, part.h[j].part, part.h[j].row);
		free(part.h);
	}
	rc = 0;
out:
	free(keys);
	free(dist);
	return rc;
}

/* The query's embedding (unit length after the component), or 0 when it has
 * no known word (*zero). */
static int embed_query(struct sds *d, const char *text, size_t len, float *out, int *zero,
		       struct lh_error *err)
{
	const char *texts[1] = { text };
	if (embedder_embed(d->v.e, texts, &len, 1, out, err))
		return -1;
	if (d->v.pc)
		sif_remove(out, d->v.dim, d->v.pc);
	*zero = 1;
	for (unsigned i = 0; i < d->v.dim; i++)
		if (out[i] != 0.0f)
			*zero = 0;
	return 0;
}

/* Notes 4-5: this dataset's best k into d->hits. */
static int rank(struct sds *d, const struct sreq *q, const char *text, size_t text_len,
		struct lh_error *err)
{
	int use_text = q->mode != MODE_VECTOR && text;
	int use_vector = q->mode != MODE_TEXT;
	/* feedback re-ranks the best SEARCH_HYBRID_DEPTH (or k) of every mode */
	size_t keep = q->feedback && q->k < SEARCH_HYBRID_DEPTH ? SEARCH_HYBRID_DEPTH : (size_t)q->k;
	size_t depth = q->mode == MODE_HYBRID ? (size_t)(q->k > SEARCH_HYBRID_DEPTH ? q->k
									     : SEARCH_HYBRID_DEPTH)
					      : keep;
	struct topk tt = { 0 }, tv = { 0 };
	struct hit *th = NULL, *tvh = NULL;
	size_t nth = 0, ntv = 0;
	float *qv = NULL;
	int rc = -1, zero = 1;
	topk_init(&tt, depth);
	topk_init(&tv, depth);
	if (text) {   /* the terms also make the highlights, in every mode */
		text_query_parse(text, text_len, &d->tq);
		drop_stop_words(&d->tq);
	}
	if (use_text) {
		if (rank_text(d, depth, q->like_dataset != NULL, &tt, err))
			goto out;
	}
	if (use_vector) {
		qv = xcalloc(d->v.dim, sizeof *qv);
		if (q->vector) {
			if (q->vector_dim != d->v.dim) {
				lh_fail(err, 400, "bad_vector", "field \"vector\" has %zu numbers; the index "
					"of \"%s\" (embedder %s) has %u dimensions", q->vector_dim,
					d->v.m->name, d->v.decl.embedder, d->v.dim);
				goto out;
			}
			double norm = sqrt(dot(q->vector, q->vector, d->v.dim));
			for (unsigned i = 0; norm > 0 && i < d->v.dim; i++)
				qv[i] = (float)(q->vector[i] / norm);
			zero = norm == 0;
		} else if (embed_query(d, text, text_len, qv, &zero, err)) {
			goto out;
		}
		if (zero && q->mode == MODE_VECTOR) {
			if (q->vector)
				lh_fail(err, 400, "bad_vector", "field \"vector\" is all zeros: it has no "
					"direction to compare rows with");
			else
				lh_fail(err, 400, "bad_query", "no word of the query is known to the "
					"embedder (%s), so it has no meaning to compare rows with; search "
					"in mode \"text\" or \"hybrid\"", d->v.decl.embedder);
			goto out;
		}
		d->words_only = zero;   /* hybrid: ranked by its words alone, and said */
		if (!zero && rank_vector(d, qv, depth, &tv, err))
			goto out;
	}
	th = topk_sorted(&tt, &nth);
	tvh = topk_sorted(&tv, &ntv);
	size_t k = keep;
	if (q->mode == MODE_TEXT || q->mode == MODE_VECTOR) {
		struct hit *src = q->mode == MODE_TEXT ? th : tvh;
		size_t n = q->mode == MODE_TEXT ? nth : ntv;
		d->nhits = n < k ? n : k;
		d->hits = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->hits);
		d->text_rank = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->text_rank);
		d->vector_rank = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->vector_rank);
		for (size_t i = 0; i < d->nhits; i++) {
			d->hits[i] = src[i];
			if (q->mode == MODE_TEXT)
				d->text_rank[i] = (uint32_t)i + 1;
			else
				d->vector_rank[i] = (uint32_t)i + 1;
		}
		rc = 0;
		goto out;
	}
	/* note 5: fuse; a row's ranks are found by (part, row) */
	size_t nall = nth + ntv;
	struct hit *all = xcalloc(nall ? nall : 1, sizeof *all);
	uint32_t *rt = xcalloc(nall ? nall : 1, sizeof *rt), *rv = xcalloc(nall ? nall : 1, sizeof *rv);
	size_t n = 0;
	for (size_t i = 0; i < nth; i++) {
		all[n] = th[i];
		all[n].score = q->w_text / (SEARCH_RRF_K + (double)(i + 1));
		rt[n++] = (uint32_t)i + 1;
	}
	for (size_t i = 0; i < ntv; i++) {
		size_t j;
		for (j = 0; j < nth; j++)
			if (all[j].part == tvh[i].part && all[j].row == tvh[i].row)
				break;
		if (j == nth) {
			all[n] = tvh[i];
			all[n].score = 0;
			j = n++;
		}
		all[j].score += q->w_vector / (SEARCH_RRF_K + (double)(i + 1));
		rv[j] = (uint32_t)i + 1;
	}
	/* sort by fused score, carrying the ranks along */
	size_t *order = xcalloc(n ? n : 1, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++) {   /* insertion sort: n <= 2 * depth */
		size_t x = order[i], j = i;
		while (j > 0 && hit_before(&all[x], &all[order[j - 1]])) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = x;
	}
	d->nhits = n < k ? n : k;
	d->hits = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->hits);
	d->text_rank = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->text_rank);
	d->vector_rank = xcalloc(d->nhits ? d->nhits : 1, sizeof *d->vector_rank);
	for (size_t i = 0; i < d->nhits; i++) {
		d->hits[i] = all[order[i]];
		d->text_rank[i] = rt[order[i]];
		d->vector_rank[i] = rv[order[i]];
	}
	free(order);
	free(all);
	free(rt);
	free(rv);
	rc = 0;
out:
	if (!th)
		free(tt.h);   /* not handed over by topk_sorted */
	if (!tvh)
		free(tv.h);
	free(th);
	free(tvh);
	free(qv);
	return rc;
}

static void sds_free(struct search *s, struct sds *d)
{
	if (d->allowed)
		for (size_t i = 0; i < d->v.nparts; i++)
			free(d->allowed[i]);
	free(d->allowed);
	free(d->nallowed);
	text_query_free(&d->tq);
	free(d->hits);
	free(d->text_rank);
	free(d->vector_rank);
	free(d->why);
	search_feedback_release(s, d->fb_set);
	json_decref(d->fb_info);
	json_decref(d->masked);
	search_version_close(s, &d->v);
}

/* The text of the row `like` names: its dataset's index text (SPEC 11). */
static int like_text(struct search *s, struct qrun *r, const struct sreq *q, const char *rid,
		     struct lh_buf *out, struct lh_error *err)
{
	struct sds d = { 0 };
	char name[LH_DATASET_NAME_MAX + 1];
	int64_t version;
	char *where = NULL;
	int rc = -1;
	if (split_name(q->like_dataset, name, sizeof name, &version, err) ||
	    search_version_open(s, r, name, version, rid, &d.v, err) ||
	    mask_dataset(r, &d, q->mask, rid, err))
		goto out;
	if (!d.v.decl.id) {
		lh_fail(err, 400, "bad_request", "\"like\": the index of \"%s\" declares no id column; "
			"declare one with --id", d.v.m->name);
		goto out;
	}
	char *idq = xasprintf("\"%s\"", d.v.decl.id);
	for (char *p = idq + 1; p[1]; p++)
		if (*p == '"')
			*p = '_';   /* a quote in a column name cannot be declared */
	if (json_is_string(q->like_id)) {
		/* a SQL string literal: single quotes doubled */
		struct lh_buf sb;
		lh_buf_init(&sb, LH_SEARCH_MAX_QUERY_BYTES * 2 + 2);
		lh_buf_append(&sb, "'", 1);
		for (const char *p = json_string_value(q->like_id); *p; p++) {
			if (*p == '\'')
				lh_buf_append(&sb, "'", 1);
			lh_buf_append(&sb, p, 1);
		}
		lh_buf_append(&sb, "'", 1);
		where = xasprintf("CAST(%s AS VARCHAR) = %s", idq, sb.data);
		lh_buf_free(&sb);
	} else {
		where = xasprintf("%s = %" JSON_INTEGER_FORMAT, idq, json_integer_value(q->like_id));
	}
	free(idq);
	d.allowed = xcalloc(d.v.nparts + 1, sizeof *d.allowed);
	d.nallowed = xcalloc(d.v.nparts + 1, sizeof *d.nallowed);
	if (apply_where(s, r, &d, where, rid, err))
		goto out;
	for (size_t i = 0; i < d.v.nparts; i++) {
		if (!d.nallowed[i])
			continue;
		for (uint32_t row = 0; row < segment_rows(d.v.parts[i]->seg); row++) {
			if (!allowed_row(&d, (uint32_t)i, row))
				continue;
			size_t len;
			const char *js = segment_row(d.v.parts[i]->seg, row, &len);
			json_t *obj = json_loadb(js, len, 0, NULL);
			index_decl_row_text(&d.v.decl, obj, out);
			json_decref(obj);
			rc = 0;
			goto out;
		}
	}
	lh_fail(err, 404, "not_found", "\"like\": dataset \"%s\" has no row whose %s is %s",
		d.v.m->name, d.v.decl.id, json_is_string(q->like_id) ? json_string_value(q->like_id)
								      : "that number");
out:
	free(where);
	sds_free(s, &d);
	return rc;
}

/* ---- "feedback": true (search_feedback.c, ADR 0190) ------------------------- */

struct fb_find {
	struct search *s;
	struct qrun *r;
	struct sds *d;
	const char *rid;
};

/* Rows of d's version that satisfy `where` (ids of rated rows): through the
 * filter cache, like a search's where, into bitmaps of their own. */
static int fb_find_rows(void *ctx, const char *where, sfb_each_fn each, void *each_ctx,
			struct lh_error *err)
{
	struct fb_find *f = ctx;
	struct sds tmp = { 0 };
	int rc = -1;
	tmp.v = f->d->v;   /* borrowed: not closed here */
	tmp.allowed = xcalloc(tmp.v.nparts + 1, sizeof *tmp.allowed);
	tmp.nallowed = xcalloc(tmp.v.nparts + 1, sizeof *tmp.nallowed);
	if (apply_where(f->s, f->r, &tmp, where, f->rid, err))
		goto out;
	for (size_t i = 0; i < tmp.v.nparts; i++) {
		if (!tmp.nallowed[i])
			continue;
		uint32_t rows = segment_rows(tmp.v.parts[i]->seg);
		for (uint32_t row = 0; row < rows; row++)
			if (allowed_row(&tmp, (uint32_t)i, row) && each(each_ctx, (uint32_t)i, row))
				goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < tmp.v.nparts; i++)
		free(tmp.allowed[i]);
	free(tmp.allowed);
	free(tmp.nallowed);
	return rc;
}

static int fb_allowed(const void *ctx, uint32_t part, uint32_t row)
{
	return allowed_row(ctx, part, row);
}

/* d's candidates (rank kept up to SEARCH_HYBRID_DEPTH) re-ranked with the
 * dataset's feedback, then cut to k. */
static int rerank(struct search *s, struct qrun *r, struct sds *d, const struct sreq *q,
		  int pinned, const char *rid, struct lh_error *err)
{
	struct fb_find ff = { s, r, d, rid };
	struct sfb_ctx c = { .s = s, .r = r, .v = &d->v, .pinned = pinned, .rid = rid,
			     .allowed = fb_allowed, .allowed_ctx = d, .find = fb_find_rows,
			     .find_ctx = &ff, .sim_min = q->fb_sim, .inject_min = q->fb_inject,
			     .boost = q->fb_boost };
	size_t n = d->nhits;
	struct sfb_hit *h = xcalloc(n ? n : 1, sizeof *h);
	for (size_t i = 0; i < n; i++)
		h[i] = (struct sfb_hit){ d->hits[i].score, d->hits[i].part, d->hits[i].row,
					 d->text_rank[i], d->vector_rank[i], 0, NULL, 0, 0 };
	if (search_feedback_apply(&c, q->query, q->query_len, &h, &n, &d->fb_set, &d->fb_info,
				  err)) {
		free(h);
		return -1;
	}
	size_t k = n < (size_t)q->k ? n : (size_t)q->k;
	free(d->hits);
	free(d->text_rank);
	free(d->vector_rank);
	d->nhits = k;
	d->hits = xcalloc(k ? k : 1, sizeof *d->hits);
	d->text_rank = xcalloc(k ? k : 1, sizeof *d->text_rank);
	d->vector_rank = xcalloc(k ? k : 1, sizeof *d->vector_rank);
	for (size_t i = 0; i < k; i++) {
		d->hits[i] = (struct hit){ h[i].score, h[i].part, h[i].row };
		d->text_rank[i] = h[i].text_rank;
		d->vector_rank[i] = h[i].vector_rank;
	}
	d->why = h;   /* its first k are the hits' */
	return 0;
}

/* One hit as the answer shows it. */
static json_t *hit_json(const struct sds *d, const struct sreq *q, size_t i, int named)
{
	const struct hit *h = &d->hits[i];
	size_t len;
	const char *js = segment_row(d->v.parts[h->part]->seg, h->row, &len);
	json_t *row = json_loadb(js, len, 0, NULL);
	json_t *out = json_object(), *shown = row;
	if (!row)
		row = json_object();
	if (d->v.part_object) {   /* ADR 0173: an older object's row, as the version's */
		json_t *vrow = search_row_for_version(d->v.m, d->v.part_object[h->part], row);
		json_decref(row);
		row = vrow;
	}
	size_t mi;
	const json_t *mc;
	json_array_foreach(d->masked, mi, mc)   /* ADR 0211 */
		if (json_object_get(row, json_string_value(mc)))
			json_object_set_new(row, json_string_value(mc), json_null());
	if (q->columns) {
		size_t j;
		const json_t *c;
		shown = json_object();
		json_array_foreach(q->columns, j, c) {
			const char *name = json_string_value(c);
			json_t *v = json_object_get(row, name);
			json_object_set(shown, name, v ? v : json_null());
		}
	} else {
		shown = json_incref(row);
	}
	if (named)
		json_object_set_new(out, "dataset", json_string(d->v.m->name));
	json_object_set_new(out, "row", shown);
	json_object_set_new(out, "score", json_real(h->score));
	json_object_set_new(out, "text_rank", d->text_rank[i] ? json_integer(d->text_rank[i])
							       : json_null());
	json_object_set_new(out, "vector_rank", d->vector_rank[i]
							? json_integer(d->vector_rank[i])
							: json_null());
	json_t *hl = json_object();
	if (d->tq.nterms)
		for (size_t c = 0; c < d->v.decl.ntext; c++) {
			const json_t *v = json_object_get(row, d->v.decl.text[c]);
			if (!json_is_string(v))
				continue;
			char *snip = highlight_snippet(json_string_value(v), json_string_length(v),
						       &d->tq, SEARCH_HIGHLIGHT_CHARS);
			if (snip)
				json_object_set_new(hl, d->v.decl.text[c], json_string(snip));
			free(snip);
		}
	json_object_set_new(out, "highlight", hl);
	if (d->why && d->why[i].moved)
		json_object_set_new(out, "feedback", json_pack("{s:s, s:f, s:f}", "query",
							       d->why[i].why_query, "score",
							       d->why[i].why_score, "similarity",
							       round(d->why[i].why_sim * 1e4) / 1e4));
	json_decref(row);
	return out;
}

static int check_columns(const struct sds *d, const struct sreq *q, struct lh_error *err)
{
	size_t j;
	const json_t *c;
	json_array_foreach(q->columns, j, c) {
		const char *name = json_string_value(c);
		size_t i;
		for (i = 0; i < d->v.m->ncolumns; i++)
			if (!strcmp(d->v.m->columns[i].name, name))
				break;
		if (i == d->v.m->ncolumns)
			return lh_fail(err, 400, "unknown_column", "field \"columns\": dataset \"%s\" "
				       "has no column \"%s\"", d->v.m->name, name);
	}
	return 0;
}

struct merged {
	size_t ds, i;
};

int search_run(struct queryd *qd, const json_t *body, int client_fd, int mask, const char *rid,
	       json_t **out, double *catalog_age_ms, struct lh_error *err)
{
	struct search *s = queryd_search(qd);
	struct sreq q;
	struct sds *ds = NULL;
	struct qrun *r = NULL;
	struct lh_buf like;
	json_t *answer = NULL;
	size_t nds = 0;
	int rc = -1;
	double t0 = clock_mono_ms();
	*out = NULL;
	lh_buf_init(&like, LH_SEARCH_MAX_ROW_TEXT);
	memset(&q, 0, sizeof q);
	if (parse_request(body, queryd_config(qd), &q, err))
		goto fail;
	q.mask = mask;
	r = qrun_create(qd, client_fd, t0 + (double)q.timeout_ms);
	qrun_set_mask(r, mask);   /* ADR 0205: its bound during a catalog outage */
	const char *text = q.query;
	size_t text_len = q.query_len;
	if (q.like_dataset) {
		if (like_text(s, r, &q, rid, &like, err))
			goto fail;
		text = like.data ? like.data : "";
		text_len = like.len;
	}
	ds = xcalloc(q.nnames, sizeof *ds);
	for (nds = 0; nds < q.nnames; nds++) {
		struct sds *d = &ds[nds];
		char name[LH_DATASET_NAME_MAX + 1];
		int64_t version;
		d->asked = q.names[nds];
		if (split_name(d->asked, name, sizeof name, &version, err) ||
		    search_version_open(s, r, name, version, rid, &d->v, err))
			goto dataset_failed;
		if (q.columns && check_columns(d, &q, err))
			goto dataset_failed;
		if (mask_dataset(r, d, q.mask, rid, err))
			goto dataset_failed;
		d->allowed = xcalloc(d->v.nparts + 1, sizeof *d->allowed);
		d->nallowed = xcalloc(d->v.nparts + 1, sizeof *d->nallowed);
		if (q.where && apply_where(s, r, d, q.where, rid, err))
			goto dataset_failed;
		for (size_t i = 0; i < d->v.nparts; i++) {
			uint64_t n = d->allowed[i] ? d->nallowed[i] : segment_rows(d->v.parts[i]->seg);
			d->searched += n;
			if (!d->v.parts[i]->stored)
				d->unindexed += n;   /* of the rows searched, as searched_rows */
		}
		if (rank(d, &q, text, text_len, err))
			goto dataset_failed;
		if (q.feedback && rerank(s, r, d, &q, version != 0, rid, err))
			goto dataset_failed;
		if (d->v.unindexed_rows)
			search_builder_wake(s);
		continue;
dataset_failed:
		nds++;
		if (q.many && err->status >= 500) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "dataset \"%.64s\": %.400s", d->asked, err->msg);
			snprintf(err->msg, sizeof err->msg, "%s", msg);
			if (err->status != 503 && err->status != 504)
				err->status = 502;
		} else if (q.many) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "dataset \"%.64s\": %.400s", d->asked, err->msg);
			snprintf(err->msg, sizeof err->msg, "%s", msg);
		}
		goto fail;
	}
	/* note 6: merge */
	size_t total = 0;
	for (size_t i = 0; i < nds; i++)
		total += ds[i].nhits;
	struct merged *mg = xcalloc(total ? total : 1, sizeof *mg);
	size_t nm = 0;
	for (size_t i = 0; i < nds; i++)
		for (size_t j = 0; j < ds[i].nhits; j++)
			mg[nm++] = (struct merged){ i, j };
	for (size_t i = 1; i < nm; i++) {   /* stable: earlier datasets first on ties */
		struct merged x = mg[i];
		size_t j = i;
		while (j > 0 && ds[x.ds].hits[x.i].score > ds[mg[j - 1].ds].hits[mg[j - 1].i].score) {
			mg[j] = mg[j - 1];
			j--;
		}
		mg[j] = x;
	}
	if (nm > (size_t)q.k)
		nm = (size_t)q.k;
	json_t *results = json_array();
	uint64_t searched = 0, unindexed = 0;
	for (size_t i = 0; i < nm; i++)
		json_array_append_new(results, hit_json(&ds[mg[i].ds], &q, mg[i].i, q.many));
	free(mg);
	for (size_t i = 0; i < nds; i++) {
		searched += ds[i].searched;
		unindexed += ds[i].unindexed;
	}
	answer = json_object();
	if (q.many) {
		json_t *list = json_array();
		for (size_t i = 0; i < nds; i++)
			json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I}", "dataset",
							      ds[i].v.m->name, "version",
							      (json_int_t)ds[i].v.m->version,
							      "searched_rows", (json_int_t)ds[i].searched,
							      "unindexed_rows",
							      (json_int_t)ds[i].unindexed));
		for (size_t i = 0; i < nds; i++)
			if (ds[i].fb_info)
				json_object_set(json_array_get(list, i), "feedback", ds[i].fb_info);
		json_object_set_new(answer, "datasets", list);
	} else {
		json_object_set_new(answer, "dataset", json_string(ds[0].v.m->name));
		json_object_set_new(answer, "version", json_integer((json_int_t)ds[0].v.m->version));
		if (q.feedback)
			json_object_set(answer, "feedback", ds[0].fb_info ? ds[0].fb_info : json_null());
	}
	json_object_set_new(answer, "mode", json_string(mode_names[q.mode]));
	json_object_set_new(answer, "embedder", json_string(ds[0].v.decl.embedder));
	json_object_set_new(answer, "k", json_integer((json_int_t)q.k));
	json_object_set_new(answer, "results", results);
	json_object_set_new(answer, "searched_rows", json_integer((json_int_t)searched));
	json_object_set_new(answer, "unindexed_rows", json_integer((json_int_t)unindexed));
	json_t *notes = json_array();
	if (q.k_capped)
		json_array_append_new(notes, json_string("k was capped at the largest k a search may "
							 "ask for (1000)"));
	for (size_t i = 0; i < nds; i++)
		if (ds[i].words_only) {
			json_array_append_new(notes, json_string("no word of the query is known to the "
								 "embedder: ranked by its words alone"));
			break;
		}
	if (json_array_size(notes))
		json_object_set_new(answer, "notes", notes);
	else
		json_decref(notes);
	json_object_set_new(answer, "elapsed_ms", json_real(clock_mono_ms() - t0));
	*out = answer;
	answer = NULL;
	rc = 0;
fail:
	for (size_t i = 0; i < nds; i++)
		sds_free(s, &ds[i]);
	free(ds);
	if (catalog_age_ms)
		*catalog_age_ms = r ? qrun_catalog_age(r) : -1;
	qrun_free(r);
	free(q.vector);
	lh_buf_free(&like);
	json_decref(answer);
	return rc;
}

int search_route_search(struct http_request *req)
{
	struct lh_error err = { 0 };
	json_t *answer = NULL;
	size_t n = 0;
	const char *raw = http_request_body(req, &n);
	json_t *body = json_parse_request(raw, n, &err);
	int mask = !tokens_role_sees_personal((enum lh_role)http_request_role(req));
	double age = -1;
	if (body && search_run(http_request_ctx(req), body, http_request_client_fd(req), mask,
			       http_request_id(req), &answer, &age, &err) == 0)
		http_respond_json(req, 200, answer);   /* takes it */
	else
		http_respond_error(req, &err);
	queryd_catalog_answer(http_request_ctx(req), req, age, &err);   /* ADR 0205 */
	lh_error_clear(&err);
	json_decref(body);
	return 0;
}

/* ---- POST /embed ----------------------------------------------------------- */

int search_route_embed(struct http_request *req)
{
	struct queryd *qd = http_request_ctx(req);
	struct lh_error err = { 0 };
	json_t *body = NULL, *answer = NULL;
	const char **texts = NULL;
	size_t *lens = NULL, n = 0;
	float *out = NULL;
	const char *raw = http_request_body(req, &n);
	body = json_parse_request(raw, n, &err);
	if (!body)
		goto fail;
	const json_t *jt = json_object_get(body, "texts");
	const char *id = json_string_value(json_object_get(body, "embedder"));
	if (json_object_get(body, "embedder") && !id) {
		lh_fail(&err, 400, "bad_request", "field \"embedder\" must be text, e.g. \"builtin\"");
		goto fail;
	}
	if (!json_is_array(jt) || json_array_size(jt) == 0 ||
	    json_array_size(jt) > SEARCH_MAX_EMBED_TEXTS) {
		lh_fail(&err, 400, "bad_request", "field \"texts\" must be a list of 1 to %d texts",
			SEARCH_MAX_EMBED_TEXTS);
		goto fail;
	}
	size_t nt = json_array_size(jt), i;
	const json_t *t;
	texts = xcalloc(nt, sizeof *texts);
	lens = xcalloc(nt, sizeof *lens);
	json_array_foreach(jt, i, t) {
		if (!json_is_string(t) || json_string_length(t) > LH_SEARCH_MAX_QUERY_BYTES) {
			lh_fail(&err, 400, "bad_request", "field \"texts\": item %zu must be text of at "
				"most %d bytes", i, LH_SEARCH_MAX_QUERY_BYTES);
			goto fail;
		}
		texts[i] = json_string_value(t);
		lens[i] = json_string_length(t);
	}
	struct embedder *e = search_embedder(queryd_search(qd), id ? id : "builtin", &err);
	if (!e)
		goto fail;
	unsigned dim = embedder_dim(e);
	out = xcalloc(nt * dim, sizeof *out);
	if (embedder_embed(e, texts, lens, nt, out, &err))
		goto fail;
	json_t *vectors = json_array();
	for (i = 0; i < nt; i++) {
		json_t *v = json_array();
		for (unsigned j = 0; j < dim; j++)
			json_array_append_new(v, json_real(out[i * dim + j]));
		json_array_append_new(vectors, v);
	}
	answer = json_pack("{s:s, s:I, s:o}", "embedder", embedder_id(e), "dimension",
			   (json_int_t)dim, "vectors", vectors);
	http_respond_json(req, 200, answer);   /* takes it */
	answer = NULL;
	goto out;
fail:
	http_respond_error(req, &err);
out:
	lh_error_clear(&err);
	free(texts);
	free(lens);
	free(out);
	json_decref(answer);
	json_decref(body);
	return 0;
}
