/* test_http_policy.c — the request checks of src/common/http_policy.c
 * (ADR 0110): RFC 9112 framing, the Host allow-list, cross-site refusal,
 * the JSON media type and the [http] allowed_hosts syntax. Pure functions,
 * no server: each case builds the headers a request would carry. */
#include "test.h"

#include "common/config.h"
#include "common/error.h"
#include "common/http_policy.h"


/* Headers from "Name: value" strings (NULL-terminated list). The values
 * point into the literals, which live for the whole program. */
static struct http_policy_headers headers(const char *const *lines)
{
	static char names[16][64];
	struct http_policy_headers h = { 0 };
	for (size_t i = 0; lines[i]; i++) {
		const char *colon = strchr(lines[i], ':');
		size_t n = (size_t)(colon - lines[i]);
		memcpy(names[i], lines[i], n);
		names[i][n] = '\0';
		http_policy_headers_add(&h, names[i], colon + 1);
	}
	return h;
}

#define H(...) headers((const char *const[]){ __VA_ARGS__, NULL })

/* status of a check, 0 if it passed; code and a non-empty message checked. */
static int framing(struct http_policy_headers h, const char *version, const char *code)
{
	struct lh_error err = { 0 };
	int rc = http_policy_framing(&h, version, &err);
	int status = rc ? err.status : 0;
	if (rc && (strcmp(err.code, code) || !err.msg[0]))
		status = -1;
	lh_error_clear(&err);
	return status;
}

static int host(struct http_policy_headers h, const char *version, const char *allowed,
		const char *code)
{
	struct lh_error err = { 0 };
	int rc = http_policy_host(&h, version, allowed, &err);
	int status = rc ? err.status : 0;
	if (rc && (strcmp(err.code, code) || !err.msg[0]))
		status = -1;
	lh_error_clear(&err);
	return status;
}

static int cross(struct http_policy_headers h, const char *method)
{
	struct lh_error err = { 0 };
	int rc = http_policy_cross_site(&h, method, &err);
	int status = rc ? err.status : 0;
	if (rc && (strcmp(err.code, "cross_site_request") || !err.msg[0]))
		status = -1;
	lh_error_clear(&err);
	return status;
}

static int media_json(struct http_policy_headers h)
{
	struct lh_error err = { 0 };
	int rc = http_policy_json_type(&h, &err);
	int status = rc ? err.status : 0;
	if (rc && (strcmp(err.code, "unsupported_media_type") || !err.msg[0]))
		status = -1;
	lh_error_clear(&err);
	return status;
}

static int list_ok(const char *s)
{
	char why[200] = "";
	int rc = http_policy_host_list_check(s, strlen(s), why, sizeof why);
	return rc == 0 ? 1 : (why[0] ? 0 : -1);
}

TEST(http_policy_framing_rfc9112)
{
	CHECK_EQ_INT(framing(H("Host: x"), "HTTP/1.1", ""), 0);
	CHECK_EQ_INT(framing(H("Content-Length: 5"), "HTTP/1.1", ""), 0);
	CHECK_EQ_INT(framing(H("Content-Length:  0 "), "HTTP/1.1", ""), 0);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: chunked"), "HTTP/1.1", ""), 0);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: Chunked"), "HTTP/1.1", ""), 0);
	/* both: the smuggling classic */
	CHECK_EQ_INT(framing(H("Content-Length: 5", "Transfer-Encoding: chunked"), "HTTP/1.1",
			     "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: chunked", "content-length: 0"), "HTTP/1.1",
			     "bad_framing"), 400);
	/* two Content-Lengths, equal or not, and lists */
	CHECK_EQ_INT(framing(H("Content-Length: 5", "Content-Length: 6"), "HTTP/1.1",
			     "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 5", "Content-Length: 5"), "HTTP/1.1",
			     "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 5, 6"), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 5,5"), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: -1"), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: +5"), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: "), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 0x10"), "HTTP/1.1", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 18446744073709551615"), "HTTP/1.1", ""), 0);
	CHECK_EQ_INT(framing(H("Content-Length: 18446744073709551616"), "HTTP/1.1",
			     "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 123456789012345678901"), "HTTP/1.1",
			     "bad_framing"), 400);
	/* codings other than exactly one chunked */
	CHECK_EQ_INT(framing(H("Transfer-Encoding: gzip, chunked"), "HTTP/1.1",
			     "unsupported_transfer_encoding"), 501);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: chunked, chunked"), "HTTP/1.1",
			     "unsupported_transfer_encoding"), 501);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: identity"), "HTTP/1.1",
			     "unsupported_transfer_encoding"), 501);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
			     "HTTP/1.1", "unsupported_transfer_encoding"), 501);
	CHECK_EQ_INT(framing(H("Transfer-Encoding: xchunked"), "HTTP/1.1",
			     "unsupported_transfer_encoding"), 501);
	/* HTTP/1.0 has no chunked coding */
	CHECK_EQ_INT(framing(H("Transfer-Encoding: chunked"), "HTTP/1.0", "bad_framing"), 400);
	CHECK_EQ_INT(framing(H("Content-Length: 3"), "HTTP/1.0", ""), 0);
}

TEST(http_policy_header_name_not_a_token)
{
	/* "Content-Length : 19": a parser that keeps the space sees no length */
	CHECK_EQ_INT(framing(H("Content-Length : 19"), "HTTP/1.1", "bad_header_name"), 400);
	CHECK_EQ_INT(framing(H("Transfer-Encoding\t: chunked"), "HTTP/1.1", "bad_header_name"),
		     400);
	CHECK_EQ_INT(framing(H("X Custom: 1"), "HTTP/1.1", "bad_header_name"), 400);
	CHECK_EQ_INT(framing(H(": empty"), "HTTP/1.1", "bad_header_name"), 400);
	/* every tchar is fine */
	CHECK_EQ_INT(framing(H("X-a!#$%&'*+-.^_`|~9: 1"), "HTTP/1.1", ""), 0);
}

TEST(http_policy_host_literals_and_localhost)
{
	CHECK_EQ_INT(host(H("Host: 127.0.0.1:8080"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: 10.1.2.3:80"), "HTTP/1.1", "", ""), 0);
	CHECK_EQ_INT(host(H("Host: [::1]:8080"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: [::1]"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: [fe80::1:2]"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: localhost:8080"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: LocalHost"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: localhost."), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: app.localhost:3000"), "HTTP/1.1", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: a.b.localhost."), "HTTP/1.1", NULL, ""), 0);
	/* names that only look like loopback are names */
	CHECK_EQ_INT(host(H("Host: evil.example"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: evil.example:8080"), "HTTP/1.1", "", "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: localhost.evil.example"), "HTTP/1.1", NULL,
			  "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: evillocalhost"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1.nip.io"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: 127.1"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: 1.2.3.4.5"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: 0x7f000001"), "HTTP/1.1", NULL, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: .localhost"), "HTTP/1.1", NULL, "bad_host"), 400);
}

TEST(http_policy_host_missing_duplicate_malformed)
{
	CHECK_EQ_INT(host(H("Content-Length: 0"), "HTTP/1.1", NULL, "missing_host"), 400);
	CHECK_EQ_INT(host(H("Content-Length: 0"), "HTTP/1.0", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: "), "HTTP/1.0", NULL, ""), 0);
	CHECK_EQ_INT(host(H("Host: "), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1", "Host: 127.0.0.1"), "HTTP/1.1", NULL, "bad_host"),
		     400);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1", "Host: evil.example"), "HTTP/1.1", NULL,
			  "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: ::1"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: [::1"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: [::1]x"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: [evil.example]"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1:80:80"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1:99999"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: 127.0.0.1:8o"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: :8080"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: evil.example/x"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: user@127.0.0.1"), "HTTP/1.1", NULL, "bad_host"), 400);
	CHECK_EQ_INT(host(H("Host: a..b."), "HTTP/1.1", "a..b", ""), 0);
	CHECK_EQ_INT(host(H("Host: a.."), "HTTP/1.1", NULL, "bad_host"), 400);
	/* the message quotes hostile bytes only as printable ASCII */
	struct http_policy_headers h = H("Host: \x01\"evil\xff");
	struct lh_error err = { 0 };
	CHECK(http_policy_host(&h, "HTTP/1.1", NULL, &err) == -1);
	for (const char *p = err.msg; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	lh_error_clear(&err);
	char longname[400];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	h = (struct http_policy_headers){ 0 };
	http_policy_headers_add(&h, "Host", longname);
	CHECK(http_policy_host(&h, "HTTP/1.1", "*", &err) == -1);
	CHECK_EQ_STR(err.code, "bad_host");
	CHECK(strlen(err.msg) < 200);
	lh_error_clear(&err);
}

TEST(http_policy_host_allow_list)
{
	const char *list = "lakehouse.example.com, Other, *.corp.example";
	CHECK_EQ_INT(host(H("Host: lakehouse.example.com"), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: LAKEHOUSE.example.COM:8080"), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: lakehouse.example.com."), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: other"), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: a.corp.example"), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: a.b.corp.example:1"), "HTTP/1.1", list, ""), 0);
	CHECK_EQ_INT(host(H("Host: corp.example"), "HTTP/1.1", list, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: xcorp.example"), "HTTP/1.1", list, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: example.com"), "HTTP/1.1", list, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: lakehouse.example.com.evil"), "HTTP/1.1", list,
			  "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: other2"), "HTTP/1.1", list, "host_not_allowed"), 421);
	CHECK_EQ_INT(host(H("Host: sto-1.:8081"), "HTTP/1.1", "sto-1.", ""), 0);
	/* "*" turns the check off, malformed hosts stay refused */
	CHECK_EQ_INT(host(H("Host: anything.example"), "HTTP/1.1", "*", ""), 0);
	CHECK_EQ_INT(host(H("Host: a b"), "HTTP/1.1", "*", "bad_host"), 400);
}

TEST(http_policy_cross_site_origin_and_fetch_metadata)
{
	/* safe methods are never refused by this check */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: https://evil.example"), "GET"), 0);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Sec-Fetch-Site: cross-site"), "HEAD"), 0);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: null"), "OPTIONS"), 0);
	/* neither header: curl, the CLI, peers */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Content-Length: 1"), "DELETE"), 0);
	/* same origin */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1:8080"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: localhost:8080", "Origin: HTTP://LOCALHOST:8080"), "PUT"), 0);
	CHECK_EQ_INT(cross(H("Host: [::1]:8080", "Origin: http://[::1]:8080"), "PATCH"), 0);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://lh.example"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: https://lh.example"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: lh.example:80", "Origin: http://lh.example"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: lh.example:443", "Origin: https://lh.example"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: lh.example.", "Origin: http://lh.example"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1:8080",
			     "Sec-Fetch-Site: same-origin"), "POST"), 0);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Sec-Fetch-Site: none"), "POST"), 0);
	/* foreign origins */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: https://evil.example"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: null"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1:8081"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://localhost:8080"), "DELETE"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://lh.example:8080"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://lh.example.evil"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://evil.lh.example"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: ftp://lh.example"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://lh.example/"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: http://user@lh.example"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: lh.example", "Origin: "), "POST"), 403);
	CHECK_EQ_INT(cross(H("Origin: http://127.0.0.1:8080"), "POST"), 403);   /* no Host */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1:8080",
			     "Origin: https://evil.example"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: https://evil.example"), "FOO"), 403);
	/* fetch metadata */
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Sec-Fetch-Site: cross-site"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Sec-Fetch-Site: same-site"), "POST"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Sec-Fetch-Site: bogus"), "PUT"), 403);
	CHECK_EQ_INT(cross(H("Host: 127.0.0.1:8080", "Origin: http://127.0.0.1:8080",
			     "Sec-Fetch-Site: cross-site"), "POST"), 403);
}

TEST(http_policy_json_media_type)
{
	CHECK_EQ_INT(media_json(H("Content-Type: application/json")), 0);
	CHECK_EQ_INT(media_json(H("Content-Type: Application/JSON")), 0);
	CHECK_EQ_INT(media_json(H("Content-Type: application/json; charset=utf-8")), 0);
	CHECK_EQ_INT(media_json(H("Content-Type: application/json ;charset=UTF-8")), 0);
	CHECK_EQ_INT(media_json(H("Host: x")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: text/plain")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: text/plain; application/json")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: application/x-www-form-urlencoded")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: multipart/form-data; boundary=x")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: application/jsonx")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: application/json-seq")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: ")), 415);
	CHECK_EQ_INT(media_json(H("Content-Type: application/json",
				 "Content-Type: text/plain")), 415);
}

TEST(http_policy_allowed_hosts_syntax)
{
	CHECK_EQ_INT(list_ok(""), 1);
	CHECK_EQ_INT(list_ok("  "), 1);
	CHECK_EQ_INT(list_ok("lakehouse.example.com, other"), 1);
	CHECK_EQ_INT(list_ok("*.corp.example,sto-1,sto_2,host."), 1);
	CHECK_EQ_INT(list_ok("*"), 1);
	CHECK_EQ_INT(list_ok("a,,b"), 0);
	CHECK_EQ_INT(list_ok("a,"), 0);
	CHECK_EQ_INT(list_ok("host:8080"), 0);
	CHECK_EQ_INT(list_ok("http://host"), 0);
	CHECK_EQ_INT(list_ok("a b"), 0);
	CHECK_EQ_INT(list_ok("*.") , 0);
	CHECK_EQ_INT(list_ok("*x.example"), 0);
	CHECK_EQ_INT(list_ok("a.*.example"), 0);
	CHECK_EQ_INT(list_ok(".example"), 0);
	CHECK_EQ_INT(list_ok("[::1]"), 0);
	char many[1024] = "";
	for (int i = 0; i < 33; i++) {
		size_t n = strlen(many);
		snprintf(many + n, sizeof many - n, "%sh%d", i ? "," : "", i);
	}
	CHECK_EQ_INT(list_ok(many), 0);
	*strrchr(many, ',') = '\0';
	CHECK_EQ_INT(list_ok(many), 1);
}

/* The key as the configuration reads it: file, environment, refusal. */
TEST(http_policy_allowed_hosts_config)
{
	struct lh_config cfg;
	struct lh_error err = { 0 };
	config_defaults(&cfg);
	CHECK_EQ_STR(cfg.http.allowed_hosts, "");
	const char *toml = "[http]\nallowed_hosts = \"lakehouse.example.com, *.corp.example\"\n";
	CHECK(config_parse_toml(&cfg, toml, strlen(toml), "lakehouse.toml", &err) == 0);
	CHECK_EQ_STR(cfg.http.allowed_hosts, "lakehouse.example.com, *.corp.example");
	char *env[] = { "LAKEHOUSE_HTTP_ALLOWED_HOSTS=other", NULL };
	CHECK(config_apply_env(&cfg, env, &err) == 0);
	CHECK_EQ_STR(cfg.http.allowed_hosts, "other");
	toml = "[http]\nallowed_hosts = \"host:8080\"\n";
	CHECK(config_parse_toml(&cfg, toml, strlen(toml), "lakehouse.toml", &err) == -1);
	CHECK_EQ_STR(err.code, "bad_config");
	CHECK(strstr(err.msg, "lakehouse.toml:2") != NULL);
	CHECK(strstr(err.msg, "not a host name") != NULL);
	CHECK_EQ_STR(cfg.http.allowed_hosts, "other");
	lh_error_clear(&err);
}
