/* ui_csrf.c — the web UI's CSRF tokens (ADR 0111): a double-submit token,
 * random per browser, that ui.c sets in the cookie "lh_csrf" and embeds in
 * every page it renders (a hidden form field and <meta name="csrf-token">,
 * which app.js sends as the header X-CSRF-Token). A state-changing UI
 * request is accepted only when the token it submits equals its cookie.
 *
 * Pure apart from ui_csrf_token_new() (getrandom); unit-tested in
 * tests/unit/test_ui_csrf.c.
 *
 * Invariants:
 *  1. A token is exactly UI_CSRF_TOKEN_HEX lowercase hex digits from the
 *     kernel's CSPRNG; anything else is "no token".
 *  2. Tokens are compared in constant time (every byte is looked at).
 *  3. A Cookie header that names lh_csrf twice (a cookie planted by a
 *     sibling origin under another path) counts as no cookie: the UI never
 *     guesses which of two tokens is the real one.
 *  4. The upload form's token travels as the FIRST part of its multipart
 *     body (the field is the form's first element, and browsers send fields
 *     in tree order); ui_multipart_first_field() reads that part alone, so
 *     the gateway checks the token before a byte is forwarded to ingestd.
 */
#include "gateway/ui_int.h"

#include "common/random.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ui_csrf_token_new(char out[UI_CSRF_TOKEN_HEX + 1])
{
	/* no randomness: no token (every form is refused) */
	return random_hex(out, UI_CSRF_TOKEN_HEX / 2);
}

int ui_csrf_token_valid(const char *s)
{
	if (!s)
		return 0;
	for (size_t i = 0; i < UI_CSRF_TOKEN_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[UI_CSRF_TOKEN_HEX] == '\0';
}

int ui_csrf_token_equal(const char *a, const char *b)
{
	if (!ui_csrf_token_valid(a) || !ui_csrf_token_valid(b))
		return 0;
	/* The shapes are public (fixed length); the contents are compared with
	 * no early exit (invariant 2). */
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < UI_CSRF_TOKEN_HEX; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

int ui_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	int found = 0;

	if (cap)
		out[0] = '\0';
	if (!header)
		return 0;
	const char *p = header;
	while (*p) {
		while (is_space(*p) || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (eq) {
			const char *k = p, *ke = eq;
			while (ke > k && is_space(ke[-1]))
				ke--;
			if ((size_t)(ke - k) == nlen && !memcmp(k, name, nlen)) {
				const char *v = eq + 1, *ve = end;
				while (v < ve && is_space(*v))
					v++;
				while (ve > v && is_space(ve[-1]))
					ve--;
				if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
					v++;
					ve--;
				}
				if (found++ || (size_t)(ve - v) >= cap)
					return -1;   /* twice (invariant 3), or too long */
				memcpy(out, v, (size_t)(ve - v));
				out[ve - v] = '\0';
			}
		}
		p = end;
	}
	return found;
}

/* The value of parameter `key` in a header value "type; k=v; k2="v 2"" of n
 * bytes: 1 with it in out, 0 absent, -1 malformed or longer than cap-1.
 * Keys compare case-insensitively. With prefix_match, any key starting with
 * `key` counts (to catch filename and filename*). */
static int header_param(const char *s, size_t n, const char *key, int prefix_match,
			char *out, size_t cap)
{
	size_t klen = strlen(key);
	size_t i = 0;
	/* skip the type ("form-data", "multipart/form-data") */
	while (i < n && s[i] != ';')
		i++;
	while (i < n) {
		i++;   /* the ';' */
		while (i < n && is_space(s[i]))
			i++;
		size_t ks = i;
		while (i < n && s[i] != '=' && s[i] != ';' && !is_space(s[i]))
			i++;
		size_t ke = i;
		while (i < n && is_space(s[i]))
			i++;
		if (i >= n || s[i] != '=') {
			if (ke == ks && i >= n)
				return 0;   /* a trailing ';' */
			return -1;
		}
		i++;
		while (i < n && is_space(s[i]))
			i++;
		size_t o = 0;
		int match = (prefix_match ? ke - ks >= klen : ke - ks == klen) &&
			    !strncasecmp(s + ks, key, klen);
		if (i < n && s[i] == '"') {
			i++;
			while (i < n && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				if (match && o + 1 < cap)
					out[o] = s[i];
				else if (match)
					return -1;
				o++;
				i++;
			}
			if (i >= n)
				return -1;   /* unterminated quote */
			i++;
		} else {
			while (i < n && s[i] != ';' && !is_space(s[i])) {
				if (match && o + 1 < cap)
					out[o] = s[i];
				else if (match)
					return -1;
				o++;
				i++;
			}
		}
		if (match) {
			out[o] = '\0';
			return 1;
		}
		while (i < n && is_space(s[i]))
			i++;
		if (i < n && s[i] != ';')
			return -1;
	}
	return 0;
}

/* memmem for the few bytes we scan. */
static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
	if (m == 0 || m > n)
		return NULL;
	for (size_t i = 0; i + m <= n; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, m))
			return hay + i;
	return NULL;
}

int ui_multipart_first_field(const char *content_type, const char *data, size_t n,
			     const char *name, char *out, size_t cap)
{
	char boundary[80];
	char delim[88];   /* "\r\n--" + boundary + "\r\n" */
	char pname[80];

	if (cap)
		out[0] = '\0';
	if (!content_type || strncasecmp(content_type, "multipart/form-data", 19))
		return -1;
	if (header_param(content_type, strlen(content_type), "boundary", 0, boundary,
			 71) != 1 || !boundary[0])
		return -1;   /* RFC 2046: 1 to 70 characters */
	size_t blen = strlen(boundary);

	/* "--boundary\r\n" opens the body (browsers send no preamble) */
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	memcpy(delim + 4 + blen, "\r\n", 2);
	const char *open = delim + 2;   /* "--boundary\r\n" */
	size_t olen = 2 + blen + 2;
	if (memcmp(data, open, n < olen ? n : olen))
		return -1;
	if (n < olen)
		return 0;

	/* the part's header lines, up to the empty line */
	size_t pos = olen;
	int named = 0;
	for (;;) {
		const char *eol = find(data + pos, n - pos, "\r\n", 2);
		if (!eol)
			return 0;
		size_t llen = (size_t)(eol - (data + pos));
		const char *line = data + pos;
		pos += llen + 2;
		if (llen == 0)
			break;   /* the value follows */
		static const char cd[] = "Content-Disposition:";
		if (llen < sizeof cd - 1 || strncasecmp(line, cd, sizeof cd - 1))
			continue;   /* Content-Type and the like */
		const char *v = line + sizeof cd - 1;
		size_t vlen = llen - (sizeof cd - 1);
		while (vlen && is_space(*v)) {
			v++;
			vlen--;
		}
		if (vlen < 9 || strncasecmp(v, "form-data", 9) ||
		    (vlen > 9 && v[9] != ';' && !is_space(v[9])))
			return -1;
		char fname[8];
		if (header_param(v, vlen, "filename", 1, fname, sizeof fname) != 0)
			return -1;   /* a file part (or garbage) is not the token */
		if (named || header_param(v, vlen, "name", 0, pname, sizeof pname) != 1 ||
		    strcmp(pname, name))
			return -1;
		named = 1;
	}
	if (!named)
		return -1;

	/* the value, up to "\r\n--boundary" */
	const char *end = find(data + pos, n - pos, delim, 4 + blen);
	if (!end)
		return n - pos >= cap + 4 + blen ? -1 : 0;
	size_t vlen = (size_t)(end - (data + pos));
	if (vlen >= cap)
		return -1;
	memcpy(out, data + pos, vlen);
	out[vlen] = '\0';
	return 1;
}
