/* part_build.h — making an index part (segment.h) from a data object's
 * rows: each row's JSON object (one NDJSON line, as queryd's engine renders
 * it) -> its indexed text (index_decl.h) -> BM25 and the embedder.
 *
 * Rows are embedded in batches as they arrive (PART_BUILD_BATCH texts per
 * embedder call); the index's common component is removed from every
 * embedding at the end (sif.h), since it may be computed from these very
 * rows (part_build_raw_vectors). Used by queryd's index builder (stored
 * parts) and its search (parts of rows not yet indexed, kept in memory).
 */
#ifndef LH_SEARCH_PART_BUILD_H
#define LH_SEARCH_PART_BUILD_H
#include <stddef.h>
#include <stdint.h>

struct ann_params;
struct embedder;
struct index_decl;
struct lh_buf;
struct lh_error;

#define PART_BUILD_BATCH 256

struct part_build;

/* The part of the object whose content SHA-256 is `object_sha` (hex). decl
 * and e are borrowed and must outlive the build. Never NULL. */
struct part_build *part_build_new(const struct index_decl *decl, struct embedder *e,
				  const char *object_sha);
/* The next row: a JSON object (one line, no newline needed). 0, or -1 with
 * err (a line that is not an object: 502; an embedder failure: its err). */
int part_build_line(struct part_build *pb, const char *line, size_t len, struct lh_error *err);
/* Embed what is still batched. 0 or -1 with err. */
int part_build_flush(struct part_build *pb, struct lh_error *err);
uint32_t part_build_rows(const struct part_build *pb);
unsigned part_build_dim(const struct part_build *pb);
/* The raw embeddings so far (after part_build_flush): rows * dim floats. */
const float *part_build_raw_vectors(struct part_build *pb);
/* Remove `pc` (dim floats; NULL: none) from every embedding, write the part
 * into out and free pb (also on failure). `ann` as segment_builder_finish. */
int part_build_finish(struct part_build *pb, const float *pc, const struct ann_params *ann,
		      struct lh_buf *out, struct lh_error *err);
/* The same, the part's bytes to `sink` (segment.h's segment_sink_fn). */
int part_build_write(struct part_build *pb, const float *pc, const struct ann_params *ann,
		     int (*sink)(void *ctx, const void *data, size_t n), void *ctx,
		     struct lh_error *err);
void part_build_free(struct part_build *pb);

#endif
