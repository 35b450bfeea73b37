/* fuzz_config.c — libFuzzer target for config_parse_toml()
 * (src/common/config.h).
 *
 * The input is a lakehouse.toml text (in a buffer of exactly its size, so
 * ASan catches any read past `len`). Invariants: a failure is a 400
 * "bad_config" with a printable-ASCII message and an integer "line" between
 * 1 and the number of lines, and leaves the configuration untouched; a
 * success leaves every string field NUL-terminated inside its array and
 * every token count within LH_CFG_MAX_TOKENS; parsing is deterministic.
 */
#include "fuzz.h"

#include "common/config.h"
#include "common/error.h"

#include <string.h>

/* Every char[] field of struct lh_config (what config_set can write). */
#define STR_FIELD(f) { offsetof(struct lh_config, f), sizeof(((struct lh_config *)0)->f) }
static const struct {
	size_t off, size;
} str_fields[] = {
	STR_FIELD(data_dir),
	STR_FIELD(gateway.bind), STR_FIELD(gateway.storaged_url),
	STR_FIELD(gateway.catalogd_url), STR_FIELD(gateway.ingestd_url),
	STR_FIELD(gateway.queryd_url),
	STR_FIELD(storaged.bind), STR_FIELD(storaged.backend), STR_FIELD(storaged.root),
	STR_FIELD(storaged.s3_endpoint), STR_FIELD(storaged.s3_bucket),
	STR_FIELD(storaged.s3_region),
	STR_FIELD(catalogd.bind), STR_FIELD(catalogd.backend),
	STR_FIELD(catalogd.sqlite_path), STR_FIELD(catalogd.postgres_dsn),
	STR_FIELD(ingestd.bind), STR_FIELD(ingestd.spool_dir),
	STR_FIELD(ingestd.storaged_url), STR_FIELD(ingestd.catalogd_url),
	STR_FIELD(queryd.bind), STR_FIELD(queryd.cache_dir),
	STR_FIELD(queryd.storaged_url), STR_FIELD(queryd.catalogd_url),
	STR_FIELD(http.allowed_hosts),
};

static void check_config(const struct lh_config *cfg)
{
	const char *base = (const char *)cfg;
	for (size_t i = 0; i < sizeof str_fields / sizeof str_fields[0]; i++)
		FUZZ_CHECK(memchr(base + str_fields[i].off, '\0', str_fields[i].size) != NULL);
	FUZZ_CHECK(cfg->auth.n_read_tokens <= LH_CFG_MAX_TOKENS);
	FUZZ_CHECK(cfg->auth.n_write_tokens <= LH_CFG_MAX_TOKENS);
	for (unsigned i = 0; i < LH_CFG_MAX_TOKENS; i++) {
		FUZZ_CHECK(memchr(cfg->auth.read_tokens[i], '\0', sizeof cfg->auth.read_tokens[i]));
		FUZZ_CHECK(memchr(cfg->auth.write_tokens[i], '\0', sizeof cfg->auth.write_tokens[i]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lh_config cfg, before, again;
	struct lh_error err = { 0 };
	const char *text = (const char *)data;

	config_defaults(&cfg);
	memcpy(&before, &cfg, sizeof cfg);
	int rc = config_parse_toml(&cfg, text, size, "fuzz.toml", &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(err.status == 0);
		check_config(&cfg);
	} else {
		FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_config") == 0);
		FUZZ_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
		for (const char *m = err.msg; *m; m++)
			FUZZ_CHECK(*m >= 0x20 && *m < 0x7f);
		FUZZ_CHECK(strncmp(err.msg, "fuzz.toml:", 10) == 0);
		json_t *line = err.extra ? json_object_get(err.extra, "line") : NULL;
		FUZZ_CHECK(line && json_is_integer(line));
		long long nlines = 1;
		for (size_t i = 0; i < size; i++)
			nlines += data[i] == '\n';
		FUZZ_CHECK(json_integer_value(line) >= 1 && json_integer_value(line) <= nlines);
		json_t *body = lh_error_json(&err);
		char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
		FUZZ_CHECK(s != NULL);   /* renderable as an HTTP error body */
		free(s);
		json_decref(body);
	}

	/* Deterministic: same text, same verdict and result. */
	struct lh_error err2 = { 0 };
	config_defaults(&again);
	int rc2 = config_parse_toml(&again, text, size, "fuzz.toml", &err2);
	FUZZ_CHECK(rc2 == rc);
	FUZZ_CHECK(memcmp(&again, &cfg, sizeof cfg) == 0);
	FUZZ_CHECK(strcmp(err.msg, err2.msg) == 0);
	lh_error_clear(&err);
	lh_error_clear(&err2);
	return 0;
}
