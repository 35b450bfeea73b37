/* test_tokens.c — named tokens with roles (src/common/tokens.c, auth.c's
 * auth_identify / auth_decide_who / auth_tokens_load, ADR 0210): token
 * lines, hashed lines, the tokens file, roles and what each may do, the
 * service token, and that no error quotes a token. */
#include "test.h"

#include "common/auth.h"
#include "common/config.h"
#include "common/error.h"
#include "common/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARIA "maria-token-0123456789"
#define BOT "bot-token-abcdefghijkl"
#define ADMIN "admin-token-zyxwvutsrq"

static char bearer_buf[256];
static const char *bearer(const char *t)
{
	snprintf(bearer_buf, sizeof bearer_buf, "Bearer %s", t);
	return bearer_buf;
}

TEST(tokens_parse_plain_and_hashed)
{
	struct lh_token t;
	char why[200], hash[LH_SHA256_HEX_LEN + 1];
	const char *line = "maria:write:" MARIA;
	CHECK_EQ_INT(tokens_parse_line(line, strlen(line), &t, why, sizeof why), 0);
	CHECK_EQ_STR(t.name, "maria");
	CHECK_EQ_INT(t.role, LH_ROLE_WRITE);
	CHECK_EQ_INT(t.plain, 1);
	tokens_hash(MARIA, strlen(MARIA), hash);
	CHECK_EQ_STR(t.hash, hash);

	char hashed[200];
	snprintf(hashed, sizeof hashed, "bot:agent:sha256:%s", hash);
	CHECK_EQ_INT(tokens_parse_line(hashed, strlen(hashed), &t, why, sizeof why), 0);
	CHECK_EQ_INT(t.role, LH_ROLE_AGENT);
	CHECK_EQ_INT(t.plain, 0);
	CHECK_EQ_STR(t.hash, hash);
	size_t sn;
	CHECK(tokens_line_secret(hashed, strlen(hashed), &sn) == NULL);
	const char *sec = tokens_line_secret(line, strlen(line), &sn);
	CHECK(sec && sn == strlen(MARIA) && !memcmp(sec, MARIA, sn));
}

TEST(tokens_parse_refusals_never_quote_the_token)
{
	static const char *const bad[] = {
		/* a mistyped hash (65 digits) is refused, not taken as a plain token */
		"eve:admin:sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
		"eve:admin:sha256:xyz",
		"no-colons", "maria:write", ":write:" MARIA, "ma ria:write:" MARIA,
		"maria:owner:" MARIA, "maria:write:", "maria:write:short",
		"maria:write:has space inside 123",
	};
	struct lh_token t;
	char why[200];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ_INT(tokens_parse_line(bad[i], strlen(bad[i]), &t, why, sizeof why), -1);
		CHECK(why[0] != '\0');
		CHECK(strstr(why, MARIA) == NULL);
		CHECK(strstr(why, "has space") == NULL);
	}
}

TEST(tokens_roles)
{
	enum lh_role r;
	CHECK_EQ_INT(tokens_role_parse("admin", 5, &r), 0);
	CHECK_EQ_INT(r, LH_ROLE_ADMIN);
	CHECK_EQ_INT(tokens_role_parse("Admin", 5, &r), -1);
	CHECK_EQ_INT(tokens_role_parse("", 0, &r), -1);
	CHECK_EQ_STR(tokens_role_name(LH_ROLE_AGENT), "agent");
	CHECK_EQ_INT(tokens_role_sees_personal(LH_ROLE_READ), 0);
	CHECK_EQ_INT(tokens_role_sees_personal(LH_ROLE_AGENT), 0);
	CHECK_EQ_INT(tokens_role_sees_personal(LH_ROLE_WRITE), 1);
	CHECK_EQ_INT(tokens_role_sees_personal(LH_ROLE_ADMIN), 1);
	CHECK_EQ_INT(tokens_role_sees_personal(LH_ROLE_NONE), 1);
}

TEST(tokens_generate_is_random_and_valid)
{
	char a[LH_TOKEN_NEW_LEN + 1], b[LH_TOKEN_NEW_LEN + 1], line[128], why[200];
	struct lh_token t;
	CHECK_EQ_INT(tokens_generate(a), 0);
	CHECK_EQ_INT(tokens_generate(b), 0);
	CHECK_EQ_INT((int)strlen(a), LH_TOKEN_NEW_LEN);
	CHECK(!strncmp(a, "lh_", 3));
	CHECK(strcmp(a, b) != 0);
	snprintf(line, sizeof line, "x:read:%s", a);
	CHECK_EQ_INT(tokens_parse_line(line, strlen(line), &t, why, sizeof why), 0);
}

/* 0, or -1 if the tokens were refused. */
static int named_cfg(struct lh_config *cfg, const char *tokens)
{
	struct lh_error err = { 0 };
	config_defaults(cfg);
	int rc = config_set(cfg, "auth", "tokens", tokens, &err) || auth_tokens_load(cfg, &err);
	lh_error_clear(&err);
	return rc ? -1 : 0;
}

TEST(auth_identify_names_and_roles)
{
	struct lh_config *cfg = malloc(sizeof *cfg);
	struct auth_principal who;
	CHECK_EQ_INT(named_cfg(cfg, "maria:write:" MARIA ",bot:agent:" BOT ",root:admin:" ADMIN), 0);
	CHECK_EQ_INT(auth_identify(cfg, bearer(MARIA), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "maria");
	CHECK_EQ_INT(who.role, LH_ROLE_WRITE);
	CHECK_EQ_INT(auth_identify(cfg, bearer(BOT), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "bot");
	CHECK_EQ_INT(auth_identify(cfg, bearer("bot-token-abcdefghijkX"), &who), AUTH_INVALID);
	CHECK_EQ_INT(auth_identify(cfg, NULL, &who), AUTH_MISSING);

	/* What each role may do. */
	CHECK_EQ_INT(auth_decide(cfg, "POST", "/v1/ingest", bearer(BOT)), AUTH_READ_ONLY);
	CHECK_EQ_INT(auth_decide(cfg, "POST", "/v1/query", bearer(BOT)), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(cfg, "POST", "/v1/ingest", bearer(MARIA)), AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(cfg, "DELETE", "/v1/catalog/manifest/jobs", bearer(MARIA)),
		     AUTH_NOT_ADMIN);
	CHECK_EQ_INT(auth_decide(cfg, "POST", "/catalog/gc", bearer(MARIA)), AUTH_NOT_ADMIN);
	CHECK_EQ_INT(auth_decide(cfg, "POST", "/v1/datasets/jobs/rename", bearer(MARIA)),
		     AUTH_NOT_ADMIN);
	CHECK_EQ_INT(auth_decide(cfg, "PUT", "/catalog/masks/jobs", bearer(MARIA)), AUTH_NOT_ADMIN);
	CHECK_EQ_INT(auth_decide(cfg, "DELETE", "/v1/catalog/manifest/jobs", bearer(ADMIN)),
		     AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(cfg, "DELETE", "/v1/catalog/manifest/jobs", bearer(BOT)),
		     AUTH_READ_ONLY);
	/* The service token is the first plain write/admin line's. */
	CHECK_EQ_STR(auth_service_token(cfg), MARIA);
	free(cfg);
}

TEST(auth_is_admin_routes)
{
	CHECK_EQ_INT(auth_is_admin("DELETE", "/catalog/manifest/a"), 1);
	CHECK_EQ_INT(auth_is_admin("DELETE", "/v1/catalog/manifest/a"), 1);
	CHECK_EQ_INT(auth_is_admin("DELETE", "/catalog/manifest/"), 0);
	CHECK_EQ_INT(auth_is_admin("GET", "/catalog/manifest/a"), 0);
	CHECK_EQ_INT(auth_is_admin("POST", "/v1/catalog/gc"), 1);
	CHECK_EQ_INT(auth_is_admin("POST", "/catalog/datasets/a/rename"), 1);
	CHECK_EQ_INT(auth_is_admin("POST", "/datasets/a/rename"), 1);
	CHECK_EQ_INT(auth_is_admin("POST", "/v1/ingest"), 0);
	CHECK_EQ_INT(auth_is_admin("DELETE", "/catalog/index/a"), 0);
	CHECK_EQ_INT(auth_is_admin("POST", "/datasets/a/drop"), 1);
	CHECK_EQ_INT(auth_is_admin("POST", "/datasets/a/masks"), 1);
	CHECK_EQ_INT(auth_is_admin("POST", "/datasets/drop"), 0);
	CHECK_EQ_INT(auth_is_admin("POST", "/search/feedback"), 0);
}

TEST(auth_legacy_tokens_keep_their_powers)
{
	struct lh_config *cfg = malloc(sizeof *cfg);
	struct lh_error err = { 0 };
	struct auth_principal who;
	config_defaults(cfg);
	config_set(cfg, "auth", "read_tokens", "reader-token-1234567", &err);
	config_set(cfg, "auth", "write_tokens", "writer-token-1234567", &err);
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), 0);
	CHECK_EQ_INT(auth_identify(cfg, bearer("writer-token-1234567"), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "write token 1");
	CHECK_EQ_INT(who.role, LH_ROLE_ADMIN); /* a write token could always drop */
	CHECK_EQ_INT(auth_decide(cfg, "DELETE", "/catalog/manifest/a", bearer("writer-token-1234567")),
		     AUTH_ALLOW);
	CHECK_EQ_INT(auth_identify(cfg, bearer("reader-token-1234567"), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "read token 1");
	CHECK_EQ_INT(who.role, LH_ROLE_READ);
	lh_error_clear(&err);
	free(cfg);
}

TEST(auth_tokens_file)
{
	char path[] = "/tmp/lh-tokens-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	char hash[LH_SHA256_HEX_LEN + 1], text[512];
	tokens_hash(BOT, strlen(BOT), hash);
	snprintf(text, sizeof text, "# the team\n\nbot:agent:sha256:%s\n  ann:read:%s\n", hash,
		 "ann-token-0123456789");
	CHECK_EQ_INT((int)write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);

	struct lh_config *cfg = malloc(sizeof *cfg);
	struct lh_error err = { 0 };
	struct auth_principal who;
	config_defaults(cfg);
	CHECK_EQ_INT(config_set(cfg, "auth", "tokens_file", path, &err), 0);
	/* Only hashed/reader tokens and no plain writer: the services would
	 * have no token for each other. */
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), -1);
	CHECK(strstr(err.msg, "service_token") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(cfg, "auth", "service_token", "x", &err), 0);
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), -1);   /* too short for a token */
	CHECK(strstr(err.msg, "service_token") != NULL);
	lh_error_clear(&err);
	CHECK_EQ_INT(config_set(cfg, "auth", "service_token", "svc-token-0123456789", &err), 0);
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), 0);
	CHECK_EQ_INT(auth_identify(cfg, bearer(BOT), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "bot");
	CHECK_EQ_INT(auth_identify(cfg, bearer("ann-token-0123456789"), &who), AUTH_ALLOW);
	CHECK_EQ_STR(who.name, "ann");
	CHECK_EQ_INT(auth_identify(cfg, bearer("svc-token-0123456789"), &who), AUTH_ALLOW);
	CHECK_EQ_INT(who.role, LH_ROLE_ADMIN);
	CHECK_EQ_STR(auth_service_token(cfg), "svc-token-0123456789");

	/* A bad line: file and line number, never the line's token. */
	FILE *f = fopen(path, "a");
	fputs("eve:root:eve-secret-0123456789\n", f);
	fclose(f);
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), -1);
	CHECK(strstr(err.msg, ":5:") != NULL);
	CHECK(strstr(err.msg, "eve-secret") == NULL);
	lh_error_clear(&err);

	/* The same name twice. */
	f = fopen(path, "w");
	fprintf(f, "bot:agent:sha256:%s\nbot:read:another-token-0123\n", hash);
	fclose(f);
	CHECK_EQ_INT(auth_tokens_load(cfg, &err), -1);
	CHECK(strstr(err.msg, "used twice") != NULL);
	lh_error_clear(&err);
	unlink(path);
	free(cfg);
}

TEST(config_tokens_key_checks_lines)
{
	struct lh_config *cfg = malloc(sizeof *cfg);
	struct lh_error err = { 0 };
	config_defaults(cfg);
	CHECK_EQ_INT(config_set(cfg, "auth", "tokens", "maria:boss:" MARIA, &err), -1);
	CHECK(strstr(err.msg, "role") != NULL);
	CHECK(strstr(err.msg, MARIA) == NULL);
	lh_error_clear(&err);
	const char *toml = "[auth]\ntokens = [\"maria:write:" MARIA "\", \"bot:agent:" BOT "\"]\n";
	CHECK_EQ_INT(config_parse_toml(cfg, toml, strlen(toml), "t.toml", &err), 0);
	CHECK_EQ_INT((int)cfg->auth.n_tokens, 2);
	CHECK_EQ_INT(auth_enabled(cfg), 1);
	lh_error_clear(&err);
	free(cfg);
}

TEST(auth_raw_data_objects_are_for_writers)
{
	struct lh_config *cfg = malloc(sizeof *cfg);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/storage/get/datasets/a/x.parquet"), 1);
	CHECK_EQ_INT(auth_is_raw_data("HEAD", "/v1/storage/get/_index/ab/cd/x"), 1);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/v1/storage/get//datasets/a"), 1);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/storage/get/datasets%2Fa%2Fx"), 1);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/storage/get/other/k"), 0);
	/* Iceberg manifests hold every column's bounds, masked ones too. */
	CHECK_EQ_INT(auth_is_raw_data("GET", "/v1/storage/get/_iceberg/u/b/metadata/m1.avro"), 1);
	CHECK_EQ_INT(auth_is_raw_data("HEAD", "/storage/get/_iceberg%2Fu%2Fb"), 1);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/iceberg/tables/t?base=http://x"), 1);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/iceberg/v1/namespaces/lakehouse/tables/t"), 0);
	CHECK_EQ_INT(auth_is_raw_data("GET", "/storage/list"), 0);
	CHECK_EQ_INT(auth_is_raw_data("PUT", "/storage/put/datasets/a"), 0);
	CHECK_EQ_INT(named_cfg(cfg, "maria:write:" MARIA ",bot:agent:" BOT ",root:admin:" ADMIN), 0);
	CHECK_EQ_INT(auth_decide(cfg, "GET", "/storage/get/datasets/a/x", bearer(BOT)),
		     AUTH_RAW_DATA);
	CHECK_EQ_INT(auth_decide(cfg, "GET", "/storage/get/datasets/a/x", bearer(MARIA)),
		     AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(cfg, "GET", "/storage/get/datasets/a/x", bearer(ADMIN)),
		     AUTH_ALLOW);
	CHECK_EQ_INT(auth_decide(cfg, "GET", "/iceberg/tables/t", bearer(BOT)), AUTH_RAW_DATA);
	CHECK_EQ_INT(auth_decide(cfg, "GET", "/iceberg/tables/t", bearer(MARIA)), AUTH_ALLOW);
	free(cfg);
}
