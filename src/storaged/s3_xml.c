/* s3_xml.c — URL encoding and the minimal XML reader of the S3 backend (see
 * s3_xml.h). Pure functions: no I/O, allocation through xmalloc only.
 */
#include "storaged/s3_xml.h"

#include "common/error.h"
#include "common/xmalloc.h"

#include "common/url.h"

#include <stdlib.h>
#include <string.h>

char *s3_url_encode(const char *s, int keep_slash)
{
	/* SigV4's unreserved set is RFC 3986's */
	return url_encode(s, keep_slash);
}

/* Append code point `cp` as UTF-8; 0 or -1 if it is not a character XML
 * allows in text (so no NUL or other C0 control but tab, LF, CR). */
static int put_utf8(char **w, unsigned long cp)
{
	char *p = *w;
	if ((cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return -1;
	if (cp < 0x80) {
		*p++ = (char)cp;
	} else if (cp < 0x800) {
		*p++ = (char)(0xC0 | (cp >> 6));
		*p++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*p++ = (char)(0xE0 | (cp >> 12));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*p++ = (char)(0xF0 | (cp >> 18));
		*p++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*p++ = (char)(0x80 | (cp & 0x3F));
	}
	*w = p;
	return 0;
}

/* Decode element text s[0..n): entities and character references. A new
 * string, or NULL if the text holds '<' or an unknown/malformed reference.
 * The output is never longer than the input (a reference is at least as
 * long as its UTF-8). */
static char *xml_decode(const char *s, size_t n)
{
	static const struct { const char *name; char c; } named[] = {
		{ "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' }, { "apos;", '\'' },
	};
	char *out = xmalloc(n + 1), *w = out;
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		/* '<' ends text; C0 controls other than tab, LF, CR are not XML. */
		if (c == '<' || ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r'))
			goto bad;
		if (c != '&') {
			*w++ = c;
			i++;
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		if (!semi)
			goto bad;
		size_t rlen = (size_t)(semi - (s + i)) + 1;   /* "&...;" */
		if (rlen > 12)
			goto bad;
		int done = 0;
		for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
			size_t nl = strlen(named[k].name);
			if (rlen == nl + 1 && memcmp(s + i + 1, named[k].name, nl) == 0) {
				*w++ = named[k].c;
				done = 1;
				break;
			}
		}
		if (!done) {
			if (rlen < 4 || s[i + 1] != '#')
				goto bad;
			int base = 10;
			size_t j = i + 2;
			if (s[j] == 'x' || s[j] == 'X') {
				base = 16;
				j++;
			}
			if (j == i + rlen - 1)
				goto bad;     /* no digits */
			unsigned long cp = 0;
			for (; j < i + rlen - 1; j++) {
				char d = s[j];
				int v;
				if (d >= '0' && d <= '9')
					v = d - '0';
				else if (base == 16 && d >= 'a' && d <= 'f')
					v = d - 'a' + 10;
				else if (base == 16 && d >= 'A' && d <= 'F')
					v = d - 'A' + 10;
				else
					goto bad;
				cp = cp * (unsigned long)base + (unsigned long)v;
				if (cp > 0x10FFFF)
					goto bad;
			}
			if (put_utf8(&w, cp))
				goto bad;
		}
		i += rlen;
	}
	*w = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/* Find the element <name>text</name> in xml[0..len): *text and *ntext (OUT)
 * the raw text, *end (OUT) the byte after the closing tag. 0 or -1. */
static int xml_find(const char *xml, size_t len, const char *name, const char **text,
		    size_t *ntext, const char **end)
{
	size_t nn = strlen(name);
	const char *p = xml, *stop = xml + len;
	while (p < stop) {
		const char *lt = memchr(p, '<', (size_t)(stop - p));
		if (!lt)
			return -1;
		if ((size_t)(stop - lt) >= nn + 2 && memcmp(lt + 1, name, nn) == 0 &&
		    lt[nn + 1] == '>') {
			const char *t = lt + nn + 2;
			for (const char *q = t; q < stop; q++) {
				q = memchr(q, '<', (size_t)(stop - q));
				if (!q)
					return -1;
				if ((size_t)(stop - q) >= nn + 3 && q[1] == '/' &&
				    memcmp(q + 2, name, nn) == 0 && q[nn + 2] == '>') {
					*text = t;
					*ntext = (size_t)(q - t);
					*end = q + nn + 3;
					return 0;
				}
			}
			return -1;
		}
		p = lt + 1;
	}
	return -1;
}

char *s3_xml_text(const char *xml, size_t len, const char *name)
{
	const char *t, *end;
	size_t n;
	if (!xml || xml_find(xml, len, name, &t, &n, &end))
		return NULL;
	return xml_decode(t, n);
}

void s3_list_page_free(struct s3_list_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->entries[i].key);
	free(p->entries);
	free(p->next_token);
	memset(p, 0, sizeof *p);
}

/* A decimal size: digits only, no overflow. */
static int parse_size(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out,
		  struct lh_error *err)
{
	const char *t, *end, *p = xml, *stop = xml + len;
	size_t n, cap = 0;
	memset(out, 0, sizeof *out);
	if (!xml || !memmem(xml, len, "<ListBucketResult", 17))
		return lh_fail(err, 502, "upstream_failed",
			       "the S3 store's listing is not a ListBucketResult");
	while (xml_find(p, (size_t)(stop - p), "Contents", &t, &n, &end) == 0) {
		const char *kt, *st, *ke, *se;
		size_t kn, sn;
		if (xml_find(t, n, "Key", &kt, &kn, &ke) || xml_find(t, n, "Size", &st, &sn, &se))
			goto bad;
		struct s3_list_entry e = { 0 };
		if (parse_size(st, sn, &e.size))
			goto bad;
		e.key = xml_decode(kt, kn);
		if (!e.key)
			goto bad;
		if (out->n == cap) {
			cap = cap ? 2 * cap : 64;
			out->entries = xrealloc(out->entries, cap * sizeof *out->entries);
		}
		out->entries[out->n++] = e;
		p = end;
	}
	/* Flags come after the last <Contents> in AWS's answers but before it in
	 * others': search the whole answer, outside <Contents> being implied by
	 * the element names. */
	char *tr = s3_xml_text(xml, len, "IsTruncated");
	out->truncated = tr && !strcmp(tr, "true");
	free(tr);
	out->next_token = s3_xml_text(xml, len, "NextContinuationToken");
	if (out->truncated && !out->next_token)
		goto bad;
	return 0;
bad:
	return lh_fail(err, 502, "upstream_failed", "the S3 store's listing is malformed");
}
