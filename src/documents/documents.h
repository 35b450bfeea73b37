/* documents.h — text out of documents (PDF, DOCX, HTML, Markdown, plain
 * text) and that text cut into chunks (SPEC 15; ADR 0220 extraction and
 * isolation, ADR 0221 chunking). The documents dataset (ingestd) builds its
 * rows from doc_chunk(); this module does no I/O beyond the PDF worker.
 *
 * The steps: doc_detect() names the format from the file name and bytes;
 * doc_extract() turns the bytes into UTF-8 pages (PDF: one per page, 1-based,
 * in a sandboxed child process `lakehouse document-worker`; the other
 * formats: one page numbered 0); doc_chunk() packs each page's paragraphs
 * into chunks of about target_chars characters.
 *
 * Errors (lh_fail) are plain words WITHOUT the file name (the caller adds
 * it): 400 encrypted_pdf, 400 no_text (an image-only PDF, an empty file),
 * 400 bad_document (corrupt or truncated; a worker that crashed or was
 * killed from outside; HTML nested too deep), 413
 * too_large (a zip bomb, the text cap, the worker's memory or time limit),
 * 413 too_many_pages, 415 unsupported_format.
 */
#ifndef LH_DOCUMENTS_H
#define LH_DOCUMENTS_H
#include <stdbool.h>
#include <stddef.h>

struct lh_error;

enum doc_format { DOC_PDF, DOC_DOCX, DOC_HTML, DOC_MARKDOWN, DOC_TEXT };

/* What one document may cost. max_expanded_bytes caps a DOCX's inflated
 * word/document.xml (a zip bomb is 413 too_large); max_seconds is the
 * wall-clock deadline of one document's reading (PDF worker, HTML, DOCX;
 * and, rounded up, the PDF worker's CPU limit);
 * max_worker_bytes is its address-space limit (RLIMIT_AS; 0 = none; not
 * applied in sanitizer builds, whose shadow memory needs terabytes of
 * address space). worker_exe is the binary that has the `document-worker`
 * subcommand: "/proc/self/exe" by default (lakehouse itself; the unit-test
 * binary has the subcommand too). workers: a pool of warm PDF workers to
 * reuse (doc_workers_create; shared by threads), or NULL for a new process
 * per PDF. */
struct doc_workers;
struct doc_limits {
	size_t max_pages;
	size_t max_text_bytes;
	size_t max_expanded_bytes;
	double max_seconds;
	size_t max_worker_bytes;
	const char *worker_exe;
	struct doc_workers *workers;
};

/* A pool of PDF worker processes (pdf_worker.c note 1): at most max_idle
 * kept warm, each serving at most max_uses PDFs before it is retired; a
 * worker that failed in any way is never reused. It also holds the
 * service's extraction slots (note 6): doc_extract() with this pool runs
 * at most max_running extractions (any format) at once, the others wait
 * their turn. Thread-safe. Destroy retires the idle ones (NULL is fine);
 * no extraction may be running. */
struct doc_workers *doc_workers_create(unsigned max_idle, unsigned max_uses, unsigned max_running);
void doc_workers_destroy(struct doc_workers *p);
/* Workers the pool has started so far (tests, metrics). */
unsigned long doc_workers_spawned(struct doc_workers *p);
/* The most extractions that ran at once, and how many had to wait. */
void doc_workers_stats(struct doc_workers *p, unsigned *peak, unsigned long *waited);
/* Take (waiting if need be) and give back an extraction slot; NULL: no-op.
 * doc_extract() does this itself. */
void doc_workers_slot_take(struct doc_workers *p);
void doc_workers_slot_give(struct doc_workers *p);

/* The defaults of src/common/limits.h (LH_DOC_*). */
void doc_limits_default(struct doc_limits *l);

/* The defaults, then [ingestd] max_document_pages, document_timeout_ms and
 * document_memory_bytes from cfg (docs/configuration.md). */
struct lh_config;
void doc_limits_from_config(struct doc_limits *l, const struct lh_config *cfg);

/* One page of text: UTF-8, valid, NUL-terminated, normalised (LF line ends,
 * no control characters but \n and \t, no trailing blanks on a line, at most
 * one blank line between paragraphs, trimmed). page is 1-based; 0 when the
 * format has no pages (DOCX, HTML, Markdown, text: one page 0). */
struct doc_page { unsigned page; char *text; size_t len; };

/* A document's text: pages in order (a PDF's empty pages are kept, with
 * len 0). from_latin1: the bytes were not UTF-8 and were read as Latin-1
 * (Windows-1252) and converted; the answer should say so. */
struct doc_text { enum doc_format format; struct doc_page *pages; size_t n_pages; bool from_latin1; };

/* Detect the format from the name (may be NULL) and the bytes: PDF magic,
 * a zip with word/document.xml, HTML by extension or leading tag, .md/.markdown,
 * else text if the bytes read as UTF-8 or Latin-1 text. 0 and *out, or -1
 * with 415 unsupported_format (binary, another zip, a legacy .doc ...). */
int doc_detect(const char *file_name, const unsigned char *data, size_t len, enum doc_format *out,
	       struct lh_error *err);

/* "pdf", "docx", "html", "markdown", "text". */
const char *doc_format_name(enum doc_format f);

/* Detect and extract. 0 and *out filled (free with doc_text_free), or -1
 * with err (see the top of this file) and *out empty. lim NULL = defaults.
 * At least one page has text when it succeeds. */
int doc_extract(const char *file_name, const unsigned char *data, size_t len, const struct doc_limits *lim,
		struct doc_text *out, struct lh_error *err);

/* Free the pages, not the struct. Safe on a zeroed struct. */
void doc_text_free(struct doc_text *t);

/* SPEC 15: paragraphs (separated by a blank line) packed to at most about
 * target_chars characters (0 = LH_DOC_CHUNK_CHARS, 1,000), never splitting
 * a word: a paragraph longer than the target is cut between words; a single
 * word longer than the target is its own chunk, cut at UTF-8 character
 * boundaries only past LH_DOC_CHUNK_HARD_FACTOR x target characters. Each
 * chunk's text is a piece of its page's text, as it stands there (so a
 * highlight maps back); chunks never cross pages; empty pages give none.
 * chunk numbers run 0.. over the whole document; chars counts Unicode
 * characters (code points), not bytes. 0 and *out (free with
 * doc_chunks_free) and *n, or -1 with err (500 on an impossible input). */
struct doc_chunk { unsigned page; unsigned chunk; char *text; size_t len; size_t chars; };
int doc_chunk(const struct doc_text *t, size_t target_chars, struct doc_chunk **out, size_t *n,
	      struct lh_error *err);
void doc_chunks_free(struct doc_chunk *c, size_t n);

/* `lakehouse document-worker`: the PDF extraction child (pdf_worker.c, ADR
 * 0220). Not for people: started by doc_extract() only, with a minimal
 * environment (no secrets). Its isolation covers crashes and resources
 * (memory, CPU, time, descriptors), not privileges: it runs as the
 * server's user, without seccomp. */
int doc_worker_main(int argc, char **argv);

#endif
