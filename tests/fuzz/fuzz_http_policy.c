/* fuzz_http_policy.c — libFuzzer target for the request checks of
 * src/common/http_policy.h (framing, Host allow-list, cross-site, JSON type)
 * and the [http] allowed_hosts syntax.
 *
 * The input is lines separated by LF: the method, the HTTP version, an
 * allowed_hosts list, then header lines "Name: value" (split at the first
 * ':'). Each piece is copied into a buffer of exactly its size plus NUL, so
 * ASan catches a read past the end. Invariants, checked independently of
 * http_policy.c:
 *   - every refusal has the documented status and code and a non-empty,
 *     printable-ASCII message that renders as JSON;
 *   - the header counts match a case-insensitive count of the names;
 *   - framing passes only with no Transfer-Encoding and at most one
 *     Content-Length of 1..20 digits, or with exactly one "chunked"
 *     Transfer-Encoding, no Content-Length and not HTTP/1.0;
 *   - Host passes an HTTP/1.1 request only with exactly one Host; with no
 *     configured names only for an IP literal or a localhost name; adding
 *     names never turns a pass into a refusal; "*" never gives 421;
 *   - cross-site never refuses GET/HEAD/OPTIONS, and passes an unsafe
 *     method only with Sec-Fetch-Site same-origin/none (or none sent) and
 *     one Origin that is an http(s) origin, never "null";
 *   - the JSON type passes only for one Content-Type starting with
 *     application/json followed by the end, ';' or whitespace;
 *   - every check is deterministic.
 */
#include "fuzz.h"

#include "common/error.h"
#include "common/http_policy.h"
#include "common/json.h"
#include "common/limits.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#define MAX_LINES 24

struct input {
	char *line[MAX_LINES];   /* each an exact-size NUL-terminated copy */
	size_t n;
	char *name[MAX_LINES], *value[MAX_LINES];
};

static char *copy(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	FUZZ_CHECK(s != NULL);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void check_error(const struct lh_error *err, int status, const char *code)
{
	FUZZ_CHECK(err->status == status);
	FUZZ_CHECK(strcmp(err->code, code) == 0);
	FUZZ_CHECK(err->msg[0] != '\0');
	for (const char *p = err->msg; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	json_t *j = lh_error_json(err);
	FUZZ_CHECK(j != NULL);
	char *text = json_dumps(j, 0);
	FUZZ_CHECK(text != NULL);
	free(text);
	json_decref(j);
}

/* s trimmed of spaces and tabs, into a new exact-size string. */
static char *trimmed(const char *s)
{
	size_t n = strlen(s);
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return copy((const uint8_t *)s, n);
}

static unsigned count(const struct input *in, const char *name)
{
	unsigned c = 0;
	for (size_t i = 3; i < in->n; i++)
		if (in->name[i] && !strcasecmp(in->name[i], name))
			c++;
	return c;
}

/* The Host value (trimmed) is an IP literal or a localhost name. */
static int host_is_local(const char *host)
{
	char *h = trimmed(host);
	int ok = 0;
	if (h[0] == '[') {
		ok = 1;
	} else {
		char *colon = strchr(h, ':');
		if (colon)
			*colon = '\0';
		size_t n = strlen(h);
		unsigned char a[4];
		if (inet_pton(AF_INET, h, a) == 1)
			ok = 1;
		if (n && h[n - 1] == '.')
			h[--n] = '\0';
		if (!strcasecmp(h, "localhost") ||
		    (n > 10 && !strcasecmp(h + n - 10, ".localhost")))
			ok = 1;
	}
	free(h);
	return ok;
}

static int run_host(const struct http_policy_headers *h, const char *version,
		    const char *allowed, struct lh_error *err)
{
	int rc = http_policy_host(h, version, allowed, err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(err->status == 0);
	} else if (err->status == 421) {
		check_error(err, 421, "host_not_allowed");
	} else if (!strcmp(err->code, "missing_host")) {
		check_error(err, 400, "missing_host");
		FUZZ_CHECK(h->n_host == 0);
	} else {
		check_error(err, 400, "bad_host");
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { 0 };
	struct http_policy_headers h = { 0 }, h2 = { 0 };
	struct lh_error err = { 0 };
	size_t start = 0;

	for (size_t i = 0; i <= size && in.n < MAX_LINES; i++) {
		if (i < size && data[i] != '\n')
			continue;
		in.line[in.n++] = copy(data + start, i - start);
		start = i + 1;
	}
	if (in.n < 3)
		goto out;
	const char *method = in.line[0], *version = in.line[1], *allowed = in.line[2];
	for (size_t i = 3; i < in.n; i++) {
		char *colon = strchr(in.line[i], ':');
		if (!colon)
			continue;
		in.name[i] = copy((const uint8_t *)in.line[i], (size_t)(colon - in.line[i]));
		in.value[i] = copy((const uint8_t *)colon + 1, strlen(colon + 1));
		http_policy_headers_add(&h, in.name[i], in.value[i]);
		http_policy_headers_add(&h2, in.name[i], in.value[i]);
	}
	FUZZ_CHECK(memcmp(&h, &h2, sizeof h) == 0);
	FUZZ_CHECK(h.n_host == count(&in, "Host"));
	FUZZ_CHECK(h.n_content_length == count(&in, "Content-Length"));
	FUZZ_CHECK(h.n_transfer_encoding == count(&in, "Transfer-Encoding"));
	FUZZ_CHECK(h.n_origin == count(&in, "Origin"));
	FUZZ_CHECK(h.n_sec_fetch_site == count(&in, "Sec-Fetch-Site"));
	FUZZ_CHECK(h.n_content_type == count(&in, "Content-Type"));

	/* the allowed_hosts syntax */
	char why[200] = "";
	int list_rc = http_policy_host_list_check(allowed, strlen(allowed), why, sizeof why);
	FUZZ_CHECK(list_rc == 0 || (list_rc == -1 && why[0] != '\0'));
	if (list_rc == 0) {
		size_t commas = 0;
		for (const char *p = allowed; *p; p++)
			commas += *p == ',';
		FUZZ_CHECK(commas < LH_HTTP_ALLOWED_HOSTS_MAX);
	}

	/* framing */
	int rc = http_policy_framing(&h, version, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(err.status == 0);
		if (h.n_transfer_encoding == 0) {
			FUZZ_CHECK(h.n_content_length <= 1);
			if (h.n_content_length == 1) {
				char *v = trimmed(h.content_length);
				size_t n = strlen(v);
				FUZZ_CHECK(n >= 1 && n <= 20);
				for (size_t i = 0; i < n; i++)
					FUZZ_CHECK(v[i] >= '0' && v[i] <= '9');
				free(v);
			}
		} else {
			FUZZ_CHECK(h.n_transfer_encoding == 1 && h.n_content_length == 0);
			FUZZ_CHECK(strcmp(version, "HTTP/1.0") != 0);
			char *v = trimmed(h.transfer_encoding);
			FUZZ_CHECK(!strcasecmp(v, "chunked"));
			free(v);
		}
	} else if (err.status == 501) {
		check_error(&err, 501, "unsupported_transfer_encoding");
	} else {
		check_error(&err, 400, "bad_framing");
	}
	struct lh_error err2 = { 0 };
	FUZZ_CHECK(http_policy_framing(&h, version, &err2) == rc);
	FUZZ_CHECK(err2.status == err.status && !strcmp(err2.msg, err.msg));
	lh_error_clear(&err2);
	lh_error_clear(&err);

	/* Host */
	int bare = run_host(&h, version, NULL, &err);
	lh_error_clear(&err);
	int none = run_host(&h, version, "", &err);
	FUZZ_CHECK(none == bare);
	lh_error_clear(&err);
	if (bare == 0 && h.n_host == 1)
		FUZZ_CHECK(host_is_local(h.host) || strspn(h.host, " \t") == strlen(h.host));
	if (!strncmp(version, "HTTP/1.", 7) && version[7] >= '1' && version[7] <= '9' &&
	    version[8] == '\0' && bare == 0)
		FUZZ_CHECK(h.n_host == 1);
	if (list_rc == 0) {
		int listed = run_host(&h, version, allowed, &err);
		if (bare == 0)
			FUZZ_CHECK(listed == 0);
		lh_error_clear(&err);
		FUZZ_CHECK(run_host(&h, version, allowed, &err) == listed);
		lh_error_clear(&err);
	}
	if (run_host(&h, version, "*", &err) != 0)
		FUZZ_CHECK(err.status == 400);
	lh_error_clear(&err);

	/* cross-site */
	rc = http_policy_cross_site(&h, method, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	int safe = !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS");
	if (safe)
		FUZZ_CHECK(rc == 0);
	if (rc == 0 && !safe) {
		FUZZ_CHECK(err.status == 0);
		if (h.n_sec_fetch_site) {
			char *v = trimmed(h.sec_fetch_site);
			FUZZ_CHECK(h.n_sec_fetch_site == 1);
			FUZZ_CHECK(!strcasecmp(v, "same-origin") || !strcasecmp(v, "none"));
			free(v);
		}
		if (h.n_origin) {
			char *v = trimmed(h.origin);
			FUZZ_CHECK(h.n_origin == 1 && h.n_host == 1);
			FUZZ_CHECK(!strncasecmp(v, "http://", 7) || !strncasecmp(v, "https://", 8));
			FUZZ_CHECK(strchr(strstr(v, "//") + 2, '/') == NULL);
			FUZZ_CHECK(strcasecmp(v, "null") != 0);
			free(v);
		}
	} else if (rc == -1) {
		check_error(&err, 403, "cross_site_request");
	}
	FUZZ_CHECK(http_policy_cross_site(&h, method, &err2) == rc);
	lh_error_clear(&err2);
	lh_error_clear(&err);

	/* JSON media type */
	rc = http_policy_json_type(&h, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		char *v = trimmed(h.content_type);
		FUZZ_CHECK(h.n_content_type == 1);
		FUZZ_CHECK(!strncasecmp(v, "application/json", 16));
		FUZZ_CHECK(v[16] == '\0' || v[16] == ';' || v[16] == ' ' || v[16] == '\t');
		free(v);
	} else {
		check_error(&err, 415, "unsupported_media_type");
	}
	lh_error_clear(&err);

out:
	for (size_t i = 0; i < in.n; i++) {
		free(in.line[i]);
		free(in.name[i]);
		free(in.value[i]);
	}
	return 0;
}
