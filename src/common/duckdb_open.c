/* duckdb_open.c — lh_duckdb_open() (duckdb_open.h): the one DuckDB opener
 * for ingestd and queryd. A DuckDB adapter file: it includes <duckdb.h>. */

/* duckdb.h declares `f()` prototypes; keep -Wstrict-prototypes for our code */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <duckdb.h>
#pragma GCC diagnostic pop

#include "common/duckdb_open.h"

#include "common/error.h"

#include <stdio.h>

/* Set one option; a refusal is an error (the caller's code). */
static int set(duckdb_config cfg, const char *name, const char *value, const char *code,
	       struct lh_error *err)
{
	if (duckdb_set_config(cfg, name, value) == DuckDBError)
		return lh_fail(err, 500, code, "DuckDB refused %s %s", name, value);
	return 0;
}

int lh_duckdb_open(const struct lh_duckdb_options *o, duckdb_database *db,
		   struct lh_error *err)
{
	const char *code = o->fail_code ? o->fail_code : "internal";
	duckdb_config cfg = NULL;
	char *open_err = NULL;
	char val[64];
	int rc = -1;

	*db = NULL;
	if (duckdb_create_config(&cfg) == DuckDBError) {
		lh_fail(err, 500, code, "could not configure DuckDB");
		goto out;
	}
	if (o->memory_limit_bytes) {
		snprintf(val, sizeof val, "%lluKiB",
			 (unsigned long long)(o->memory_limit_bytes + 1023) / 1024);
		if (set(cfg, "memory_limit", val, code, err))
			goto out;
	}
	if (o->threads) {
		snprintf(val, sizeof val, "%u", o->threads);
		if (set(cfg, "threads", val, code, err))
			goto out;
	}
	if (o->temp_directory && set(cfg, "temp_directory", o->temp_directory, code, err))
		goto out;
	if (o->max_temp_bytes) {
		snprintf(val, sizeof val, "%lluKiB",
			 (unsigned long long)(o->max_temp_bytes + 1023) / 1024);
		if (set(cfg, "max_temp_directory_size", val, code, err))
			goto out;
	}
	if (o->preserve_insertion_order &&
	    set(cfg, "preserve_insertion_order", "true", code, err))
		goto out;
	if (set(cfg, "autoinstall_known_extensions", "false", code, err) ||
	    set(cfg, "autoload_known_extensions", "false", code, err))
		goto out;
	if (duckdb_open_ext(NULL, db, cfg, &open_err) == DuckDBError) {
		lh_fail(err, 500, code, "could not open DuckDB: %s",
			open_err ? open_err : "unknown error");
		*db = NULL;
		goto out;
	}
	rc = 0;
out:
	if (cfg)
		duckdb_destroy_config(&cfg);
	if (open_err)
		duckdb_free(open_err);
	return rc;
}
