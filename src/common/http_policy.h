/* http_policy.h — the checks every service makes on a request's headers
 * before routing it (ADR 0110, docs/security.md): RFC 9112 message framing, the Host
 * allow-list against DNS rebinding, refusal of cross-site state-changing
 * requests, and the JSON media type of JSON endpoints.
 *
 * Pure: no I/O, no allocation. http_server.c (the libmicrohttpd adapter)
 * feeds every request header to http_policy_headers_add() — libmicrohttpd
 * hands duplicate headers over one by one, so duplicates are counted — and
 * turns a refusal (-1 with err) into the JSON error. Unit-tested in
 * tests/unit/test_http_policy.c, fuzzed by tests/fuzz/fuzz_http_policy.c.
 *
 * Every function returning -1 fills err once (lh_fail); its message quotes
 * request bytes only as printable ASCII, at most 64 bytes of each.
 */
#ifndef LH_HTTP_POLICY_H
#define LH_HTTP_POLICY_H
#include <stddef.h>

struct lh_error;

/* The request headers the policy looks at: the first value of each and how
 * many times it was sent. Zero-initialise, then add every header. The
 * pointers are borrowed: the values must outlive the checks. */
struct http_policy_headers {
	const char *host, *content_length, *transfer_encoding;
	const char *origin, *sec_fetch_site, *content_type;
	unsigned n_host, n_content_length, n_transfer_encoding;
	unsigned n_origin, n_sec_fetch_site, n_content_type;
	const char *bad_name;   /* the first header name that is not an RFC 9110 token */
};

/* Record one header line (name compared case-insensitively; others are
 * ignored). NULL name or value: ignored. A name that is not a token (a space
 * before the colon, "Content-Length : 5") is remembered in bad_name: a
 * parser that drops the space would frame the request differently. */
void http_policy_headers_add(struct http_policy_headers *h, const char *name,
			     const char *value);

/* RFC 9112 §6.1-6.3 framing. `version` is the request line's ("HTTP/1.1").
 *   - a header name that is not a token (§5.1: no whitespace between the
 *     name and the colon)                          -> 400 bad_header_name
 *   - Transfer-Encoding with Content-Length, Transfer-Encoding in HTTP/1.0,
 *     more than one Content-Length, or a Content-Length that is not one
 *     decimal number (a list "5, 6" included)  -> 400 bad_framing
 *   - a Transfer-Encoding other than exactly "chunked" (one header, one
 *     coding)                                     -> 501 unsupported_transfer_encoding
 * The caller must close the connection after answering: the body's extent
 * is unknown. Returns 0 or -1 with err. */
int http_policy_framing(const struct http_policy_headers *h, const char *version,
			struct lh_error *err);

/* The Host allow-list (DNS rebinding). `allowed` is [http] allowed_hosts, a
 * comma-separated list (NULL or "" = none; see http_policy_host_list_check).
 *   - HTTP/1.1 (or 1.x above) without Host       -> 400 missing_host
 *   - more than one Host, or not host[:port]     -> 400 bad_host
 *   - a host that is not an IP literal (IPv4, [IPv6]), "localhost",
 *     "*.localhost" or a name `allowed` lists    -> 421 host_not_allowed
 * Names compare case-insensitively, a trailing dot ignored; the port never
 * matters. HTTP/1.0 without Host passes (a browser always sends one).
 * Returns 0 or -1 with err. */
int http_policy_host(const struct http_policy_headers *h, const char *version,
		     const char *allowed, struct lh_error *err);

/* Cross-site refusal of a state-changing request: every method but GET,
 * HEAD and OPTIONS. -> 403 cross_site_request when
 *   - Origin is present and not this server's own origin: its host and port
 *     must be the Host header's ("http://H:P" or "https://H:P"; a Host
 *     without port matches only an Origin on its scheme's default port);
 *     "null", a second Origin, or an Origin without a Host are foreign;
 *   - Sec-Fetch-Site is present and not "same-origin" or "none".
 * A request with neither header (curl, the CLI, service peers) passes.
 * Returns 0 or -1 with err. */
int http_policy_cross_site(const struct http_policy_headers *h, const char *method,
			   struct lh_error *err);

/* A JSON endpoint's body type: exactly one Content-Type whose media type is
 * application/json (case-insensitive; parameters such as "; charset=utf-8"
 * allowed), else 415 unsupported_media_type. Returns 0 or -1 with err. */
int http_policy_json_type(const struct http_policy_headers *h, struct lh_error *err);

/* Validate [http] allowed_hosts text s[0..n): a comma-separated list of host
 * names (letters, digits, '-', '_', '.'; at most 253 bytes; a trailing dot
 * allowed), each optionally "*."-prefixed (any subdomain), or "*" alone
 * (every host: turns the DNS-rebinding check off). Blank = no names. At most
 * LH_HTTP_ALLOWED_HOSTS_MAX entries. Returns 0, or -1 with a reason in
 * why[0..wn). Pure; never reads s[n]. */
int http_policy_host_list_check(const char *s, size_t n, char *why, size_t wn);

#endif
