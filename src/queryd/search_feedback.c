/* search_feedback.c — search that learns (SPEC 13; ADR 0190; docs/search.md
 * "Feedback"): POST /search/feedback records ratings, and a search with
 * "feedback": true re-ranks with them (search_feedback.h).
 *
 * DESIGN NOTES
 *  1. Ratings are data: POST /search/feedback appends them, one version per
 *     call, to the dataset `<name>__feedback` through ingestd (POST
 *     /ingest?mode=append, the service token), as CSV whose every value has
 *     one reading, so the columns' types are the same from the first call
 *     on: query (utf8; a query must hold a letter, so it never reads as a
 *     number, a date or a boolean), id (the row's id as JSON: an int64
 *     column for integer ids, `"C-17"` with its quotes for text ids, so
 *     they stay utf8), score (float64, always written with a '.'),
 *     recorded_at (timestamp[us, tz=UTC], queryd's clock), who (utf8: the
 *     name of the token that rated, ADR 0210; null without tokens), embedder ("builtin": what the similarity
 *     of queries uses; the query text is kept, so it can be embedded
 *     again). Nothing is edited in place; SQL reads it like any dataset.
 *  2. Checked before anything is written, the whole call refused on the
 *     first problem: the dataset exists, has an index that declares an id
 *     column of type int64 or utf8, is not itself a feedback dataset; every
 *     score is a number in [-1, 1]; every id exists in the dataset's latest
 *     version (one worker query: SELECT the distinct ids IN the list).
 *  3. A search's feedback set is the latest version of `<name>__feedback`,
 *     read by a worker once and kept per (feedback version, index
 *     fingerprint) in an LRU of LH_FEEDBACK_SETS: the distinct queries
 *     embedded with the builtin embedder (the index's common component
 *     removed when the index is builtin, as its searches are), and the
 *     ratings sorted by id. A new rating makes a new version, hence a new
 *     entry; nothing is invalidated.
 *  4. Time travel: "name@N" uses only ratings recorded at or before version
 *     N was made (its manifest's updated_at), so its answer never changes;
 *     "name" (the latest) uses every rating.
 *  5. The re-rank (feedback.h's math) looks only at past queries whose
 *     similarity to this query (feedback.h: the cosine of the builtin
 *     embeddings scaled by the share of known words, or the share of the
 *     past query's words this one holds, whichever is larger) is >=
 *     min_similarity: a search with no close
 *     past query is returned exactly as without feedback. Candidates are
 *     matched to ratings by their id; a rated row that is not a candidate
 *     is looked up (a worker query by id, through the filter cache) and
 *     added only when feedback_may_inject says so and the search's `where`
 *     keeps it. Rows missing from the searched version are never found,
 *     hence ignored.
 */
#include "queryd/queryd_int.h"
#include "queryd/search_feedback.h"
#include "queryd/search_int.h"

#include "search/embed.h"
#include "search/feedback.h"
#include "search/segment.h"
#include "search/sif.h"

#include "common/auth.h"
#include "common/buf.h"
#include "common/calendar.h"
#include "common/catalog_client.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/names.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the feedback set (note 3) ---------------------------------------------- */

struct sfb_entry {
	char *id;            /* the row's id as JSON text: 17, "C-17" */
	uint32_t query;
	double score;
	int64_t t_ms;        /* recorded_at */
};

struct sfb_set {
	char *key;
	int refs;            /* the cache's one plus each search's */
	uint64_t tick;
	int64_t version;
	char **queries;
	size_t nq;
	float *vecs;         /* nq * dim, unit length (or zeros) */
	uint64_t *words;     /* query i's words (feedback_words) are words[woff[i] .. woff[i + 1]) */
	size_t *woff;
	double *known;       /* per query: the share of its words the embedder knows */
	unsigned dim;
	struct sfb_entry *e; /* sorted by id, then recorded order */
	size_t ne;
};

static void set_free(struct sfb_set *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nq; i++)
		free(f->queries[i]);
	for (size_t i = 0; i < f->ne; i++)
		free(f->e[i].id);
	free(f->queries);
	free(f->vecs);
	free(f->words);
	free(f->woff);
	free(f->known);
	free(f->e);
	free(f->key);
	free(f);
}

void search_feedback_release(struct search *s, struct sfb_set *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&s->mu);
	int last = --f->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (last)
		set_free(f);
}

void search_feedback_cache_free(struct search *s)
{
	for (size_t i = 0; i < s->nfeedback; i++)
		search_feedback_release(s, s->feedback[i]);
	free(s->feedback);
	s->feedback = NULL;
	s->nfeedback = 0;
}

static struct sfb_set *cache_get(struct search *s, const char *key)
{
	struct sfb_set *f = NULL;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfeedback; i++)
		if (!strcmp(s->feedback[i]->key, key)) {
			f = s->feedback[i];
			f->refs++;
			f->tick = ++s->tick;
			break;
		}
	pthread_mutex_unlock(&s->mu);
	return f;
}

/* Keep `f` (the caller's reference stays the caller's); a set already kept
 * under the key wins and is returned instead, f released. */
static struct sfb_set *cache_put(struct search *s, struct sfb_set *f)
{
	struct sfb_set *gone = NULL;
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < s->nfeedback; i++)
		if (!strcmp(s->feedback[i]->key, f->key)) {
			struct sfb_set *kept = s->feedback[i];
			kept->refs++;
			pthread_mutex_unlock(&s->mu);
			search_feedback_release(s, f);
			return kept;
		}
	if (s->nfeedback == LH_FEEDBACK_SETS) {
		size_t old = 0;
		for (size_t i = 1; i < s->nfeedback; i++)
			if (s->feedback[i]->tick < s->feedback[old]->tick)
				old = i;
		gone = s->feedback[old];
		s->feedback[old] = s->feedback[--s->nfeedback];
	}
	if (!s->feedback)
		s->feedback = xcalloc(LH_FEEDBACK_SETS, sizeof *s->feedback);
	f->refs++;
	f->tick = ++s->tick;
	s->feedback[s->nfeedback++] = f;
	pthread_mutex_unlock(&s->mu);
	search_feedback_release(s, gone);
	return f;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct sfb_entry *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	return x->t_ms < y->t_ms ? -1 : x->t_ms > y->t_ms;
}

struct load_ctx {
	struct sfb_set *f;
	size_t cap_e, cap_q;
	/* distinct queries: open addressing over f->queries */
	uint32_t *slots;
	size_t nslots;
};

static uint64_t text_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static uint32_t query_index(struct load_ctx *c, const char *q)
{
	struct sfb_set *f = c->f;
	if ((f->nq + 1) * 2 > c->nslots) {
		size_t n = c->nslots ? c->nslots * 2 : 1024;
		uint32_t *slots = xcalloc(n, sizeof *slots);
		for (size_t i = 0; i < f->nq; i++) {
			size_t j = text_hash(f->queries[i]) & (n - 1);
			while (slots[j])
				j = (j + 1) & (n - 1);
			slots[j] = (uint32_t)i + 1;
		}
		free(c->slots);
		c->slots = slots;
		c->nslots = n;
	}
	size_t j = text_hash(q) & (c->nslots - 1);
	while (c->slots[j]) {
		if (!strcmp(f->queries[c->slots[j] - 1], q))
			return c->slots[j] - 1;
		j = (j + 1) & (c->nslots - 1);
	}
	if (f->nq == c->cap_q) {
		c->cap_q = c->cap_q ? c->cap_q * 2 : 64;
		f->queries = xrealloc(f->queries, c->cap_q * sizeof *f->queries);
	}
	f->queries[f->nq] = xstrdup(q);
	c->slots[j] = (uint32_t)f->nq + 1;
	return (uint32_t)f->nq++;
}

static int load_line(void *ctx, const char *line, size_t len, struct lh_error *err)
{
	struct load_ctx *c = ctx;
	struct sfb_set *f = c->f;
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *q = json_string_value(json_object_get(o, "query"));
	const char *id = json_string_value(json_object_get(o, "id"));
	const json_t *sc = json_object_get(o, "score"), *t = json_object_get(o, "t");
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return lh_fail(err, 500, "internal", "a feedback row could not be read");
	}
	if (q && id && json_is_number(sc) && json_is_integer(t)) {   /* else: a null, skipped */
		if (f->ne == c->cap_e) {
			c->cap_e = c->cap_e ? c->cap_e * 2 : 256;
			f->e = xrealloc(f->e, c->cap_e * sizeof *f->e);
		}
		f->e[f->ne++] = (struct sfb_entry){ xstrdup(id), query_index(c, q),
						    json_number_value(sc), json_integer_value(t) };
	}
	json_decref(o);
	return 0;
}

/* The share of the query's words (feedback_word_texts) that `e` knows: a
 * word whose embedding is all zeros is not known. 1 for a query of no
 * word. */
static int known_share(struct embedder *e, const char *text, size_t len, double *out,
		       struct lh_error *err)
{
	char words[FEEDBACK_MAX_WORDS][FEEDBACK_WORD_BYTES];
	const char *texts[FEEDBACK_MAX_WORDS];
	size_t lens[FEEDBACK_MAX_WORDS];
	size_t n = feedback_word_texts(text, len, words, FEEDBACK_MAX_WORDS), known = 0;
	unsigned dim = embedder_dim(e);
	*out = 1;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		texts[i] = words[i];
		lens[i] = strlen(words[i]);
	}
	float *v = xcalloc(n * dim, sizeof *v);
	if (embedder_embed(e, texts, lens, n, v, err)) {
		free(v);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned j = 0; j < dim; j++)
			if (v[i * dim + j] != 0.0f) {
				known++;
				break;
			}
	free(v);
	*out = (double)known / (double)n;
	return 0;
}

/* Read and embed the feedback set of `fm` (note 3). */
static int set_load(struct search *s, struct qrun *r, const struct sversion *v,
		    const struct manifest *fm, const char *key, const char *rid,
		    struct sfb_set **out, struct lh_error *err)
{
	struct sfb_set *f = xcalloc(1, sizeof *f);
	struct load_ctx c = { .f = f };
	const char **texts = NULL;
	size_t *lens = NULL;
	int rc = -1;
	f->refs = 1;
	f->key = xstrdup(key);
	f->version = fm->version;
	if (qrun_add_version(r, fm, "__lh_feedback", 0, rid, err))
		goto out;
	if (qrun_lines(r, "SELECT \"query\", CAST(\"id\" AS VARCHAR) AS \"id\", "
			  "CAST(\"score\" AS DOUBLE) AS \"score\", "
			  "epoch_ms(CAST(\"recorded_at\" AS TIMESTAMPTZ)) AS \"t\" "
			  "FROM \"__lh_feedback\"", "ndjson", load_line, &c, err)) {
		if (err->status == 400) {
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "dataset \"%s\" does not hold search feedback as "
				 "POST /search/feedback writes it (columns query, id, score, "
				 "recorded_at): %.300s", fm->name, err->msg);
			lh_fail(err, 409, "bad_feedback", "%s", msg);
		}
		goto out;
	}
	qsort(f->e, f->ne, sizeof *f->e, entry_cmp);
	struct embedder *e = search_embedder(s, "builtin", err);
	if (!e)
		goto out;
	f->dim = embedder_dim(e);
	f->vecs = xcalloc(f->nq ? f->nq * f->dim : 1, sizeof *f->vecs);
	texts = xcalloc(f->nq ? f->nq : 1, sizeof *texts);
	lens = xcalloc(f->nq ? f->nq : 1, sizeof *lens);
	for (size_t i = 0; i < f->nq; i++) {
		texts[i] = f->queries[i];
		lens[i] = strlen(f->queries[i]);
	}
	for (size_t i = 0; i < f->nq; i += LH_EMBED_MAX_TEXTS) {
		size_t n = f->nq - i < LH_EMBED_MAX_TEXTS ? f->nq - i : LH_EMBED_MAX_TEXTS;
		if (embedder_embed(e, texts + i, lens + i, n, f->vecs + i * f->dim, err))
			goto out;
	}
	int builtin = !strcmp(v->decl.embedder, "builtin") && v->pc && v->dim == f->dim;
	for (size_t i = 0; builtin && i < f->nq; i++)
		sif_remove(f->vecs + i * f->dim, f->dim, v->pc);
	f->known = xcalloc(f->nq ? f->nq : 1, sizeof *f->known);
	for (size_t i = 0; i < f->nq; i++)
		if (known_share(e, texts[i], lens[i], &f->known[i], err))
			goto out;
	f->woff = xcalloc(f->nq + 1, sizeof *f->woff);
	size_t wcap = 0;
	for (size_t i = 0; i < f->nq; i++) {
		if (f->woff[i] + FEEDBACK_MAX_WORDS > wcap) {
			wcap = (f->woff[i] + FEEDBACK_MAX_WORDS) * 2;
			f->words = xrealloc(f->words, wcap * sizeof *f->words);
		}
		f->woff[i + 1] = f->woff[i] + feedback_words(texts[i], lens[i], f->words + f->woff[i],
							     FEEDBACK_MAX_WORDS);
	}
	*out = f;
	f = NULL;
	rc = 0;
out:
	free(texts);
	free(lens);
	free(c.slots);
	set_free(f);
	return rc;
}

/* The feedback set of v's dataset, or *out NULL when it has none. */
static int set_get(struct search *s, struct qrun *r, const struct sversion *v, const char *rid,
		   struct sfb_set **out, struct lh_error *err)
{
	char name[LH_DATASET_NAME_MAX + 16];
	struct manifest *fm = NULL;
	*out = NULL;
	snprintf(name, sizeof name, "%s%s", v->m->name, LH_FEEDBACK_SUFFIX);
	if (strlen(name) > LH_DATASET_NAME_MAX)
		return 0;
	if (qrun_manifest(r, name, 0, rid, &fm, err)) {
		if (err->status == 404) {
			lh_error_clear(err);
			memset(err, 0, sizeof *err);
			return 0;
		}
		return -1;
	}
	int builtin = !strcmp(v->decl.embedder, "builtin") && v->pc;
	char *key = xasprintf("%s@%" PRId64 "/%s/%" PRId64 "\n%s", fm->name, fm->version,
			      fm->updated_at, fm->row_count,
			      builtin && v->decl.fingerprint ? v->decl.fingerprint : "raw");
	int rc = 0;
	*out = cache_get(s, key);
	if (!*out) {
		struct sfb_set *f = NULL;
		rc = set_load(s, r, v, fm, key, rid, &f, err);
		if (rc == 0)
			*out = cache_put(s, f);
	}
	free(key);
	manifest_unref(fm);
	return rc;
}

/* ---- the re-rank (note 5) ---------------------------------------------------- */

/* The row's id as the feedback set holds it (JSON text), or NULL. */
static char *row_id(const struct sversion *v, uint32_t part, uint32_t row)
{
	size_t len;
	const char *js = segment_row(v->parts[part]->seg, row, &len);
	json_t *o = json_loadb(js, len, 0, NULL);
	const json_t *id = json_object_get(o, v->decl.id);
	char *out = NULL;
	if (json_is_integer(id) || json_is_string(id))
		out = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(o);
	return out;
}

/* The ratings of `id` as votes (from close queries, recorded in time). */
static size_t votes_of(const struct sfb_set *f, const char *id, const double *sim,
		       double sim_min, int64_t until_ms, struct feedback_vote **vv, size_t *cap)
{
	size_t lo = 0, hi = f->ne, n = 0;
	while (lo < hi) {   /* the first entry whose id is >= id */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(f->e[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < f->ne && !strcmp(f->e[i].id, id); i++) {
		const struct sfb_entry *x = &f->e[i];
		if (sim[x->query] < sim_min || x->t_ms > until_ms)
			continue;
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*vv = xrealloc(*vv, *cap * sizeof **vv);
		}
		(*vv)[n++] = (struct feedback_vote){ sim[x->query], x->score, x->query };
	}
	return n;
}

struct found {
	struct sfb_hit *list;
	size_t n, cap;
	const struct sfb_ctx *c;
};

static int found_row(void *ctx, uint32_t part, uint32_t row)
{
	struct found *fd = ctx;
	for (size_t i = 0; i < fd->n; i++)
		if (fd->list[i].part == part && fd->list[i].row == row)
			return 0;
	if (fd->c->allowed && !fd->c->allowed(fd->c->allowed_ctx, part, row))
		return 0;   /* the search's where leaves it out */
	if (fd->n == fd->cap) {
		fd->cap = fd->cap ? fd->cap * 2 : 8;
		fd->list = xrealloc(fd->list, fd->cap * sizeof *fd->list);
	}
	fd->list[fd->n++] = (struct sfb_hit){ .part = part, .row = row };
	return 0;
}

/* The SQL literal of a JSON id: 17, or 'C-17' (quotes doubled). */
static void id_literal(const char *json_id, struct lh_buf *out)
{
	json_t *v = json_loads(json_id, JSON_DECODE_ANY, NULL);
	if (json_is_string(v)) {
		lh_buf_append(out, "'", 1);
		for (const char *p = json_string_value(v); *p; p++) {
			if (*p == '\'')
				lh_buf_append(out, "'", 1);
			lh_buf_append(out, p, 1);
		}
		lh_buf_append(out, "'", 1);
	} else if (json_is_integer(v)) {
		char num[32];
		int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		lh_buf_append(out, num, (size_t)n);
	} else {
		lh_buf_append(out, "NULL", 4);
	}
	json_decref(v);
}

int search_feedback_apply(const struct sfb_ctx *c, const char *text, size_t len,
			  struct sfb_hit **hits, size_t *n, struct sfb_set **held, json_t **info,
			  struct lh_error *err)
{
	const struct sversion *v = c->v;
	struct sfb_set *f = NULL;
	struct feedback_params p = { c->sim_min, c->inject_min, c->boost };
	float *qv = NULL;
	double *sim = NULL;
	char **ids = NULL;
	struct feedback_vote *vv = NULL;
	size_t vcap = 0, nclose = 0, n0 = 0;
	struct lh_buf where;
	int rc = -1;
	lh_buf_init(&where, 1u << 20);
	*held = NULL;
	*info = NULL;
	if (!v->decl.id || !text || !len) {
		rc = 0;   /* rows cannot be matched to ratings, or no query text */
		goto out;
	}
	if (set_get(c->s, c->r, v, c->rid, &f, err))
		goto out;
	if (!f) {
		rc = 0;
		goto out;
	}
	int64_t until = INT64_MAX;
	if (c->pinned && calendar_parse_rfc3339_ms(v->m->updated_at, &until) != 0)
		until = INT64_MIN;   /* the version's time is unknown: no rating applies */
	/* note 5: the query, embedded as the set's queries are */
	struct embedder *e = search_embedder(c->s, "builtin", err);
	if (!e)
		goto out;
	qv = xcalloc(f->dim, sizeof *qv);
	if (embedder_embed(e, &text, &len, 1, qv, err))
		goto out;
	if (!strcmp(v->decl.embedder, "builtin") && v->pc && v->dim == f->dim)
		sif_remove(qv, f->dim, v->pc);
	uint64_t qw[FEEDBACK_MAX_WORDS];
	size_t nqw = feedback_words(text, len, qw, FEEDBACK_MAX_WORDS);
	double qknown;
	if (known_share(e, text, len, &qknown, err))
		goto out;
	sim = xcalloc(f->nq ? f->nq : 1, sizeof *sim);
	for (size_t i = 0; i < f->nq; i++) {   /* feedback.h: the larger of the two */
		double cs = feedback_cosine(qv, f->vecs + i * f->dim, f->dim);
		double ov = feedback_overlap(f->words + f->woff[i], f->woff[i + 1] - f->woff[i], qw,
					     nqw);
		sim[i] = feedback_similarity(cs, qknown, f->known[i], ov);
		nclose += sim[i] >= p.sim_min;
	}
	size_t ratings = 0;
	for (size_t i = 0; i < f->ne; i++)
		ratings += f->e[i].t_ms <= until;
	*info = json_pack("{s:s+, s:I, s:I, s:I}", "dataset", v->m->name, LH_FEEDBACK_SUFFIX,
			  "version", (json_int_t)f->version, "ratings", (json_int_t)ratings,
			  "close_queries", (json_int_t)nclose);
	*held = f;
	f = NULL;
	if (nclose == 0) {
		rc = 0;   /* nothing close: the plain answer, exactly */
		goto out;
	}
	const struct sfb_set *set = *held;
	double top = *n && (*hits)[0].score > 0 ? (*hits)[0].score : 1.0;
	/* the candidates */
	n0 = *n;
	ids = xcalloc(n0 ? n0 : 1, sizeof *ids);
	for (size_t i = 0; i < *n; i++) {
		struct sfb_hit *h = &(*hits)[i];
		ids[i] = row_id(v, h->part, h->row);
		if (!ids[i])
			continue;
		size_t nv = votes_of(set, ids[i], sim, p.sim_min, until, &vv, &vcap), why;
		double delta;
		if (nv && feedback_adjust(vv, nv, &p, top, &delta, &why)) {
			h->score += delta;
			h->moved = 1;
			h->why_query = set->queries[vv[why].query];
			h->why_score = vv[why].score;
			h->why_sim = vv[why].sim;
		}
	}
	/* rated rows that are not candidates, from very close queries */
	size_t nlit = 0;
	for (size_t i = 0; i < set->ne; i++) {
		const struct sfb_entry *x = &set->e[i];
		if (sim[x->query] < p.inject_min || x->t_ms > until || x->score <= 0 ||
		    (i > 0 && !strcmp(set->e[i - 1].id, x->id)))
			continue;
		size_t j;
		for (j = 0; j < n0; j++)
			if (ids[j] && !strcmp(ids[j], x->id))
				break;
		if (j < n0)
			continue;
		size_t nv = votes_of(set, x->id, sim, p.sim_min, until, &vv, &vcap);
		if (!feedback_may_inject(vv, nv, &p))
			continue;
		lh_buf_append(&where, nlit ? ", " : "", nlit ? 2 : 0);
		id_literal(x->id, &where);
		nlit++;
	}
	if (nlit) {
		char *col = xasprintf("\"%s\"", v->decl.id);
		for (char *q = col + 1; q[1]; q++)
			if (*q == '"')
				*q = '_';
		char *cond = xasprintf("%s IN (%.*s)", col, (int)where.len, where.data);
		free(col);
		struct found fd = { .c = c };
		int frc = c->find(c->find_ctx, cond, found_row, &fd, err);
		free(cond);
		if (frc) {
			free(fd.list);
			goto out;
		}
		for (size_t i = 0; i < fd.n; i++) {
			struct sfb_hit *h = &fd.list[i];
			char *id = row_id(v, h->part, h->row);
			size_t nv = id ? votes_of(set, id, sim, p.sim_min, until, &vv, &vcap) : 0, why;
			double delta;
			free(id);
			if (!nv || !feedback_may_inject(vv, nv, &p) ||
			    !feedback_adjust(vv, nv, &p, top, &delta, &why))
				continue;
			h->score = delta;
			h->moved = 1;
			h->why_query = set->queries[vv[why].query];
			h->why_score = vv[why].score;
			h->why_sim = vv[why].sim;
			*hits = xrealloc(*hits, (*n + 1) * sizeof **hits);
			(*hits)[(*n)++] = *h;
		}
		free(fd.list);
	}
	/* best first, ties by (part, row) */
	struct feedback_cand *fc = xcalloc(*n ? *n : 1, sizeof *fc);
	for (size_t i = 0; i < *n; i++)
		fc[i] = (struct feedback_cand){ (*hits)[i].score, (*hits)[i].part, (*hits)[i].row, i };
	feedback_sort(fc, *n);
	struct sfb_hit *sorted = xcalloc(*n ? *n : 1, sizeof *sorted);
	for (size_t i = 0; i < *n; i++)
		sorted[i] = (*hits)[fc[i].index];
	free(fc);
	free(*hits);
	*hits = sorted;
	rc = 0;
out:
	for (size_t i = 0; ids && i < n0; i++)
		free(ids[i]);
	free(ids);
	free(vv);
	free(sim);
	free(qv);
	lh_buf_free(&where);
	search_feedback_release(c->s, f);
	if (rc) {
		search_feedback_release(c->s, *held);
		*held = NULL;
		json_decref(*info);
		*info = NULL;
	}
	return rc;
}

/* ---- POST /search/feedback (notes 1-2) ---------------------------------------- */

struct rating {
	const char *query;
	char *id;            /* JSON text of the id, typed as the column */
	double score;
};

/* A query must hold a letter, so its CSV value reads as text (note 1) and
 * the builtin embedder has a word to embed. */
static int query_has_letter(const char *q)
{
	int letters = 0;
	for (const unsigned char *p = (const unsigned char *)q; *p; p++)
		if (*p >= 0x80 || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z'))
			letters++;
	if (!letters)
		return 0;
	/* the words a CSV reads as booleans */
	static const char *const bools[] = { "true", "false" };
	for (size_t i = 0; i < 2; i++)
		if (!strcasecmp(q, bools[i]))
			return 0;
	return 1;
}

/* One item {query, id, score} (or the single form's fields) of `body`. */
static int parse_item(const json_t *o, size_t i, int bulk, int int_ids, struct rating *out,
		      struct lh_error *err)
{
	char where[48] = "";
	if (bulk)
		snprintf(where, sizeof where, "items[%zu]: ", i);
	if (!json_is_object(o))
		return lh_fail(err, 400, "bad_request", "%sa rating must be {\"query\", \"id\", "
			       "\"score\"}", where);
	const char *key;
	const json_t *val;
	json_object_foreach((json_t *)o, key, val) {
		if (strcmp(key, "query") && strcmp(key, "id") && strcmp(key, "score") &&
		    (bulk || (strcmp(key, "dataset"))))
			return lh_fail(err, 400, "bad_request", "%sunknown field \"%.64s\"", where, key);
	}
	const json_t *q = json_object_get(o, "query"), *id = json_object_get(o, "id"),
		     *sc = json_object_get(o, "score");
	if (!json_is_string(q))
		return lh_fail(err, 400, "bad_query", "%sfield \"query\" must be the search's text",
			       where);
	out->query = json_string_value(q);
	size_t ql = json_string_length(q), b = 0;
	while (b < ql && strchr(" \t\r\n", out->query[b]))
		b++;
	if (b == ql)
		return lh_fail(err, 400, "bad_query", "%sfield \"query\" is empty", where);
	if (ql > LH_SEARCH_MAX_QUERY_BYTES)
		return lh_fail(err, 400, "bad_query", "%sfield \"query\" is %zu bytes; the limit is %d",
			       where, ql, LH_SEARCH_MAX_QUERY_BYTES);
	if (strlen(out->query) != ql)
		return lh_fail(err, 400, "bad_query", "%sfield \"query\" contains a NUL character",
			       where);
	if (!query_has_letter(out->query))
		return lh_fail(err, 400, "bad_query", "%sfield \"query\" must hold a word (a number "
			       "or true/false alone cannot be matched to later searches)", where);
	if (!sc || !json_is_number(sc) || !isfinite(json_number_value(sc)) ||
	    json_number_value(sc) < -1 || json_number_value(sc) > 1)
		return lh_fail(err, 400, "bad_score", "%sfield \"score\" must be a number from -1 "
			       "(rejected) to 1 (placed)", where);
	out->score = json_number_value(sc);
	if (int_ids) {
		json_int_t n = 0;
		if (json_is_integer(id)) {
			n = json_integer_value(id);
		} else if (json_is_string(id)) {
			const char *s = json_string_value(id);
			char *end = NULL;
			long long x = strtoll(s, &end, 10);
			if (!*s || *end || strlen(s) != json_string_length(id) || strlen(s) > 20)
				return lh_fail(err, 400, "bad_id", "%sfield \"id\": the dataset's ids "
					       "are whole numbers", where);
			n = (json_int_t)x;
		} else {
			return lh_fail(err, 400, "bad_id", "%sfield \"id\" must be the row's id (the "
				       "index's id column: a whole number)", where);
		}
		out->id = xasprintf("%" JSON_INTEGER_FORMAT, n);
	} else {
		json_t *sv;
		if (json_is_string(id)) {
			if (strlen(json_string_value(id)) != json_string_length(id) ||
			    json_string_length(id) > LH_SEARCH_MAX_QUERY_BYTES)
				return lh_fail(err, 400, "bad_id", "%sfield \"id\" holds a NUL or is over "
					       "%d bytes", where, LH_SEARCH_MAX_QUERY_BYTES);
			sv = json_incref((json_t *)id);
		} else if (json_is_integer(id)) {
			char num[32];
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
			sv = json_string(num);
		} else {
			return lh_fail(err, 400, "bad_id", "%sfield \"id\" must be the row's id (the "
				       "index's id column: text)", where);
		}
		out->id = json_dumps(sv, JSON_ENCODE_ANY | JSON_COMPACT);
		json_decref(sv);
	}
	return 0;
}

/* CSV: every field quoted, quotes doubled. */
static void csv_field(struct lh_buf *b, const char *s)
{
	lh_buf_append(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"')
			lh_buf_append(b, "\"", 1);
		lh_buf_append(b, s, 1);
	}
	lh_buf_append(b, "\"", 1);
}

/* A score that always reads as float64: "1.0", never "1". */
static void csv_score(struct lh_buf *b, double x)
{
	char num[40];
	int n = snprintf(num, sizeof num, "%.17g", x);
	lh_buf_append(b, num, (size_t)n);
	if (!strpbrk(num, ".eE"))
		lh_buf_append(b, ".0", 2);
}

struct ids_seen {
	char **ids;      /* distinct JSON ids asked */
	size_t n;
	unsigned char *found;
	const char *col;
};

static int ids_line(void *ctx, const char *line, size_t len, struct lh_error *err)
{
	struct ids_seen *w = ctx;
	json_t *o = json_loadb(line, len, 0, NULL);
	const json_t *v = json_object_get(o, "id");
	(void)err;
	if (json_is_integer(v) || json_is_string(v)) {
		char *js = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		for (size_t i = 0; js && i < w->n; i++)
			if (!strcmp(w->ids[i], js))
				w->found[i] = 1;
		free(js);
	}
	json_decref(o);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Note 2: every id exists in the latest version m (one worker query). */
static int check_ids(struct qrun *r, const struct manifest *m, const char *idcol,
		     struct rating *items, size_t n, const char *rid, struct lh_error *err)
{
	struct ids_seen w = { 0 };
	struct lh_buf sql;
	int rc = -1;
	lh_buf_init(&sql, WIRE_MAX_PAYLOAD / 2);
	w.ids = xcalloc(n, sizeof *w.ids);
	for (size_t i = 0; i < n; i++)
		w.ids[i] = items[i].id;
	qsort(w.ids, n, sizeof *w.ids, cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!w.n || strcmp(w.ids[w.n - 1], w.ids[i]))
			w.ids[w.n++] = w.ids[i];
	w.found = xcalloc(w.n, 1);
	char *col = xasprintf("\"%s\"", idcol);
	for (char *q = col + 1; q[1]; q++)
		if (*q == '"')
			*q = '_';
	if (qrun_add_version(r, m, "__lh_rated", 0, rid, err)) {
		free(col);
		goto out;
	}
	char *head = xasprintf("SELECT DISTINCT %s AS \"id\" FROM \"__lh_rated\" WHERE %s IN (",
			       col, col);
	lh_buf_append(&sql, head, strlen(head));
	free(head);
	free(col);
	for (size_t i = 0; i < w.n; i++) {
		if (i)
			lh_buf_append(&sql, ", ", 2);
		id_literal(w.ids[i], &sql);
	}
	lh_buf_append(&sql, ")", 1);
	if (qrun_lines(r, sql.data, "ndjson", ids_line, &w, err))
		goto out;
	size_t missing = 0;
	json_t *list = json_array();
	for (size_t i = 0; i < w.n; i++)
		if (!w.found[i]) {
			if (missing++ < 10)
				json_array_append_new(list, json_loads(w.ids[i], JSON_DECODE_ANY, NULL));
		}
	if (missing) {
		char *first = json_dumps(json_array_get(list, 0), JSON_ENCODE_ANY | JSON_COMPACT);
		char more[64] = "";
		if (missing > 1)
			snprintf(more, sizeof more, " (and %zu more ids; \"ids\" lists up to 10)",
				 missing - 1);
		lh_fail(err, 404, "unknown_id", "dataset \"%s\" (version %" PRId64 ") has no row whose "
			"%s is %.200s%s; nothing was recorded", m->name, m->version, idcol,
			first ? first : "?", more);
		free(first);
		lh_error_set(err, "ids", list);
		goto out;
	}
	json_decref(list);
	rc = 0;
out:
	lh_buf_free(&sql);
	free(w.ids);
	free(w.found);
	return rc;
}

/* Append the ratings' CSV to <name>__feedback through ingestd (note 1):
 * the new version into *version. */
static int append(struct queryd *qd, const char *fname, const struct lh_buf *csv,
		  const char *rid, int64_t *version, struct lh_error *err)
{
	const struct lh_config *cfg = queryd_config(qd);
	struct http_client_request rq;
	struct http_client_response resp = { 0 };
	const char *headers[] = { "Content-Type: text/csv", NULL };
	int rc = -1;
	if (!cfg->queryd.ingestd_url[0])
		return lh_fail(err, 502, "upstream_unavailable", "feedback cannot be recorded: this "
			       "queryd has no ingestd ([queryd] ingestd_url)");
	char *url = xasprintf("%s/ingest?name=%s&mode=append", cfg->queryd.ingestd_url, fname);
	http_client_request_init(&rq);
	rq.method = "POST";
	rq.url = url;
	rq.headers = headers;
	rq.request_id = rid;
	rq.bearer_token = auth_service_token(cfg);
	rq.body = csv->data;
	rq.body_len = csv->len;
	if (http_client_do(&rq, &resp, err)) {
		lh_error_rephrase(err, "feedback cannot be recorded: ingestd is not reachable");
		goto out;
	}
	json_t *ans = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
	if (resp.status != 200) {
		const char *msg = json_string_value(json_object_get(ans, "error"));
		lh_fail(err, resp.status == 409 ? 409 : resp.status == 507 ? 507 : 502,
			resp.status == 409 ? "feedback_conflict" : "upstream_failed",
			"feedback could not be appended to \"%s\": ingestd answered %ld: %.300s", fname,
			resp.status, msg ? msg : "(no message)");
		json_decref(ans);
		goto out;
	}
	*version = json_integer_value(json_object_get(json_object_get(ans, "manifest"), "version"));
	json_decref(ans);
	rc = 0;
out:
	http_client_response_free(&resp);
	free(url);
	return rc;
}

static int record(struct queryd *qd, const json_t *body, int client_fd, const char *who,
		  const char *rid, json_t **out, struct lh_error *err)
{
	struct search *s = queryd_search(qd);
	struct rating *items = NULL;
	size_t n = 0;
	struct qrun *r = NULL;
	struct manifest *m = NULL;
	json_t *index = NULL;
	struct index_decl decl = { 0 };
	struct lh_buf csv;
	int rc = -1;
	lh_buf_init(&csv, (size_t)LH_FEEDBACK_MAX_ITEMS * (2 * LH_SEARCH_MAX_QUERY_BYTES + 256) * 2);
	const json_t *ds = json_object_get(body, "dataset");
	const json_t *list = json_object_get(body, "items");
	if (!json_is_object(body))
		return lh_fail(err, 400, "bad_request", "the body must be a JSON object");
	if (!json_is_string(ds) || !json_string_length(ds))
		return lh_fail(err, 400, "bad_request", "field \"dataset\" must be the name of the "
			       "searched dataset");
	const char *name = json_string_value(ds);
	if (strchr(name, '@'))
		return lh_fail(err, 400, "bad_request", "field \"dataset\": feedback is about a "
			       "dataset, not one of its versions (give \"%.64s\" without @N)", name);
	if (dataset_name_check(name, err))
		return -1;
	size_t nl = strlen(name), sl = strlen(LH_FEEDBACK_SUFFIX);
	if (nl >= sl && !strcasecmp(name + nl - sl, LH_FEEDBACK_SUFFIX))
		return lh_fail(err, 400, "feedback_on_feedback", "\"%s\" holds feedback itself; rate "
			       "the rows of the dataset that was searched", name);
	if (nl + sl > LH_DATASET_NAME_MAX)
		return lh_fail(err, 400, "bad_name", "dataset \"%s\" has a name too long to keep "
			       "feedback beside it (%s%s is over %d characters)", name, name,
			       LH_FEEDBACK_SUFFIX, LH_DATASET_NAME_MAX);
	if (list) {
		const char *key;
		const json_t *val;
		json_object_foreach((json_t *)body, key, val)
			if (strcmp(key, "dataset") && strcmp(key, "items"))
				return lh_fail(err, 400, "bad_request", "unknown field \"%.64s\" (a bulk "
					       "call is {\"dataset\", \"items\": [...]})", key);
		if (!json_is_array(list) || json_array_size(list) == 0)
			return lh_fail(err, 400, "bad_request", "field \"items\" must be a list of "
				       "ratings {\"query\", \"id\", \"score\"}");
		if (json_array_size(list) > LH_FEEDBACK_MAX_ITEMS)
			return lh_fail(err, 413, "too_many_items", "%zu ratings in one call; the limit "
				       "is %d: send them in several calls", json_array_size(list),
				       LH_FEEDBACK_MAX_ITEMS);
	}
	r = qrun_create(qd, client_fd, clock_mono_ms() + (double)queryd_config(qd)->queryd.timeout_ms);
	/* note 2: the dataset, its index and its id column */
	if (qrun_manifest(r, name, 0, rid, &m, err))
		goto out;
	struct peer_call call = { .request_id = rid };
	if (catalog_client_index_get(queryd_catalog(qd), &call, m->name, &index, err)) {
		if (err->status == 404 && !strcmp(err->code, "no_index")) {
			lh_error_clear(err);
			lh_fail(err, 409, "no_index", "dataset \"%s\" has no search index, so its rows "
				"have no ids to rate; declare one with: lakehouse index %s --text "
				"<column>,<column> --id <column>", m->name, m->name);
		}
		goto out;
	}
	if (index_decl_from_json(index, &decl, err))
		goto out;
	if (!decl.id) {
		lh_fail(err, 409, "no_id_column", "the index of \"%s\" declares no id column, so a "
			"rating cannot name a row; declare one with: lakehouse index %s --text ... "
			"--id <column>", m->name, m->name);
		goto out;
	}
	int int_ids = -1;
	for (size_t i = 0; i < m->ncolumns; i++)
		if (!strcmp(m->columns[i].name, decl.id))
			int_ids = !strcmp(m->columns[i].type, "int64") ? 1
				  : !strcmp(m->columns[i].type, "utf8") ? 0 : -2;
	if (int_ids < 0) {
		lh_fail(err, 409, "bad_id_column", "the id column \"%s\" of \"%s\" is %s; feedback "
			"needs an id column of type int64 or utf8", decl.id, m->name,
			int_ids == -1 ? "not in its latest version" : "of another type");
		goto out;
	}
	n = list ? json_array_size(list) : 1;
	items = xcalloc(n, sizeof *items);
	for (size_t i = 0; i < n; i++)
		if (parse_item(list ? json_array_get(list, i) : body, i, list != NULL, int_ids,
			       &items[i], err))
			goto out;
	if (check_ids(r, m, decl.id, items, n, rid, err))
		goto out;
	/* note 1: the CSV */
	char when[CALENDAR_RFC3339_MAX];
	calendar_format_rfc3339_ms(clock_wall_ms(), when);
	const char *head = "query,id,score,recorded_at,who,embedder\n";
	lh_buf_append(&csv, head, strlen(head));
	for (size_t i = 0; i < n; i++) {
		csv_field(&csv, items[i].query);
		lh_buf_append(&csv, ",", 1);
		if (int_ids)
			lh_buf_append(&csv, items[i].id, strlen(items[i].id));
		else
			csv_field(&csv, items[i].id);
		lh_buf_append(&csv, ",", 1);
		csv_score(&csv, items[i].score);
		lh_buf_append(&csv, ",", 1);
		lh_buf_append(&csv, when, strlen(when));
		lh_buf_append(&csv, ",", 1);
		if (who && who[0])   /* the token's name (ADR 0210) */
			csv_field(&csv, who);
		if (lh_buf_append(&csv, ",builtin\n", 9)) {
			lh_fail(err, 413, "too_large", "the ratings are too large for one call");
			goto out;
		}
	}
	char fname[LH_DATASET_NAME_MAX + 16];
	snprintf(fname, sizeof fname, "%s%s", m->name, LH_FEEDBACK_SUFFIX);
	int64_t version = 0;
	if (append(qd, fname, &csv, rid, &version, err))
		goto out;
	*out = json_pack("{s:s, s:s, s:I, s:I, s:s}", "dataset", m->name, "feedback_dataset", fname,
			 "version", (json_int_t)version, "recorded", (json_int_t)n, "recorded_at",
			 when);
	rc = 0;
out:
	for (size_t i = 0; items && i < n; i++)
		free(items[i].id);
	free(items);
	lh_buf_free(&csv);
	index_decl_free(&decl);
	json_decref(index);
	manifest_unref(m);
	qrun_free(r);
	(void)s;
	return rc;
}

int search_route_feedback(struct http_request *req)
{
	struct lh_error err = { 0 };
	json_t *answer = NULL;
	size_t n = 0;
	const char *raw = http_request_body(req, &n);
	json_t *body = json_parse_request(raw, n, &err);
	if (body && record(http_request_ctx(req), body, http_request_client_fd(req),
			   http_request_who(req), http_request_id(req), &answer, &err) == 0)
		http_respond_json(req, 200, answer);   /* takes it */
	else
		http_respond_error(req, &err);
	lh_error_clear(&err);
	json_decref(body);
	return 0;
}
