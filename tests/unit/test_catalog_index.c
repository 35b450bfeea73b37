/* test_catalog_index.c — the pure half of search-index declarations
 * (src/catalogd/catalog_index.c, ADR 0140): validation against a schema,
 * the canonical form and its fingerprint, build-record and component
 * parsing, the attempts rule and the JSON shown for a build that died.
 */
#include "test.h"

#include "catalog_fixtures.h"
#include "catalogd/catalog_index.h"
#include "common/sha256.h"

#include <stdlib.h>
#include <string.h>

#define SCHEMA "id:int64,title:utf8,notes:utf8,score:float64"

/* Parse `body` against SCHEMA: 0 with d filled, or the error's status with
 * its code and field copied out. */
static int parse(const char *body, struct catalog_index_decl *d, char code[32], char field[32])
{
	struct lh_error err = { 0 };
	struct catalog_version *v = fixture_version("people", SCHEMA, "a=1", NULL);
	json_t *b = json_loads(body, 0, NULL);
	int r = catalog_index_decl_parse(b, v, d, &err) ? err.status : 0;
	code[0] = field[0] = '\0';
	if (r) {
		snprintf(code, 32, "%s", err.code);
		snprintf(field, 32, "%s",
			 json_string_value(json_object_get(err.extra, "field")) ?: "");
	}
	lh_error_clear(&err);
	json_decref(b);
	catalog_version_destroy(v);
	return r;
}

TEST(catalog_index_decl_canonical_and_fingerprint)
{
	struct catalog_index_decl a = { 0 }, b = { 0 }, c = { 0 };
	char code[32], field[32], hex[LH_SHA256_HEX_LEN + 1], want[CATALOG_FP_LEN + 1];
	CHECK_EQ_INT(parse("{\"text\":[\"title\",\"notes\"]}", &a, code, field), 0);
	CHECK_EQ_STR(a.json,
		     "{\"embedder\":\"builtin\",\"id\":null,\"text\":[\"title\",\"notes\"]}");
	sha256_hex(a.json, strlen(a.json), hex);
	snprintf(want, sizeof want, "sha256:%s", hex);
	CHECK_EQ_STR(a.fingerprint, want);
	/* defaults spelled out, keys in another order: the same declaration */
	CHECK_EQ_INT(parse("{\"id\":null,\"embedder\":\"builtin\",\"text\":[\"title\",\"notes\"]}",
			   &b, code, field),
		     0);
	CHECK_EQ_STR(b.fingerprint, a.fingerprint);
	/* the column order is part of it (the indexed text follows it) */
	CHECK_EQ_INT(parse("{\"text\":[\"notes\",\"title\"],\"id\":\"id\","
			   "\"embedder\":\"openai/text-embedding-3-small\"}",
			   &c, code, field),
		     0);
	CHECK(strcmp(c.fingerprint, a.fingerprint) != 0);
	CHECK_EQ_STR(c.json, "{\"embedder\":\"openai/text-embedding-3-small\",\"id\":\"id\","
			     "\"text\":[\"notes\",\"title\"]}");
	catalog_index_decl_free(&a);
	catalog_index_decl_free(&b);
	catalog_index_decl_free(&c);
}

TEST(catalog_index_decl_refusals)
{
	static const struct {
		const char *body;
		const char *code, *field;
	} cases[] = {
		{ "{\"text\":[\"nope\"]}", "unknown_column", "text[0]" },
		{ "{\"text\":[\"title\"],\"id\":\"nope\"}", "unknown_column", "id" },
		{ "{\"text\":[\"score\"]}", "bad_request", "text[0]" },
		{ "{\"text\":[\"id\"]}", "bad_request", "text[0]" },
		{ "{\"text\":[\"title\",\"title\"]}", "bad_request", "text[1]" },
		{ "{\"text\":[]}", "bad_request", "text" },
		{ "{\"text\":\"title\"}", "bad_request", "text" },
		{ "{\"text\":[1]}", "bad_request", "text[0]" },
		{ "{}", "bad_request", "text" },
		{ "{\"text\":null}", "bad_request", "text" },
		{ "{\"vector\":\"emb\"}", "bad_request", "vector" },
		{ "{\"text\":[\"title\"],\"id\":7}", "bad_request", "id" },
		{ "{\"text\":[\"title\"],\"embedder\":\"bert\"}", "bad_request", "embedder" },
		{ "{\"text\":[\"title\"],\"embedder\":\"ollama/\"}", "bad_request", "embedder" },
		{ "{\"text\":[\"title\"],\"embedder\":7}", "bad_request", "embedder" },
		{ "{\"text\":[\"title\"],\"mode\":\"x\"}", "bad_request", "mode" },
		{ "[1]", "bad_json", "" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct catalog_index_decl d = { 0 };
		char code[32], field[32];
		int r = parse(cases[i].body, &d, code, field);
		if (r != 400 || strcmp(code, cases[i].code) || strcmp(field, cases[i].field))
			fprintf(stderr, "  case %zu: %s -> %d %s %s\n", i, cases[i].body, r, code,
				field);
		CHECK_EQ_INT(r, 400);
		CHECK_EQ_STR(code, cases[i].code);
		CHECK_EQ_STR(field, cases[i].field);
		CHECK(d.json == NULL);
	}
	/* more than LH_INDEX_MAX_TEXT_COLUMNS columns */
	struct catalog_version *v = catalog_version_create();
	json_t *text = json_array(), *body = json_object();
	struct catalog_index_decl d = { 0 };
	struct lh_error err = { 0 };
	for (int i = 0; i <= LH_INDEX_MAX_TEXT_COLUMNS; i++) {
		char name[16];
		snprintf(name, sizeof name, "c%d", i);
		catalog_version_add_column(v, name, "utf8", 1);
		json_array_append_new(text, json_string(name));
	}
	json_object_set_new(body, "text", text);
	CHECK_EQ_INT(catalog_index_decl_parse(body, v, &d, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	lh_error_clear(&err);
	json_array_remove(text, 0);
	CHECK_EQ_INT(catalog_index_decl_parse(body, v, &d, &err), 0);
	catalog_index_decl_free(&d);
	json_decref(body);
	catalog_version_destroy(v);
}

TEST(catalog_index_unknown_column_names_the_columns)
{
	struct catalog_version *v = fixture_version("people", SCHEMA, "", NULL);
	json_t *b = json_loads("{\"text\":[\"titel\"]}", 0, NULL);
	struct catalog_index_decl d = { 0 };
	struct lh_error err = { 0 };
	CHECK_EQ_INT(catalog_index_decl_parse(b, v, &d, &err), -1);
	CHECK(strstr(err.msg, "\"titel\"") != NULL);
	CHECK(strstr(err.msg, "id, title, notes, score") != NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(err.extra, "columns")), 4);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "column")), "titel");
	lh_error_clear(&err);
	json_decref(b);
	catalog_version_destroy(v);
}

TEST(catalog_index_embedder_syntax)
{
	CHECK(catalog_index_embedder_valid("builtin"));
	CHECK(catalog_index_embedder_valid("ollama/nomic-embed-text"));
	CHECK(catalog_index_embedder_valid("ollama/nomic-embed-text:latest"));
	CHECK(catalog_index_embedder_valid("openai/BAAI/bge-small-en-v1.5"));
	CHECK(!catalog_index_embedder_valid(NULL));
	CHECK(!catalog_index_embedder_valid(""));
	CHECK(!catalog_index_embedder_valid("Builtin"));
	CHECK(!catalog_index_embedder_valid("openai/"));
	CHECK(!catalog_index_embedder_valid("openai/a b"));
	CHECK(!catalog_index_embedder_valid("openai/a\"b"));
	CHECK(!catalog_index_embedder_valid("openai/caf\xc3\xa9"));
	CHECK(!catalog_index_embedder_valid("huggingface/x"));
	char long_id[7 + LH_INDEX_MODEL_MAX + 2];
	memcpy(long_id, "ollama/", 7);
	memset(long_id + 7, 'm', LH_INDEX_MODEL_MAX);
	long_id[7 + LH_INDEX_MODEL_MAX] = '\0';
	CHECK(catalog_index_embedder_valid(long_id));
	long_id[7 + LH_INDEX_MODEL_MAX] = 'm';
	long_id[8 + LH_INDEX_MODEL_MAX] = '\0';
	CHECK(!catalog_index_embedder_valid(long_id));
}

static int parse_build(const char *body, struct catalog_index_build *b, char fp[CATALOG_FP_LEN + 1])
{
	struct lh_error err = { 0 };
	json_t *j = json_loads(body, 0, NULL);
	int r = catalog_index_build_parse(j, b, fp, &err) ? err.status : 0;
	lh_error_clear(&err);
	json_decref(j);
	return r;
}

#define FP "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\""

TEST(catalog_index_build_parse)
{
	struct catalog_index_build b = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	CHECK_EQ_INT(parse_build("{\"fingerprint\":" FP ",\"state\":\"ready\",\"rows_indexed\":3,"
				 "\"build_ms\":12,\"reason\":null,\"parts\":[{\"object_key\":\"a\","
				 "\"part_key\":\"_index/x/a\",\"rows\":3,\"bytes\":99}]}",
				 &b, fp),
		     0);
	CHECK_EQ_INT(b.state, CATALOG_INDEX_READY);
	CHECK_EQ_INT(b.rows_indexed, 3);
	CHECK_EQ_INT(b.build_ms, 12);
	CHECK_EQ_INT(b.nparts, 1);
	CHECK_EQ_STR(b.parts[0].part_key, "_index/x/a");
	CHECK_EQ_INT(b.parts[0].bytes, 99);
	CHECK(b.reason == NULL);
	CHECK_EQ_STR(fp, "sha256:1111111111111111111111111111111111111111111111111111111111111111");
	catalog_index_build_free(&b);

	static const char *const bad[] = {
		"{\"state\":\"ready\"}",
		"{\"fingerprint\":\"sha256:x\",\"state\":\"ready\"}",
		"{\"fingerprint\":" FP "}",
		"{\"fingerprint\":" FP ",\"state\":\"pending\"}",
		"{\"fingerprint\":" FP ",\"state\":\"READY\"}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"build_ms\":-1}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"rows_indexed\":1.5}",
		"{\"fingerprint\":" FP ",\"state\":\"failed\",\"reason\":7}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":{}}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":[7]}",
		"{\"fingerprint\":" FP
		",\"state\":\"ready\",\"parts\":[{\"part_key\":\"_index/a\"}]}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":[{\"object_key\":\"a\","
		"\"part_key\":\"datasets/a\"}]}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":[{\"object_key\":\"a\","
		"\"part_key\":\"_index//a\"}]}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":[{\"object_key\":\"a\","
		"\"part_key\":\"_index/a\",\"rows\":-2}]}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"parts\":[{\"object_key\":\"a\","
		"\"part_key\":\"_index/a\"},{\"object_key\":\"b\",\"part_key\":\"_index/a\"}]}",
		"{\"fingerprint\":" FP ",\"state\":\"ready\",\"surprise\":1}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = parse_build(bad[i], &b, fp);
		if (r != 400)
			fprintf(stderr, "  bad[%zu] -> %d\n", i, r);
		CHECK_EQ_INT(r, 400);
		CHECK(b.parts == NULL && b.reason == NULL);
	}
}

TEST(catalog_index_build_reason_is_cut_at_a_code_point)
{
	struct catalog_index_build b = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	/* 1023 ASCII bytes, then "é" (2 bytes) straddling the 1024-byte cap */
	size_t n = LH_INDEX_REASON_MAX - 1;
	char *reason = xmalloc(n + 3);
	memset(reason, 'r', n);
	memcpy(reason + n, "\xc3\xa9", 3);
	json_t *j =
		json_pack("{s:s, s:s, s:s}", "fingerprint",
			  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			  "state", "failed", "reason", reason);
	struct lh_error err = { 0 };
	CHECK_EQ_INT(catalog_index_build_parse(j, &b, fp, &err), 0);
	CHECK_EQ_INT(strlen(b.reason), n);
	catalog_index_build_free(&b);
	json_decref(j);
	free(reason);
}

TEST(catalog_index_build_objects_of_the_version)
{
	struct catalog_version *v = fixture_version("people", SCHEMA, "a=1,b=2", NULL);
	struct catalog_index_build b = { 0 };
	struct lh_error err = { 0 };
	v->version = 4;
	CHECK_EQ_INT(catalog_index_build_check_objects(&b, v, &err), 0);
	catalog_index_build_add_part(&b, "b", "_index/x/b", 2, 1);
	catalog_index_build_add_part(&b, "a", "_index/x/a", 1, 1);
	CHECK_EQ_INT(catalog_index_build_check_objects(&b, v, &err), 0);
	catalog_index_build_add_part(&b, "c", "_index/x/c", 1, 1);
	CHECK_EQ_INT(catalog_index_build_check_objects(&b, v, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK(strstr(err.msg, "version 4") != NULL);
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "field")), "parts[2].object_key");
	lh_error_clear(&err);
	catalog_index_build_free(&b);
	catalog_version_destroy(v);
}

TEST(catalog_index_component_parse)
{
	struct lh_error err = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	double *v = NULL;
	size_t n = 0;
	json_t *ok = json_loads("{\"fingerprint\":" FP ",\"component\":[1,-0.5,2e-3]}", 0, NULL);
	CHECK_EQ_INT(catalog_index_component_parse(ok, fp, &v, &n, &err), 0);
	CHECK_EQ_INT(n, 3);
	CHECK(v[0] == 1.0 && v[1] == -0.5 && v[2] == 2e-3);
	free(v);
	json_decref(ok);
	static const char *const bad[] = {
		"{\"fingerprint\":" FP ",\"component\":[]}",
		"{\"fingerprint\":" FP ",\"component\":[\"1\"]}",
		"{\"fingerprint\":" FP ",\"component\":[null]}",
		"{\"fingerprint\":" FP "}",
		"{\"component\":[1]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *j = json_loads(bad[i], 0, NULL);
		CHECK_EQ_INT(catalog_index_component_parse(j, fp, &v, &n, &err), -1);
		CHECK_EQ_INT(err.status, 400);
		CHECK(v == NULL);
		lh_error_clear(&err);
		json_decref(j);
	}
	/* LH_INDEX_MAX_DIM + 1 numbers */
	json_t *arr = json_array();
	for (int i = 0; i <= LH_INDEX_MAX_DIM; i++)
		json_array_append_new(arr, json_real(0.5));
	json_t *big =
		json_pack("{s:s, s:o}", "fingerprint",
			  "sha256:1111111111111111111111111111111111111111111111111111111111111111",
			  "component", arr);
	CHECK_EQ_INT(catalog_index_component_parse(big, fp, &v, &n, &err), -1);
	lh_error_clear(&err);
	json_array_remove(arr, 0);
	CHECK_EQ_INT(catalog_index_component_parse(big, fp, &v, &n, &err), 0);
	CHECK_EQ_INT(n, LH_INDEX_MAX_DIM);
	free(v);
	json_decref(big);
}

TEST(catalog_index_attempts)
{
	const int64_t now = 1000000, fresh = now - 10, stale = now - LH_INDEX_BUILD_STALE_MS - 1;
	CHECK_EQ_INT(
		catalog_index_attempt_starts(CATALOG_INDEX_PENDING, 0, CATALOG_INDEX_BUILDING, now),
		1);
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_BUILDING, fresh,
						  CATALOG_INDEX_BUILDING, now),
		     0); /* heartbeat */
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_BUILDING, stale,
						  CATALOG_INDEX_BUILDING, now),
		     1); /* a new builder */
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_FAILED, fresh,
						  CATALOG_INDEX_BUILDING, now),
		     1);
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_BUILDING, fresh,
						  CATALOG_INDEX_FAILED, now),
		     0);
	CHECK_EQ_INT(
		catalog_index_attempt_starts(CATALOG_INDEX_PENDING, 0, CATALOG_INDEX_FAILED, now),
		1);
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_FAILED, fresh, CATALOG_INDEX_FAILED,
						  now),
		     1);
	CHECK_EQ_INT(catalog_index_attempt_starts(CATALOG_INDEX_BUILDING, fresh,
						  CATALOG_INDEX_READY, now),
		     0);
}

TEST(catalog_index_info_json_dead_build_shows_failed)
{
	struct catalog_index_info *i = xcalloc(1, sizeof *i);
	struct lh_error err = { 0 };
	struct catalog_version *v = fixture_version("people", SCHEMA, "", NULL);
	json_t *b = json_loads("{\"text\":[\"title\"]}", 0, NULL);
	CHECK_EQ_INT(catalog_index_decl_parse(b, v, &i->decl, &err), 0);
	snprintf(i->name, sizeof i->name, "people");
	i->from_version = 1;
	i->nbuilds = 2;
	i->builds = xcalloc(2, sizeof *i->builds);
	i->builds[0].version = 1;
	i->builds[0].state = CATALOG_INDEX_BUILDING;
	i->builds[0].attempts = LH_INDEX_BUILD_MAX_ATTEMPTS;
	i->builds[0].updated_ms = 1000;
	i->builds[1].version = 2;
	i->builds[1].state = CATALOG_INDEX_BUILDING;
	i->builds[1].attempts = 1;
	i->builds[1].updated_ms = 1000;
	json_t *j = catalog_index_info_json(i, 1000 + 61000, 60000);
	json_t *vs = json_object_get(j, "versions");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(vs, 0), "state")), "failed");
	CHECK(strstr(json_string_value(json_object_get(json_array_get(vs, 0), "reason")),
		     "stopped without finishing") != NULL);
	/* fewer attempts: still building (the queue hands it out again) */
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(vs, 1), "state")),
		     "building");
	CHECK(json_is_null(json_object_get(j, "component")));
	CHECK_EQ_STR(
		json_string_value(json_object_get(json_object_get(j, "declaration"), "embedder")),
		"builtin");
	json_decref(j);
	/* not stale yet: building */
	j = catalog_index_info_json(i, 1000 + 59000, 60000);
	CHECK_EQ_STR(json_string_value(json_object_get(
			     json_array_get(json_object_get(j, "versions"), 0), "state")),
		     "building");
	json_decref(j);
	json_decref(b);
	catalog_version_destroy(v);
	catalog_index_info_destroy(i);
}

TEST(catalog_index_unknown_column_in_a_wide_schema)
{
	/* the message lists the columns up to its room, then "..." */
	struct catalog_version *v = catalog_version_create();
	json_t *b = json_loads("{\"text\":[\"missing\"]}", 0, NULL);
	struct catalog_index_decl d = { 0 };
	struct lh_error err = { 0 };
	snprintf(v->name, sizeof v->name, "wide");
	for (int i = 0; i < 200; i++) {
		char name[48];
		snprintf(name, sizeof name, "a_rather_long_column_name_number_%d", i);
		catalog_version_add_column(v, name, "utf8", 1);
	}
	CHECK_EQ_INT(catalog_index_decl_parse(b, v, &d, &err), -1);
	CHECK_EQ_STR(err.code, "unknown_column");
	CHECK(strstr(err.msg, "a_rather_long_column_name_number_0, ") != NULL);
	CHECK(strstr(err.msg, "...") != NULL);
	CHECK(strstr(err.msg, "number_199") == NULL);
	CHECK_EQ_INT(json_array_size(json_object_get(err.extra, "columns")), 200);
	lh_error_clear(&err);
	json_decref(b);
	catalog_version_destroy(v);
}
