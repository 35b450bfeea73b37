/* chunk.c — a document's pages cut into chunks, the rows of a documents
 * dataset (SPEC 15; ADR 0221). Pure: no I/O.
 *
 * DESIGN NOTES
 *  1. A chunk is a byte range of one page's normalised text (documents.c
 *     note 3), copied as it stands: paragraphs (split on the blank line)
 *     keep their line breaks and the "\n\n" between them, so what search
 *     highlights in a chunk is what the page says.
 *  2. Packing is greedy in reading order: a paragraph joins the current
 *     chunk while the chunk stays within the target (the "\n\n" and any
 *     indentation between them count); else the chunk is closed and the
 *     paragraph starts the next one. A paragraph longer than the target is cut between words
 *     (at any blank: space, tab, line break), each piece as full as the
 *     target allows; its last piece stays open for the next paragraphs.
 *  3. A word longer than the target is a chunk of its own; one longer than
 *     LH_DOC_CHUNK_HARD_FACTOR x the target (a base64 blob, a URL run
 *     together) is cut into pieces of that many characters, at UTF-8
 *     character boundaries only. So no chunk exceeds the hard cap, and only
 *     a single long word exceeds the target.
 *  4. Characters are Unicode code points, counted on the valid UTF-8 that
 *     normalisation guarantees. Empty pages give no chunk; chunk numbers
 *     run 0.. over the document, page after page.
 */
#include "documents/documents_int.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct chunker {
	const char *s;            /* the page's text */
	unsigned page;
	size_t target, hard;
	struct doc_chunk *out;
	size_t n;
	size_t cur_start, cur_end, cur_chars;   /* the open chunk; cur_end == 0: none */
	int open;
};

static void emit(struct chunker *c, size_t start, size_t end)
{
	c->out = xgrow(c->out, c->n, sizeof *c->out);
	struct doc_chunk *k = &c->out[c->n];
	k->page = c->page;
	k->chunk = (unsigned)c->n;
	k->text = xstrndup(c->s + start, end - start);
	k->len = end - start;
	k->chars = doc_utf8_chars(k->text, k->len);
	c->n++;
}

static void flush(struct chunker *c)
{
	if (c->open)
		emit(c, c->cur_start, c->cur_end);
	c->open = 0;
}

static void open_at(struct chunker *c, size_t start, size_t end, size_t chars)
{
	c->open = 1;
	c->cur_start = start;
	c->cur_end = end;
	c->cur_chars = chars;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n';
}

/* Note 3: a word over the target. */
static void long_word(struct chunker *c, size_t a, size_t b, size_t chars)
{
	if (chars <= c->hard) {
		emit(c, a, b);
		return;
	}
	while (a < b) {
		size_t i = a, k = 0;
		while (i < b && k < c->hard) {
			i++;
			while (i < b && ((unsigned char)c->s[i] & 0xC0) == 0x80)
				i++;
			k++;
		}
		emit(c, a, i);
		a = i;
	}
}

/* Note 2: a paragraph over the target, cut between words. */
static void long_paragraph(struct chunker *c, size_t ps, size_t pe)
{
	size_t i = ps;
	while (i < pe) {
		size_t gap_start = i;
		while (i < pe && is_blank(c->s[i]))
			i++;
		size_t gap = i - gap_start;           /* blanks are ASCII: bytes = chars */
		size_t a = i;
		while (i < pe && !is_blank(c->s[i]))
			i++;
		size_t b = i;
		if (a == b)
			break;
		size_t wc = doc_utf8_chars(c->s + a, b - a);
		if (c->open && c->cur_chars + gap + wc <= c->target) {
			c->cur_end = b;
			c->cur_chars += gap + wc;
			continue;
		}
		flush(c);
		if (wc <= c->target)
			open_at(c, a, b, wc);
		else
			long_word(c, a, b, wc);
	}
}

static void chunk_page(struct chunker *c, const struct doc_page *p)
{
	const char *s = p->text;
	size_t n = p->len, i = 0;
	c->s = s;
	c->page = p->page;
	c->open = 0;
	while (i < n) {
		size_t ps = i;
		const char *brk = NULL;
		for (size_t j = i; j + 1 < n; j++)
			if (s[j] == '\n' && s[j + 1] == '\n') {
				brk = s + j;
				break;
			}
		size_t pe = brk ? (size_t)(brk - s) : n;
		i = brk ? pe + 2 : n;
		while (ps < pe && is_blank(s[ps]))
			ps++;
		while (pe > ps && is_blank(s[pe - 1]))
			pe--;
		if (ps == pe)
			continue;
		size_t pc = doc_utf8_chars(s + ps, pe - ps);
		size_t gap = c->open ? ps - c->cur_end : 0;   /* "\n\n" and indentation: ASCII */
		if (c->open && c->cur_chars + gap + pc <= c->target) {
			c->cur_end = pe;
			c->cur_chars += gap + pc;
			continue;
		}
		flush(c);
		if (pc <= c->target)
			open_at(c, ps, pe, pc);
		else
			long_paragraph(c, ps, pe);
	}
	flush(c);
}

int doc_chunk(const struct doc_text *t, size_t target_chars, struct doc_chunk **out, size_t *n,
	      struct lh_error *err)
{
	struct chunker c;
	memset(&c, 0, sizeof c);
	*out = NULL;
	*n = 0;
	c.target = target_chars ? target_chars : LH_DOC_CHUNK_CHARS;
	if (c.target > SIZE_MAX / LH_DOC_CHUNK_HARD_FACTOR)
		return lh_fail(err, 500, "internal", "the chunk size is out of range");
	c.hard = c.target * LH_DOC_CHUNK_HARD_FACTOR;
	for (size_t i = 0; i < t->n_pages; i++)
		chunk_page(&c, &t->pages[i]);
	*out = c.out;
	*n = c.n;
	return 0;
}

void doc_chunks_free(struct doc_chunk *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].text);
	free(c);
}
