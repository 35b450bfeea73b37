/* cli_http.c — how the client commands talk to the lakehouse: the base URL
 * (LAKEHOUSE_URL), the bearer token (LAKEHOUSE_TOKEN), and one place that
 * turns an unreachable server or an error answer into the single line
 * "lakehouse: <message>" on stderr and exit code 1.
 */
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/url.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_DEFAULT_URL "http://127.0.0.1:8080"

const char *cli_base_url(void)
{
	static char url[1024];
	if (!url[0]) {
		const char *env = getenv("LAKEHOUSE_URL");
		snprintf(url, sizeof url, "%s", env && *env ? env : CLI_DEFAULT_URL);
		size_t n = strlen(url);
		while (n && url[n - 1] == '/')
			url[--n] = '\0';
	}
	return url;
}

char *cli_url(const char *path)
{
	return xasprintf("%s%s", cli_base_url(), path);
}

char *cli_url_encoded(const char *prefix, const char *in, const char *suffix)
{
	char *enc = url_encode(in, 0);
	char *out = xasprintf("%s%s%s", prefix, enc, suffix);
	free(enc);
	return out;
}

char **cli_headers(const char *const *extra)
{
	size_t n = 0;
	while (extra && extra[n])
		n++;
	char **h = xcalloc(n + 3, sizeof *h);
	size_t k = 0;
	const char *token = getenv("LAKEHOUSE_TOKEN");
	if (token && *token)
		h[k++] = xasprintf("Authorization: Bearer %s", token);
	for (size_t i = 0; i < n; i++)
		h[k++] = xstrdup(extra[i]);
	h[k] = NULL;
	return h;
}

void cli_headers_free(char **h)
{
	for (size_t i = 0; h && h[i]; i++)
		free(h[i]);
	free(h);
}

void cli_report_error(long status, const char *body, size_t len)
{
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = j ? json_string_value(json_object_get(j, "error")) : NULL;
	if (msg) {
		fprintf(stderr, "lakehouse: %s\n", msg);
		json_t *line = json_object_get(j, "line");
		if (json_is_integer(line) && !strstr(msg, "line"))
			fprintf(stderr, "lakehouse: (at line %lld)\n",
				(long long)json_integer_value(line));
		json_t *diff = json_object_get(j, "diff");
		size_t i;
		json_t *d;
		json_array_foreach(diff, i, d) {
			const char *col = json_string_value(json_object_get(d, "column"));
			const char *change = json_string_value(json_object_get(d, "change"));
			const char *ot = json_string_value(json_object_get(d, "old_type"));
			const char *nt = json_string_value(json_object_get(d, "new_type"));
			fprintf(stderr, "  %s: %s", col ? col : "?", change ? change : "?");
			if (ot || nt)
				fprintf(stderr, " (%s -> %s)", ot ? ot : "-", nt ? nt : "-");
			fputc('\n', stderr);
		}
	} else {
		fprintf(stderr, "lakehouse: the server answered HTTP %ld%s%.*s\n", status,
			len ? ": " : "", (int)(len > 200 ? 200 : len), body ? body : "");
	}
	json_decref(j);
}

struct catalog_client *cli_catalog_open(void)
{
	char *v1 = cli_url("/v1");
	struct peer_config pc = { .name = "the server", .url = v1,
				  .token = getenv("LAKEHOUSE_TOKEN"), .relay = 1,
				  .max_buffered = LH_CLI_MAX_RESPONSE };
	struct catalog_client *c = catalog_client_create(&pc);
	free(v1);
	return c;
}

/* No answer at all: what cli_send says. */
static void report_unreachable(const struct lh_error *err)
{
	if (!strcmp(err->code, "upstream_unavailable"))
		fprintf(stderr, "lakehouse: cannot reach the lakehouse at %s "
				"(is `lakehouse serve` running? set LAKEHOUSE_URL)\n",
			cli_base_url());
	else if (!strcmp(err->code, "upstream_timeout"))
		fprintf(stderr, "lakehouse: %s did not answer in time\n", cli_base_url());
	else    /* the person at the terminal runs the server: the whole story */
		fprintf(stderr, "lakehouse: %s\n", err->detail[0] ? err->detail : err->msg);
}

int cli_report_call(const struct peer_call *call, const struct lh_error *err)
{
	if (!call->status) {
		report_unreachable(err);
		return CLI_FAILED;
	}
	json_t *j = lh_error_json(err);
	char *text = json_dump_compact(j);
	cli_report_error(call->status, text, strlen(text));
	free(text);
	json_decref(j);
	return CLI_FAILED;
}

int cli_send(struct http_client_request *r, struct http_client_response *resp)
{
	struct lh_error err = { 0 };
	char **headers = cli_headers(r->headers);
	const char *const *saved = r->headers;
	int rc = CLI_OK;

	r->headers = (const char *const *)headers;
	if (!r->max_buffered)
		r->max_buffered = LH_CLI_MAX_RESPONSE;
	if (http_client_do(r, resp, &err) != 0) {
		report_unreachable(&err);
		rc = CLI_FAILED;
	}
	r->headers = saved;
	cli_headers_free(headers);
	lh_error_clear(&err);
	return rc;
}

int cli_do(struct http_client_request *r, struct http_client_response *resp)
{
	int rc = cli_send(r, resp);
	if (rc == CLI_OK && (resp->status < 200 || resp->status >= 300)) {
		cli_report_error(resp->status, resp->body, resp->body_len);
		http_client_response_free(resp);
		rc = CLI_FAILED;
	}
	return rc;
}

int cli_json(const char *method, const char *path, const char *body, json_t **out)
{
	struct http_client_request r;
	struct http_client_response resp;
	const char *hdrs[] = { "Accept: application/json",
			       body ? "Content-Type: application/json" : NULL, NULL };
	char *url = cli_url(path);
	int rc;

	*out = NULL;
	http_client_request_init(&r);
	r.method = method;
	r.url = url;
	r.headers = hdrs;
	if (body) {
		r.body = body;
		r.body_len = strlen(body);
	}
	rc = cli_do(&r, &resp);
	if (rc == CLI_OK) {
		*out = json_loadb(resp.body, resp.body_len, 0, NULL);
		if (!*out) {
			fprintf(stderr, "lakehouse: the server's answer is not JSON\n");
			rc = CLI_FAILED;
		}
		http_client_response_free(&resp);
	}
	free(url);
	return rc;
}

void cli_format_bytes(uint64_t n, char out[16])
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 16, "%llu B", (unsigned long long)n);
	else
		snprintf(out, 16, "%.1f %s", v, units[u]);
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}
