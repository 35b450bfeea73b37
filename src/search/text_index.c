/* text_index.c — the BM25 text section of an index part (see text_index.h):
 * the builder that writes it, the reader that opens it in place, the query
 * parser, and the ranked search.
 *
 * DESIGN NOTES
 *
 * 1. Format (little-endian; offsets from the section's first byte; no
 *    alignment assumed: every load goes through get_u32/get_u64). The
 *    version is the magic's last four digits: a new format gets a new magic.
 *
 *      0   8  magic "LHTX0001"
 *      8   4  u32 docs N            12  4  u32 terms T
 *      16  8  u64 total_len (sum of the doc lengths)
 *      24  8  u64 strings_len S     32  8  u64 postings_len P
 *      40  8  u64 section size = 48 + 4N + 16T + S + P (= the bytes given)
 *      48           u32 doc_len[N]   each doc's length in terms
 *      48+4N        term[T], 16 bytes each: u32 str_off, u32 df, u64 post_off
 *      48+4N+16T    strings: the terms' bytes, concatenated in term order
 *      ...+S        postings: each term's list, concatenated in term order
 *
 *    Terms are sorted by byte order (memcmp, then the shorter first) and
 *    found by binary search. Term i's bytes run from its str_off to the next
 *    term's (or S), its postings from its post_off to the next (or P): the
 *    table stores starts only, so lengths cannot disagree with positions.
 *    A postings list is df entries in increasing doc order, each
 *        varint((doc - prev - 1) << 1 | (tf == 1))   [varint(tf - 2) if tf > 1]
 *    with prev = -1 before the first (LEB128 varints, at most 5 bytes each):
 *    every decoded gap is a valid increasing doc and every tf >= 1, and the
 *    usual tf = 1 costs no byte of its own (Lucene's trick).
 *    A LONG list (df > SKIP_BLOCK = 128) starts with a head:
 *        u32 np (1..IMPACTS_MAX = 16), np x {u32 tf, u32 dl}  impact points
 *        ceil(df / 128) x {u32 last doc, u32 end offset}     skip table
 *    then its postings. The impact points are the (tf, doc length) pairs of
 *    the list that no other pair dominates (Lucene's "competitive impacts"),
 *    so the best BM25 any of its docs can get is known for any k1, b and
 *    avgdl without reading it (note 5). Skip entry j is the last doc of
 *    postings [128j, 128j + 128) and the offset (from the first posting)
 *    where they end, so a cursor can jump over a block without decoding it.
 *
 * 2. Open is O(T + N), copies nothing, and checks what makes every later
 *    access safe: the sizes add up to exactly the bytes given, term starts
 *    increase from 0, each term is 1..TOKEN_MAX_BYTES bytes and greater than
 *    the one before (so binary search is correct), df is 1..N, a long list's
 *    np is 1..16, a list has its head plus between df and 10 * df bytes (1
 *    to 10 a posting), and the doc lengths sum to total_len. Postings are
 *    checked while they are decoded (cursor_next: every byte read inside the
 *    term's range, doc < N, tf <= the doc's length, exactly df postings
 *    ending exactly at the list's end, each block ending where and at the doc
 *    its skip entry says); a jump checks its entry stays inside the list and
 *    moves forward. A bad list makes the search fail, never read out of
 *    bounds. text_index_check decodes everything and also checks that the
 *    impact points cover every posting: a part that passes it ranks exactly.
 *
 * 3. Scores are summed per doc in double, in the query's term order (terms
 *    sorted), and rounded to float once. With the caller's global N, avgdl
 *    and df, every part gives a doc the same double: bit-identical scores
 *    however a version was split. The best k are kept in a bounded min-heap
 *    on out[] itself (worst at the root: lowest score, then highest doc);
 *    docs are visited in increasing order, so a later doc with the root's
 *    score is worse and never displaces it. Memory per search is O(terms +
 *    k), never O(N): no per-doc accumulator to clear.
 *
 * 4. The builder keeps one record per distinct term (found through an
 *    open-addressing hash table) with its postings so far already encoded,
 *    and the current doc's posting pending (doc, tf) in the record: a
 *    repeated term in the same doc bumps tf, a new doc flushes the pending
 *    one. A term seen in one doc only never allocates a postings buffer.
 *    Docs must come in non-decreasing order (note 1's gaps need it); the
 *    builder remembers a violation and finish fails. Finish reads each long
 *    list back once for its impact points (tb_impacts).
 *
 * 5. Search is document-at-a-time. Up to LINEAR_CURSORS (64) query terms
 *    the part knows: MaxScore (Turtle & Flood 1995, as Lucene and PISA run it). Each
 *    term has a bound ub = idf * the best tf part of its impact points (a
 *    short list's own postings); terms sorted by ub, the longest prefix whose
 *    ub sum is <= the current k-th score is "non-essential": a doc only they
 *    contain cannot enter the top k (a tie loses: its doc is higher), so
 *    docs are taken from the essential terms' cursors only; a doc whose
 *    essential part plus the non-essential bounds cannot beat the k-th score
 *    is dropped before the non-essential cursors move; otherwise they
 *    advance to it (cursor_advance: whole blocks jumped by the skip table)
 *    and the doc is scored exactly, all terms in query order, as note 3. So
 *    pruning changes how much is read, never a score or the top k (bounds
 *    carry a 1e-9 margin against rounding). The terms at a doc are a
 *    64-bit mask, summed lowest bit (first query term) first. More terms: a
 *    heap of cursors by (doc, term index) visits every posting, no pruning.
 */
#include "search/text_index.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 48
#define ENTRY_BYTES 16
#define VARINT_MAX 5
#define SKIP_BLOCK 128 /* postings per block of a skip table (note 1) */
#define IMPACTS_MAX 16 /* impact points of a long list, at most (note 1) */

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t)v);
	put_u32(p + 4, (uint32_t)(v >> 32));
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

/* Byte order of terms: memcmp, then the shorter first (strcmp's order for
 * NUL-free strings). */
static int term_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ---- Build ------------------------------------------------------------- */

struct tb_skip {
	uint32_t last_doc, end_off;
};

/* A (tf, doc length) pair of a postings list (note 1). */
struct impact {
	uint32_t tf, dl;
};

struct tb_term {
	uint32_t str_off; /* into b->strings */
	uint32_t hash;
	uint32_t df;       /* docs so far, the pending one included */
	uint32_t pend_doc; /* the pending posting (note 4) */
	uint32_t pend_tf;
	uint32_t prev_plus1;   /* last doc written into buf, + 1 (0 = none) */
	uint32_t len, cap;     /* buf's bytes */
	unsigned char *buf;    /* encoded postings before the pending one */
	struct tb_skip *skips; /* one per full block written */
	uint32_t nskips;
	struct impact *imp; /* finish: the impact points of a long list */
	size_t nimp;
	unsigned char slen;
};

struct text_builder {
	struct tb_term *terms;
	size_t nterms;
	uint32_t *slots; /* hash table: term index + 1, 0 = empty */
	size_t nslots;   /* a power of two, >= 2 * nterms */
	char *strings;
	size_t strings_len, strings_cap;
	uint32_t *doc_len;
	uint64_t ndocs; /* last doc + 1 */
	size_t doc_cap;
	uint64_t total_len;
	int bad_order; /* a doc went backwards */
};

/* FNV-1a, 32 bits. */
static uint32_t term_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

struct text_builder *text_builder_new(void)
{
	struct text_builder *b = xcalloc(1, sizeof *b);
	b->nslots = 1024;
	b->slots = xcalloc(b->nslots, sizeof *b->slots);
	return b;
}

uint32_t text_builder_docs(const struct text_builder *b)
{
	return b->ndocs > UINT32_MAX ? UINT32_MAX : (uint32_t)b->ndocs;
}

void text_builder_free(struct text_builder *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nterms; i++) {
		free(b->terms[i].buf);
		free(b->terms[i].skips);
		free(b->terms[i].imp);
	}
	free(b->terms);
	free(b->slots);
	free(b->strings);
	free(b->doc_len);
	free(b);
}

static void tb_rehash(struct text_builder *b)
{
	size_t n = b->nslots * 2, mask = n - 1;
	uint32_t *slots = xcalloc(n, sizeof *slots);
	for (size_t i = 0; i < b->nterms; i++) {
		size_t s = b->terms[i].hash & mask;
		while (slots[s])
			s = (s + 1) & mask;
		slots[s] = (uint32_t)i + 1;
	}
	free(b->slots);
	b->slots = slots;
	b->nslots = n;
}

/* The record of term word[0..n), created if new. */
static struct tb_term *tb_term_get(struct text_builder *b, const char *word, size_t n)
{
	uint32_t h = term_hash(word, n);
	size_t mask = b->nslots - 1, s = h & mask;
	while (b->slots[s]) {
		struct tb_term *t = &b->terms[b->slots[s] - 1];
		if (t->hash == h && t->slen == n && memcmp(b->strings + t->str_off, word, n) == 0)
			return t;
		s = (s + 1) & mask;
	}
	if (b->strings_len + n > b->strings_cap) {
		b->strings_cap = b->strings_cap ? b->strings_cap * 2 : 1 << 16;
		b->strings = xrealloc(b->strings, b->strings_cap);
	}
	b->terms = xgrow(b->terms, b->nterms, sizeof *b->terms);
	struct tb_term *t = &b->terms[b->nterms];
	memset(t, 0, sizeof *t);
	t->str_off = (uint32_t)b->strings_len;
	t->slen = (unsigned char)n;
	t->hash = h;
	memcpy(b->strings + b->strings_len, word, n);
	b->strings_len += n;
	b->slots[s] = (uint32_t)++b->nterms;
	if (b->nterms * 2 > b->nslots)
		tb_rehash(b);
	return &b->terms[b->nterms - 1];
}

/* Encode posting (doc, tf) after prev_plus1 into p; returns its bytes. */
static size_t encode_posting(unsigned char *p, uint32_t prev_plus1, uint32_t doc, uint32_t tf)
{
	uint64_t gap = (uint64_t)doc - prev_plus1; /* doc - prev - 1 */
	size_t n = put_varint(p, gap << 1 | (tf == 1));
	if (tf > 1)
		n += put_varint(p + n, tf - 2);
	return n;
}

/* Write the pending posting into buf (it is the df-th); a block's last
 * posting gets a skip entry (note 1). */
static void tb_flush_pending(struct tb_term *t)
{
	if (t->cap - t->len < 2 * VARINT_MAX) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->buf = xrealloc(t->buf, t->cap);
	}
	t->len += (uint32_t)encode_posting(t->buf + t->len, t->prev_plus1, t->pend_doc, t->pend_tf);
	t->prev_plus1 = t->pend_doc + 1;
	if (t->df % SKIP_BLOCK == 0) {
		t->skips = xgrow(t->skips, t->nskips, sizeof *t->skips);
		t->skips[t->nskips].last_doc = t->pend_doc;
		t->skips[t->nskips].end_off = t->len;
		t->nskips++;
	}
}

/* The bytes of a skip table: 8 per block, when a list has more than one. */
static uint64_t skip_bytes(uint32_t df)
{
	return df > SKIP_BLOCK ? 8 * (((uint64_t)df + SKIP_BLOCK - 1) / SKIP_BLOCK) : 0;
}

/* Add (tf, dl) to the impact points p[0..*n) (room for IMPACTS_MAX + 1):
 * the pairs no other pair dominates (>= tf and <= dl), sorted by tf (and so
 * by dl) ascending. Past IMPACTS_MAX, the two neighbours closest in dl merge
 * into (the higher tf, the lower dl), which dominates both: a looser bound,
 * never a wrong one. */
static void impact_add(struct impact *p, size_t *n, uint32_t tf, uint32_t dl)
{
	size_t i, m = 0;
	for (i = 0; i < *n; i++)
		if (p[i].tf >= tf && p[i].dl <= dl)
			return;
	for (i = 0; i < *n; i++)
		if (!(p[i].tf <= tf && p[i].dl >= dl))
			p[m++] = p[i];
	for (i = m; i > 0 && p[i - 1].tf > tf; i--)
		p[i] = p[i - 1];
	p[i] = (struct impact){ tf, dl };
	m++;
	if (m > IMPACTS_MAX) {
		size_t best = 0;
		for (i = 1; i + 1 < m; i++)
			if (p[i + 1].dl - p[i].dl < p[best + 1].dl - p[best].dl)
				best = i;
		p[best].tf = p[best + 1].tf;
		memmove(&p[best + 1], &p[best + 2], (m - best - 2) * sizeof *p);
		m--;
	}
	*n = m;
}

/* Finish: the impact points of term t's whole list (a long one), read back
 * from its encoded postings and the pending one. */
static void tb_impacts(const struct text_builder *b, struct tb_term *t)
{
	const unsigned char *p = t->buf, *end = t->buf + t->len;
	uint64_t next_min = 0;
	t->imp = xmalloc((IMPACTS_MAX + 1) * sizeof *t->imp);
	t->nimp = 0;
	while (p < end) {
		uint64_t v = 0, tf = 0;
		for (int sh = 0;; sh += 7) { /* our own bytes: well-formed */
			v |= (uint64_t)(*p & 0x7f) << sh;
			if (!(*p++ & 0x80))
				break;
		}
		if (!(v & 1)) {
			for (int sh = 0;; sh += 7) {
				tf |= (uint64_t)(*p & 0x7f) << sh;
				if (!(*p++ & 0x80))
					break;
			}
		}
		uint64_t doc = next_min + (v >> 1);
		impact_add(t->imp, &t->nimp, v & 1 ? 1 : (uint32_t)tf + 2, b->doc_len[doc]);
		next_min = doc + 1;
	}
	impact_add(t->imp, &t->nimp, t->pend_tf, b->doc_len[t->pend_doc]);
}

/* The bytes before a list's postings: for a long list, the impact points
 * (u32 count, then tf/dl pairs) and the skip table. */
static uint64_t tb_head_bytes(const struct tb_term *t)
{
	return t->df > SKIP_BLOCK ? 4 + 8 * (uint64_t)t->nimp + skip_bytes(t->df) : 0;
}

struct tb_ctx {
	struct text_builder *b;
	uint32_t doc;
};

static int tb_token(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len)
{
	struct tb_ctx *c = ctx;
	struct text_builder *b = c->b;
	char w[TOKEN_MAX_BYTES + 1];
	if (len == 0)
		return 0;
	memcpy(w, word, len);
	w[len] = '\0';
	len = token_stem(w, len);
	struct tb_term *t = tb_term_get(b, w, len);
	if (t->df == 0) {
		t->df = 1;
		t->pend_doc = c->doc;
		t->pend_tf = 1;
	} else if (t->pend_doc == c->doc) {
		if (t->pend_tf < UINT32_MAX)
			t->pend_tf++;
	} else {
		tb_flush_pending(t);
		t->df++;
		t->pend_doc = c->doc;
		t->pend_tf = 1;
	}
	if (b->doc_len[c->doc] < UINT32_MAX) {
		b->doc_len[c->doc]++;
		b->total_len++;
	}
	return 0;
}

void text_builder_add(struct text_builder *b, uint32_t doc, const char *text, size_t len)
{
	if (b->ndocs > 0 && doc < b->ndocs - 1) {
		b->bad_order = 1;
		return;
	}
	if (doc >= b->ndocs) {
		if (doc >= b->doc_cap) {
			size_t cap = b->doc_cap ? b->doc_cap : 1024;
			while (cap <= doc)
				cap *= 2;
			b->doc_len = xrealloc(b->doc_len, cap * sizeof *b->doc_len);
			b->doc_cap = cap;
		}
		memset(b->doc_len + b->ndocs, 0,
		       ((uint64_t)doc + 1 - b->ndocs) * sizeof *b->doc_len);
		b->ndocs = (uint64_t)doc + 1;
	}
	struct tb_ctx c = { b, doc };
	tokenize(text, len, tb_token, &c);
}

/* A staging buffer in front of an lh_buf: appends in 64 KiB pieces. */
struct writer {
	struct lh_buf *out;
	unsigned char buf[1 << 16];
	size_t n;
	int failed;
};

static void w_flush(struct writer *w)
{
	if (w->n && lh_buf_append(w->out, w->buf, w->n))
		w->failed = 1;
	w->n = 0;
}

static void w_put(struct writer *w, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (n > sizeof w->buf - w->n) {
		w_flush(w);
		if (n > sizeof w->buf) {
			if (lh_buf_append(w->out, p, n))
				w->failed = 1;
			return;
		}
	}
	memcpy(w->buf + w->n, p, n);
	w->n += n;
}

struct term_ref {
	const char *s;
	size_t len;
	uint32_t idx;
};

static int term_ref_cmp(const void *a, const void *b)
{
	const struct term_ref *x = a, *y = b;
	return term_cmp(x->s, x->len, y->s, y->len);
}

int text_builder_finish(struct text_builder *b, struct lh_buf *out, struct lh_error *err)
{
	int rc = -1;
	struct term_ref *order = NULL;
	struct writer *w = NULL;
	unsigned char hdr[HEADER_BYTES], tmp[2 * VARINT_MAX];
	if (b->bad_order) {
		lh_fail(err, 500, "internal", "text index: docs were added out of order");
		goto out;
	}
	if (b->ndocs > UINT32_MAX || b->nterms > UINT32_MAX || b->strings_len > UINT32_MAX) {
		lh_fail(err, 413, "too_large", "text index: too many docs or terms for one part");
		goto out;
	}
	order = xmalloc((b->nterms ? b->nterms : 1) * sizeof *order);
	uint64_t postings_len = 0;
	for (size_t i = 0; i < b->nterms; i++) {
		struct tb_term *t = &b->terms[i];
		order[i].s = b->strings + t->str_off;
		order[i].len = t->slen;
		order[i].idx = (uint32_t)i;
		if (t->df > SKIP_BLOCK)
			tb_impacts(b, t);
		postings_len += tb_head_bytes(t) + t->len +
				encode_posting(tmp, t->prev_plus1, t->pend_doc, t->pend_tf);
	}
	qsort(order, b->nterms, sizeof *order, term_ref_cmp);
	uint64_t size = HEADER_BYTES + 4 * b->ndocs + (uint64_t)ENTRY_BYTES * b->nterms +
			b->strings_len + postings_len;
	if (size > out->max - out->len) {
		lh_fail(err, 413, "too_large", "text index: %llu bytes exceed the part's cap",
			(unsigned long long)size);
		goto out;
	}
	memset(hdr, 0, sizeof hdr);
	memcpy(hdr, TEXT_INDEX_MAGIC, 8);
	put_u32(hdr + 8, (uint32_t)b->ndocs);
	put_u32(hdr + 12, (uint32_t)b->nterms);
	put_u64(hdr + 16, b->total_len);
	put_u64(hdr + 24, b->strings_len);
	put_u64(hdr + 32, postings_len);
	put_u64(hdr + 40, size);
	w = xmalloc(sizeof *w);
	w->out = out;
	w->n = 0;
	w->failed = 0;
	w_put(w, hdr, sizeof hdr);
	for (uint64_t d = 0; d < b->ndocs; d++) {
		put_u32(tmp, b->doc_len[d]);
		w_put(w, tmp, 4);
	}
	uint32_t str_off = 0;
	uint64_t post_off = 0;
	for (size_t i = 0; i < b->nterms; i++) {
		struct tb_term *t = &b->terms[order[i].idx];
		unsigned char e[ENTRY_BYTES];
		put_u32(e, str_off);
		put_u32(e + 4, t->df);
		put_u64(e + 8, post_off);
		w_put(w, e, sizeof e);
		str_off += t->slen;
		post_off += tb_head_bytes(t) + t->len +
			    encode_posting(tmp, t->prev_plus1, t->pend_doc, t->pend_tf);
	}
	for (size_t i = 0; i < b->nterms; i++)
		w_put(w, order[i].s, order[i].len);
	for (size_t i = 0; i < b->nterms; i++) {
		struct tb_term *t = &b->terms[order[i].idx];
		size_t last = encode_posting(tmp, t->prev_plus1, t->pend_doc, t->pend_tf);
		if (t->df > SKIP_BLOCK) {
			unsigned char e[8];
			put_u32(e, (uint32_t)t->nimp);
			w_put(w, e, 4);
			for (size_t j = 0; j < t->nimp; j++) {
				put_u32(e, t->imp[j].tf);
				put_u32(e + 4, t->imp[j].dl);
				w_put(w, e, 8);
			}
			for (uint32_t j = 0; j < t->nskips; j++) {
				put_u32(e, t->skips[j].last_doc);
				put_u32(e + 4, t->skips[j].end_off);
				w_put(w, e, 8);
			}
			put_u32(e, t->pend_doc); /* the last block ends with the pending one */
			put_u32(e + 4, t->len + (uint32_t)last);
			w_put(w, e, 8);
		}
		w_put(w, t->buf, t->len);
		w_put(w, tmp, last);
	}
	w_flush(w);
	if (w->failed) {
		lh_fail(err, 413, "too_large", "text index: the part's cap was reached");
		goto out;
	}
	rc = 0;
out:
	free(w);
	free(order);
	text_builder_free(b);
	return rc;
}

/* ---- Read -------------------------------------------------------------- */

struct text_index {
	uint32_t ndocs, nterms;
	uint64_t total_len;
	const unsigned char *doc_len; /* 4 * ndocs */
	const unsigned char *entries; /* ENTRY_BYTES * nterms */
	const unsigned char *strings;
	uint64_t strings_len;
	const unsigned char *postings;
	uint64_t postings_len;
};

static uint64_t entry_str_off(const struct text_index *t, uint32_t i)
{
	return i < t->nterms ? get_u32(t->entries + (size_t)i * ENTRY_BYTES) : t->strings_len;
}

static uint32_t entry_df(const struct text_index *t, uint32_t i)
{
	return get_u32(t->entries + (size_t)i * ENTRY_BYTES + 4);
}

static uint64_t entry_post_off(const struct text_index *t, uint32_t i)
{
	return i < t->nterms ? get_u64(t->entries + (size_t)i * ENTRY_BYTES + 8) : t->postings_len;
}

static int bad(struct lh_error *err, const char *what)
{
	return lh_fail(err, 502, "bad_index_part", "index part's text section is corrupt: %s",
		       what);
}

struct text_index *text_index_open(const void *bytes, size_t len, struct lh_error *err)
{
	const unsigned char *p = bytes;
	struct text_index *t = NULL;
	if (!p || len < HEADER_BYTES || memcmp(p, TEXT_INDEX_MAGIC, 8) != 0) {
		bad(err, len < HEADER_BYTES ? "too short" : "not a text section (magic)");
		return NULL;
	}
	uint32_t ndocs = get_u32(p + 8), nterms = get_u32(p + 12);
	uint64_t total_len = get_u64(p + 16), slen = get_u64(p + 24), plen = get_u64(p + 32);
	uint64_t size = get_u64(p + 40);
	/* Each part is checked against len before adding, so no sum overflows. */
	uint64_t need = HEADER_BYTES + 4 * (uint64_t)ndocs + (uint64_t)ENTRY_BYTES * nterms;
	if (size != len || need > len || slen > len - need || plen != len - need - slen) {
		bad(err, "section sizes do not add up");
		return NULL;
	}
	if (slen > UINT32_MAX || slen > (uint64_t)nterms * TOKEN_MAX_BYTES ||
	    (nterms > 0 && ndocs == 0)) {
		bad(err, "term table does not fit the docs");
		return NULL;
	}
	t = xcalloc(1, sizeof *t);
	t->ndocs = ndocs;
	t->nterms = nterms;
	t->total_len = total_len;
	t->doc_len = p + HEADER_BYTES;
	t->entries = t->doc_len + 4 * (size_t)ndocs;
	t->strings = t->entries + (size_t)ENTRY_BYTES * nterms;
	t->strings_len = slen;
	t->postings = t->strings + slen;
	t->postings_len = plen;
	/* Note 2: term starts increase from 0, lengths 1..TOKEN_MAX_BYTES, terms
	 * strictly increasing, df 1..N, 1..10 bytes a posting. */
	if (nterms > 0 && (entry_str_off(t, 0) != 0 || entry_post_off(t, 0) != 0)) {
		bad(err, "the first term does not start at 0");
		goto fail;
	}
	for (uint32_t i = 0; i < nterms; i++) {
		uint64_t s0 = entry_str_off(t, i), s1 = entry_str_off(t, i + 1);
		uint64_t p0 = entry_post_off(t, i), p1 = entry_post_off(t, i + 1);
		uint32_t df = entry_df(t, i);
		if (s1 <= s0 || s1 - s0 > TOKEN_MAX_BYTES || s1 > slen) {
			bad(err, "a term's bytes are out of range");
			goto fail;
		}
		if (p1 < p0 || p1 > plen) {
			bad(err, "a term's postings are out of range");
			goto fail;
		}
		uint64_t sk = 0;
		if (df > SKIP_BLOCK) {
			uint32_t nimp = p1 - p0 >= 4 ? get_u32(t->postings + p0) : 0;
			if (nimp == 0 || nimp > IMPACTS_MAX) {
				bad(err, "a term's impact points are malformed");
				goto fail;
			}
			sk = 4 + 8 * (uint64_t)nimp + skip_bytes(df);
		}
		if (df == 0 || df > ndocs || p1 - p0 < sk + df ||
		    p1 - p0 - sk > (uint64_t)df * 2 * VARINT_MAX) {
			bad(err, "a term's doc frequency does not fit its postings");
			goto fail;
		}
		if (i > 0) {
			uint64_t q0 = entry_str_off(t, i - 1);
			if (term_cmp(t->strings + q0, s0 - q0, t->strings + s0, s1 - s0) >= 0) {
				bad(err, "terms are not in increasing order");
				goto fail;
			}
		}
	}
	uint64_t sum = 0;
	for (uint32_t d = 0; d < ndocs; d++)
		sum += get_u32(t->doc_len + 4 * (size_t)d);
	if (sum != total_len) {
		bad(err, "doc lengths do not add up to the total");
		goto fail;
	}
	return t;
fail:
	free(t);
	return NULL;
}

void text_index_close(struct text_index *t)
{
	free(t);
}

uint32_t text_index_docs(const struct text_index *t)
{
	return t->ndocs;
}

uint64_t text_index_total_len(const struct text_index *t)
{
	return t->total_len;
}

uint32_t text_index_terms(const struct text_index *t)
{
	return t->nterms;
}

const char *text_index_term(const struct text_index *t, uint32_t i, size_t *len)
{
	if (i >= t->nterms) {
		*len = 0;
		return NULL;
	}
	uint64_t s0 = entry_str_off(t, i);
	*len = (size_t)(entry_str_off(t, i + 1) - s0);
	return (const char *)t->strings + s0;
}

uint32_t text_index_doc_len(const struct text_index *t, uint32_t doc)
{
	return doc < t->ndocs ? get_u32(t->doc_len + 4 * (size_t)doc) : 0;
}

/* The index of term[0..len), or -1. */
static int64_t term_find(const struct text_index *t, const char *term, size_t len)
{
	uint32_t lo = 0, hi = t->nterms;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t s0 = entry_str_off(t, mid), s1 = entry_str_off(t, mid + 1);
		int c = term_cmp(t->strings + s0, s1 - s0, term, len);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

uint32_t text_index_df(const struct text_index *t, const char *term, size_t len)
{
	int64_t i = term_find(t, term, len);
	return i < 0 ? 0 : entry_df(t, (uint32_t)i);
}

/* A postings list being read (note 2). */
struct cursor {
	const unsigned char *p, *end; /* the next posting's bytes; the list's end */
	const unsigned char *data;    /* the first posting's bytes */
	const unsigned char *skips;   /* the skip table, or NULL (one block) */
	const unsigned char *impacts; /* the impact points (a long list), or NULL */
	uint32_t nimp;
	uint32_t df;
	uint32_t left;     /* postings not yet decoded */
	uint32_t block;    /* the block the next posting is in */
	uint32_t in_block; /* postings of that block not yet decoded */
	uint32_t doc;      /* the current posting; CURSOR_DONE past the end */
	uint32_t tf;
	uint64_t next_min; /* the smallest doc the next posting can have */
	uint32_t qi;       /* the query term's index */
	double idf;
	double ub; /* the term's score bound (note 5) */
};
#define CURSOR_DONE UINT32_MAX

static int read_varint(const unsigned char **pp, const unsigned char *end, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	for (int i = 0; i < VARINT_MAX; i++) {
		if (p == end)
			return -1;
		unsigned char c = *p++;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*pp = p;
			*v = x;
			return 0;
		}
	}
	return -1;
}

static void cursor_init(struct cursor *c, const struct text_index *t, uint32_t term)
{
	c->df = entry_df(t, term);
	c->p = t->postings + entry_post_off(t, term);
	c->end = t->postings + entry_post_off(t, term + 1);
	c->skips = NULL;
	c->impacts = NULL;
	c->nimp = 0;
	if (c->df > SKIP_BLOCK) { /* open checked the list holds its head */
		c->nimp = get_u32(c->p);
		c->impacts = c->p + 4;
		c->skips = c->impacts + 8 * (size_t)c->nimp;
		c->p = c->skips + skip_bytes(c->df);
	}
	c->data = c->p;
	c->left = c->df;
	c->block = 0;
	c->in_block = c->df < SKIP_BLOCK ? c->df : SKIP_BLOCK;
	c->doc = CURSOR_DONE;
	c->tf = 0;
	c->next_min = 0;
}

/* Step to the next posting (or CURSOR_DONE). -1 when the list is corrupt. */
static int cursor_next(struct cursor *c, const struct text_index *t)
{
	uint64_t v, tf = 1;
	if (c->left == 0) {
		c->doc = CURSOR_DONE;
		return c->p == c->end ? 0 : -1;
	}
	if (c->p < c->end && *c->p < 0x80)
		v = *c->p++; /* the usual one-byte posting */
	else if (read_varint(&c->p, c->end, &v))
		return -1;
	if (!(v & 1)) {
		if (read_varint(&c->p, c->end, &tf) || tf > UINT32_MAX - 2)
			return -1;
		tf += 2;
	}
	uint64_t doc = c->next_min + (v >> 1);
	if (doc >= t->ndocs || tf > get_u32(t->doc_len + 4 * (size_t)doc))
		return -1;
	c->doc = (uint32_t)doc;
	c->tf = (uint32_t)tf;
	c->next_min = doc + 1;
	c->left--;
	if (--c->in_block == 0 && c->skips) {
		/* a block's end: its skip entry must say where it ended */
		const unsigned char *e = c->skips + 8 * (size_t)c->block;
		if (get_u32(e) != doc || c->data + get_u32(e + 4) != c->p)
			return -1;
		c->block++;
		c->in_block = c->left < SKIP_BLOCK ? c->left : SKIP_BLOCK;
	}
	return 0;
}

/* Move to the first posting with doc >= target (or CURSOR_DONE), jumping
 * over whole blocks whose skip entry says they end before target. */
static int cursor_advance(struct cursor *c, const struct text_index *t, uint32_t target)
{
	if (c->doc >= target) /* CURSOR_DONE included */
		return 0;
	if (c->skips) {
		uint32_t nblocks = (uint32_t)(skip_bytes(c->df) / 8);
		/* the current block's end; never past the last block */
		while (c->block + 1 < nblocks) {
			const unsigned char *e = c->skips + 8 * (size_t)c->block;
			uint32_t last = get_u32(e), end_off = get_u32(e + 4);
			if (last >= target)
				break;
			if ((uint64_t)last + 1 < c->next_min ||
			    end_off < (size_t)(c->p - c->data) ||
			    end_off > (size_t)(c->end - c->data))
				return -1;
			c->p = c->data + end_off;
			c->next_min = (uint64_t)last + 1;
			c->block++;
			c->left = c->df - c->block * SKIP_BLOCK;
			c->in_block = c->left < SKIP_BLOCK ? c->left : SKIP_BLOCK;
		}
	}
	while (c->doc < target) /* a jump leaves the old, smaller doc */
		if (cursor_next(c, t))
			return -1;
	return 0;
}

/* Some impact point of c's list dominates (tf, dl). */
static int impact_covers(const struct cursor *c, uint32_t tf, uint32_t dl)
{
	for (uint32_t i = 0; i < c->nimp; i++)
		if (get_u32(c->impacts + 8 * (size_t)i) >= tf &&
		    get_u32(c->impacts + 8 * (size_t)i + 4) <= dl)
			return 1;
	return 0;
}

int text_index_check(const struct text_index *t, struct lh_error *err)
{
	for (uint32_t i = 0; i < t->nterms; i++) {
		struct cursor c;
		cursor_init(&c, t, i);
		for (;;) {
			if (cursor_next(&c, t))
				return bad(err, "a postings list is malformed");
			if (c.doc == CURSOR_DONE)
				break;
			if (c.impacts && !impact_covers(&c, c.tf, text_index_doc_len(t, c.doc)))
				return bad(err, "a term's impact points do not cover its postings");
		}
	}
	return 0;
}

/* ---- Query ------------------------------------------------------------- */

struct parse_ctx {
	struct text_query *q;
};

static int parse_token(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len)
{
	struct text_query *q = ((struct parse_ctx *)ctx)->q;
	if (len == 0)
		return 0;
	q->terms = xgrow(q->terms, q->nterms, sizeof *q->terms);
	char *w = q->terms[q->nterms++];
	memcpy(w, word, len);
	w[len] = '\0';
	token_stem(w, len);
	return 0;
}

static int term_str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int text_query_parse(const char *text, size_t len, struct text_query *out)
{
	struct parse_ctx c = { out };
	out->terms = NULL;
	out->nterms = 0;
	tokenize(text, len, parse_token, &c);
	if (out->nterms == 0)
		return 0;
	qsort(out->terms, out->nterms, sizeof *out->terms, term_str_cmp);
	size_t n = 1;
	for (size_t i = 1; i < out->nterms; i++)
		if (strcmp(out->terms[i], out->terms[n - 1]) != 0)
			memmove(out->terms[n++], out->terms[i], sizeof *out->terms);
	out->nterms = n;
	return 0;
}

void text_query_free(struct text_query *q)
{
	free(q->terms);
	q->terms = NULL;
	q->nterms = 0;
}

/* ---- Search (note 3) ----------------------------------------------------- */

/* Heap order of cursors (by index into the cursor array): (doc, qi). */
static int cursor_less(const struct cursor *cur, uint32_t a, uint32_t b)
{
	return cur[a].doc < cur[b].doc || (cur[a].doc == cur[b].doc && cur[a].qi < cur[b].qi);
}

static void cursor_sift_down(const struct cursor *cur, uint32_t *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && cursor_less(cur, h[l], h[m]))
			m = l;
		if (r < n && cursor_less(cur, h[r], h[m]))
			m = r;
		if (m == i)
			return;
		uint32_t tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

/* a ranks below b: lower score, or the same score and a higher doc. */
static int hit_worse(const struct text_hit *a, const struct text_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->doc > b->doc);
}

static void hit_sift_down(struct text_hit *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && hit_worse(&h[l], &h[m]))
			m = l;
		if (r < n && hit_worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct text_hit tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static void hit_sift_up(struct text_hit *h, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!hit_worse(&h[i], &h[parent]))
			return;
		struct text_hit tmp = h[i];
		h[i] = h[parent];
		h[parent] = tmp;
		i = parent;
	}
}

static int hit_rank_cmp(const void *a, const void *b)
{
	const struct text_hit *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Offer (doc, sum) to the bounded top-k heap out[0..*n) (note 3). */
static void offer(struct text_hit *out, size_t *n, size_t k, uint32_t doc, double sum)
{
	struct text_hit h = { doc, (float)sum };
	if (*n < k) {
		out[*n] = h;
		hit_sift_up(out, (*n)++);
	} else if (hit_worse(&out[0], &h)) {
		out[0] = h;
		hit_sift_down(out, *n, 0);
	}
}

/* Up to this many cursors, the search is MaxScore over a linear scan of
 * cursors (note 5); past it, a heap of cursor indices ordered by (doc, qi)
 * pops every posting in doc, then query-term order (note 3). */
#define LINEAR_CURSORS 64 /* bits of a uint64_t mask */

/* Score bounds (note 5) are multiplied by this margin, so that rounding
 * (bounds summed in another order than scores, idf * (x / y) against
 * (idf * x) / y) can never put a bound below a score it must cover. */
#define BOUND_MARGIN (1 + 1e-9)

/* BM25's tf part for (tf, dl): what a doc adds per unit of idf. */
static double tf_part(double tf, double dl, double c1, double c2, double k1p1)
{
	return (tf * k1p1) / (tf + (c1 + c2 * dl));
}

/* c's score bound (note 5), c at its first posting: from the impact points
 * of a long list, else from the short list's postings themselves (at most
 * SKIP_BLOCK; a copy of the cursor reads them). A list that fails to read
 * gets the loosest bound; the search itself will report it. */
static double cursor_bound(const struct cursor *c, const struct text_index *t, double c1, double c2,
			   double k1p1)
{
	double best = 0;
	if (c->impacts) {
		for (uint32_t i = 0; i < c->nimp; i++) {
			double f = tf_part(get_u32(c->impacts + 8 * (size_t)i),
					   get_u32(c->impacts + 8 * (size_t)i + 4), c1, c2, k1p1);
			if (f > best)
				best = f;
		}
	} else {
		struct cursor r = *c;
		while (r.doc != CURSOR_DONE) {
			double f = tf_part(r.tf, text_index_doc_len(t, r.doc), c1, c2, k1p1);
			if (f > best)
				best = f;
			if (cursor_next(&r, t)) {
				best = k1p1;
				break;
			}
		}
	}
	return c->idf * best * BOUND_MARGIN;
}

/* Note 5: the docs of cur[0..ncur) (in query-term order) into the top-k heap
 * out[0..*nhits). 0, or -1 on a corrupt postings list. */
static int maxscore(const struct text_index *t, struct cursor *cur, size_t ncur, double c1,
		    double c2, double k1p1, const uint64_t *allowed, size_t k, struct text_hit *out,
		    size_t *nhits)
{
	uint32_t order[LINEAR_CURSORS];
	double prefix[LINEAR_CURSORS + 1], contrib[LINEAR_CURSORS];
	size_t ness = 0;  /* order[0..ness) are non-essential */
	double theta = 0; /* the k-th best score once there are k */
	for (size_t i = 0; i < ncur; i++) {
		size_t j = i;
		cur[i].ub = cursor_bound(&cur[i], t, c1, c2, k1p1);
		while (j > 0 && cur[order[j - 1]].ub > cur[i].ub) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = (uint32_t)i;
	}
	prefix[0] = 0;
	for (size_t j = 0; j < ncur; j++)
		prefix[j + 1] = prefix[j] + cur[order[j]].ub;
	for (;;) {
		uint32_t doc = CURSOR_DONE;
		for (size_t j = ness; j < ncur; j++)
			if (cur[order[j]].doc < doc)
				doc = cur[order[j]].doc;
		if (doc == CURSOR_DONE)
			return 0;
		uint64_t at = 0; /* bit i: cur[i] is at doc */
		for (size_t j = ness; j < ncur; j++)
			if (cur[order[j]].doc == doc)
				at |= 1ull << order[j];
		int use = !allowed || (allowed[doc >> 6] >> (doc & 63) & 1);
		double norm = c1 + c2 * get_u32(t->doc_len + 4 * (size_t)doc), sum = 0;
		if (use) {
			double partial = 0;
			for (uint64_t m = at; m; m &= m - 1) {
				int i = __builtin_ctzll(m);
				double tf = cur[i].tf;
				contrib[i] = cur[i].idf * (tf * k1p1) / (tf + norm);
				partial += contrib[i];
			}
			/* even every non-essential term could not lift it */
			if (*nhits == k && (partial + prefix[ness]) * BOUND_MARGIN <= theta)
				use = 0;
		}
		if (use) {
			for (size_t j = 0; j < ness; j++) {
				struct cursor *c = &cur[order[j]];
				if (cursor_advance(c, t, doc))
					return -1;
				if (c->doc == doc) {
					double tf = c->tf;
					contrib[order[j]] = c->idf * (tf * k1p1) / (tf + norm);
					at |= 1ull << order[j];
				}
			}
			for (uint64_t m = at; m; m &= m - 1) /* query-term order */
				sum += contrib[__builtin_ctzll(m)];
		}
		for (uint64_t m = at; m; m &= m - 1)
			if (cursor_next(&cur[__builtin_ctzll(m)], t))
				return -1;
		if (!use)
			continue;
		offer(out, nhits, k, doc, sum);
		if (*nhits == k) {
			theta = out[0].score;
			while (ness < ncur && prefix[ness + 1] <= theta)
				ness++;
		}
	}
}

int text_index_search(const struct text_index *t, const struct text_query *q,
		      const struct text_stats *st, float k1, float b, const uint64_t *allowed,
		      size_t k, struct text_hit *out, size_t *nout)
{
	int rc = -1;
	struct cursor *cur = NULL;
	uint32_t *heap = NULL;
	size_t ncur = 0, nhits = 0;
	*nout = 0;
	if (!(k1 >= 0 && isfinite(k1)) || !(b >= 0 && b <= 1))
		return -1;
	if (k == 0 || q->nterms == 0 || t->nterms == 0)
		return 0;
	double n_docs = st ? (double)st->docs : (double)t->ndocs;
	double total = st ? (double)st->total_len : (double)t->total_len;
	if (n_docs < 1)
		n_docs = 1;
	double avgdl = total > 0 ? total / n_docs : 1;
	double K1 = k1, B = b;
	double c1 = K1 * (1 - B), c2 = K1 * B / avgdl, k1p1 = K1 + 1;
	cur = xmalloc(q->nterms * sizeof *cur);
	for (size_t i = 0; i < q->nterms; i++) {
		int64_t term = term_find(t, q->terms[i], strlen(q->terms[i]));
		if (term < 0)
			continue;
		double df = st ? (double)st->df[i] : (double)entry_df(t, (uint32_t)term);
		if (df < 1)
			df = 1;
		if (df > n_docs)
			df = n_docs;
		struct cursor *c = &cur[ncur];
		cursor_init(c, t, (uint32_t)term);
		c->qi = (uint32_t)i;
		c->idf = log(1 + (n_docs - df + 0.5) / (df + 0.5));
		if (cursor_next(c, t))
			goto out;
		ncur++;
	}
	if (ncur <= LINEAR_CURSORS) {
		if (maxscore(t, cur, ncur, c1, c2, k1p1, allowed, k, out, &nhits))
			goto out;
	} else {
		size_t nheap = ncur;
		heap = xmalloc(ncur * sizeof *heap);
		for (size_t i = 0; i < ncur; i++)
			heap[i] = (uint32_t)i;
		for (size_t i = nheap / 2; i-- > 0;)
			cursor_sift_down(cur, heap, nheap, i);
		while (nheap > 0) {
			uint32_t doc = cur[heap[0]].doc;
			int use = !allowed || (allowed[doc >> 6] >> (doc & 63) & 1);
			double norm = c1 + c2 * get_u32(t->doc_len + 4 * (size_t)doc);
			double sum = 0;
			while (nheap > 0 && cur[heap[0]].doc == doc) {
				struct cursor *c = &cur[heap[0]];
				if (use) {
					double tf = c->tf;
					sum += c->idf * (tf * k1p1) / (tf + norm);
				}
				if (cursor_next(c, t))
					goto out;
				if (c->doc == CURSOR_DONE)
					heap[0] = heap[--nheap];
				cursor_sift_down(cur, heap, nheap, 0);
			}
			if (use)
				offer(out, &nhits, k, doc, sum);
		}
	}
	qsort(out, nhits, sizeof *out, hit_rank_cmp);
	*nout = nhits;
	rc = 0;
out:
	free(cur);
	free(heap);
	return rc;
}
