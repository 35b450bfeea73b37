/* csv.c — the CSV record scanner (see csv.h for the dialect).
 *
 * NOTES ON THE DESIGN OF THE SCANNER
 *
 * The scanner is restartable at record granularity rather than byte
 * granularity: csv_scan_record() looks at one whole record from buf[0] and
 * either returns it or says CSV_NEED_MORE having changed nothing. This keeps
 * the state between calls to four numbers (line, nrecords, expected, started)
 * and lets the hot loops run over plain memory.
 *
 *   1. Between calls the scanner is always at a record boundary; s->line is
 *      the physical line that record starts on (header = line 1). Lines are
 *      counted by LF bytes, quoted ones included, so a record's line is what
 *      an editor shows.
 *   2. A field starting with `"` is quoted: it ends at a `"` not followed by
 *      `"`, and must be followed by the delimiter, LF, CRLF or end of input, else
 *      400 (line of the closing quote). No closing quote before end of input
 *      -> 400 "unterminated quote" with the line where the field started.
 *      The closing quote is found 8 bytes at a time in one pass that also
 *      counts the field's LFs and notes non-ASCII bytes (find_quote()).
 *   3. Any other field is unquoted: it ends at the first delimiter or LF
 *      (found 8 bytes at a time); a CR right before that LF belongs to the
 *      terminator. Quotes inside it are data. The delimiter (`,` unless the
 *      caller set s->delim, ADR 0180) is a value, not a constant: its 8-byte
 *      mask is made once per record, so the comma costs what it did.
 *   4. Every field is UTF-8-checked where it lies (delimiters are ASCII, so
 *      no sequence can straddle fields). A non-ASCII-free word skips the check.
 *   5. Fields are written to s->fields only while the record is being scanned;
 *      doubled quotes are collapsed in place only once the record is known to
 *      be complete, so CSV_NEED_MORE leaves buf untouched (invariant for the
 *      caller's rescan).
 *   6. The first record fixes s->expected; any later record with another count
 *      is 400 with the line where it starts. No padding, no truncation.
 *   7. Delimiter detection (csv_detect_delimiter) runs this same scanner over
 *      a copy of the upload's first bytes once per candidate: a candidate
 *      "splits" the sample when every complete record in it scans without
 *      error into the same number > 1 of fields. Quoting rules are therefore
 *      exactly the reader's: `"a;b",c` does not split on ';'.
 */
#include "ingestd/csv.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "csv.c's word-at-a-time search assumes a little-endian machine"
#endif

#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

void csv_scanner_init(struct csv_scanner *s)
{
	memset(s, 0, sizeof *s);
	s->line = 1;
	s->delim = ',';
	s->cap = 64;
	s->fields = xmalloc(s->cap * sizeof *s->fields);
}

void csv_scanner_free(struct csv_scanner *s)
{
	free(s->fields);
	s->fields = NULL;
	s->cap = 0;
}

size_t csv_utf8_check(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			if (!(w & HIGHS)) {
				i += 8;
				continue;
			}
		}
		unsigned c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned lo = 0x80, hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			len = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			len = 3;
			if (c == 0xE0)
				lo = 0xA0;      /* overlong */
			else if (c == 0xED)
				hi = 0x9F;      /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			len = 4;
			if (c == 0xF0)
				lo = 0x90;      /* overlong */
			else if (c == 0xF4)
				hi = 0x8F;      /* above U+10FFFF */
		} else {
			return i;
		}
		if (i + len > n)
			return i;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return i;
		for (size_t k = 2; k < len; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return i;
		i += len;
	}
	return n;
}

/* Index of the first `delim` or '\n' in p[0..n), or n; *nonascii |= high
 * bits. */
static inline size_t find_delim(const char *p, size_t n, uint64_t dmask, char delim,
				uint64_t *nonascii)
{
	size_t i = 0;
	uint64_t hi = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t a = w ^ dmask, b = w ^ (ONES * '\n');
		uint64_t m = (((a - ONES) & ~a) | ((b - ONES) & ~b)) & HIGHS;
		hi |= w;
		if (m) {
			*nonascii |= hi & HIGHS;
			return i + ((size_t)__builtin_ctzll(m) >> 3);
		}
	}
	*nonascii |= hi & HIGHS;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == (unsigned char)delim || c == '\n')
			return i;
		if (c & 0x80)
			*nonascii = 1;
	}
	return n;
}

/* Exact per-byte equality: bit 7 of each byte of the result is set iff that
 * byte of w is c (no borrow between bytes, unlike the zero-byte trick
 * find_delim() uses, which is exact only for the first match). */
static inline uint64_t eq_mask(uint64_t w, unsigned char c)
{
	uint64_t x = w ^ (ONES * c);
	return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}

/* Index of the first '"' in p[0..n), or n, in one pass: *lfs += the LFs
 * before it, *nonascii |= the high bits of the bytes before it (invariants
 * 1, 2 and 4 for a quoted field without three separate scans). */
static inline size_t find_quote(const char *p, size_t n, uint64_t *lfs, uint64_t *nonascii)
{
	size_t i = 0;
	uint64_t lf = 0, hi = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		uint64_t q = eq_mask(w, '"'), l = eq_mask(w, '\n');
		/* LFs are rare: count them only when there are some (without
		 * -mpopcnt the count is a libgcc call) */
		if (q) {
			uint64_t below = (q & -q) - 1;  /* the bytes before the quote */
			*lfs += lf + ((l & below) ? (uint64_t)__builtin_popcountll(l & below) : 0);
			*nonascii |= (hi | (w & below)) & HIGHS;
			return i + ((size_t)__builtin_ctzll(q) >> 3);
		}
		if (l)
			lf += (uint64_t)__builtin_popcountll(l);
		hi |= w;
	}
	for (; i < n && p[i] != '"'; i++) {
		lf += p[i] == '\n';
		hi |= (unsigned char)p[i];
	}
	*lfs += lf;
	*nonascii |= hi & HIGHS;
	return i;
}

static uint64_t count_lf(const char *p, size_t n)
{
	uint64_t k = 0;
	const char *end = p + n;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

static int fail_line(struct lh_error *err, uint64_t line, const char *what)
{
	lh_fail(err, 400, "bad_csv", "line %llu: %s", (unsigned long long)line, what);
	lh_error_set(err, "line", json_integer((json_int_t)line));
	return CSV_ERROR;
}

static int fail_utf8(struct lh_error *err, uint64_t line, size_t field)
{
	lh_fail(err, 400, "bad_csv", "line %llu: field %zu is not valid UTF-8",
		(unsigned long long)line, field);
	lh_error_set(err, "line", json_integer((json_int_t)line));
	lh_error_set(err, "field", json_integer((json_int_t)field));
	return CSV_ERROR;
}

/* A record over LH_CSV_MAX_RECORD_BYTES; the message states the limit. */
static int fail_record_size(struct lh_error *err, uint64_t line)
{
	char what[80];
	snprintf(what, sizeof what, "record larger than %u MiB, the limit for one record",
		 LH_CSV_MAX_RECORD_BYTES >> 20);
	return fail_line(err, line, what);
}

/* Collapse "" to " in place; returns the new length. */
static uint32_t unescape(char *p, uint32_t len)
{
	uint32_t r = 0, w = 0;
	while (r < len) {
		char c = p[r++];
		p[w++] = c;
		if (c == '"')
			r++;    /* skip the second quote of the pair */
	}
	return w;
}

int csv_scan_record(struct csv_scanner *s, char *buf, size_t n, int eof, size_t *used,
		    struct lh_error *err)
{
	size_t start = 0, p, next = 0;
	uint64_t nl = 0;        /* LFs seen inside this record so far */
	size_t nf = 0;
	int need_unescape = 0;
	const char delim = s->delim;
	const uint64_t dmask = ONES * (unsigned char)delim;

	if (!s->started) {
		static const char bom[3] = { '\xEF', '\xBB', '\xBF' };
		size_t k = n < 3 ? n : 3;
		if (memcmp(buf, bom, k) == 0) {
			if (k < 3 && !eof)
				return CSV_NEED_MORE;
			if (k == 3)
				start = 3;
		}
	}
	if (start == n && eof)
		return CSV_END;
	p = start;
	for (;;) {
		size_t fstart, flen;
		int quoted, last;
		uint64_t nonascii = 0;
		if (nf >= LH_CSV_MAX_COLUMNS) {
			char what[80];
			snprintf(what, sizeof what, "too many fields: a record may have at most %d",
				 (int)LH_CSV_MAX_COLUMNS);
			return fail_line(err, s->line, what);
		}
		if (p < n && buf[p] == '"') {
			/* invariant 2: quoted field */
			size_t q = p + 1;
			int doubled = 0;
			uint64_t inner = 0;     /* LFs inside the field */
			for (;;) {
				size_t j = q + find_quote(buf + q, n - q, &inner, &nonascii);
				if (j == n) {
					if (!eof)
						goto need_more;
					return fail_line(err, s->line + nl, "unterminated quoted field");
				}
				if (j + 1 == n && !eof)
					goto need_more;
				if (j + 1 < n && buf[j + 1] == '"') {
					doubled = 1;
					q = j + 2;
					continue;
				}
				fstart = p + 1;
				flen = j - fstart;
				next = j + 1;
				break;
			}
			if (next == n) {
				last = 1;
			} else if (buf[next] == delim) {
				last = 0;
			} else if (buf[next] == '\n') {
				last = 1;
			} else if (buf[next] == '\r' && next + 1 < n && buf[next + 1] == '\n') {
				last = 1;
				next++;
			} else if (buf[next] == '\r' && next + 1 == n) {
				if (!eof)
					goto need_more;
				last = 1;
			} else {
				return fail_line(err, s->line + nl + inner,
						 "unexpected character after a closing quote");
			}
			if (nonascii &&
			    csv_utf8_check((const unsigned char *)buf + fstart, flen) != flen) {
				size_t bad = csv_utf8_check((const unsigned char *)buf + fstart, flen);
				return fail_utf8(err, s->line + nl + count_lf(buf + fstart, bad), nf + 1);
			}
			nl += inner;
			need_unescape |= doubled;
			quoted = 1 + doubled;
		} else {
			/* invariant 3: unquoted field */
			quoted = 0;
			size_t j = p + find_delim(buf + p, n - p, dmask, delim, &nonascii);
			if (j == n && !eof)
				goto need_more;
			fstart = p;
			flen = j - p;
			next = j;
			last = j == n || buf[j] == '\n';
			if (last && flen > 0 && buf[j - 1] == '\r')
				flen--;
			if (nonascii &&
			    csv_utf8_check((const unsigned char *)buf + fstart, flen) != flen)
				return fail_utf8(err, s->line + nl, nf + 1);
		}
		if (flen > LH_CSV_MAX_FIELD_BYTES) {
			char what[80];
			snprintf(what, sizeof what, "field %zu is larger than %u MiB, the limit for one field",
				 nf + 1, LH_CSV_MAX_FIELD_BYTES >> 20);
			return fail_line(err, s->line, what);
		}
		if (nf == s->cap) {
			s->cap *= 2;
			s->fields = xrealloc(s->fields, s->cap * sizeof *s->fields);
		}
		s->fields[nf].ptr = buf + fstart;
		s->fields[nf].len = (uint32_t)flen;
		s->fields[nf].quoted = (uint32_t)quoted;
		nf++;
		if (!last) {
			p = next + 1;
			continue;
		}
		if (next < n) {
			next++;         /* the LF */
			nl++;
		}
		*used = next;
		break;
	}
	if (*used - start > LH_CSV_MAX_RECORD_BYTES)
		return fail_record_size(err, s->line);
	/* invariant 5: the record is complete; now it may be modified */
	if (need_unescape)
		for (size_t i = 0; i < nf; i++)
			if (s->fields[i].quoted == 2) {
				s->fields[i].len = unescape((char *)s->fields[i].ptr, s->fields[i].len);
				s->fields[i].quoted = 1;
			}
	s->record_line = s->line;
	/* invariant 6 */
	if (s->expected == 0) {
		s->expected = nf;
	} else if (nf != s->expected) {
		char what[96];
		snprintf(what, sizeof what, "record has %zu field%s, the header has %zu", nf,
			 nf == 1 ? "" : "s", s->expected);
		return fail_line(err, s->line, what);
	}
	s->started = 1;
	s->line += nl;
	s->nrecords++;
	s->nfields = nf;
	return CSV_RECORD;

need_more:
	if (n - start > LH_CSV_MAX_RECORD_BYTES)
		return fail_record_size(err, s->line);
	return CSV_NEED_MORE;
}

static int cmp_fold(const struct csv_field *a, const struct csv_field *b)
{
	uint32_t n = a->len < b->len ? a->len : b->len;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a->ptr[i], y = (unsigned char)b->ptr[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y + 32);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return a->len < b->len ? -1 : a->len > b->len;
}

static int by_folded_name(const void *x, const void *y, void *base)
{
	const struct csv_field *f = base;
	size_t i = *(const size_t *)x, j = *(const size_t *)y;
	int c = cmp_fold(&f[i], &f[j]);
	if (c)
		return c;
	return i < j ? -1 : i > j;
}

static int fail_header(struct lh_error *err, const struct csv_field *f, size_t idx,
		       const char *what)
{
	lh_fail(err, 400, "bad_header", "header column %zu (\"%.*s\") %s", idx + 1,
		(int)(f->len > 64 ? 64 : f->len), f->ptr, what);
	lh_error_set(err, "column", json_stringn(f->ptr, f->len));
	lh_error_set(err, "index", json_integer((json_int_t)(idx + 1)));
	return -1;
}

int csv_check_header(const struct csv_scanner *s, struct lh_error *err)
{
	int rc = 0;
	size_t *idx = NULL;
	for (size_t i = 0; i < s->nfields; i++) {
		if (s->fields[i].len == 0)
			return fail_header(err, &s->fields[i], i, "is empty");
		if (s->fields[i].len > LH_CSV_MAX_HEADER_NAME) {
			char what[80];
			snprintf(what, sizeof what, "is too long: %u bytes, at most %d",
				 (unsigned)s->fields[i].len, (int)LH_CSV_MAX_HEADER_NAME);
			return fail_header(err, &s->fields[i], i, what);
		}
		/* Names become C strings (schema, SQL): a NUL would cut them. Other
		 * control characters are refused too: 0x1e and 0x1f separate names
		 * from types in the schema fingerprint (docs/schema.md), so a name holding
		 * them could make two different schemas share a fingerprint. */
		if (memchr(s->fields[i].ptr, '\0', s->fields[i].len))
			return fail_header(err, &s->fields[i], i, "contains a NUL byte");
		for (size_t k = 0; k < s->fields[i].len; k++) {
			unsigned char c = (unsigned char)s->fields[i].ptr[k];
			if (c < 0x20 || c == 0x7f)
				return fail_header(err, &s->fields[i], i,
						   "contains a control character (tab, newline, ...)");
		}
	}
	idx = xmalloc((s->nfields ? s->nfields : 1) * sizeof *idx);
	for (size_t i = 0; i < s->nfields; i++)
		idx[i] = i;
	qsort_r(idx, s->nfields, sizeof *idx, by_folded_name, s->fields);
	/* the first column (in header order) whose name repeats an earlier one */
	size_t dup = s->nfields;
	for (size_t i = 1; i < s->nfields; i++)
		if (cmp_fold(&s->fields[idx[i - 1]], &s->fields[idx[i]]) == 0 && idx[i] < dup)
			dup = idx[i];
	if (dup < s->nfields)
		rc = fail_header(err, &s->fields[dup], dup,
				 "repeats an earlier name (names are case-insensitive)");
	free(idx);
	return rc;
}

/* ---- delimited text: which delimiter (note 7, ADR 0180) ------------------ */

int csv_delimiter_ok(char c)
{
	return c == ',' || c == ';' || c == '\t' || c == '|';
}

char csv_delimiter_parse(const char *s, size_t n)
{
	static const struct {
		const char *word;
		char c;
	} words[] = { { "comma", ',' }, { "semicolon", ';' }, { "tab", '\t' },
		      { "\\t", '\t' }, { "pipe", '|' } };
	if (n == 1 && csv_delimiter_ok(s[0]))
		return s[0];
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (n == strlen(words[i].word) && !strncasecmp(s, words[i].word, n))
			return words[i].c;
	return 0;
}

/* The number of fields every complete record of head[0..n) has when split
 * at `delim`, or 0 when records differ, a record fails to scan, or no record
 * is complete. `copy` has room for n bytes (the scanner collapses quotes in
 * place). */
static size_t split_count(const char *head, size_t n, int eof, char delim, char *copy)
{
	struct csv_scanner sc;
	struct lh_error err = { 0 };
	size_t pos = 0, count = 0;
	memcpy(copy, head, n);
	csv_scanner_init(&sc);
	sc.delim = delim;
	while (sc.nrecords < CSV_DETECT_RECORDS) {
		size_t used = 0;
		int r = csv_scan_record(&sc, copy + pos, n - pos, eof, &used, &err);
		if (r == CSV_END || r == CSV_NEED_MORE)
			break;
		if (r == CSV_ERROR) {
			count = 0;
			break;
		}
		pos += used;
		count = sc.nfields;   /* the scanner checks every record has it */
	}
	lh_error_clear(&err);
	csv_scanner_free(&sc);
	return count;
}

char csv_detect_delimiter(const char *head, size_t n, int eof)
{
	static const char others[] = { ';', '\t', '|' };
	char found = 0;
	if (!head || n == 0)
		return ',';
	char *copy = xmalloc(n);
	if (split_count(head, n, eof, ',', copy) > 1)
		goto out;       /* the comma splits every record the same way */
	for (size_t i = 0; i < sizeof others; i++) {
		if (split_count(head, n, eof, others[i], copy) > 1) {
			if (found) {
				found = 0;   /* two candidates: ambiguous, stay comma */
				goto out;
			}
			found = others[i];
		}
	}
out:
	free(copy);
	return found ? found : ',';
}
