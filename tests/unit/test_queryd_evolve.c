/* test_queryd_evolve.c — the views of an evolved version (engine.c note 11,
 * ADR 0173): objects written with several schemas read with the version's
 * (same type as it is, a widening type cast, anything else NULL, the
 * version's column order), for the SQL views and for search's positions
 * view, whose object index runs across the runs. */
#include "test.h"

#include "engine_fixture.h"

#define V1 "[{\"name\":\"id\",\"type\":\"int64\"},{\"name\":\"name\",\"type\":\"utf8\"}," \
	   "{\"name\":\"gone\",\"type\":\"bool\"},{\"name\":\"d\",\"type\":\"date32\"}]"
#define V2 "[{\"name\":\"name\",\"type\":\"utf8\"},{\"name\":\"id\",\"type\":\"float64\"}," \
	   "{\"name\":\"city\",\"type\":\"utf8\"},{\"name\":\"gone\",\"type\":\"int64\"}," \
	   "{\"name\":\"d\",\"type\":\"timestamp[us]\"}]"

/* Run sql over the TEMP views `q` holds; the CSV in *out. */
static int run_csv(struct engine_query *q, const char *sql, char **out, struct lh_error *err)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = xmalloc(cap);
	int rc = -1;
	if (engine_query_prepare(q, sql, err) || engine_query_start(q, ENGINE_CSV, -1, err))
		goto done;
	for (;;) {
		ssize_t n = engine_query_read(q, buf + len, cap - len - 1, 1.0);
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		len += (size_t)n;
	}
done:
	buf[len] = '\0';
	*out = buf;
	return rc;
}

TEST(queryd_evolve_views_read_older_objects_with_the_version_schema)
{
	struct fixture f;
	struct lh_error err = { 0 };
	CHECK(fixture_open(&f, 0) == 0);
	char *p1 = xasprintf("%s/one.parquet", f.dir), *p2 = xasprintf("%s/two.parquet", f.dir);
	char *p3 = xasprintf("%s/three.parquet", f.dir);
	CHECK(write_parquet(&f, "SELECT 1::BIGINT AS id, 'Ada' AS name, true AS gone, "
			    "DATE '2026-01-05' AS d", p1) == 0);
	CHECK(write_parquet(&f, "SELECT 2::BIGINT AS id, 'Grace' AS name, false AS gone, "
			    "NULL::DATE AS d", p2) == 0);
	CHECK(write_parquet(&f, "SELECT 'Linus' AS name, 3.5::DOUBLE AS id, 'Oslo' AS city, "
			    "7::BIGINT AS gone, TIMESTAMP '2026-02-01 10:00:00' AS d", p3) == 0);
	const char *paths[] = { p1, p2, p3 };
	json_t *schema = json_loads(V2, 0, NULL);
	json_t *runs = json_pack("[{s:i, s:o}, {s:i, s:O}]", "count", 2, "schema",
				 json_loads(V1, 0, NULL), "count", 1, "schema", schema);
	struct engine_query *q = engine_query_create(f.e, &err);
	char *out = NULL;
	CHECK(q != NULL);
	CHECK_EQ_INT(engine_query_add_view(q, "ev@2", paths, 3, schema, runs, &err), 0);
	CHECK_EQ_INT(engine_query_add_positions_view(q, "ev_pos", paths, 3, schema, runs, &err), 0);
	CHECK_EQ_INT(run_csv(q, "SELECT * FROM \"ev@2\" ORDER BY id", &out, &err), 0);
	CHECK_EQ_STR(out, "name,id,city,gone,d\n"
			  "Ada,1.0,,,2026-01-05T00:00:00\n"
			  "Grace,2.0,,,\n"
			  "Linus,3.5,Oslo,7,2026-02-01T10:00:00\n");
	free(out);
	engine_query_destroy(q);

	/* the positions view: the object index counts across the runs */
	q = engine_query_create(f.e, &err);
	CHECK_EQ_INT(engine_query_add_positions_view(q, "ev_pos", paths, 3, schema, runs, &err), 0);
	CHECK_EQ_INT(run_csv(q, "SELECT name, \"__lh_object\", \"__lh_row\" FROM ev_pos "
			     "ORDER BY \"__lh_object\"", &out, &err), 0);
	CHECK_EQ_STR(out, "name,__lh_object,__lh_row\nAda,0,0\nGrace,1,0\nLinus,2,0\n");
	free(out);
	engine_query_destroy(q);

	/* without runs: the plain view of one schema, as before */
	q = engine_query_create(f.e, &err);
	CHECK_EQ_INT(engine_query_add_view(q, "ev@1", paths, 2, NULL, NULL, &err), 0);
	CHECK_EQ_INT(run_csv(q, "SELECT * FROM \"ev@1\" ORDER BY id", &out, &err), 0);
	CHECK_EQ_STR(out, "id,name,gone,d\n1,Ada,true,2026-01-05\n2,Grace,false,\n");
	free(out);
	engine_query_destroy(q);
	json_decref(runs);
	json_decref(schema);
	lh_error_clear(&err);
	free(p1);
	free(p2);
	free(p3);
	fixture_close(&f);
}
