/* xmlread.h — a pull parser over an XML document read as a stream of
 * pieces, never built into a tree (ADR 0109: libxml2's xmlTextReader behind
 * xml_libxml2.c, the only file that includes libxml2's headers). Used by the
 * Excel input format (ingestd/xlsx_reader.c) to read a sheet of any length
 * in bounded memory.
 *
 * Events, in document order: XMLREAD_START (an element opens: its local
 * name and attributes), XMLREAD_TEXT (character data, CDATA and whitespace
 * inside an element, entities decoded), XMLREAD_CLOSE (it closes; also
 * after an empty element `<c/>`, so every START has its CLOSE), and
 * XMLREAD_END. Namespaces are ignored: names are local names.
 *
 * Hostile input: no network, no external entities, no DTD at all (a
 * document with a DOCTYPE is refused: the OOXML parts never have one), and
 * libxml2's default caps (depth 256, a text node of 10 MB) stay on.
 */
#ifndef LH_COMMON_XMLREAD_H
#define LH_COMMON_XMLREAD_H
#include <stddef.h>
#include <sys/types.h>

struct lh_error;
struct xmlread;

/* The document's bytes: up to n into buf; the count, 0 at the end, or -1
 * with err filled (that error is what xmlread_next() then returns). */
typedef ssize_t (*xmlread_fn)(void *ctx, char *buf, size_t n, struct lh_error *err);

enum {
	XMLREAD_END = 0,
	XMLREAD_START = 1,
	XMLREAD_TEXT = 2,
	XMLREAD_CLOSE = 3,
};

/* A parser pulling from read(ctx). `what` names the document in messages
 * ("xl/workbook.xml"); it is copied. Never NULL. */
struct xmlread *xmlread_open(xmlread_fn read, void *ctx, const char *what);

/* The next event, or -1 with 400 "bad_xml" naming the document and line
 * (not well-formed, a DTD), or the read function's own error. After -1 or
 * XMLREAD_END only xmlread_close() is allowed. */
int xmlread_next(struct xmlread *x, struct lh_error *err);

/* START and CLOSE: the element's local name ("c", "row"). Valid until the
 * parser is closed. */
const char *xmlread_name(const struct xmlread *x);

/* START: the value of the attribute with this local name, or NULL. Valid
 * until the next xmlread_next(). At most XMLREAD_MAX_ATTRS attributes of an
 * element are kept (an OOXML element has far fewer). */
#define XMLREAD_MAX_ATTRS 32
const char *xmlread_attr(const struct xmlread *x, const char *name);

/* TEXT: the text, *n bytes (UTF-8, NUL-terminated). Valid until the next
 * xmlread_next(). A long text may come as several TEXT events. */
const char *xmlread_text(const struct xmlread *x, size_t *n);

/* The element depth of the current event: 1 for the root element. */
int xmlread_depth(const struct xmlread *x);

/* Free the parser. NULL is fine. */
void xmlread_close(struct xmlread *x);

/* The visible text of the HTML document in data[0..len) (documents, ADR
 * 0220): UTF-8 in *out (malloc'd, NUL-terminated, *out_len bytes), text of
 * head/script/style/noscript/template/svg/iframe/object dropped, "\n\n"
 * around block elements, "\n" for br, a tab before a table cell,
 * whitespace collapsed outside pre. encoding: the bytes' encoding ("UTF-8",
 * "windows-1252"), or NULL for what the document declares (a meta charset).
 * The parser recovers from any markup; 0, or -1 with 413 "too_large" past
 * max_bytes of text or past max_seconds (0 = no deadline), 400
 * "bad_document" when elements nest deeper than max_depth (0 = 256). Builds
 * no tree: memory is the text plus the parser's. */
int xmlread_html_text(const char *data, size_t len, const char *encoding, size_t max_bytes, int max_depth,
		      double max_seconds, char **out, size_t *out_len, struct lh_error *err);

/* The SAX events the calling thread's last xmlread_html_text() handled,
 * and (max_depth, may be NULL) the deepest element stack it saw: its work,
 * for tests that show a hostile page stays bounded. */
unsigned long xmlread_html_last_work(int *max_depth);

#endif
