/* highlight.h — the snippet a search hit shows: a window of a row's text
 * around its densest query-term matches, matches wrapped in <mark>, the rest
 * HTML-escaped, so the string can go into a page as it is (SPEC 11
 * "highlight").
 *
 * A match is a token of the text (tokenize.h) whose lower-cased, stemmed
 * form is one of the query's terms: exactly what BM25 counted
 * (text_index.h), so every highlighted word is one that scored.
 */
#ifndef LH_SEARCH_HIGHLIGHT_H
#define LH_SEARCH_HIGHLIGHT_H
#include <stddef.h>

struct text_query;

/* The ellipsis put where the text was cut (U+2026). */
#define HIGHLIGHT_ELLIPSIS "\xE2\x80\xA6"

/* A snippet of text[0..len) (need not be NUL-terminated) for query q (from
 * text_query_parse):
 *   - the window is at most max_chars characters of the text (code points;
 *     an invalid UTF-8 byte counts as one), chosen to hold the most distinct
 *     query terms, then the most matches, then the earliest; the rest of the
 *     room is shared before and after it, and a cut inside a word moves to
 *     the word's edge (when the matches stay inside). max_chars 0 = the whole
 *     text. Matches wider than max_chars together give a window of just them;
 *   - "…" (HIGHLIGHT_ELLIPSIS) stands where the text was cut, at either end;
 *   - each match (or the part of it inside the window) is wrapped in
 *     "<mark>" ... "</mark>";
 *   - & < > " ' become &amp; &lt; &gt; &quot; &#39;; an invalid UTF-8 byte
 *     or a NUL becomes U+FFFD, so the result is valid UTF-8 (a JSON string);
 *     cuts are only at character boundaries.
 * NULL when no token of the text matches (or q has no terms); else a
 * NUL-terminated string the caller frees (xmalloc'd). Pure, thread-safe. */
char *highlight_snippet(const char *text, size_t len, const struct text_query *q, size_t max_chars);

#endif
