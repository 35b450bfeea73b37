/* engine_fixture.h — the DuckDB engine fixture shared by the queryd unit
 * tests that drive engine.c for real (test_queryd_engine.c,
 * test_queryd_allow.c): a sandboxed engine in a fresh temp dir, Parquet
 * written by the engine itself, and a query run to completion. Static
 * functions: include it in one test file each. */
#ifndef LH_TEST_ENGINE_FIXTURE_H
#define LH_TEST_ENGINE_FIXTURE_H
#include "common/error.h"
#include "common/xmalloc.h"
#include "queryd/queryd_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	char dir[64];
	char spill[96];
	struct engine *e;
};

/* `session`: engine_options.session (a worker's kept connection). */
static inline int fixture_open(struct fixture *f, int session)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/lh-qe-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->spill, sizeof f->spill, "%s/spill", f->dir);
	struct lh_error err = { 0 };
	struct engine_options o = { .sandbox_dir = f->dir, .temp_dir = f->spill,
				    .memory_bytes = 256u << 20, .threads = 2, .session = session };
	f->e = engine_open(&o, &err);
	if (!f->e)
		fprintf(stderr, "  engine_open: %s\n", err.msg);
	lh_error_clear(&err);
	return f->e ? 0 : -1;
}

static inline void fixture_close(struct fixture *f)
{
	engine_close(f->e);
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  cleanup failed\n");
	free(cmd);
}

/* Write a Parquet file with the engine itself (the query must be allowed). */
static inline int write_parquet(struct fixture *f, const char *sql, const char *path)
{
	struct lh_error err = { 0 };
	struct engine_query *q = engine_query_create(f->e, &err);
	int rc = -1;
	if (q && engine_query_prepare(q, sql, &err) == 0 &&
	    engine_query_to_parquet(q, sql, strlen(sql), -1, path, &err) == 0)
		rc = 0;
	if (rc)
		fprintf(stderr, "  write_parquet: %s\n", err.msg);
	engine_query_destroy(q);
	lh_error_clear(&err);
	return rc;
}

/* Run `sql` (a TEMP view `view` over `parquet` when set) in `fmt`; the
 * whole output in *out (caller frees). 0, or -1 with err (599 "stream_cut"
 * for a failure mid-stream). */
static inline int fixture_run(struct fixture *f, const char *view, const char *parquet,
			      const char *sql, enum engine_format fmt, int64_t max_rows, char **out,
			      struct lh_error *err)
{
	struct engine_query *q = engine_query_create(f->e, err);
	int rc = -1;
	size_t len = 0, cap = 1 << 16;
	char *buf = xmalloc(cap);
	if (!q)
		goto done;
	if (parquet && engine_query_add_view(q, view, &parquet, 1, NULL, NULL, err))
		goto done;
	if (engine_query_prepare(q, sql, err) || engine_query_start(q, fmt, max_rows, err))
		goto done;
	for (;;) {
		if (cap - len < 4096)
			buf = xrealloc(buf, cap *= 2);
		ssize_t n = engine_query_read(q, buf + len, cap - len - 1, 1.5);
		if (n < 0) {
			lh_fail(err, 599, "stream_cut", "stream failed");
			goto done;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	rc = 0;
done:
	buf[len] = '\0';
	*out = buf;
	engine_query_destroy(q);
	return rc;
}

#endif
