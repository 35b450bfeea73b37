/* ui_html.c — the web UI's HTML builder: a capped growable buffer where
 * every dynamic value is escaped on the way in, plus the form and URL codecs,
 * the number formatters and the SQL helper the pages need. Pure: no I/O, no
 * state beyond the buffer; unit-tested in tests/unit/test_ui_html.c.
 *
 * Invariants:
 *  1. html_printf's only string directives are %s (HTML-escaped) and %U
 *     (percent-encoded, then escaped): a value cannot reach the page raw.
 *  2. The buffer never grows past `max`; past it, text is dropped and
 *     `overflow` is set, and the route answers an error instead.
 *  3. Escaping covers & < > " ' so the same text is safe between tags and
 *     inside a double- or single-quoted attribute.
 */
#include "gateway/ui_int.h"

#include "common/limits.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void html_init(struct html *h, size_t max)
{
	h->max = max ? max : LH_UI_MAX_PAGE_BYTES;
	h->cap = 4096;
	h->len = 0;
	h->overflow = 0;
	h->buf = xmalloc(h->cap);
	h->buf[0] = '\0';
}

void html_free(struct html *h)
{
	free(h->buf);
	h->buf = NULL;
	h->len = h->cap = 0;
}

/* Append n bytes as they are, within the cap (invariant 2). */
static void put(struct html *h, const char *s, size_t n)
{
	if (h->overflow)
		return;
	if (h->len + n + 1 > h->max) {
		h->overflow = 1;
		return;
	}
	if (h->len + n + 1 > h->cap) {
		size_t c = h->cap;
		while (h->len + n + 1 > c)
			c *= 2;
		if (c > h->max)
			c = h->max;
		h->buf = xrealloc(h->buf, c);
		h->cap = c;
	}
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void html_lit(struct html *h, const char *literal)
{
	put(h, literal, strlen(literal));
}

void html_textn(struct html *h, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *ent = NULL;
		switch (s[i]) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&#39;"; break;
		default: break;
		}
		if (!ent)
			continue;
		put(h, s + start, i - start);
		put(h, ent, strlen(ent));
		start = i + 1;
	}
	put(h, s + start, n - start);
}

void html_text(struct html *h, const char *s)
{
	if (s)
		html_textn(h, s, strlen(s));
}

void html_text_cut(struct html *h, const char *s, size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n <= max) {
		html_textn(h, s, n);
		return;
	}
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;   /* do not split a UTF-8 sequence */
	html_textn(h, s, max);
	html_lit(h, "\xe2\x80\xa6");
}

void html_append(struct html *h, const struct html *other)
{
	if (other->overflow)
		h->overflow = 1;
	put(h, other->buf, other->len);
}

static void put_urlenc(struct html *h, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		unsigned char c = *p;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (plain) {
			put(h, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			put(h, e, 3);
		}
	}
}

void html_printf(struct html *h, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *p = fmt;
	while (*p) {
		const char *pct = strchr(p, '%');
		if (!pct) {
			put(h, p, strlen(p));
			break;
		}
		put(h, p, (size_t)(pct - p));
		const char *q = pct + 1;
		if (*q == '%') {
			put(h, "%", 1);
			p = q + 1;
			continue;
		}
		/* flags, width, precision */
		while (*q && strchr("-+ 0#", *q))
			q++;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q == '.') {
			q++;
			while (*q >= '0' && *q <= '9')
				q++;
		}
		char len[3] = { 0 };
		if (q[0] == 'l' && q[1] == 'l') {
			len[0] = 'l';
			len[1] = 'l';
			q += 2;
		} else if (*q == 'l' || *q == 'z') {
			len[0] = *q++;
		}
		char conv = *q;
		char spec[32], out[128];
		size_t sl = (size_t)(q - pct) + 1;
		if (sl >= sizeof spec)
			abort();
		memcpy(spec, pct, sl);
		spec[sl] = '\0';
		int k = 0;
		if (conv == 's' && !len[0]) {
			html_text(h, va_arg(ap, const char *));
		} else if (conv == 'U' && !len[0]) {
			/* percent-encoding leaves only [A-Za-z0-9%._~-]: nothing to escape */
			put_urlenc(h, va_arg(ap, const char *));
		} else if ((conv == 'd' || conv == 'u') && !len[0]) {
			k = conv == 'd' ? snprintf(out, sizeof out, spec, va_arg(ap, int))
					: snprintf(out, sizeof out, spec, va_arg(ap, unsigned));
		} else if ((conv == 'd' || conv == 'u') && len[0] == 'l' && !len[1]) {
			k = conv == 'd' ? snprintf(out, sizeof out, spec, va_arg(ap, long))
					: snprintf(out, sizeof out, spec, va_arg(ap, unsigned long));
		} else if ((conv == 'd' || conv == 'u') && len[1] == 'l') {
			k = conv == 'd' ? snprintf(out, sizeof out, spec, va_arg(ap, long long))
					: snprintf(out, sizeof out, spec,
						   va_arg(ap, unsigned long long));
		} else if (conv == 'u' && len[0] == 'z') {
			k = snprintf(out, sizeof out, spec, va_arg(ap, size_t));
		} else if ((conv == 'f' || conv == 'g') && !len[0]) {
			k = snprintf(out, sizeof out, spec, va_arg(ap, double));
		} else {
			abort();   /* an unsupported directive is a bug in a literal */
		}
		if (k > 0)
			put(h, out, (size_t)k < sizeof out ? (size_t)k : sizeof out - 1);
		p = q + 1;
	}
	va_end(ap);
}

char *html_escape(const char *s)
{
	struct html h;
	html_init(&h, (size_t)-1);
	html_text(&h, s);
	return h.buf;
}

/* Decode n bytes of a form component into a new string. A %00 becomes
 * nothing (a NUL would cut the value short and hide the rest). */
static char *form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			out[k++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && url_hexval(s[i + 1]) >= 0 &&
			   url_hexval(s[i + 2]) >= 0) {
			int v = url_hexval(s[i + 1]) * 16 + url_hexval(s[i + 2]);
			if (v)
				out[k++] = (char)v;
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	out[k] = '\0';
	return out;
}

char *form_value(const char *body, size_t n, const char *key)
{
	size_t klen = strlen(key);
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && body[end] != '&')
			end++;
		size_t eq = i;
		while (eq < end && body[eq] != '=')
			eq++;
		char *k = form_decode(body + i, eq - i);
		int match = strlen(k) == klen && !memcmp(k, key, klen);
		free(k);
		if (match)
			return eq < end ? form_decode(body + eq + 1, end - eq - 1) : xstrdup("");
		i = end + 1;
	}
	return NULL;
}

/* --- numbers -------------------------------------------------------------- */

void ui_fmt_count(char *buf, size_t n, long long v)
{
	char digits[24], out[40];
	/* the magnitude as unsigned: -LLONG_MIN does not fit a long long */
	unsigned long long m = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	int k = snprintf(digits, sizeof digits, "%llu", m);
	size_t o = 0;
	if (v < 0)
		out[o++] = '-';
	for (int i = 0; i < k; i++) {
		if (i && (k - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
	snprintf(buf, n, "%s", out);
}

void ui_fmt_bytes(char *buf, size_t n, unsigned long long v)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double d = (double)v;
	int u = 0;
	/* 1023.96 KiB would print as "1024.0 KiB": that is 1.0 MiB */
	while (u < 5 && (u == 0 ? d >= 1024 : d >= 1023.95)) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, n, "%llu B", v);
	else
		snprintf(buf, n, "%.1f %s", d, units[u]);
}

/* --- SQL ------------------------------------------------------------------ */

/* Index just past a quoted run that starts after its opening quote q at i;
 * doubled q escapes it, a backslash the next byte when `backslash`; n when
 * unterminated. */
static size_t past_quoted(const char *s, size_t n, size_t i, char q, int backslash)
{
	while (i < n) {
		if (backslash && s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == q) {
			if (i + 1 < n && s[i + 1] == q) {
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
	return n;
}

static int sql_ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c >= 0x80;
}

size_t ui_sql_body_len(const char *sql)
{
	size_t n = strlen(sql), i = 0, end = n;
	while (i < n) {
		unsigned char c = (unsigned char)sql[i];
		if (c == ';') {
			end = i;
			break;
		}
		if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
			while (i < n && sql[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
			int depth = 1;   /* block comments nest */
			for (i += 2; i < n && depth; i++) {
				if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
					depth++;
					i++;
				} else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
					depth--;
					i++;
				}
			}
		} else if (c == '\'' || c == '"') {
			int esc = c == '\'' && i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
				  (i < 2 || !sql_ident_char((unsigned char)sql[i - 2]));
			i = past_quoted(sql, n, i + 1, (char)c, esc);
		} else if (c == '$' && (i == 0 || !sql_ident_char((unsigned char)sql[i - 1])) &&
			   i + 1 < n && !(sql[i + 1] >= '0' && sql[i + 1] <= '9')) {
			/* $tag$ ... $tag$ (the tag may be empty) */
			size_t t = i + 1;
			while (t < n && sql_ident_char((unsigned char)sql[t]) && sql[t] != '$')
				t++;
			if (t < n && sql[t] == '$') {
				size_t tag = t - i + 1;   /* "$tag$" */
				const char *close = NULL;
				for (size_t k = t + 1; k + tag <= n; k++)
					if (!memcmp(sql + k, sql + i, tag)) {
						close = sql + k;
						break;
					}
				i = close ? (size_t)(close - sql) + tag : n;
			} else {
				i++;
			}
		} else {
			i++;
		}
	}
	while (end > 0 && (sql[end - 1] == ' ' || sql[end - 1] == '\t' || sql[end - 1] == '\n' ||
			   sql[end - 1] == '\r'))
		end--;
	return end;
}
