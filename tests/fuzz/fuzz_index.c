/* fuzz_index.c — libFuzzer target for what catalogd reads from a search-index
 * request body (src/catalogd/catalog_index.h, ADR 0140): the declaration
 * (against a fixed schema), the build record and the common component. The
 * input is a request body; each parser reads the same parsed JSON.
 *
 * Invariants: a declaration is either a 400 with a code (and a "field" for
 * bad_request and unknown_column: the key at fault, which may be "") or canonical JSON with exactly the keys
 * embedder, id and text, whose text columns are distinct utf8 columns of the
 * schema, whose fingerprint is "sha256:" + SHA-256 of that text, and which
 * parses again to itself (the canonical form is a fixed point). A build
 * record is a 400 with nothing allocated, or a state other than pending,
 * counts >= 0, a reason of at most LH_INDEX_REASON_MAX bytes of valid UTF-8,
 * and distinct part keys that are valid storaged keys under "_index/". A
 * component is a 400 or 1..LH_INDEX_MAX_DIM finite numbers.
 */
#include "fuzz.h"

#include "catalogd/catalog_index.h"
#include "common/error.h"
#include "common/json.h"
#include "common/keys.h"
#include "common/limits.h"
#include "common/sha256.h"

#include <math.h>
#include <string.h>

static struct catalog_version *schema(void)
{
	struct catalog_version *v = catalog_version_create();
	snprintf(v->name, sizeof v->name, "people");
	v->version = 3;
	catalog_version_add_column(v, "id", "int64", 1);
	catalog_version_add_column(v, "title", "utf8", 1);
	catalog_version_add_column(v, "notes", "utf8", 1);
	catalog_version_add_column(v, "caf\xc3\xa9", "utf8", 1);
	catalog_version_add_column(v, "score", "float64", 1);
	catalog_version_add_object(v, "p/a", 10, 1,
				   "0000000000000000000000000000000000000000000000000000000000000000");
	return v;
}

static int utf8_column(const struct catalog_version *v, const char *name)
{
	for (size_t i = 0; i < v->ncolumns; i++)
		if (!strcmp(v->columns[i].name, name))
			return !strcmp(v->columns[i].type, "utf8");
	return 0;
}

static void check_refusal(struct lh_error *err)
{
	FUZZ_CHECK(err->status == 400 && err->code[0] != '\0' && err->msg[0] != '\0');
	if (!strcmp(err->code, "bad_request") || !strcmp(err->code, "unknown_column")) {
		json_t *f = json_object_get(err->extra, "field");
		FUZZ_CHECK(f && json_is_string(f));  /* "" when the unknown key is "" */
	}
	lh_error_clear(err);
}

static void check_decl(const json_t *body, const struct catalog_version *v)
{
	struct lh_error err = { 0 };
	struct catalog_index_decl d = { 0 }, again = { 0 };
	char hex[LH_SHA256_HEX_LEN + 1], fp[CATALOG_FP_LEN + 1];
	if (catalog_index_decl_parse(body, v, &d, &err)) {
		FUZZ_CHECK(d.json == NULL);
		check_refusal(&err);
		return;
	}
	FUZZ_CHECK(err.status == 0 && d.json != NULL);
	sha256_hex(d.json, strlen(d.json), hex);
	snprintf(fp, sizeof fp, "sha256:%s", hex);
	FUZZ_CHECK(strcmp(fp, d.fingerprint) == 0);
	json_t *canon = json_loads(d.json, 0, NULL);
	FUZZ_CHECK(json_is_object(canon) && json_object_size(canon) == 3);
	json_t *text = json_object_get(canon, "text"), *id = json_object_get(canon, "id");
	json_t *emb = json_object_get(canon, "embedder");
	FUZZ_CHECK(json_is_string(emb) && catalog_index_embedder_valid(json_string_value(emb)));
	FUZZ_CHECK(json_is_null(id) || json_is_string(id));
	FUZZ_CHECK(json_is_array(text) && json_array_size(text) >= 1 &&
		   json_array_size(text) <= LH_INDEX_MAX_TEXT_COLUMNS);
	for (size_t i = 0; i < json_array_size(text); i++) {
		const char *c = json_string_value(json_array_get(text, i));
		FUZZ_CHECK(c && utf8_column(v, c));
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(json_string_value(json_array_get(text, j)), c) != 0);
	}
	FUZZ_CHECK(catalog_index_decl_parse(canon, v, &again, &err) == 0);
	FUZZ_CHECK(strcmp(again.json, d.json) == 0);
	FUZZ_CHECK(strcmp(again.fingerprint, d.fingerprint) == 0);
	json_decref(canon);
	catalog_index_decl_free(&again);
	catalog_index_decl_free(&d);
}

static int part_cmp(const void *a, const void *b)
{
	return strcmp(((const struct catalog_index_part *)a)->part_key,
		      ((const struct catalog_index_part *)b)->part_key);
}

static void check_build(const json_t *body, const struct catalog_version *v)
{
	struct lh_error err = { 0 };
	struct catalog_index_build b = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	if (catalog_index_build_parse(body, &b, fp, &err)) {
		FUZZ_CHECK(b.parts == NULL && b.reason == NULL && b.nparts == 0);
		check_refusal(&err);
		return;
	}
	FUZZ_CHECK(catalog_fingerprint_valid(fp));
	FUZZ_CHECK(b.state == CATALOG_INDEX_BUILDING || b.state == CATALOG_INDEX_READY ||
		   b.state == CATALOG_INDEX_FAILED);
	FUZZ_CHECK(b.rows_indexed >= 0 && b.build_ms >= 0);
	if (b.reason) {
		json_t *r = json_string(b.reason);  /* NULL for invalid UTF-8 */
		FUZZ_CHECK(r != NULL && strlen(b.reason) <= LH_INDEX_REASON_MAX);
		json_decref(r);
	}
	for (size_t i = 0; i < b.nparts; i++) {
		const struct catalog_index_part *p = &b.parts[i];
		FUZZ_CHECK(p->rows >= 0 && p->bytes >= 0 && p->object_key[0] != '\0');
		FUZZ_CHECK(!strncmp(p->part_key, "_index/", 7));
		FUZZ_CHECK(storage_key_validate(p->part_key, strlen(p->part_key), &err) == 0);
	}
	if (b.nparts > 1) {
		struct catalog_index_part *s = malloc(b.nparts * sizeof *s);
		memcpy(s, b.parts, b.nparts * sizeof *s);
		qsort(s, b.nparts, sizeof *s, part_cmp);
		for (size_t i = 1; i < b.nparts; i++)
			FUZZ_CHECK(strcmp(s[i - 1].part_key, s[i].part_key) != 0);
		free(s);
	}
	/* the version check either accepts or names a part */
	if (catalog_index_build_check_objects(&b, v, &err))
		check_refusal(&err);
	catalog_index_build_free(&b);
}

static void check_component(const json_t *body)
{
	struct lh_error err = { 0 };
	char fp[CATALOG_FP_LEN + 1];
	double *vals = NULL;
	size_t n = 0;
	if (catalog_index_component_parse(body, fp, &vals, &n, &err)) {
		FUZZ_CHECK(vals == NULL && n == 0);
		check_refusal(&err);
		return;
	}
	FUZZ_CHECK(n >= 1 && n <= LH_INDEX_MAX_DIM && catalog_fingerprint_valid(fp));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(isfinite(vals[i]));
	free(vals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lh_error err = { 0 };
	json_t *body = json_parse_request((const char *)data, size, &err);
	if (!body) {
		lh_error_clear(&err);
		return 0;
	}
	struct catalog_version *v = schema();
	check_decl(body, v);
	check_build(body, v);
	check_component(body);
	catalog_version_destroy(v);
	json_decref(body);
	return 0;
}
