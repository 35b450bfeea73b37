/* pipeline.h — what ingestd does with a spooled, already inferred upload
 * (docs/api.md, POST /ingest steps 2a-5): cast to the dataset's types when
 * the upload fits them, check the catalog for an identical version, convert to
 * Parquet, PUT write-once to storaged, register with catalogd. Inference
 * (step 2) ran while the upload arrived (ingestd.c). */
#ifndef LH_INGESTD_PIPELINE_H
#define LH_INGESTD_PIPELINE_H
#include "common/json.h"

#include <pthread.h>
#include <stdint.h>

struct catalog_client;
struct declared_types;
struct ingest_schema;
struct lh_error;
struct storage_client;

/* Conversions are memory- and CPU-heavy (a DuckDB each, ADR 0006): at most
 * PIPELINE_MAX_CONVERSIONS run at once per service; others wait. The
 * service owns one (struct ingestd) and lends it to every run. */
#define PIPELINE_MAX_CONVERSIONS 2
struct conversion_slots {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int running, max;
};
void conversion_slots_init(struct conversion_slots *s, int max);
void conversion_slots_free(struct conversion_slots *s);

struct pipeline_env {
	struct conversion_slots *conversions;  /* the service's, borrowed */
	struct storage_client *storage;  /* storaged (storage_client.h), borrowed */
	struct catalog_client *catalog;  /* catalogd (catalog_client.h), borrowed */
	const char *spool_dir;          /* where the Parquet FIFO is made and
					 * DuckDB may spill */
	uint64_t duckdb_memory_bytes;
	unsigned duckdb_threads;
	const char *request_id;         /* propagated to storaged and catalogd (the
					 * service token is the clients') */
	const char *who;                /* the uploader's token name (ADR 0210):
					 * the version's "ingested_by", or NULL */
};

struct pipeline_input {
	const char *name;               /* validated dataset name */
	const char *mode;               /* "replace" or "append" */
	int spool_fd;                   /* the upload; read with pread */
	const char *content_sha256;     /* hex digest of the upload */
	struct ingest_schema *schema;   /* inferred from exactly the spooled
					 * bytes by its format (format.h),
					 * layout included; owned by the
					 * caller; declared types are applied
					 * to it in place (declared.h) */
	const struct declared_types *declared; /* this upload's ?types, or NULL */
	int evolve;                     /* ?evolve=true: a schema change is a new
					 * version (ADR 0173); the answer says
					 * "evolved" */
	int documents;                  /* the rows of a documents upload
					 * (doc_rows.h): the dataset must be a
					 * documents dataset or new (note 8) */
};

/* Run the pipeline. A value that does not fit its declared type is -1 with
 * a 400 (declared.h). On success returns 0 and *status and *body are the response
 * to send (200, with `cast` listing the columns read with the dataset's
 * types (cast.h, ADR 0170), or 409 with the drift explained); the caller
 * owns *body.
 * On failure returns -1 with err (500 when the conversion fails, 502 when a
 * peer is down or failing). Nothing is left behind in spool_dir either way. */
/* What the answer's "format" says of an upload read into `s` (note 7 of
 * pipeline.c, docs/api.md): {"name": "csv"|"tsv"|"json"|"parquet"|"xlsx"}
 * plus "delimiter" (delimited text), "layout" ("ndjson" or "array": JSON),
 * "sheet" (xlsx) and "stored_as_is" (Parquet: `stored_as_is`). New JSON. */
json_t *pipeline_format_json(const struct ingest_schema *s, int stored_as_is);

int pipeline_run(const struct pipeline_env *env, const struct pipeline_input *in,
		 int *status, json_t **body, struct lh_error *err);

#endif
