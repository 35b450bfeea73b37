/* test_evolve_cast.c — an evolving upload's columns that fit the dataset's
 * types are read with them before the schema change is registered
 * (src/ingestd/evolve.c, ADR 0173): matched by name in any order, only
 * columns whose every value fits, never a declared column, and the
 * fingerprint recomputed. */
#include "test.h"

#include "common/error.h"
#include "common/manifest.h"
#include "common/schema.h"
#include "ingestd/cast.h"
#include "ingestd/evolve.h"
#include "ingestd/format.h"

#include <stdlib.h>
#include <unistd.h>

static struct ingest_schema *infer_text(const char *text)
{
	char path[] = "/tmp/lh-test-evolve-XXXXXX";
	int fd = mkstemp(path);
	struct ingest_schema *s = NULL;
	struct lh_error err = { 0 };
	size_t n = strlen(text);
	if (fd < 0)
		return NULL;
	unlink(path);
	if (write(fd, text, n) == (ssize_t)n)
		ingest_infer_fd(&ingest_format_csv, fd, &s, &err);
	lh_error_clear(&err);
	close(fd);
	return s;
}

/* A latest manifest of "name:type,..." */
static struct manifest *latest_of(const char *const *cols, size_t n)
{
	struct manifest *m = manifest_create();
	struct schema_fp fp;
	schema_fp_init(&fp);
	snprintf(m->name, sizeof m->name, "d");
	m->version = 1;
	for (size_t i = 0; i < n; i += 2) {
		manifest_add_column(m, cols[i], cols[i + 1], 1);
		schema_fp_add(&fp, cols[i], cols[i + 1]);
	}
	schema_fp_finish(&fp, m->fingerprint);
	return m;
}

TEST(evolve_cast_reads_fitting_columns_with_the_dataset_types)
{
	static const char *const cols[] = { "id", "int64", "code", "utf8", "hours", "float64",
					    "d", "date32", "gone", "bool" };
	struct manifest *m = latest_of(cols, sizeof cols / sizeof cols[0]);
	/* another order, a new column, "gone" removed; code and hours fit, d
	 * (int64) does not fit date32 */
	struct ingest_schema *s = infer_text("hours,new,code,id,d\n38,x,42,1,5\n");
	struct ingest_schema *e = NULL;
	json_t *cast = json_array();
	CHECK(s != NULL);
	CHECK_EQ_INT(ingest_evolve_cast(s, m, NULL, 0, &e, cast), 1);
	CHECK(e != NULL);
	CHECK_EQ_INT(e->ncols, 5);
	CHECK_EQ_INT(e->columns[0].type.id, SCHEMA_FLOAT64);   /* hours, cast */
	CHECK_EQ_INT(e->columns[0].cast, 1);
	CHECK_EQ_INT(e->columns[0].from.id, SCHEMA_INT64);
	CHECK_EQ_INT(e->columns[1].type.id, SCHEMA_UTF8);      /* new: inferred */
	CHECK_EQ_INT(e->columns[1].cast, 0);
	CHECK_EQ_INT(e->columns[2].type.id, SCHEMA_UTF8);      /* code, cast */
	CHECK_EQ_INT(e->columns[2].cast, 1);
	CHECK_EQ_INT(e->columns[3].type.id, SCHEMA_INT64);     /* id: the same */
	CHECK_EQ_INT(e->columns[3].cast, 0);
	CHECK_EQ_INT(e->columns[4].type.id, SCHEMA_INT64);     /* d: does not fit */
	CHECK_EQ_INT(e->columns[4].cast, 0);
	CHECK(strcmp(e->fingerprint, s->fingerprint) != 0);
	char fp[SCHEMA_FP_LEN + 1];
	ingest_fingerprint(e->columns, e->ncols, fp);
	CHECK_EQ_STR(e->fingerprint, fp);
	CHECK_EQ_INT(json_array_size(cast), 2);
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cast, 0), "column")), "hours");
	CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(cast, 1), "to")), "utf8");
	ingest_cast_free(e);
	e = NULL;

	/* a declared column keeps its type */
	const char *skip[] = { "code" };
	json_array_clear(cast);
	CHECK_EQ_INT(ingest_evolve_cast(s, m, skip, 1, &e, cast), 1);
	CHECK_EQ_INT(e->columns[2].type.id, SCHEMA_INT64);
	CHECK_EQ_INT(json_array_size(cast), 1);
	ingest_cast_free(e);
	e = NULL;

	/* nothing to cast: 0, nothing touched */
	json_array_clear(cast);
	const char *all[] = { "code", "hours" };
	CHECK_EQ_INT(ingest_evolve_cast(s, m, all, 2, &e, cast), 0);
	CHECK(e == NULL);
	CHECK_EQ_INT(json_array_size(cast), 0);
	CHECK_EQ_INT(ingest_evolve_cast(s, NULL, NULL, 0, &e, cast), 0);
	json_decref(cast);
	ingest_schema_destroy(s);
	manifest_unref(m);
}

TEST(evolve_cast_inexact_int64_stays)
{
	static const char *const cols[] = { "n", "float64" };
	struct manifest *m = latest_of(cols, 2);
	struct ingest_schema *s = infer_text("n,x\n9007199254740993,1\n");
	struct ingest_schema *e = NULL;
	json_t *cast = json_array();
	CHECK(s != NULL);
	CHECK_EQ_INT(ingest_evolve_cast(s, m, NULL, 0, &e, cast), 0);
	json_decref(cast);
	ingest_schema_destroy(s);
	manifest_unref(m);
}
