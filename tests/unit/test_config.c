/* test_config.c — unit tests for src/common/config.c: defaults, every value
 * type, the TOML subset and each of its error classes (with line numbers),
 * LAKEHOUSE_* variables, config_set, config_load and config_finish.
 */
#include "test.h"

#include "documents/documents.h"

#include "common/config.h"
#include "common/error.h"
#include "common/limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Parse `text` (copied into an exact-size heap buffer, so ASan sees any read
 * past `len`) over `cfg`. */
static int parse(struct lh_config *cfg, const char *text, struct lh_error *err)
{
	size_t n = strlen(text);
	char *buf = malloc(n ? n : 1);
	memcpy(buf, text, n);
	int rc = config_parse_toml(cfg, buf, n, "lakehouse.toml", err);
	free(buf);
	return rc;
}

/* The `line` field of a parse error, or -1. */
static long long err_line(const struct lh_error *err)
{
	json_t *l = err->extra ? json_object_get(err->extra, "line") : NULL;
	return json_is_integer(l) ? json_integer_value(l) : -1;
}

/* Parse a bad document: expect failure at `line` with `needle` in the message,
 * the configuration untouched. Returns 1 if all of that holds. */
static int bad_toml(const char *text, long long line, const char *needle)
{
	struct lh_config cfg, before;
	struct lh_error err = { 0 };
	config_defaults(&cfg);
	before = cfg;
	int ok = parse(&cfg, text, &err) == -1 && err.status == 400 &&
		 strcmp(err.code, "bad_config") == 0 && err_line(&err) == line &&
		 strstr(err.msg, needle) != NULL && memcmp(&cfg, &before, sizeof cfg) == 0;
	if (!ok)
		fprintf(stderr, "  bad_toml(%s): rc/line/msg: line %lld, \"%s\"\n", text,
			err_line(&err), err.msg);
	lh_error_clear(&err);
	return ok;
}

/* config_set, expecting a "bad_config" error on failure; returns its rc. */
static int set1(struct lh_config *cfg, const char *sec, const char *key, const char *val)
{
	struct lh_error err = { 0 };
	int rc = config_set(cfg, sec, key, val, &err);
	if (rc && strcmp(err.code, "bad_config") != 0)
		rc = -2;
	lh_error_clear(&err);
	return rc;
}

TEST(config_defaults)
{
	struct lh_config c;
	config_defaults(&c);
	CHECK_EQ_STR(c.data_dir, "./lakehouse-data");
	CHECK_EQ_STR(c.gateway.bind, "127.0.0.1:8080");
	CHECK_EQ_STR(c.storaged.bind, "127.0.0.1:0");
	CHECK_EQ_STR(c.catalogd.bind, "127.0.0.1:0");
	CHECK_EQ_STR(c.ingestd.bind, "127.0.0.1:0");
	CHECK_EQ_STR(c.queryd.bind, "127.0.0.1:0");
	CHECK_EQ_STR(c.gateway.storaged_url, "");
	CHECK_EQ_STR(c.gateway.queryd_url, "");
	CHECK_EQ_INT(c.gateway.upstream_timeout_ms, 600000);
	CHECK_EQ_STR(c.storaged.backend, "disk");
	CHECK_EQ_STR(c.storaged.root, "");
	CHECK_EQ_INT(c.storaged.max_object_bytes, LH_DEFAULT_MAX_OBJECT_BYTES);
	CHECK_EQ_STR(c.storaged.s3_region, "us-east-1");
	CHECK_EQ_STR(c.storaged.s3_bucket, "");
	CHECK_EQ_STR(c.catalogd.backend, "sqlite");
	CHECK_EQ_STR(c.catalogd.sqlite_path, "");
	CHECK_EQ_INT(c.ingestd.max_upload_bytes, LH_DEFAULT_MAX_UPLOAD_BYTES);
	CHECK_EQ_INT(c.ingestd.duckdb_memory_bytes, 384ll << 20);
	CHECK_EQ_INT(c.ingestd.duckdb_threads, 2);
	CHECK_EQ_INT(c.queryd.timeout_ms, LH_DEFAULT_QUERY_TIMEOUT_MS);
	CHECK_EQ_INT(c.queryd.cache_bytes, LH_DEFAULT_CACHE_BYTES);
	CHECK_EQ_INT(c.queryd.duckdb_memory_bytes, 1ll << 30);
	CHECK_EQ_INT(c.queryd.duckdb_threads, 2);
	CHECK_EQ_INT(c.queryd.max_rows, 0);
	CHECK_EQ_INT(c.auth.n_read_tokens, 0);
	CHECK_EQ_INT(c.auth.n_write_tokens, 0);
	CHECK_EQ_INT(c.http.connection_timeout_s, LH_HTTP_CONNECTION_TIMEOUT_S);
	CHECK_EQ_INT(c.http.max_connections, LH_HTTP_MAX_CONNECTIONS);
}

static const char every_key[] =
	"# every key of lakehouse.toml\n"
	"data_dir = \"/srv/lh\"\n"
	"\n"
	"[gateway]\n"
	"bind = \"0.0.0.0:9000\"\n"
	"storaged_url = \"http://10.0.0.1:8081\"\n"
	"catalogd_url = \"http://10.0.0.1:8082\"\n"
	"ingestd_url = \"http://10.0.0.1:8083\"\n"
	"queryd_url = \"https://q.example:8084\"\n"
	"upstream_timeout_ms = \"2m\"\n"
	"[storaged]\n"
	"bind = \"127.0.0.1:8081\"\n"
	"backend = \"s3\"\n"
	"root = \"/mnt/objects\"\n"
	"max_object_bytes = \"1GiB\"\n"
	"s3_endpoint = \"http://minio:9000\"\n"
	"s3_bucket = \"lake\"\n"
	"s3_region = \"eu-west-1\"\n"
	"[catalogd]\n"
	"bind = \"127.0.0.1:8082\"\n"
	"backend = \"postgres\"\n"
	"sqlite_path = \"/tmp/c.db\"\n"
	"postgres_dsn = \"host=db user=lh\"\n"
	"storaged_url = \"http://s:0\"\n"
	"[ingestd]\n"
	"bind = \"127.0.0.1:8083\"\n"
	"max_upload_bytes = 1_048_576\n"
	"spool_dir = \"/tmp/spool\"\n"
	"storaged_url = \"http://s:1\"\n"
	"catalogd_url = \"http://c:2\"\n"
	"duckdb_memory_bytes = \"512M\"\n"
	"duckdb_threads = 8\n"
	"[queryd]\n"
	"bind = \"127.0.0.1:8084\"\n"
	"timeout_ms = 45000\n"
	"cache_bytes = \"10G\"\n"
	"cache_dir = \"/tmp/cache\"\n"
	"duckdb_memory_bytes = \"2GiB\"\n"
	"duckdb_threads = 4\n"
	"max_rows = 100000\n"
	"storaged_url = \"http://s:3\"\n"
	"catalogd_url = \"http://c:4\"\n"
	"[auth]\n"
	"read_tokens = [\"r1\", \"r2\"]\n"
	"write_tokens = [\"w1\"]\n"
	"[http]\n"
	"connection_timeout_s = 60\n"
	"max_connections = 100\n";

TEST(config_toml_every_key)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c, every_key, &err), 0);
	CHECK_EQ_STR(c.data_dir, "/srv/lh");
	CHECK_EQ_STR(c.gateway.bind, "0.0.0.0:9000");
	CHECK_EQ_STR(c.gateway.storaged_url, "http://10.0.0.1:8081");
	CHECK_EQ_STR(c.gateway.catalogd_url, "http://10.0.0.1:8082");
	CHECK_EQ_STR(c.gateway.ingestd_url, "http://10.0.0.1:8083");
	CHECK_EQ_STR(c.gateway.queryd_url, "https://q.example:8084");
	CHECK_EQ_INT(c.gateway.upstream_timeout_ms, 120000);
	CHECK_EQ_STR(c.storaged.bind, "127.0.0.1:8081");
	CHECK_EQ_STR(c.storaged.backend, "s3");
	CHECK_EQ_STR(c.storaged.root, "/mnt/objects");
	CHECK_EQ_INT(c.storaged.max_object_bytes, 1ll << 30);
	CHECK_EQ_STR(c.storaged.s3_endpoint, "http://minio:9000");
	CHECK_EQ_STR(c.storaged.s3_bucket, "lake");
	CHECK_EQ_STR(c.storaged.s3_region, "eu-west-1");
	CHECK_EQ_STR(c.catalogd.bind, "127.0.0.1:8082");
	CHECK_EQ_STR(c.catalogd.backend, "postgres");
	CHECK_EQ_STR(c.catalogd.sqlite_path, "/tmp/c.db");
	CHECK_EQ_STR(c.catalogd.postgres_dsn, "host=db user=lh");
	CHECK_EQ_STR(c.catalogd.storaged_url, "http://s:0");
	CHECK_EQ_STR(c.ingestd.bind, "127.0.0.1:8083");
	CHECK_EQ_INT(c.ingestd.max_upload_bytes, 1048576);
	CHECK_EQ_STR(c.ingestd.spool_dir, "/tmp/spool");
	CHECK_EQ_STR(c.ingestd.storaged_url, "http://s:1");
	CHECK_EQ_STR(c.ingestd.catalogd_url, "http://c:2");
	CHECK_EQ_INT(c.ingestd.duckdb_memory_bytes, 512ll << 20);
	CHECK_EQ_INT(c.ingestd.duckdb_threads, 8);
	CHECK_EQ_STR(c.queryd.bind, "127.0.0.1:8084");
	CHECK_EQ_INT(c.queryd.timeout_ms, 45000);
	CHECK_EQ_INT(c.queryd.cache_bytes, 10ll << 30);
	CHECK_EQ_STR(c.queryd.cache_dir, "/tmp/cache");
	CHECK_EQ_INT(c.queryd.duckdb_memory_bytes, 2ll << 30);
	CHECK_EQ_INT(c.queryd.duckdb_threads, 4);
	CHECK_EQ_INT(c.queryd.max_rows, 100000);
	CHECK_EQ_STR(c.queryd.storaged_url, "http://s:3");
	CHECK_EQ_STR(c.queryd.catalogd_url, "http://c:4");
	CHECK_EQ_INT(c.auth.n_read_tokens, 2);
	CHECK_EQ_STR(c.auth.read_tokens[0], "r1");
	CHECK_EQ_STR(c.auth.read_tokens[1], "r2");
	CHECK_EQ_INT(c.auth.n_write_tokens, 1);
	CHECK_EQ_STR(c.auth.write_tokens[0], "w1");
	CHECK_EQ_INT(c.http.connection_timeout_s, 60);
	CHECK_EQ_INT(c.http.max_connections, 100);
	CHECK_EQ_INT(err.status, 0);
}

TEST(config_toml_strings)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c,
			   "[catalogd]\n"
			   "postgres_dsn = \"a\\\"b\\\\c\\nd\\te\"\n"
			   "[storaged]\n"
			   "s3_bucket = 'C:\\raw\\path'\n"
			   "s3_endpoint = \"\"\n",
			   &err),
		     0);
	CHECK_EQ_STR(c.catalogd.postgres_dsn, "a\"b\\c\nd\te");
	CHECK_EQ_STR(c.storaged.s3_bucket, "C:\\raw\\path");
	CHECK_EQ_STR(c.storaged.s3_endpoint, "");
	/* a '#' inside a string is not a comment */
	CHECK_EQ_INT(parse(&c, "[storaged]\ns3_bucket = \"a#b\" # c\n", &err), 0);
	CHECK_EQ_STR(c.storaged.s3_bucket, "a#b");
}

TEST(config_toml_comments_and_layout)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c,
			   "\xEF\xBB\xBF# a BOM, then a comment\r\n"
			   "\r\n"
			   "   \t\n"
			   "data_dir=\"d\"# no spaces\r\n"
			   "  [ queryd ]   # header comment\n"
			   "\tmax_rows   =   -0   \n"
			   "duckdb_threads = +3 # plus sign\n"
			   "timeout_ms = 10 # last line, no newline",
			   &err),
		     0);
	CHECK_EQ_STR(c.data_dir, "d");
	CHECK_EQ_INT(c.queryd.max_rows, 0);
	CHECK_EQ_INT(c.queryd.duckdb_threads, 3);
	CHECK_EQ_INT(c.queryd.timeout_ms, 10);
	/* empty text and a comment-only text change nothing */
	struct lh_config d, before;
	config_defaults(&d);
	before = d;
	CHECK_EQ_INT(config_parse_toml(&d, NULL, 0, NULL, &err), 0);
	CHECK_EQ_INT(parse(&d, "# nothing\n\n", &err), 0);
	CHECK(memcmp(&d, &before, sizeof d) == 0);
}

TEST(config_size_suffixes)
{
	static const struct {
		const char *in;
		unsigned long long want;
	} ok[] = {
		{ "0", 0 }, { "1024", 1024 }, { "512B", 512 }, { "1K", 1024 }, { "1KiB", 1024 },
		{ "64k", 65536 }, { "256MiB", 256ull << 20 }, { "3M", 3ull << 20 },
		{ "3 MiB", 3ull << 20 }, { "2G", 2ull << 30 }, { "1GiB", 1ull << 30 },
		{ "1TiB", 1ull << 40 }, { "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = {
		"", "MiB", "12XB", "-1", "1.5G", " 5", "5 ", "5  M", "0x10", "1KiBx",
		"18446744073709551616", "99999999999999999999999", "17179869184G",
	};
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK_EQ_INT(config_set(&c, "storaged", "max_object_bytes", ok[i].in, &err), 0);
		CHECK(c.storaged.max_object_bytes == ok[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c.storaged.max_object_bytes = 7;
		if (config_set(&c, "storaged", "max_object_bytes", bad[i], &err) != -1) {
			fprintf(stderr, "  accepted size \"%s\"\n", bad[i]);
			CHECK(0);
		}
		CHECK_EQ_INT(c.storaged.max_object_bytes, 7);
		CHECK(strstr(err.msg, "storaged.max_object_bytes") != NULL);
		lh_error_clear(&err);
	}
	/* in the file: a bare integer is bytes, a unit needs quotes */
	CHECK_EQ_INT(parse(&c, "[ingestd]\nmax_upload_bytes = 4096\n", &err), 0);
	CHECK_EQ_INT(c.ingestd.max_upload_bytes, 4096);
	CHECK_EQ_INT(parse(&c, "[ingestd]\nmax_upload_bytes = \"8KiB\"\n", &err), 0);
	CHECK_EQ_INT(c.ingestd.max_upload_bytes, 8192);
	CHECK(bad_toml("[ingestd]\nmax_upload_bytes = 8KiB\n", 2, "quote sizes"));
}

TEST(config_durations)
{
	static const struct {
		const char *in;
		unsigned want;
	} ok[] = {
		{ "0", 0 }, { "1500", 1500 }, { "250ms", 250 }, { "30s", 30000 },
		{ "5m", 300000 }, { "2h", 7200000 }, { "1 s", 1000 }, { "4294967295", 4294967295u },
	};
	static const char *const bad[] = {
		"", "s", "5x", "-1", "1.5s", "5 m s", "4294967296", "1194h", "5d",
	};
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK_EQ_INT(config_set(&c, "queryd", "timeout_ms", ok[i].in, &err), 0);
		CHECK_EQ_INT(c.queryd.timeout_ms, ok[i].want);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_set(&c, "gateway", "upstream_timeout_ms", bad[i], &err) != -1) {
			fprintf(stderr, "  accepted duration \"%s\"\n", bad[i]);
			CHECK(0);
		}
		lh_error_clear(&err);
	}
	CHECK_EQ_INT(c.gateway.upstream_timeout_ms, 600000);
	CHECK_EQ_INT(parse(&c, "[gateway]\nupstream_timeout_ms = \"90s\"\n", &err), 0);
	CHECK_EQ_INT(c.gateway.upstream_timeout_ms, 90000);
}

TEST(config_integers)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "ingestd", "duckdb_threads", "16", &err), 0);
	CHECK_EQ_INT(c.ingestd.duckdb_threads, 16);
	CHECK_EQ_INT(config_set(&c, "ingestd", "duckdb_threads", "0", &err), -1);
	CHECK(strstr(err.msg, "at least 1") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "http", "max_connections", "4294967296", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "http", "max_connections", "4294967295", &err), 0);
	CHECK_EQ_INT(c.http.max_connections, 4294967295u);
	CHECK_EQ_INT(config_set(&c, "http", "connection_timeout_s", "5s", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "max_rows", "9223372036854775807", &err), 0);
	CHECK(c.queryd.max_rows == INT64_MAX);
	CHECK_EQ_INT(config_set(&c, "queryd", "max_rows", "9223372036854775808", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "max_rows", "-1", &err), -1);
	CHECK(strstr(err.msg, "at least 0") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "max_rows", "-", &err), -1);
	lh_error_clear(&err);
	CHECK(c.queryd.max_rows == INT64_MAX);
	/* TOML integers: signs, underscores between digits only */
	CHECK_EQ_INT(parse(&c, "[queryd]\nmax_rows = 1_000\n", &err), 0);
	CHECK_EQ_INT(c.queryd.max_rows, 1000);
	CHECK(bad_toml("[queryd]\nmax_rows = 1__0\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = _1\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = 1_\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = 1.5\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = 007\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = 0_1\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = +\n", 2, "bad value"));
	CHECK(bad_toml("[queryd]\nmax_rows = 123456789012345678901234567890123\n", 2,
		       "out of range"));
}

TEST(config_token_arrays)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c, "[auth]\nread_tokens = [ \"a\" ,'b',\"c\", ]\nwrite_tokens = []\n",
			   &err),
		     0);
	CHECK_EQ_INT(c.auth.n_read_tokens, 3);
	CHECK_EQ_STR(c.auth.read_tokens[2], "c");
	CHECK_EQ_INT(c.auth.n_write_tokens, 0);
	/* the env/flag form is comma-separated; a shorter list clears the rest */
	CHECK_EQ_INT(config_set(&c, "auth", "read_tokens", " x , y", &err), 0);
	CHECK_EQ_INT(c.auth.n_read_tokens, 2);
	CHECK_EQ_STR(c.auth.read_tokens[0], "x");
	CHECK_EQ_STR(c.auth.read_tokens[1], "y");
	CHECK_EQ_STR(c.auth.read_tokens[2], "");
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", "", &err), 0);
	CHECK_EQ_INT(c.auth.n_write_tokens, 0);
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", "a,,b", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", "a,", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", "has space", &err), -1);
	lh_error_clear(&err);
	/* 16 fit, 17 do not */
	char list[256] = "", big[160];
	size_t o = 0;
	for (int i = 0; i < LH_CFG_MAX_TOKENS; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%st%d", i ? "," : "", i);
	CHECK_EQ_INT(config_set(&c, "auth", "read_tokens", list, &err), 0);
	CHECK_EQ_INT(c.auth.n_read_tokens, LH_CFG_MAX_TOKENS);
	snprintf(list + o, sizeof list - o, ",t16");
	CHECK_EQ_INT(config_set(&c, "auth", "read_tokens", list, &err), -1);
	CHECK(strstr(err.msg, "too many") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(c.auth.n_read_tokens, LH_CFG_MAX_TOKENS);
	/* 127 bytes fit, 128 do not */
	memset(big, 'x', 127);
	big[127] = '\0';
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", big, &err), 0);
	CHECK_EQ_INT(strlen(c.auth.write_tokens[0]), 127);
	big[127] = 'x';
	big[128] = '\0';
	CHECK_EQ_INT(config_set(&c, "auth", "write_tokens", big, &err), -1);
	lh_error_clear(&err);
	/* file errors */
	CHECK(bad_toml("[auth]\nread_tokens = \"a\"\n", 2, "expected an array of strings"));
	CHECK(bad_toml("[auth]\nread_tokens = [\"a\"\n", 2, "unterminated array"));
	CHECK(bad_toml("[auth]\nread_tokens = [1, 2]\n", 2, "only arrays of strings"));
	CHECK(bad_toml("[auth]\nread_tokens = [\"a\" \"b\"]\n", 2, "expected ',' or ']'"));
	CHECK(bad_toml("[auth]\nread_tokens = [\"\"]\n", 2, "empty token"));
	CHECK(bad_toml("[auth]\nread_tokens = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
		       "\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]\n",
		       2, "too many"));
	CHECK(bad_toml("[storaged]\nbind = [\"a:1\"]\n", 2, "expected a string, got an array"));
}

TEST(config_binds)
{
	static const char *const ok[] = {
		"127.0.0.1:0", "0.0.0.0:65535", "[::1]:8080", "[::]:80", "localhost:80", "my-host.lan:1",
	};
	static const char *const bad[] = {
		"8080", ":80", "host:", "host:65536", "host:-1", "::1:80", "host:80x", "host :80",
		"[::1:80", "[]:80", "host:000080", "",
	};
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		CHECK_EQ_INT(config_set(&c, "ingestd", "bind", ok[i], &err), 0);
		CHECK_EQ_STR(c.ingestd.bind, ok[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (config_set(&c, "gateway", "bind", bad[i], &err) != -1) {
			fprintf(stderr, "  accepted bind \"%s\"\n", bad[i]);
			CHECK(0);
		}
		lh_error_clear(&err);
	}
	CHECK_EQ_STR(c.gateway.bind, "127.0.0.1:8080");
}

TEST(config_enums_and_urls)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "storaged", "backend", "s3", &err), 0);
	CHECK_EQ_INT(config_set(&c, "storaged", "backend", "S3", &err), -1);
	CHECK(strstr(err.msg, "one of: disk, s3") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "catalogd", "backend", "mysql", &err), -1);
	CHECK(strstr(err.msg, "one of: sqlite, postgres") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_STR(c.catalogd.backend, "sqlite");
	CHECK_EQ_INT(config_set(&c, "catalogd", "backend", "postgres", &err), 0);
	CHECK_EQ_INT(config_set(&c, "queryd", "storaged_url", "ftp://x", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "storaged_url", "http://", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "storaged_url", "http://a b", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "queryd", "storaged_url", "http://127.0.0.1:9", &err), 0);
	CHECK_EQ_INT(config_set(&c, "queryd", "storaged_url", "", &err), 0);
	CHECK(bad_toml("[storaged]\nbackend = \"nfs\"\n", 2,
		       "bad value for backend in [storaged]: \"nfs\" is not one of: disk, s3"));
}

TEST(config_long_strings)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	char s[700];
	config_defaults(&c);
	memset(s, 'a', sizeof s - 1);
	s[sizeof s - 1] = '\0';
	s[LH_CFG_STR - 1] = '\0'; /* 511 bytes: fits */
	CHECK_EQ_INT(config_set(&c, "catalogd", "postgres_dsn", s, &err), 0);
	CHECK_EQ_INT(strlen(c.catalogd.postgres_dsn), LH_CFG_STR - 1);
	s[LH_CFG_STR - 1] = 'a'; /* 699: too long, field unchanged */
	CHECK_EQ_INT(config_set(&c, "catalogd", "postgres_dsn", s, &err), -1);
	CHECK(strstr(err.msg, "too long") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(strlen(c.catalogd.postgres_dsn), LH_CFG_STR - 1);
	/* s3_region is char[64] */
	s[64] = '\0';
	CHECK_EQ_INT(config_set(&c, "storaged", "s3_region", s, &err), -1);
	lh_error_clear(&err);
	s[63] = '\0';
	CHECK_EQ_INT(config_set(&c, "storaged", "s3_region", s, &err), 0);
	/* in the file */
	char doc[800];
	memset(s, 'b', sizeof s - 1);
	s[600] = '\0';
	snprintf(doc, sizeof doc, "[storaged]\ns3_bucket = \"%s\"\n", s);
	CHECK(bad_toml(doc, 2, "too long"));
	s[100] = '\0';
	snprintf(doc, sizeof doc, "\n\n[storaged]\ns3_region = \"%s\"\n", s);
	CHECK(bad_toml(doc, 4, "too long"));
	/* data_dir keeps room for "/catalog.db" */
	memset(s, 'd', sizeof s - 1);
	s[500] = '\0';
	CHECK_EQ_INT(config_set(&c, "", "data_dir", s, &err), 0);
	s[500] = 'd';
	s[501] = '\0';
	CHECK_EQ_INT(config_set(&c, "", "data_dir", s, &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, NULL, "data_dir", "", &err), -1);
	lh_error_clear(&err);
}

TEST(config_toml_error_unknown_section)
{
	CHECK(bad_toml("[gateway]\nbind = \"127.0.0.1:1\"\n\n[storage]\n", 4,
		       "lakehouse.toml:4: unknown section [storage]"));
	CHECK(bad_toml("[gateway.tls]\n", 1, "bad section header"));
}

TEST(config_toml_error_unknown_key)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c, "# c\n[storaged]\n\nbnid = \"127.0.0.1:1\"\n", &err), -1);
	CHECK_EQ_STR(err.msg, "lakehouse.toml:4: unknown key \"bnid\" in [storaged]");
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_config");
	CHECK_EQ_INT(err_line(&err), 4);
	/* the error renders as JSON with the line */
	json_t *j = lh_error_json(&err);
	CHECK(j != NULL);
	CHECK_EQ_INT(json_integer_value(json_object_get(j, "line")), 4);
	json_decref(j);
	lh_error_clear(&err);
	CHECK(bad_toml("bind = \"x:1\"\n", 1, "unknown top-level key \"bind\""));
	CHECK(bad_toml("[gateway]\ndata_dir = \"x\"\n", 2, "top-level keys go before any [section]"));
	/* another file name labels the message */
	CHECK_EQ_INT(config_parse_toml(&c, "x = 1", 5, "/etc/lh.toml", &err), -1);
	CHECK_EQ_STR(err.msg, "/etc/lh.toml:1: unknown top-level key \"x\"");
	lh_error_clear(&err);
}

TEST(config_toml_error_bad_value)
{
	CHECK(bad_toml("[gateway]\nbind = 8080\n", 2,
		       "lakehouse.toml:2: bad value for bind in [gateway]: expected a string, got an integer"));
	CHECK(bad_toml("[gateway]\nbind = \"nope\"\n", 2, "is not HOST:PORT"));
	CHECK(bad_toml("\n[queryd]\nduckdb_threads = true\n", 3, "got a boolean"));
	CHECK(bad_toml("[queryd]\ncache_bytes = \"lots\"\n", 2, "expected a size"));
	CHECK(bad_toml("[queryd]\ntimeout_ms = \"soon\"\n", 2, "expected a duration"));
	CHECK(bad_toml("[storaged]\nbackend = disk\n", 2, "strings must be in double quotes"));
	CHECK(bad_toml("[storaged]\ns3_bucket = \"a\\qb\"\n", 2, "unsupported escape"));
	CHECK(bad_toml("[storaged]\ns3_bucket = \"a\tb\x01\"\n", 2, "control character"));
}

TEST(config_toml_error_duplicate)
{
	CHECK(bad_toml("[storaged]\nbind = \"a:1\"\nbackend = \"disk\"\nbind = \"a:2\"\n", 4,
		       "duplicate key \"bind\" in [storaged]"));
	CHECK(bad_toml("data_dir = \"a\"\ndata_dir = \"b\"\n", 2, "duplicate key \"data_dir\""));
	CHECK(bad_toml("[http]\n[queryd]\n[http]\n", 3, "duplicate section [http]"));
	/* the same key name in two sections is not a duplicate */
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(parse(&c, "[storaged]\nbind=\"a:1\"\n[catalogd]\nbind=\"a:2\"\n", &err), 0);
}

TEST(config_toml_error_syntax)
{
	CHECK(bad_toml("[gateway]\nbind \"a:1\"\n", 2, "expected '='"));
	CHECK(bad_toml("[gateway]\nbind =\n", 2, "missing value"));
	CHECK(bad_toml("[gateway]\nbind = \"a:1\n", 2, "unterminated string"));
	CHECK(bad_toml("[gateway]\nbind = \"a:1\\", 2, "unterminated string"));
	CHECK(bad_toml("[gateway]\nbind = \"a:1\" x\n", 2, "after the value"));
	CHECK(bad_toml("[gateway\n", 1, "bad section header"));
	CHECK(bad_toml("[gateway] x\n", 1, "after the section header"));
	CHECK(bad_toml("[[gateway]]\n", 1, "arrays of tables"));
	CHECK(bad_toml("[]\n", 1, "bad section header"));
	CHECK(bad_toml("gateway.bind = \"a:1\"\n", 1, "dotted keys"));
	CHECK(bad_toml("\"bind\" = \"a:1\"\n", 1, "quoted keys"));
	CHECK(bad_toml("= 1\n", 1, "expected a key"));
	CHECK(bad_toml("[storaged]\ns3_bucket = \"\"\"x\"\"\"\n", 2, "multi-line"));
	CHECK(bad_toml("\n\n\n\n\n\n\n\n\n\n\n[queryd]\nmax_rows = 1 2\n", 13, "lakehouse.toml:13:"));
	/* NUL bytes are just bad bytes, not the end of the text */
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(config_parse_toml(&c, "\n[http]\0\n", 9, NULL, &err), -1);
	CHECK_EQ_INT(err_line(&err), 2);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_parse_toml(&c, "[http]\nmax_connections = 5\0", 27, NULL, &err), -1);
	CHECK_EQ_INT(err_line(&err), 2);
	CHECK(strstr(err.msg, "bad value") != NULL);
	lh_error_clear(&err);
}

/* Every prefix of a rich document parses or fails cleanly, never reading past
 * len (the buffer is exact-size: ASan would catch it). */
TEST(config_toml_prefixes)
{
	size_t n = strlen(every_key);
	for (size_t len = 0; len <= n; len++) {
		struct lh_config c;
		struct lh_error err = { 0 };
		config_defaults(&c);
		char *buf = malloc(len ? len : 1);
		memcpy(buf, every_key, len);
		int rc = config_parse_toml(&c, buf, len, "lakehouse.toml", &err);
		CHECK(rc == 0 || (rc == -1 && err.status == 400 && err_line(&err) > 0));
		lh_error_clear(&err);
		free(buf);
	}
}

TEST(config_error_messages_are_ascii)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "gateway", "bind", "h\xc3\x28:\n1", &err), -1);
	for (const char *p = err.msg; *p; p++)
		CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	json_t *j = lh_error_json(&err);
	CHECK(j != NULL);
	char *s = json_dumps(j, 0);
	CHECK(s != NULL && strstr(s, "bad value for gateway.bind") != NULL);
	free(s);
	json_decref(j);
	lh_error_clear(&err);
}

TEST(config_env)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	char *env[] = {
		"PATH=/usr/bin",
		"LAKEHOUSE_DATA_DIR=/var/lh",
		"LAKEHOUSE_GATEWAY_BIND=127.0.0.1:9000",
		"LAKEHOUSE_ingestd_max_upload_bytes=1MiB",
		"LAKEHOUSE_Queryd_Timeout_Ms=5s",
		"LAKEHOUSE_AUTH_READ_TOKENS=r1,r2",
		"LAKEHOUSE_STORAGED_S3_BUCKET=has=equals",
		"LAKEHOUSE_URL=http://x", "LAKEHOUSE_TOKEN=t", "LAKEHOUSE_LOG=debug",
		"LAKEHOUSE_BIN=/bin/lakehouse",
		"LAKEHOUSEX=1", "lakehouse_gateway_bind=ignored:1",
		NULL,
	};
	CHECK_EQ_INT(config_apply_env(&c, env, &err), 0);
	CHECK_EQ_STR(c.data_dir, "/var/lh");
	CHECK_EQ_STR(c.gateway.bind, "127.0.0.1:9000");
	CHECK_EQ_INT(c.ingestd.max_upload_bytes, 1 << 20);
	CHECK_EQ_INT(c.queryd.timeout_ms, 5000);
	CHECK_EQ_INT(c.auth.n_read_tokens, 2);
	CHECK_EQ_STR(c.auth.read_tokens[1], "r2");
	CHECK_EQ_STR(c.storaged.s3_bucket, "has=equals");
	CHECK_EQ_INT(config_apply_env(&c, NULL, &err), 0);
}

TEST(config_env_errors)
{
	struct lh_config c, before;
	struct lh_error err = { 0 };
	config_defaults(&c);
	before = c;
	char *unknown[] = { "LAKEHOUSE_GATEWAY_BIND=127.0.0.1:1", "LAKEHOUSE_STORAGED_BNID=x", NULL };
	CHECK_EQ_INT(config_apply_env(&c, unknown, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "unknown environment variable LAKEHOUSE_STORAGED_BNID") != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "variable")),
		     "LAKEHOUSE_STORAGED_BNID");
	CHECK(memcmp(&c, &before, sizeof c) == 0); /* the first variable was not kept */
	lh_error_clear(&err);

	char *bad[] = { "LAKEHOUSE_QUERYD_DUCKDB_THREADS=many", NULL };
	CHECK_EQ_INT(config_apply_env(&c, bad, &err), -1);
	CHECK(strncmp(err.msg, "LAKEHOUSE_QUERYD_DUCKDB_THREADS: bad value for queryd.duckdb_threads",
		      strlen("LAKEHOUSE_QUERYD_DUCKDB_THREADS: bad value for queryd.duckdb_threads")) == 0);
	lh_error_clear(&err);

	char *empty[] = { "LAKEHOUSE_=1", NULL };
	CHECK_EQ_INT(config_apply_env(&c, empty, &err), -1);
	lh_error_clear(&err);
	char *sectiononly[] = { "LAKEHOUSE_GATEWAY=1", NULL };
	CHECK_EQ_INT(config_apply_env(&c, sectiononly, &err), -1);
	lh_error_clear(&err);
	CHECK(memcmp(&c, &before, sizeof c) == 0);
}

TEST(config_set_keys)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(config_set(&c, "gateway", "bind", "0.0.0.0:80", &err), 0);
	CHECK_EQ_STR(c.gateway.bind, "0.0.0.0:80");
	CHECK_EQ_INT(config_set(&c, "", "data_dir", "/d", &err), 0);
	CHECK_EQ_INT(config_set(&c, NULL, "data_dir", "/e", &err), 0);
	CHECK_EQ_STR(c.data_dir, "/e");
	CHECK_EQ_INT(config_set(&c, "storage", "bind", "a:1", &err), -1);
	CHECK_EQ_STR(err.msg, "unknown section [storage]");
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "storaged", "bnid", "a:1", &err), -1);
	CHECK_EQ_STR(err.msg, "unknown key \"bnid\" in [storaged]");
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "", "bind", "a:1", &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "storaged", "max_object_bytes", "huge", &err), -1);
	CHECK(strncmp(err.msg, "bad value for storaged.max_object_bytes: ", 41) == 0);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "key")), "max_object_bytes");
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "storaged", "bind", NULL, &err), -1);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "storaged", "bind", "x:1", NULL), 0);
	CHECK_EQ_INT(config_set(&c, "storaged", "bind", "x", NULL), -1); /* NULL err is allowed */
	CHECK_EQ_INT(set1(&c, "storaged", "s3_region", "ap-south-1"), 0);
	CHECK_EQ_STR(c.storaged.s3_region, "ap-south-1");
}

TEST(config_finish)
{
	struct lh_config c;
	config_defaults(&c);
	config_finish(&c);
	CHECK_EQ_STR(c.storaged.root, "./lakehouse-data/objects");
	CHECK_EQ_STR(c.catalogd.sqlite_path, "./lakehouse-data/catalog.db");
	CHECK_EQ_STR(c.ingestd.spool_dir, "./lakehouse-data/spool");
	CHECK_EQ_STR(c.queryd.cache_dir, "./lakehouse-data/cache");
	/* explicit paths stay; trailing slashes are not doubled; "/" works */
	config_defaults(&c);
	snprintf(c.data_dir, sizeof c.data_dir, "/srv/lh//");
	snprintf(c.catalogd.sqlite_path, sizeof c.catalogd.sqlite_path, "/db/c.db");
	config_finish(&c);
	CHECK_EQ_STR(c.storaged.root, "/srv/lh/objects");
	CHECK_EQ_STR(c.catalogd.sqlite_path, "/db/c.db");
	config_defaults(&c);
	snprintf(c.data_dir, sizeof c.data_dir, "/");
	config_finish(&c);
	CHECK_EQ_STR(c.queryd.cache_dir, "/cache");
	/* a data_dir written past the cap by hand: no truncated path */
	config_defaults(&c);
	memset(c.data_dir, 'x', sizeof c.data_dir - 1);
	c.data_dir[sizeof c.data_dir - 1] = '\0';
	config_finish(&c);
	CHECK_EQ_STR(c.catalogd.sqlite_path, "");
	/* idempotent */
	config_defaults(&c);
	config_finish(&c);
	config_finish(&c);
	CHECK_EQ_STR(c.ingestd.spool_dir, "./lakehouse-data/spool");
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(config_load)
{
	char dir[] = "/tmp/lh-config-test-XXXXXX", path[128], cwd[4096];
	struct lh_config c;
	struct lh_error err = { 0 };
	CHECK(mkdtemp(dir) != NULL);
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	snprintf(path, sizeof path, "%s/lh.toml", dir);
	char *env[] = { "LAKEHOUSE_QUERYD_DUCKDB_THREADS=7", NULL };

	/* an explicit path must exist */
	CHECK_EQ_INT(config_load(&c, path, env, &err), -1);
	CHECK(strstr(err.msg, "cannot open config file") != NULL);
	lh_error_clear(&err);

	/* no path and no ./lakehouse.toml: defaults + env */
	CHECK_EQ_INT(chdir(dir), 0);
	int rc = config_load(&c, NULL, env, &err);
	CHECK_EQ_INT(chdir(cwd), 0);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_STR(c.gateway.bind, "127.0.0.1:8080");
	CHECK_EQ_INT(c.queryd.duckdb_threads, 7);

	/* the file, then the environment over it */
	CHECK_EQ_INT(write_file(path, "[queryd]\nduckdb_threads = 3\nmax_rows = 9\n"), 0);
	CHECK_EQ_INT(config_load(&c, path, env, &err), 0);
	CHECK_EQ_INT(c.queryd.duckdb_threads, 7);
	CHECK_EQ_INT(c.queryd.max_rows, 9);

	/* ./lakehouse.toml is picked up when no path is given */
	char local[160];
	snprintf(local, sizeof local, "%s/lakehouse.toml", dir);
	CHECK_EQ_INT(write_file(local, "[gateway]\nbind = \"127.0.0.1:9\"\nbnid = 1\n"), 0);
	CHECK_EQ_INT(chdir(dir), 0);
	rc = config_load(&c, NULL, NULL, &err);
	CHECK_EQ_INT(chdir(cwd), 0);
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_STR(err.msg, "lakehouse.toml:3: unknown key \"bnid\" in [gateway]");
	lh_error_clear(&err);

	/* a file error names the file given */
	CHECK_EQ_INT(config_load(&c, local, NULL, &err), -1);
	CHECK(strncmp(err.msg, local, strlen(local)) == 0);
	lh_error_clear(&err);

	unlink(local);
	unlink(path);
	rmdir(dir);
}

/* [gateway] *_url: comma-separated lists (ADR 0075); the peers' own URLs stay
 * single. */
TEST(config_url_lists)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(set1(&c, "gateway", "ingestd_url", "http://a:1,http://b:2"), 0);
	CHECK_EQ_STR(c.gateway.ingestd_url, "http://a:1,http://b:2");
	CHECK_EQ_INT(set1(&c, "gateway", "queryd_url", " http://a:1 , https://b:2/ "), 0);
	CHECK_EQ_INT(set1(&c, "gateway", "queryd_url", "http://a:1"), 0);
	CHECK_EQ_INT(set1(&c, "gateway", "queryd_url", ""), 0);
	CHECK_EQ_INT(set1(&c, "gateway", "queryd_url", "   "), 0);   /* no URL at all */
	/* each item is checked; the field is unchanged on error */
	CHECK_EQ_INT(set1(&c, "gateway", "storaged_url", "http://a:1"), 0);
	CHECK_EQ_INT(config_set(&c, "gateway", "storaged_url", "http://a:1,,http://b:2", &err), -1);
	CHECK(strstr(err.msg, "empty URL") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "gateway", "storaged_url", "http://a:1,", &err), -1);
	CHECK(strstr(err.msg, "empty URL") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "gateway", "storaged_url", "http://a:1,ftp://b", &err), -1);
	CHECK(strstr(err.msg, "\"ftp://b\" is not an http:// or https:// URL") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(&c, "gateway", "storaged_url", "http://a:1, http://a:1", &err), -1);
	CHECK(strstr(err.msg, "listed twice") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_STR(c.gateway.storaged_url, "http://a:1");
	/* at most LH_UPSTREAM_MAX_MEMBERS */
	char list[LH_CFG_URL_LIST];
	size_t o = 0;
	for (int i = 0; i <= LH_UPSTREAM_MAX_MEMBERS; i++)
		o += (size_t)snprintf(list + o, sizeof list - o, "%shttp://h%d:1", i ? "," : "", i);
	CHECK_EQ_INT(config_set(&c, "gateway", "catalogd_url", list, &err), -1);
	CHECK(strstr(err.msg, "more than 16 URLs") != NULL);
	lh_error_clear(&err);
	*strrchr(list, ',') = '\0';
	CHECK_EQ_INT(set1(&c, "gateway", "catalogd_url", list), 0);
	/* a list longer than a plain string fits the list field */
	CHECK(strlen(list) > 0);
	char longlist[LH_CFG_URL_LIST];
	o = 0;
	for (int i = 0; i < 8; i++)
		o += (size_t)snprintf(longlist + o, sizeof longlist - o, "%shttp://%0100d:1",
				      i ? "," : "", i);
	CHECK(o > LH_CFG_STR);
	CHECK_EQ_INT(set1(&c, "gateway", "catalogd_url", longlist), 0);
	CHECK_EQ_STR(c.gateway.catalogd_url, longlist);
	/* ingestd's and queryd's peers take lists too (ADR 0204); catalogd's
	 * storaged_url is one URL, a list is refused */
	CHECK_EQ_INT(set1(&c, "ingestd", "storaged_url", "http://a:1,http://b:2"), 0);
	CHECK_EQ_STR(c.ingestd.storaged_url, "http://a:1,http://b:2");
	CHECK_EQ_INT(set1(&c, "queryd", "catalogd_url", "http://a:1, http://b:2"), 0);
	CHECK_EQ_INT(set1(&c, "ingestd", "catalogd_url", "http://a:1,,"), -1);
	CHECK_EQ_INT(config_set(&c, "catalogd", "storaged_url", "http://a:1,http://b:2", &err), -1);
	CHECK(strstr(err.msg, "one URL expected") != NULL);
	lh_error_clear(&err);
	/* in the file and the environment */
	CHECK_EQ_INT(parse(&c, "[gateway]\ningestd_url = \"http://x:1, http://y:2\"\n", &err), 0);
	CHECK_EQ_STR(c.gateway.ingestd_url, "http://x:1, http://y:2");
	CHECK(bad_toml("[gateway]\n\ningestd_url = \"http://x:1,,\"\n", 3, "empty URL"));
	char *envp[] = { "LAKEHOUSE_GATEWAY_QUERYD_URL=http://q1:1,http://q2:2", NULL };
	CHECK_EQ_INT(config_apply_env(&c, envp, &err), 0);
	CHECK_EQ_STR(c.gateway.queryd_url, "http://q1:1,http://q2:2");
}

TEST(config_list_next)
{
	const char *s = " a ,b,, c\t,";
	size_t pos = 0, n;
	const char *item;
	const char *want[] = { "a", "b", "", "c", "" };
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ_INT(config_list_next(s, strlen(s), &pos, &item, &n), 1);
		CHECK_EQ_INT(n, strlen(want[i]));
		CHECK(strncmp(item, want[i], n) == 0);
	}
	CHECK_EQ_INT(config_list_next(s, strlen(s), &pos, &item, &n), 0);
	CHECK_EQ_INT(config_list_next(s, strlen(s), &pos, &item, &n), 0);
	pos = 0;
	CHECK_EQ_INT(config_list_next("", 0, &pos, &item, &n), 0);
	pos = 0;
	CHECK_EQ_INT(config_list_next(" \t ", 3, &pos, &item, &n), 0);
	pos = 0;
	CHECK_EQ_INT(config_list_next("x", 1, &pos, &item, &n), 1);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(config_list_next("x", 1, &pos, &item, &n), 0);
	/* not NUL-terminated: only s[0..n) is read */
	pos = 0;
	CHECK_EQ_INT(config_list_next("ab,cd", 2, &pos, &item, &n), 1);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_INT(config_list_next("ab,cd", 2, &pos, &item, &n), 0);
}

/* [search] glove_path and [embed] (docs/embeddings.md, ADR 0143/0144):
 * defaults, the file, the environment, a URL that is not http(s). */
TEST(config_search_embed_keys)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_STR(c.search.glove_path, "");
	CHECK_EQ_STR(c.embed.url, "");
	CHECK_EQ_STR(c.embed.api_key, "");
	CHECK_EQ_INT(c.embed.timeout_ms, LH_EMBED_DEFAULT_TIMEOUT_MS);
	CHECK_EQ_INT(parse(&c,
			   "[search]\nglove_path = \"/opt/glove.lhwv\"\n"
			   "[embed]\nurl = \"http://127.0.0.1:11434\"\napi_key = \"sk-1\"\n"
			   "timeout_ms = \"5s\"\n",
			   &err),
		     0);
	CHECK_EQ_STR(c.search.glove_path, "/opt/glove.lhwv");
	CHECK_EQ_STR(c.embed.url, "http://127.0.0.1:11434");
	CHECK_EQ_STR(c.embed.api_key, "sk-1");
	CHECK_EQ_INT(c.embed.timeout_ms, 5000);
	char *env[] = { "LAKEHOUSE_SEARCH_GLOVE_PATH=/env/g.lhwv",
			"LAKEHOUSE_EMBED_URL=https://api.example", NULL };
	CHECK_EQ_INT(config_apply_env(&c, env, &err), 0);
	CHECK_EQ_STR(c.search.glove_path, "/env/g.lhwv");
	CHECK_EQ_STR(c.embed.url, "https://api.example");
	CHECK(bad_toml("[embed]\nurl = \"ftp://x\"\n", 2, "not an http:// or https:// URL"));
	CHECK(bad_toml("[search]\nglove = \"x\"\n", 2, "glove"));
}

/* A boolean key (ADR 0203): TOML true/false, or the words in env/--set. */
TEST(config_bool_single_writer)
{
	struct lh_config c;
	struct lh_error err = { 0 };
	config_defaults(&c);
	CHECK_EQ_INT(c.storaged.single_writer, 0);
	CHECK_EQ_INT(parse(&c, "[storaged]\nsingle_writer = true\n", &err), 0);
	CHECK_EQ_INT(c.storaged.single_writer, 1);
	CHECK_EQ_INT(parse(&c, "[storaged]\nsingle_writer = false # off\n", &err), 0);
	CHECK_EQ_INT(c.storaged.single_writer, 0);
	CHECK(bad_toml("[storaged]\nsingle_writer = \"true\"\n", 2, "expected true or false"));
	CHECK(bad_toml("[storaged]\nsingle_writer = 1\n", 2, "expected true or false"));
	CHECK_EQ_INT(set1(&c, "storaged", "single_writer", "true"), 0);
	CHECK_EQ_INT(c.storaged.single_writer, 1);
	CHECK_EQ_INT(set1(&c, "storaged", "single_writer", "yes"), -1);
	CHECK_EQ_INT(c.storaged.single_writer, 1);
	lh_error_clear(&err);
}

/* [ingestd] document keys (issue 18, ADR 0220): defaults and settings. */
TEST(config_document_keys)
{
	struct lh_config c;
	config_defaults(&c);
	CHECK_EQ_INT(c.ingestd.max_document_pages, LH_DOC_MAX_PAGES);
	CHECK_EQ_INT(c.ingestd.document_timeout_ms, 60000);
	CHECK_EQ_INT(c.ingestd.document_memory_bytes, LH_DOC_WORKER_BYTES);
	CHECK_EQ_INT(set1(&c, "ingestd", "max_document_pages", "100"), 0);
	CHECK_EQ_INT(c.ingestd.max_document_pages, 100);
	CHECK_EQ_INT(set1(&c, "ingestd", "max_document_pages", "0"), -1);
	CHECK_EQ_INT(set1(&c, "ingestd", "document_timeout_ms", "5s"), 0);
	CHECK_EQ_INT(c.ingestd.document_timeout_ms, 5000);
	CHECK_EQ_INT(set1(&c, "ingestd", "document_memory_bytes", "512MiB"), 0);
	CHECK_EQ_INT(c.ingestd.document_memory_bytes, 512u << 20);
	struct doc_limits lim;
	doc_limits_from_config(&lim, &c);
	CHECK_EQ_INT(lim.max_pages, 100);
	CHECK(lim.max_seconds == 5.0);
	CHECK_EQ_INT(lim.max_worker_bytes, 512u << 20);
	CHECK_EQ_INT(lim.max_text_bytes, LH_DOC_MAX_TEXT_BYTES);
}
