/* doc_ingest.h — documents in ingestd (SPEC 15, ADR 0225-0227): the upload
 * of one or many files as `POST /ingest?name=N&kind=documents`, and the
 * download of an original as `GET /documents/<doc_id>` (gateway
 * `/v1/documents/<doc_id>`). ingestd.c routes both here; the rows go
 * through pipeline.c like any upload's (doc_rows.h is their format).
 */
#ifndef LH_INGESTD_DOC_INGEST_H
#define LH_INGESTD_DOC_INGEST_H
#include "common/json.h"

#include <stdint.h>

struct catalog_client;
struct doc_limits;
struct http_request;
struct lh_error;
struct multipart_callbacks;
struct pipeline_env;
struct storage_client;

/* The files of one documents upload, spooled one after another into
 * `spool_fd` (the caller's O_TMPFILE; it stays the caller's) while each
 * one's SHA-256 (its doc_id) is computed. `max_bytes` caps the whole upload
 * (413 naming the file that crosses it); partial: ?partial=true. */
struct doc_upload;
struct doc_upload *doc_upload_create(int spool_fd, uint64_t max_bytes, int partial);
void doc_upload_destroy(struct doc_upload *d);

/* A raw body is one file: begin it with its name (?file_name= or the
 * Content-Disposition's filename; NULL = none) and media type, write its
 * bytes, end it. A multipart body: doc_upload_callbacks() fills `cb` for
 * multipart_create (every "file" part is a file, ADR 0225). 0 or -1 with
 * err (413 too_large naming the file; 400 too many files). */
int doc_upload_begin_file(struct doc_upload *d, const char *file_name, const char *media_type,
			  struct lh_error *err);
int doc_upload_write(struct doc_upload *d, const char *data, size_t n, struct lh_error *err);
int doc_upload_end_file(struct doc_upload *d, struct lh_error *err);
void doc_upload_callbacks(struct doc_upload *d, struct multipart_callbacks *cb);

/* After the body: read every file (doc_extract, `lim`), chunk it, and
 * unless a file failed without `partial`, store each original write-once
 * under documents/<doc_id>/original, run the pipeline with the rows, record
 * documents/<doc_id>/in/<identity> (the digits of the dataset's creation
 * time) and declare the text index when the dataset has none. A table
 * under `name` is the 409 before anything is stored; with mode "append"
 * the files already in the latest version are left out (listed existing). 0 with *status and *body (200 with "files"; 400/413/415 listing
 * every failed file under "failed"; 409 as the pipeline says), or -1 with
 * err (5xx, or a request error). */
int doc_upload_run(struct doc_upload *d, const struct pipeline_env *env,
		   const struct doc_limits *lim, const char *name, const char *mode, int *status,
		   json_t **body, struct lh_error *err);

/* GET /documents/<doc_id>: the original's bytes with its media type and
 * file name, if the caller may read it (ADR 0227: through a documents
 * dataset that holds it; a read or agent token only through one with no
 * personal columns). Responds on `req` itself. */
int doc_download(struct http_request *req, struct storage_client *storage,
		 struct catalog_client *catalog, const char *spool_dir);

#endif
