/* documents_int.h — private to src/documents/: the pieces the format
 * readers share (text normalisation, UTF-8) and one entry per format.
 * Other modules include documents.h only.
 */
#ifndef LH_DOCUMENTS_INT_H
#define LH_DOCUMENTS_INT_H
#include "documents/documents.h"

#include <stdint.h>

/* Decode one UTF-8 character at s[0..n): its length (1-4) and *cp, or 0
 * when the bytes there are not valid UTF-8 (overlong, surrogate, past
 * U+10FFFF, truncated). */
size_t doc_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Unicode characters in a valid UTF-8 string. */
size_t doc_utf8_chars(const char *s, size_t n);

/* Whether data reads as text: UTF-8 (1) or, if not, Latin-1 (2), either
 * without control characters other than \t \n \v \f \r (and ESC, which some
 * terminals' logs hold); 0 = binary. */
int doc_text_kind(const unsigned char *data, size_t len);

/* Append a page to t: `raw` (any bytes; invalid UTF-8 becomes U+FFFD) is
 * normalised as documents.h says for struct doc_page. *total counts the
 * normalised bytes of all pages so far; past lim->max_text_bytes it is 413
 * too_large. 0 or -1 with err. */
int doc_text_add_page(struct doc_text *t, unsigned page, const char *raw, size_t len,
		      const struct doc_limits *lim, size_t *total, struct lh_error *err);

/* The bytes the normaliser last held for a page (its page and line
 * buffers' allocations): tests check a hostile page stays near the cap. */
size_t doc_text_norm_peak(void);

/* 400 no_text unless some page of t has text. */
int doc_text_require(const struct doc_text *t, struct lh_error *err);

/* One page of a PDF as the poppler adapter reads it (page 1-based); 0 or
 * -1 with err to stop. */
typedef int (*doc_page_fn)(void *ctx, unsigned page, const char *text, size_t len, struct lh_error *err);

/* pdf_poppler.c, in the worker only: call fn for every page of the PDF in
 * data, in order. 0, or -1 with 400 encrypted_pdf / bad_document, 413
 * too_many_pages (more than max_pages), or fn's error. */
int doc_poppler_pages(const unsigned char *data, size_t len, size_t max_pages, doc_page_fn fn, void *ctx,
		      struct lh_error *err);

/* The readers: fill t (format set by the caller) or -1 with err. */
int doc_plain_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		      struct doc_text *t, struct lh_error *err);
int doc_docx_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err);
int doc_html_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err);
int doc_pdf_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		    struct doc_text *t, struct lh_error *err);

#endif
