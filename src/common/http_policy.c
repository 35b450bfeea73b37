/* http_policy.c — request checks made before routing (see http_policy.h,
 * ADR 0110): framing, Host allow-list, cross-site refusal, JSON media type.
 *
 * DESIGN NOTES
 *  1. Pure and allocation-free: every function works on the borrowed header
 *     values and small stack buffers, so it is unit-tested and fuzzed as is.
 *  2. One parser for "host[:port]" (hostport_parse) serves both the Host
 *     header and the authority of an Origin, so the two are compared after
 *     the same normalisation: names lower-cased without a trailing dot, IP
 *     literals as written (browsers serialise both headers the same way).
 *  3. Why IP literals pass the Host check: DNS rebinding needs a host NAME
 *     whose answers the attacker controls; a page can only reach this
 *     server by IP under that IP's own origin, which is not a foreign one.
 *     "localhost" and "*.localhost" resolve to loopback in the browser
 *     itself (RFC 6761), so no attacker's DNS answers for them either.
 *  4. Strict where the RFC allows a choice: any Content-Length list (even
 *     "5, 5") and any second Content-Length are refused, and any
 *     Transfer-Encoding but one "chunked": we never guess a body's extent.
 */
#include "common/http_policy.h"

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define QUOTE_MAX 64           /* request bytes quoted in a message */
#define HOST_NAME_MAX_LEN 253  /* DNS name, without a trailing dot */

/* ---- small helpers ------------------------------------------------------- */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* s trimmed of optional whitespace: *out and *out_n. */
static void trim(const char *s, const char **out, size_t *out_n)
{
	size_t n = strlen(s);
	while (n && is_ows(*s)) {
		s++;
		n--;
	}
	while (n && is_ows(s[n - 1]))
		n--;
	*out = s;
	*out_n = n;
}

/* s[0..n) for a message: printable ASCII, others as '?', at most QUOTE_MAX
 * bytes then "...". dst has QUOTE_MAX + 4 bytes. */
static const char *quote(char dst[QUOTE_MAX + 4], const char *s, size_t n)
{
	size_t i, o = 0;
	for (i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static bool eq_ci(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b);
	return an == bn && strncasecmp(a, b, an) == 0;
}

/* "HTTP/1.1" .. "HTTP/1.9": versions whose requests must carry Host.
 * (libmicrohttpd has already refused anything that is not HTTP/d.d.) */
static bool version_needs_host(const char *version)
{
	return version && strncmp(version, "HTTP/1.", 7) == 0 && version[7] >= '1' &&
	       version[7] <= '9' && version[8] == '\0';
}

static bool is_http10(const char *version)
{
	return version && strcmp(version, "HTTP/1.0") == 0;
}

/* ---- headers ------------------------------------------------------------- */

static void note(const char **first, unsigned *count, const char *value)
{
	if (*count == 0)
		*first = value;
	if (*count < 1000)
		(*count)++;
}

/* RFC 9110 §5.6.2 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA */
static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!(isalnum(c) || strchr("!#$%&'*+-.^_`|~", c)))
			return 0;
	}
	return 1;
}

void http_policy_headers_add(struct http_policy_headers *h, const char *name,
			     const char *value)
{
	if (!name || !value)
		return;
	if (!h->bad_name && !is_token(name))
		h->bad_name = name;
	if (!strcasecmp(name, "Host"))
		note(&h->host, &h->n_host, value);
	else if (!strcasecmp(name, "Content-Length"))
		note(&h->content_length, &h->n_content_length, value);
	else if (!strcasecmp(name, "Transfer-Encoding"))
		note(&h->transfer_encoding, &h->n_transfer_encoding, value);
	else if (!strcasecmp(name, "Origin"))
		note(&h->origin, &h->n_origin, value);
	else if (!strcasecmp(name, "Sec-Fetch-Site"))
		note(&h->sec_fetch_site, &h->n_sec_fetch_site, value);
	else if (!strcasecmp(name, "Content-Type"))
		note(&h->content_type, &h->n_content_type, value);
}

/* ---- framing ------------------------------------------------------------- */

int http_policy_framing(const struct http_policy_headers *h, const char *version,
			struct lh_error *err)
{
	char q[QUOTE_MAX + 4];
	const char *v;
	size_t n;

	if (h->bad_name) {
		return lh_fail(err, 400, "bad_header_name",
			       "header name \"%s\" is not a valid token (no spaces before the colon, "
			       "RFC 9112 section 5.1)", quote(q, h->bad_name, strlen(h->bad_name)));
	}
	if (h->n_transfer_encoding) {
		if (h->n_content_length)
			return lh_fail(err, 400, "bad_framing",
				       "a request may not carry both Content-Length and "
				       "Transfer-Encoding (RFC 9112 section 6.3)");
		if (is_http10(version))
			return lh_fail(err, 400, "bad_framing",
				       "Transfer-Encoding is not allowed in an HTTP/1.0 request "
				       "(RFC 9112 section 6.1)");
		trim(h->transfer_encoding, &v, &n);
		if (h->n_transfer_encoding > 1 || !eq_ci(v, n, "chunked"))
			return lh_fail(err, 501, "unsupported_transfer_encoding",
				       "Transfer-Encoding \"%s\" is not supported; send the body "
				       "with Content-Length or Transfer-Encoding: chunked",
				       h->n_transfer_encoding > 1 ? "(several headers)"
								  : quote(q, v, n));
		return 0;
	}
	if (h->n_content_length > 1)
		return lh_fail(err, 400, "bad_framing",
			       "more than one Content-Length header (RFC 9112 section 6.3)");
	if (h->n_content_length == 1) {
		trim(h->content_length, &v, &n);
		bool ok = n > 0 && n <= 20;
		for (size_t i = 0; ok && i < n; i++)
			ok = v[i] >= '0' && v[i] <= '9';
		if (ok && n == 20)
			ok = strncmp(v, "18446744073709551615", 20) <= 0;
		if (!ok)
			return lh_fail(err, 400, "bad_framing",
				       "Content-Length \"%s\" is not one decimal number "
				       "(RFC 9112 section 6.3)", quote(q, v, n));
	}
	return 0;
}

/* ---- host[:port] --------------------------------------------------------- */

struct hostport {
	const char *host;   /* IPv6: including the brackets */
	size_t host_n;      /* names: without a trailing dot */
	bool ip;
	bool has_port;      /* a non-empty port was given */
	unsigned port;
};

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* s[0..n) as inet_pton sees it (at most INET6_ADDRSTRLEN - 1 bytes). */
static bool is_ip(int af, const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned char addr[sizeof(struct in6_addr)];
	if (n == 0 || n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(af, buf, addr) == 1;
}

/* RFC 9110 §7.2 Host / RFC 6454 origin authority: IP-literal, IPv4 or a
 * reg-name of name_char bytes, then an optional ":" *DIGIT. Returns 0 or -1
 * if malformed. */
static int hostport_parse(const char *s, size_t n, struct hostport *out)
{
	size_t hn;
	memset(out, 0, sizeof *out);
	if (n == 0)
		return -1;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || !is_ip(AF_INET6, s + 1, (size_t)(close - s) - 1))
			return -1;
		hn = (size_t)(close - s) + 1;
		out->ip = true;
	} else {
		hn = 0;
		while (hn < n && s[hn] != ':')
			hn++;
		if (hn == 0)
			return -1;
		for (size_t i = 0; i < hn; i++)
			if (!name_char(s[i]))
				return -1;
		out->ip = is_ip(AF_INET, s, hn);
	}
	out->host = s;
	out->host_n = hn;
	if (hn < n) {
		if (s[hn] != ':')
			return -1;
		const char *p = s + hn + 1;
		size_t pn = n - hn - 1;
		if (pn > 5)
			return -1;
		unsigned port = 0;
		for (size_t i = 0; i < pn; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			port = port * 10 + (unsigned)(p[i] - '0');
		}
		if (port > 65535)
			return -1;
		out->has_port = pn > 0;
		out->port = port;
	}
	if (!out->ip) {
		if (out->host_n > 1 && out->host[out->host_n - 1] == '.')
			out->host_n--;
		if (out->host_n > HOST_NAME_MAX_LEN || out->host[out->host_n - 1] == '.' ||
		    out->host[0] == '.')
			return -1;
	}
	return 0;
}

/* Does the name entry e[0..en) of the allow-list ("name", "*.name", "*")
 * cover host name h[0..hn) (normalised: no trailing dot)? */
static bool entry_covers(const char *e, size_t en, const char *h, size_t hn)
{
	if (en && e[en - 1] == '.')
		en--;
	if (en == 1 && e[0] == '*')
		return true;
	if (en > 2 && e[0] == '*' && e[1] == '.') {
		size_t sn = en - 1;   /* ".name" */
		return hn > sn && strncasecmp(h + hn - sn, e + 1, sn) == 0;
	}
	return en == hn && strncasecmp(e, h, hn) == 0;
}

static bool is_localhost(const char *h, size_t hn)
{
	static const char lh[] = "localhost";
	size_t ln = sizeof lh - 1;
	if (hn == ln)
		return strncasecmp(h, lh, ln) == 0;
	return hn > ln + 1 && h[hn - ln - 1] == '.' && strncasecmp(h + hn - ln, lh, ln) == 0;
}

int http_policy_host(const struct http_policy_headers *h, const char *version,
		     const char *allowed, struct lh_error *err)
{
	char q[QUOTE_MAX + 4];
	const char *v;
	size_t n;
	struct hostport hp;

	if (h->n_host == 0) {
		if (!version_needs_host(version))
			return 0;
		return lh_fail(err, 400, "missing_host",
			       "an HTTP/1.1 request must carry a Host header (RFC 9112 section 3.2)");
	}
	if (h->n_host > 1)
		return lh_fail(err, 400, "bad_host",
			       "more than one Host header (RFC 9112 section 3.2)");
	trim(h->host, &v, &n);
	if (n == 0 && !version_needs_host(version))
		return 0;
	if (hostport_parse(v, n, &hp) != 0)
		return lh_fail(err, 400, "bad_host", "the Host header \"%s\" is not host[:port]",
			       quote(q, v, n));
	if (hp.ip || is_localhost(hp.host, hp.host_n))
		return 0;
	if (allowed) {
		size_t an = strlen(allowed), pos = 0, en;
		const char *e;
		while (config_list_next(allowed, an, &pos, &e, &en))
			if (en && entry_covers(e, en, hp.host, hp.host_n))
				return 0;
	}
	return lh_fail(err, 421, "host_not_allowed",
		       "this server does not answer to the name \"%s\" (a guard against DNS "
		       "rebinding); use its IP address or localhost, or add the name to [http] "
		       "allowed_hosts (LAKEHOUSE_HTTP_ALLOWED_HOSTS)",
		       quote(q, hp.host, hp.host_n));
}

/* ---- cross-site ---------------------------------------------------------- */

static bool method_is_safe(const char *method)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS");
}

/* Is the serialised origin o[0..on) the origin of Host h[0..hn)? */
static bool same_origin(const char *o, size_t on, const char *host, size_t host_n)
{
	unsigned dflt;
	size_t skip;
	struct hostport a, b;
	if (on > 7 && !strncasecmp(o, "http://", 7)) {
		dflt = 80;
		skip = 7;
	} else if (on > 8 && !strncasecmp(o, "https://", 8)) {
		dflt = 443;
		skip = 8;
	} else {
		return false;
	}
	if (hostport_parse(o + skip, on - skip, &a) != 0 ||
	    hostport_parse(host, host_n, &b) != 0)
		return false;
	if (a.ip != b.ip || a.host_n != b.host_n || strncasecmp(a.host, b.host, a.host_n) != 0)
		return false;
	unsigned oport = a.has_port ? a.port : dflt;
	return b.has_port ? oport == b.port : oport == dflt;
}

int http_policy_cross_site(const struct http_policy_headers *h, const char *method,
			   struct lh_error *err)
{
	char q[QUOTE_MAX + 4];
	const char *v;
	size_t n;

	if (method_is_safe(method))
		return 0;
	if (h->n_sec_fetch_site) {
		trim(h->sec_fetch_site, &v, &n);
		if (h->n_sec_fetch_site > 1 ||
		    !(eq_ci(v, n, "same-origin") || eq_ci(v, n, "none")))
			return lh_fail(err, 403, "cross_site_request",
				       "a request from another site may not change anything "
				       "(Sec-Fetch-Site: %s)", quote(q, v, n));
	}
	if (h->n_origin) {
		const char *hv = "";
		size_t hn = 0;
		trim(h->origin, &v, &n);
		if (h->n_host == 1)
			trim(h->host, &hv, &hn);
		if (h->n_origin > 1 || !same_origin(v, n, hv, hn))
			return lh_fail(err, 403, "cross_site_request",
				       "a request from another origin may not change anything "
				       "(Origin \"%s\" is not this server's own)", quote(q, v, n));
	}
	return 0;
}

/* ---- JSON media type ----------------------------------------------------- */

int http_policy_json_type(const struct http_policy_headers *h, struct lh_error *err)
{
	char q[QUOTE_MAX + 4], got[QUOTE_MAX + 8];
	const char *v;
	size_t n;
	if (h->n_content_type == 0)
		return lh_fail(err, 415, "unsupported_media_type",
			       "this endpoint takes a JSON body: send Content-Type: "
			       "application/json (got none)");
	if (h->n_content_type > 1)
		return lh_fail(err, 415, "unsupported_media_type",
			       "this endpoint takes a JSON body: send one Content-Type: "
			       "application/json (got several)");
	trim(h->content_type, &v, &n);
	const char *semi = memchr(v, ';', n);
	size_t mn = semi ? (size_t)(semi - v) : n;
	while (mn && is_ows(v[mn - 1]))
		mn--;
	if (eq_ci(v, mn, "application/json"))
		return 0;
	snprintf(got, sizeof got, "\"%s\"", quote(q, v, n));
	return lh_fail(err, 415, "unsupported_media_type",
		       "this endpoint takes a JSON body: send Content-Type: application/json "
		       "(got %s)", got);
}

/* ---- [http] allowed_hosts ------------------------------------------------ */

static int whyf(char *why, size_t wn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int whyf(char *why, size_t wn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wn, fmt, ap);
	va_end(ap);
	return -1;
}

int http_policy_host_list_check(const char *s, size_t n, char *why, size_t wn)
{
	char q[QUOTE_MAX + 4];
	size_t pos = 0, en, count = 0;
	const char *e;
	while (config_list_next(s, n, &pos, &e, &en)) {
		if (en == 0)
			return whyf(why, wn, "empty name in the list");
		if (++count > LH_HTTP_ALLOWED_HOSTS_MAX)
			return whyf(why, wn, "more than %d names", LH_HTTP_ALLOWED_HOSTS_MAX);
		if (en == 1 && e[0] == '*')
			continue;
		const char *name = e;
		size_t nn = en;
		if (nn > 2 && name[0] == '*' && name[1] == '.') {
			name += 2;
			nn -= 2;
		}
		if (nn > 1 && name[nn - 1] == '.')
			nn--;
		bool ok = nn > 0 && nn <= HOST_NAME_MAX_LEN && name[0] != '.' &&
			  name[nn - 1] != '.';
		for (size_t i = 0; ok && i < nn; i++)
			ok = name_char(name[i]);
		if (!ok)
			return whyf(why, wn, "\"%s\" is not a host name (letters, digits, '-', '_' "
					     "and '.', optionally \"*.\" before it; no port)",
				    quote(q, e, en));
	}
	return 0;
}
