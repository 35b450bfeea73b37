/* test_log.c — the human form of log lines (pure formatters) and the log
 * mode names (ADR 0121). */
#include "test.h"

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"

TEST(log_human_size_units)
{
	char s[16];
	log_human_size(s, 0);
	CHECK_EQ_STR(s, "0 B");
	log_human_size(s, 1023);
	CHECK_EQ_STR(s, "1023 B");
	log_human_size(s, 1024);
	CHECK_EQ_STR(s, "1.0 KiB");
	log_human_size(s, 1229);
	CHECK_EQ_STR(s, "1.2 KiB");
	log_human_size(s, 5ull << 20);
	CHECK_EQ_STR(s, "5.0 MiB");
	log_human_size(s, 3ull << 30);
	CHECK_EQ_STR(s, "3.0 GiB");
	log_human_size(s, UINT64_MAX);
	CHECK_EQ_STR(s, "16777216.0 TiB");
}

TEST(log_human_request_line)
{
	char out[512];
	struct log_request r = {
		.service = "gateway", .request_id = "abc", .method = "POST",
		.path = "/v1/ingest", .query = "name=x", .status = 200,
		.bytes_in = 1229, .bytes_out = 858, .duration_ms = 12.34,
	};
	size_t n = log_human_request(out, sizeof out, "12:03:04", &r, 0, 0);
	CHECK_EQ_STR(out, "12:03:04 POST /v1/ingest?name=x 200 12.3 ms 1.2 KiB in, 858 B out");
	CHECK_EQ_INT(n, strlen(out));

	/* no body sent: one size; no query: no '?'; seconds past 1000 ms */
	struct log_request g = { .service = "gateway", .method = "GET", .path = "/datasets",
				 .query = "", .status = 200, .bytes_out = 12 << 10,
				 .duration_ms = 1500 };
	log_human_request(out, sizeof out, "00:00:01", &g, 0, 0);
	CHECK_EQ_STR(out, "00:00:01 GET /datasets 200 1.50 s 12.0 KiB");

	/* another service's line is prefixed with its name */
	struct log_request q = { .service = "queryd", .method = "POST", .path = "/query",
				 .status = 200, .bytes_out = 5, .duration_ms = 0.04 };
	log_human_request(out, sizeof out, "23:59:59", &q, 1, 0);
	CHECK_EQ_STR(out, "23:59:59 queryd: POST /query 200 0.0 ms 5 B");
}

TEST(log_human_request_errors_in_words)
{
	char out[512];
	struct log_request r = { .service = "gateway", .method = "GET",
				 .path = "/v1/catalog/manifest/nope", .status = 404,
				 .bytes_out = 56, .duration_ms = 0.5,
				 .message = "no dataset named \"nope\"" };
	log_human_request(out, sizeof out, "12:00:00", &r, 0, 0);
	CHECK_EQ_STR(out, "12:00:00 GET /v1/catalog/manifest/nope 404 0.5 ms 56 B - "
			  "no dataset named \"nope\"");

	/* a 5xx shows the internal detail (the operator's view) over the message */
	r.status = 500;
	r.error = "sqlite: disk I/O error";
	r.message = "the catalog failed";
	log_human_request(out, sizeof out, "12:00:00", &r, 0, 0);
	CHECK(strstr(out, " 500 ") != NULL);
	CHECK(strstr(out, " - sqlite: disk I/O error") != NULL);
	CHECK(strstr(out, "the catalog failed") == NULL);

	/* a success never carries a message, even if one was recorded */
	r.status = 200;
	r.error = NULL;
	r.message = "stale";
	log_human_request(out, sizeof out, "12:00:00", &r, 0, 0);
	CHECK(strstr(out, "stale") == NULL);
}

/* ADR 0130: an error's log-only detail (a peer's URL and reason) follows
 * the message in parentheses; the client never saw it. */
TEST(log_human_request_error_detail)
{
	char out[512];
	struct log_request r = { .service = "ingestd", .method = "POST", .path = "/ingest",
				 .status = 502, .bytes_out = 80, .duration_ms = 2,
				 .error = "the object store is not reachable",
				 .message = "the object store is not reachable",
				 .detail = "http://127.0.0.1:9/storage/put/k failed: Couldn't connect "
					   "to server" };
	log_human_request(out, sizeof out, "12:00:00", &r, 1, 0);
	CHECK_EQ_STR(out, "12:00:00 ingestd: POST /ingest 502 2.0 ms 80 B - the object store is "
			  "not reachable (http://127.0.0.1:9/storage/put/k failed: Couldn't "
			  "connect to server)");
	/* cleaned like any message; none on a success */
	r.detail = "x\ny\033[2J";
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	CHECK(strstr(out, " (x?y?[2J)") != NULL);
	r.status = 200;
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	CHECK(strchr(out, '(') == NULL);
}

TEST(log_human_request_colours_only_failures)
{
	char out[512];
	struct log_request r = { .service = "s", .method = "GET", .path = "/x", .status = 200 };
	log_human_request(out, sizeof out, "t", &r, 0, 1);
	CHECK(strchr(out, '\033') == NULL);
	r.status = 404;
	log_human_request(out, sizeof out, "t", &r, 0, 1);
	CHECK(strstr(out, " \033[33m404\033[0m ") != NULL);
	r.status = 503;
	log_human_request(out, sizeof out, "t", &r, 0, 1);
	CHECK(strstr(out, " \033[31m503\033[0m ") != NULL);
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	CHECK(strchr(out, '\033') == NULL);
}

/* Client data can never put an escape sequence on the operator's terminal. */
TEST(log_human_request_cleans_client_data)
{
	char out[512];
	struct log_request r = {
		.service = "s", .method = "GET",
		.path = "/a\033[2J\x7f\n\xc2\x9b" "b\xff\xe9t\xc3\xa9",
		.query = "x=\033]0;title\007", .status = 400,
		.message = "bad \033[31m",
	};
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	CHECK_EQ_STR(out, "t GET /a?[2J????b??t\xc3\xa9?x=?]0;title? 400 0.0 ms 0 B - bad ?[31m");
	for (const char *p = out; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);

	/* overlong, surrogate and beyond-U+10FFFF sequences are not printable */
	r.path = "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xf0\x9f\x98\x80";
	r.query = NULL;
	r.message = NULL;
	r.status = 200;
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	CHECK_EQ_STR(out, "t GET ?????????\xf0\x9f\x98\x80 200 0.0 ms 0 B");
}

TEST(log_human_request_cuts_long_data)
{
	char path[LH_LOG_HUMAN_PATH_MAX + 50], out[LH_LOG_HUMAN_LINE_MAX];
	memset(path, 'a', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	struct log_request r = { .service = "s", .method = "GET", .path = path, .status = 200 };
	log_human_request(out, sizeof out, "t", &r, 0, 0);
	const char *dots = strstr(out, "...");
	CHECK(dots != NULL);
	CHECK_EQ_INT(dots - (out + strlen("t GET ")), LH_LOG_HUMAN_PATH_MAX);

	/* a small buffer: cut, terminated, length reported */
	char tiny[12];
	size_t n = log_human_request(tiny, sizeof tiny, "12:03:04", &r, 0, 0);
	CHECK_EQ_INT(n, sizeof tiny - 1);
	CHECK_EQ_STR(tiny, "12:03:04 GE");
	CHECK_EQ_INT(log_human_request(tiny, 0, "t", &r, 0, 0), 0);
}

TEST(log_human_event_line)
{
	char out[512];
	log_human_event(out, sizeof out, "12:03:04", "info", "gateway",
			"gateway: storaged -> http://127.0.0.1:1", 0);
	CHECK_EQ_STR(out, "12:03:04 gateway: storaged -> http://127.0.0.1:1");
	log_human_event(out, sizeof out, "12:03:04", "warn", "gateway",
			"queryd http://127.0.0.1:2 is unreachable: health check failed", 0);
	CHECK_EQ_STR(out, "12:03:04 warning: gateway: queryd http://127.0.0.1:2 is "
			  "unreachable: health check failed");
	log_human_event(out, sizeof out, "12:03:04", "error", "ingestd", "parquet conversion: x", 0);
	CHECK_EQ_STR(out, "12:03:04 error: ingestd: parquet conversion: x");
	/* "gatewayd: ..." is not the gateway's own prefix */
	log_human_event(out, sizeof out, "t", "info", "gateway", "gatewayd: x", 0);
	CHECK_EQ_STR(out, "t gateway: gatewayd: x");
	log_human_event(out, sizeof out, "t", "warn", "s", "m", 1);
	CHECK_EQ_STR(out, "t \033[33mwarning:\033[0m s: m");
	log_human_event(out, sizeof out, "t", "info", "s", "a\nb\033c", 1);
	CHECK_EQ_STR(out, "t s: a?b?c");
}

TEST(log_mode_names)
{
	enum log_mode m = LOG_MODE_HUMAN;
	CHECK_EQ_INT(log_mode_parse("auto", &m), 0);
	CHECK_EQ_INT(m, LOG_MODE_AUTO);
	CHECK_EQ_INT(log_mode_parse("json", &m), 0);
	CHECK_EQ_INT(m, LOG_MODE_JSON);
	CHECK_EQ_INT(log_mode_parse("human", &m), 0);
	CHECK_EQ_INT(m, LOG_MODE_HUMAN);
	CHECK_EQ_INT(log_mode_parse("quiet", &m), 0);
	CHECK_EQ_INT(m, LOG_MODE_QUIET);
	CHECK_EQ_INT(log_mode_parse("JSON", &m), -1);
	CHECK_EQ_INT(log_mode_parse("debug", &m), -1);
	CHECK_EQ_INT(log_mode_parse("", &m), -1);
	CHECK_EQ_INT(log_mode_parse(NULL, &m), -1);
	CHECK_EQ_INT(m, LOG_MODE_QUIET);   /* untouched on failure */
}

/* lakehouse.toml's top-level `log`; LAKEHOUSE_LOG stays the CLI's and
 * service.c's (config_apply_env leaves it alone). */
TEST(log_config_key)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_STR(c.log, "");
	const char *good = "log = \"human\"\n[http]\nmax_connections = 10\n";
	CHECK_EQ_INT(config_parse_toml(&c, good, strlen(good), "lakehouse.toml", &err), 0);
	CHECK_EQ_STR(c.log, "human");
	const char *bad = "log = \"loud\"\n";
	CHECK_EQ_INT(config_parse_toml(&c, bad, strlen(bad), "lakehouse.toml", &err), -1);
	CHECK(strstr(err.msg, "quiet") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_STR(c.log, "human");
	char *env[] = { "LAKEHOUSE_LOG=whatever", NULL };
	CHECK_EQ_INT(config_apply_env(&c, env, &err), 0);
	CHECK_EQ_STR(c.log, "human");
}
