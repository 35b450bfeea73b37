/* highlight.c — search snippets with <mark> (see highlight.h).
 *
 * Three passes over the text, none allocating more than the matches list
 * and the result:
 *   1. tokenize + stem, keeping the tokens whose term is in the query
 *      (byte span + term index), in text order;
 *   2. when a window is needed: count characters (a valid UTF-8 sequence,
 *      or one invalid byte: the tokenizer's own unit, so token edges are
 *      character edges) to place each match in characters, slide a window
 *      of max_chars over the matches (two pointers, a count per term) and
 *      pick the best, then turn its character edges back into bytes and move
 *      a cut inside a word to the word's edge;
 *   3. write: "…", the escaped bytes with <mark> around matches clipped to
 *      the window, "…". The output's size is bounded before writing (6 bytes
 *      per input byte at most, 13 per mark, 7 for the ellipses and NUL), so
 *      one allocation.
 */
#include "search/highlight.h"

#include "search/text_index.h"
#include "search/tokenize.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct match {
	size_t off, len; /* bytes in the text */
	size_t cs, ce;   /* characters [cs, ce) */
	size_t term;     /* index into q->terms */
};

struct hl_ctx {
	const struct text_query *q;
	int sorted; /* q->terms strictly increasing: binary search */
	struct match *m;
	size_t n;
};

/* The length of the character at s[0..n): a valid UTF-8 sequence (the
 * tokenizer's rule, RFC 3629), else 1 byte; *valid says which. */
static size_t char_len(const unsigned char *s, size_t n, int *valid)
{
	size_t len = s[0] < 0x80 ? 1 : token_utf8_seq_len((const char *)s, n);
	*valid = len > 0;
	return len ? len : 1;
}

/* A byte that belongs to a word: an ASCII letter/digit or any non-ASCII
 * byte (the tokenizer's token characters, near enough for moving a cut). */
static int word_byte(unsigned char c)
{
	return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int space_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int64_t term_index(const struct hl_ctx *c, const char *w)
{
	const struct text_query *q = c->q;
	if (!c->sorted) {
		for (size_t i = 0; i < q->nterms; i++)
			if (strcmp(q->terms[i], w) == 0)
				return (int64_t)i;
		return -1;
	}
	size_t lo = 0, hi = q->nterms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(q->terms[mid], w);
		if (r == 0)
			return (int64_t)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int hl_token(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len)
{
	struct hl_ctx *c = ctx;
	char w[TOKEN_MAX_BYTES + 1];
	if (len == 0)
		return 0;
	memcpy(w, word, len);
	w[len] = '\0';
	token_stem(w, len);
	int64_t t = term_index(c, w);
	if (t < 0)
		return 0;
	c->m = xgrow(c->m, c->n, sizeof *c->m);
	c->m[c->n++] = (struct match){ src_off, src_len, 0, 0, (size_t)t };
	return 0;
}

/* Place every match in characters (cs, ce); returns the text's character
 * count. Match edges are token edges, which are character edges, and come
 * in non-decreasing order: off0 <= end0 <= off1 <= ... */
static size_t count_chars(const unsigned char *s, size_t len, struct match *m, size_t n)
{
	size_t i = 0, chars = 0, k = 0;
	int valid;
	for (;;) {
		while (k < 2 * n) {
			struct match *x = &m[k / 2];
			size_t edge = k % 2 ? x->off + x->len : x->off;
			if (edge > i)
				break;
			*(k % 2 ? &x->ce : &x->cs) = chars;
			k++;
		}
		if (i >= len)
			return chars;
		i += char_len(s + i, len - i, &valid);
		chars++;
	}
}

/* The byte offset of character `target` (0..chars). */
static size_t char_to_byte(const unsigned char *s, size_t len, size_t target)
{
	size_t i = 0, chars = 0;
	int valid;
	while (i < len && chars < target) {
		i += char_len(s + i, len - i, &valid);
		chars++;
	}
	return i;
}

/* Pick the window's bytes [*ws, *we) (note 2 of the header comment). */
static void choose_window(const unsigned char *s, size_t len, const struct text_query *q,
			  struct match *m, size_t n, size_t max_chars, size_t *ws, size_t *we)
{
	size_t total = count_chars(s, len, m, n);
	if (max_chars == 0 || total <= max_chars) {
		*ws = 0;
		*we = len;
		return;
	}
	size_t *cnt = xcalloc(q->nterms, sizeof *cnt);
	size_t best_i = 0, best_j = 0, best_distinct = 0, best_count = 0, distinct = 0;
	size_t j = 0; /* the window is matches [i, j) */
	for (size_t i = 0; i < n; i++) {
		if (j <= i) {
			j = i;
			if (cnt[m[j].term]++ == 0)
				distinct++;
			j++;
		}
		while (j < n && m[j].ce - m[i].cs <= max_chars) {
			if (cnt[m[j].term]++ == 0)
				distinct++;
			j++;
		}
		if (distinct > best_distinct || (distinct == best_distinct && j - i > best_count)) {
			best_distinct = distinct;
			best_count = j - i;
			best_i = i;
			best_j = j - 1;
		}
		if (--cnt[m[i].term] == 0)
			distinct--;
	}
	free(cnt);
	size_t cs = m[best_i].cs, ce = m[best_j].ce;
	size_t span = ce - cs, width = span > max_chars ? span : max_chars;
	size_t before = (width - span) / 2;
	size_t wcs = cs > before ? cs - before : 0, wce = wcs + width;
	if (wce > total) {
		wce = total;
		wcs = total > width ? total - width : 0;
	}
	size_t bs = char_to_byte(s, len, wcs), be = char_to_byte(s, len, wce);
	size_t ms = m[best_i].off, me = m[best_j].off + m[best_j].len;
	if (bs > ms)
		bs = ms;
	if (be < me)
		be = me;
	/* A cut inside a word moves inward to the word's edge, if the chosen
	 * matches stay inside; then spaces at a cut go. Every move stops on an
	 * ASCII byte or a match edge: a character edge. */
	if (bs > 0 && word_byte(s[bs - 1]) && word_byte(s[bs])) {
		size_t b2 = bs;
		while (b2 < ms && word_byte(s[b2]))
			b2++;
		bs = b2;
	}
	if (be < len && word_byte(s[be - 1]) && word_byte(s[be])) {
		size_t e2 = be;
		while (e2 > me && word_byte(s[e2 - 1]))
			e2--;
		be = e2;
	}
	if (bs > 0)
		while (bs < ms && space_byte(s[bs]))
			bs++;
	if (be < len)
		while (be > me && space_byte(s[be - 1]))
			be--;
	*ws = bs;
	*we = be;
}

static size_t put(char *o, const char *s)
{
	size_t n = strlen(s);
	memcpy(o, s, n);
	return n;
}

char *highlight_snippet(const char *text, size_t len, const struct text_query *q, size_t max_chars)
{
	const unsigned char *s = (const unsigned char *)text;
	struct hl_ctx c = { q, 1, NULL, 0 };
	size_t ws, we;
	if (!text || !q || q->nterms == 0)
		return NULL;
	for (size_t i = 1; i < q->nterms; i++)
		if (strcmp(q->terms[i - 1], q->terms[i]) >= 0)
			c.sorted = 0;
	tokenize(text, len, hl_token, &c);
	if (c.n == 0) {
		free(c.m);
		return NULL;
	}
	choose_window(s, len, q, c.m, c.n, max_chars, &ws, &we);
	char *out = xmalloc(6 * (we - ws) + 13 * c.n + 2 * sizeof HIGHLIGHT_ELLIPSIS + 1);
	size_t o = 0, mi = 0, open_end = 0;
	int open = 0;
	if (ws > 0)
		o += put(out + o, HIGHLIGHT_ELLIPSIS);
	for (size_t i = ws; i < we;) {
		if (open && i == open_end) {
			o += put(out + o, "</mark>");
			open = 0;
		}
		while (mi < c.n && c.m[mi].off + c.m[mi].len <= i)
			mi++;
		if (!open && mi < c.n && c.m[mi].off <= i) {
			o += put(out + o, "<mark>");
			open = 1;
			open_end = c.m[mi].off + c.m[mi].len;
			if (open_end > we)
				open_end = we;
		}
		int valid;
		size_t cl = char_len(s + i, we - i, &valid);
		if (!valid || s[i] == '\0') {
			o += put(out + o, "\xEF\xBF\xBD");
		} else if (cl > 1) {
			memcpy(out + o, s + i, cl);
			o += cl;
		} else {
			switch (s[i]) {
			case '&': o += put(out + o, "&amp;"); break;
			case '<': o += put(out + o, "&lt;"); break;
			case '>': o += put(out + o, "&gt;"); break;
			case '"': o += put(out + o, "&quot;"); break;
			case '\'': o += put(out + o, "&#39;"); break;
			default: out[o++] = (char)s[i]; break;
			}
		}
		i += cl;
	}
	if (open)
		o += put(out + o, "</mark>");
	if (we < len)
		o += put(out + o, HIGHLIGHT_ELLIPSIS);
	out[o] = '\0';
	free(c.m);
	return out;
}
