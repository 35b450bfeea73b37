/* json_scan.c — the JSON upload scanner (json_scan.h, ADR 0182).
 *
 * DESIGN NOTES
 *   1. Restartable like csv_scan_record(): a call scans from buf[0]; when
 *      the bytes end inside an object it returns JSON_NEED_MORE having
 *      consumed only the white space and separators before the object, and
 *      the caller calls again with the object's bytes plus more. Nothing of
 *      the scanner's state changes for a partial object, so the answer never
 *      depends on how the input was split.
 *   2. Recursive descent over one object, each step asking `need()` for the
 *      next byte. Running out of bytes is one decision (at_end()): past
 *      LH_JSON_INGEST_MAX_RECORD_BYTES from the object's `{` it is "too
 *      large" (so a huge object is refused at the same byte however it is
 *      split), at the end of the input "the file ends inside", else NEED_MORE.
 *   3. Strings: a fast loop finds the closing quote; a string without
 *      escapes is reported in place, one with escapes is decoded into the
 *      scratch. UTF-8 is checked (csv_utf8_check) once per run of bytes
 *      between escapes. \u escapes become UTF-8; a surrogate pair becomes
 *      one 4-byte character; a lone surrogate is an error (it has no UTF-8).
 *   4. Nested objects and arrays (inside a row's object) are validated with
 *      the same rules and copied to the scratch without the white space
 *      outside strings (strings, escapes and numbers as written): their
 *      compact JSON text. Depth is capped (LH_JSON_INGEST_MAX_DEPTH), so the
 *      recursion is bounded.
 *   5. Members keep scratch offsets while the object is parsed (the scratch
 *      may move as it grows) and become pointers once it is complete.
 *   6. Lines: a raw newline can only be white space (JSON strings cannot
 *      hold one), so lines are counted where white space is skipped.
 */
#include "ingestd/json_scan.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a JSON_MODE_ARRAY scanner is. */
enum {
	ARRAY_OPEN,     /* after `[`: an object or `]` */
	ARRAY_AFTER,    /* after an element: `,` or `]` */
	ARRAY_COMMA,    /* after `,`: an object */
	ARRAY_CLOSED,   /* after `]`: only white space */
};

enum { P_OK = 0, P_ERR = -1, P_MORE = 1 };

struct parse {
	struct json_scanner *s;
	const unsigned char *buf;
	size_t n;          /* usable end: min(input end, start + record limit) */
	size_t end;        /* the caller's n */
	size_t pos;
	size_t start;      /* the object's `{` */
	size_t value_start;/* scratch offset of the nested value being copied */
	int eof;
	uint64_t line;
	struct lh_error *err;
};

void json_scanner_init(struct json_scanner *s)
{
	memset(s, 0, sizeof *s);
	s->line = 1;
	s->cap = 16;
	s->members = xmalloc(s->cap * sizeof *s->members);
	s->scratch_cap = 4096;
	s->scratch = xmalloc(s->scratch_cap);
}

void json_scanner_free(struct json_scanner *s)
{
	free(s->members);
	free(s->scratch);
	s->members = NULL;
	s->scratch = NULL;
	s->cap = s->scratch_cap = 0;
}

void json_scanner_resume(struct json_scanner *s, int mode, uint64_t line)
{
	s->mode = mode;
	s->state = ARRAY_COMMA;
	s->started = 1;
	s->line = line;
}

/* ---- errors ------------------------------------------------------------- */

static int fail_at(struct lh_error *err, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_at(struct lh_error *err, uint64_t line, const char *fmt, ...)
{
	char what[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	lh_fail(err, 400, "bad_json", "line %llu: %s", (unsigned long long)line, what);
	lh_error_set(err, "line", json_integer((json_int_t)line));
	return P_ERR;
}

/* A byte as the error messages show it. */
static const char *show_byte(unsigned char c, char out[16])
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(out, 16, "'%c'", c);
	else
		snprintf(out, 16, "byte 0x%02x", c);
	return out;
}

/* The bytes ran out at p->pos (note 2). */
static int at_end(struct parse *p)
{
	if (p->n - p->start >= LH_JSON_INGEST_MAX_RECORD_BYTES)
		return fail_at(p->err, p->line, "an object larger than %u MiB, the limit for one row",
			       LH_JSON_INGEST_MAX_RECORD_BYTES >> 20);
	if (p->eof)
		return fail_at(p->err, p->line, "the file ends inside a JSON object");
	return P_MORE;
}

/* 1 if a byte is available at p->pos, else 0 (then at_end() decides). */
static inline int more(const struct parse *p)
{
	return p->pos < p->n;
}

static inline void skip_ws(struct parse *p)
{
	while (p->pos < p->n) {
		unsigned char c = p->buf[p->pos];
		if (c == '\n')
			p->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			return;
		p->pos++;
	}
}

/* ---- the scratch (notes 4, 5) ------------------------------------------ */

static void scratch_reserve(struct json_scanner *s, size_t n)
{
	if (s->scratch_len + n <= s->scratch_cap)
		return;
	while (s->scratch_len + n > s->scratch_cap)
		s->scratch_cap *= 2;
	s->scratch = xrealloc(s->scratch, s->scratch_cap);
}

static inline void scratch_put(struct json_scanner *s, const void *p, size_t n)
{
	scratch_reserve(s, n);
	memcpy(s->scratch + s->scratch_len, p, n);
	s->scratch_len += n;
}

/* Append to the nested value being copied, within its limit. */
static int nested_put(struct parse *p, const void *bytes, size_t n)
{
	if (p->s->scratch_len - p->value_start + n > LH_JSON_INGEST_MAX_VALUE_BYTES)
		return fail_at(p->err, p->line,
			       "a nested value longer than %u MiB, the limit for one value",
			       LH_JSON_INGEST_MAX_VALUE_BYTES >> 20);
	scratch_put(p->s, bytes, n);
	return P_OK;
}

/* ---- strings (note 3) --------------------------------------------------- */

static int hex4(const unsigned char *h, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		unsigned char c = h[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t utf8_put(unsigned cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (unsigned char)(0xF0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Read one escape at p->pos (the backslash) into out (decoded UTF-8, *nout
 * bytes). Advances past it. */
static int escape(struct parse *p, unsigned char out[4], size_t *nout)
{
	size_t i = p->pos;
	if (i + 1 >= p->n) {
		p->pos = p->n;
		return at_end(p);
	}
	unsigned char c = p->buf[i + 1];
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k = c ? strchr(from, c) : NULL;
	if (k) {
		out[0] = (unsigned char)to[k - from];
		*nout = 1;
		p->pos = i + 2;
		return P_OK;
	}
	if (c != 'u') {
		char b[16];
		return fail_at(p->err, p->line, "a string has an unknown escape \\%s",
			       show_byte(c, b));
	}
	/* \uXXXX: check the hex digits that are there before asking for more */
	for (size_t j = i + 2; j < i + 6; j++) {
		if (j >= p->n) {
			p->pos = p->n;
			return at_end(p);
		}
		unsigned dummy;
		unsigned char h[4] = { p->buf[j], '0', '0', '0' };
		if (hex4(h, &dummy))
			return fail_at(p->err, p->line, "a \\u escape needs four hex digits");
	}
	unsigned cp;
	hex4(p->buf + i + 2, &cp);
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return fail_at(p->err, p->line,
			       "a string has a lone surrogate \\u%04x (half of a character)", cp);
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		/* the low half must follow at once */
		for (size_t j = i + 6; j < i + 12; j++) {
			if (j >= p->n) {
				p->pos = p->n;
				return at_end(p);
			}
			unsigned char b = p->buf[j];
			int ok = j == i + 6 ? b == '\\' : j == i + 7 ? b == 'u' : 1;
			unsigned dummy;
			unsigned char h[4] = { b, '0', '0', '0' };
			if (j >= i + 8 && hex4(h, &dummy))
				ok = 0;
			if (!ok)
				return fail_at(p->err, p->line,
					       "a string has a lone surrogate \\u%04x (half of a character)",
					       cp);
		}
		unsigned lo;
		hex4(p->buf + i + 8, &lo);
		if (lo < 0xDC00 || lo > 0xDFFF)
			return fail_at(p->err, p->line,
				       "a string has a lone surrogate \\u%04x (half of a character)", cp);
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		p->pos = i + 12;
	} else {
		p->pos = i + 6;
	}
	*nout = utf8_put(cp, out);
	return P_OK;
}

/* The string at p->pos (its opening quote). decode: the decoded text goes
 * to *off and *nout (in buf: *in_scratch 0, offset into buf; or into the
 * scratch: *in_scratch 1, scratch offset). Not decode (inside a nested
 * value): validated and copied as written to the nested value. */
static int string(struct parse *p, int decode, size_t *off, uint32_t *nout, uint8_t *in_scratch)
{
	const unsigned char *b = p->buf;
	size_t open = p->pos, i = p->pos + 1, run = i;
	size_t dstart = p->s->scratch_len;     /* decoded bytes, once escaped */
	int escaped = 0;
	int rc;

	for (;;) {
		/* stop one byte past the longest string allowed (as written) */
		size_t stop = p->n;
		if (stop - open > LH_JSON_INGEST_MAX_VALUE_BYTES + 2)
			stop = open + LH_JSON_INGEST_MAX_VALUE_BYTES + 2;
		unsigned char nonascii = 0;
		while (i < stop) {
			unsigned char c = b[i];
			if (c == '"' || c == '\\' || c < 0x20)
				break;
			nonascii |= c;
			i++;
		}
		if (i - open - 1 > LH_JSON_INGEST_MAX_VALUE_BYTES)
			return fail_at(p->err, p->line,
				       "a string longer than %u MiB, the limit for one value",
				       LH_JSON_INGEST_MAX_VALUE_BYTES >> 20);
		if (i == p->n) {
			p->pos = i;
			return at_end(p);
		}
		if (b[i] < 0x20)
			return fail_at(p->err, p->line,
				       "a string holds a raw control character (write it as \\n, \\t or \\u00XX)");
		if ((nonascii & 0x80) && csv_utf8_check(b + run, i - run) != i - run)
			return fail_at(p->err, p->line, "a string is not valid UTF-8");
		if (decode && escaped)
			scratch_put(p->s, b + run, i - run);
		if (b[i] == '"')
			break;
		/* an escape */
		unsigned char u[4];
		size_t nu = 0;
		p->pos = i;
		if (decode && !escaped) {
			escaped = 1;
			dstart = p->s->scratch_len;
			scratch_put(p->s, b + open + 1, i - open - 1);
		}
		if ((rc = escape(p, u, &nu)) != P_OK)
			return rc;
		if (decode)
			scratch_put(p->s, u, nu);
		i = run = p->pos;
	}
	p->pos = i + 1;
	if (!decode)
		return nested_put(p, b + open, p->pos - open);
	if (escaped) {
		*off = dstart;
		*nout = (uint32_t)(p->s->scratch_len - dstart);
		*in_scratch = 1;
	} else {
		*off = open + 1;
		*nout = (uint32_t)(i - open - 1);
		*in_scratch = 0;
	}
	return P_OK;
}

/* ---- numbers and literals ----------------------------------------------- */

static inline int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* A number at p->pos (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
 * Advances past it. */
static int number(struct parse *p)
{
	const unsigned char *b = p->buf;
	size_t i = p->pos;
#define NEED()                                  \
	do {                                    \
		if (i >= p->n) {                \
			p->pos = i;             \
			return at_end(p);       \
		}                               \
	} while (0)
#define BAD() fail_at(p->err, p->line, "a number is not written as JSON writes numbers")
	if (b[i] == '-') {
		i++;
		NEED();
	}
	if (b[i] == '0') {
		i++;
	} else if (is_digit(b[i])) {
		while (i < p->n && is_digit(b[i]))
			i++;
	} else {
		return BAD();
	}
	NEED();
	if (b[i] == '.') {
		i++;
		NEED();
		if (!is_digit(b[i]))
			return BAD();
		while (i < p->n && is_digit(b[i]))
			i++;
		NEED();
	}
	if (b[i] == 'e' || b[i] == 'E') {
		i++;
		NEED();
		if (b[i] == '+' || b[i] == '-') {
			i++;
			NEED();
		}
		if (!is_digit(b[i]))
			return BAD();
		while (i < p->n && is_digit(b[i]))
			i++;
		NEED();
	}
#undef NEED
#undef BAD
	p->pos = i;
	return P_OK;
}

/* true, false or null at p->pos; *len its length. */
static int literal(struct parse *p, size_t *len)
{
	static const char *const words[] = { "true", "false", "null" };
	unsigned char c = p->buf[p->pos];
	const char *w = words[c == 't' ? 0 : c == 'f' ? 1 : 2];
	size_t n = strlen(w);
	for (size_t k = 0; k < n; k++) {
		if (p->pos + k >= p->n) {
			p->pos = p->n;
			return at_end(p);
		}
		if (p->buf[p->pos + k] != (unsigned char)w[k])
			return fail_at(p->err, p->line, "unexpected text where a JSON value should be");
	}
	p->pos += n;
	*len = n;
	return P_OK;
}

/* ---- values --------------------------------------------------------------- */

static int unexpected(struct parse *p, const char *where)
{
	char b[16];
	return fail_at(p->err, p->line, "unexpected %s %s", show_byte(p->buf[p->pos], b), where);
}

/* A nested value at p->pos (a byte is there), copied compact (note 4). */
static int nested(struct parse *p, int depth)
{
	int rc;
	unsigned char c = p->buf[p->pos];
	size_t start = p->pos, len;

	switch (c) {
	case '"':
		return string(p, 0, NULL, NULL, NULL);
	case 't':
	case 'f':
	case 'n':
		if ((rc = literal(p, &len)) != P_OK)
			return rc;
		return nested_put(p, p->buf + start, len);
	case '{':
	case '[':
		break;
	default:
		if (c == '-' || is_digit(c)) {
			if ((rc = number(p)) != P_OK)
				return rc;
			return nested_put(p, p->buf + start, p->pos - start);
		}
		return unexpected(p, "where a JSON value should be");
	}
	if (depth > LH_JSON_INGEST_MAX_DEPTH)
		return fail_at(p->err, p->line, "values nested deeper than %d levels",
			       LH_JSON_INGEST_MAX_DEPTH);
	unsigned char close = c == '{' ? '}' : ']';
	if ((rc = nested_put(p, &c, 1)) != P_OK)
		return rc;
	p->pos++;
	skip_ws(p);
	if (!more(p))
		return at_end(p);
	if (p->buf[p->pos] == close) {
		p->pos++;
		return nested_put(p, &close, 1);
	}
	for (;;) {
		if (c == '{') {
			if (p->buf[p->pos] != '"')
				return unexpected(p, "where a key in quotes should be");
			if ((rc = string(p, 0, NULL, NULL, NULL)) != P_OK)
				return rc;
			skip_ws(p);
			if (!more(p))
				return at_end(p);
			if (p->buf[p->pos] != ':')
				return unexpected(p, "after a key (a ':' should follow)");
			if ((rc = nested_put(p, ":", 1)) != P_OK)
				return rc;
			p->pos++;
			skip_ws(p);
			if (!more(p))
				return at_end(p);
		}
		if ((rc = nested(p, depth + 1)) != P_OK)
			return rc;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
		unsigned char d = p->buf[p->pos];
		if (d == close) {
			p->pos++;
			return nested_put(p, &close, 1);
		}
		if (d != ',')
			return unexpected(p, c == '{' ? "after a value (a ',' or '}' should follow)"
						      : "after a value (a ',' or ']' should follow)");
		if ((rc = nested_put(p, ",", 1)) != P_OK)
			return rc;
		p->pos++;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
	}
}

static struct json_member *member_add(struct json_scanner *s)
{
	if (s->nmembers == s->cap) {
		s->cap *= 2;
		s->members = xrealloc(s->members, s->cap * sizeof *s->members);
	}
	struct json_member *m = &s->members[s->nmembers++];
	memset(m, 0, sizeof *m);
	return m;
}

/* The row's object at p->pos (its `{`): its members. */
static int object(struct parse *p)
{
	struct json_scanner *s = p->s;
	int rc;
	p->pos++;
	skip_ws(p);
	if (!more(p))
		return at_end(p);
	if (p->buf[p->pos] == '}') {
		p->pos++;
		return P_OK;
	}
	for (;;) {
		if (p->buf[p->pos] != '"')
			return unexpected(p, "where a key in quotes should be");
		struct json_member *m = member_add(s);
		m->line = p->line;
		if ((rc = string(p, 1, &m->key_off, &m->nkey, &m->key_scratch)) != P_OK)
			return rc;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
		if (p->buf[p->pos] != ':')
			return unexpected(p, "after a key (a ':' should follow)");
		p->pos++;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
		unsigned char c = p->buf[p->pos];
		size_t vstart = p->pos, len;
		if (c == '"') {
			m->kind = JSON_KIND_STRING;
			rc = string(p, 1, &m->val_off, &m->nval, &m->val_scratch);
		} else if (c == '{' || c == '[') {
			m->kind = JSON_KIND_NESTED;
			p->value_start = s->scratch_len;
			rc = nested(p, 2);
			m->val_off = p->value_start;
			m->nval = (uint32_t)(s->scratch_len - p->value_start);
			m->val_scratch = 1;
		} else if (c == 't' || c == 'f' || c == 'n') {
			rc = literal(p, &len);
			m->kind = c == 'n' ? JSON_KIND_NULL : JSON_KIND_BOOL;
			m->val_off = vstart;
			m->nval = c == 'n' ? 0 : (uint32_t)len;
		} else if (c == '-' || is_digit(c)) {
			rc = number(p);
			m->kind = JSON_KIND_NUMBER;
			m->val_off = vstart;
			m->nval = (uint32_t)(p->pos - vstart);
		} else {
			rc = unexpected(p, "where a JSON value should be");
		}
		if (rc != P_OK)
			return rc;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
		c = p->buf[p->pos];
		if (c == '}') {
			p->pos++;
			return P_OK;
		}
		if (c != ',')
			return unexpected(p, "after a value (a ',' or '}' should follow)");
		p->pos++;
		skip_ws(p);
		if (!more(p))
			return at_end(p);
	}
}

/* What a value that is not an object is, for the error. */
static const char *kind_name(unsigned char c)
{
	switch (c) {
	case '[':
		return "an array";
	case '"':
		return "a string";
	case 't':
	case 'f':
		return "a boolean";
	case 'n':
		return "null";
	default:
		return c == '-' || is_digit(c) ? "a number" : NULL;
	}
}

int json_scan_record(struct json_scanner *s, const char *buf, size_t n, int eof, size_t *used,
		     struct lh_error *err)
{
	struct parse p = { .s = s, .buf = (const unsigned char *)buf, .n = n, .end = n,
			   .eof = eof, .line = s->line, .err = err };
	size_t done;            /* bytes consumed before the object (note 1) */
	int rc;

	*used = 0;
	if (!s->started) {
		static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
		if (n < 3 && !eof && (n == 0 || memcmp(buf, bom, n) == 0))
			return JSON_NEED_MORE;
		if (n >= 3 && memcmp(buf, bom, 3) == 0)
			p.pos = 3;
		s->started = 1;
	}
	for (;;) {
		skip_ws(&p);
		if (p.pos == n) {
			s->line = p.line;
			*used = n;
			if (!eof)
				return JSON_NEED_MORE;
			if (s->mode == JSON_MODE_ARRAY && s->state != ARRAY_CLOSED) {
				fail_at(err, p.line, "the file ends before the JSON array is closed with ']'");
				return JSON_ERROR;
			}
			return JSON_END;
		}
		unsigned char c = p.buf[p.pos];
		if (s->mode == JSON_MODE_NONE) {
			if (c == '[') {
				s->mode = JSON_MODE_ARRAY;
				s->state = ARRAY_OPEN;
				p.pos++;
				continue;
			}
			if (c != '{') {
				const char *k = kind_name(c);
				char b[16];
				fail_at(err, p.line,
					"a JSON upload is objects, one per line (NDJSON), or an array of "
					"objects; this one starts with %s", k ? k : show_byte(c, b));
				return JSON_ERROR;
			}
			s->mode = JSON_MODE_LINES;
		}
		if (s->mode == JSON_MODE_ARRAY) {
			if (s->state == ARRAY_CLOSED) {
				fail_at(err, p.line, "something follows the end of the JSON array");
				return JSON_ERROR;
			}
			if (s->state == ARRAY_AFTER) {
				if (c == ',') {
					s->state = ARRAY_COMMA;
					p.pos++;
					continue;
				}
				if (c == ']') {
					s->state = ARRAY_CLOSED;
					p.pos++;
					continue;
				}
				fail_at(err, p.line,
					"unexpected %s after an element of the array (a ',' or ']' should follow)",
					show_byte(c, (char[16]){ 0 }));
				return JSON_ERROR;
			}
			if (c == ']' && s->state == ARRAY_OPEN) {
				s->state = ARRAY_CLOSED;
				p.pos++;
				continue;
			}
		}
		if (c != '{') {
			const char *k = kind_name(c);
			char b[16];
			if (c == ']' && s->mode == JSON_MODE_ARRAY)
				fail_at(err, p.line, "a ',' is followed by ']' (JSON has no trailing comma)");
			else if (k)
				fail_at(err, p.line, "%s is %s, not a JSON object",
					s->mode == JSON_MODE_ARRAY ? "an element of the array" : "the value",
					k);
			else
				fail_at(err, p.line, "unexpected %s where a JSON object should be",
					show_byte(c, b));
			return JSON_ERROR;
		}
		break;
	}
	/* the separators and white space so far are consumed, the object not yet */
	s->line = p.line;
	done = p.pos;
	p.start = p.pos;
	if (n - p.start > LH_JSON_INGEST_MAX_RECORD_BYTES)
		p.n = p.start + LH_JSON_INGEST_MAX_RECORD_BYTES;
	s->nmembers = 0;
	s->scratch_len = 0;
	rc = object(&p);
	if (rc == P_MORE) {
		*used = done;
		return JSON_NEED_MORE;
	}
	if (rc == P_ERR)
		return JSON_ERROR;
	for (size_t i = 0; i < s->nmembers; i++) {    /* note 5 */
		struct json_member *m = &s->members[i];
		m->key = m->key_scratch ? s->scratch + m->key_off : buf + m->key_off;
		if (m->kind == JSON_KIND_NULL)
			m->val = NULL;
		else
			m->val = m->val_scratch ? s->scratch + m->val_off : buf + m->val_off;
	}
	s->record_line = s->line;
	s->record_off = p.start;
	s->line = p.line;
	s->nrecords++;
	if (s->mode == JSON_MODE_ARRAY)
		s->state = ARRAY_AFTER;
	*used = p.pos;
	return JSON_RECORD;
}
