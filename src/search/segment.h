/* segment.h — an index part: the searchable form of one data object of a
 * dataset version (docs/search.md "Index parts"; ADR 0150).
 *
 * A part holds, for the object's rows in their order (row i = the object's
 * i-th row): the BM25 text index (text_index.h), each row's embedding
 * (unit length after the index's common component was removed; all zeros
 * for a row with no known word), optionally an HNSW graph over those
 * embeddings (ann.h), and each row as a JSON object (the row store: what a
 * search answers without reading the Parquet object again).
 *
 * Parts are immutable objects in storaged, content-derived keys
 * (segment_key), opened in place from a mapped file: segment_open copies
 * nothing and validates every offset, since the bytes come from storage.
 *
 * File layout (little-endian; sections 8-byte aligned):
 *   0  "LHIXPT02"   8 u32 rows   12 u32 dim
 *   16 u64 text_off  24 u64 text_len
 *   32 u64 vec_off   40 u64 vec_len   (rows * dim float32)
 *   48 u64 ann_off   56 u64 ann_len   (0 = no graph: exact search)
 *   64 u64 store_off 72 u64 store_len (u64 ends[rows], then the rows' bytes)
 *   80 u64 file_size 88 u64 reserved (0)
 *   96 the SHA-256 (hex) of the data object the part was built from
 */
#ifndef LH_SEARCH_SEGMENT_H
#define LH_SEARCH_SEGMENT_H
#include <stddef.h>
#include <stdint.h>

struct lh_buf;
struct lh_error;
struct ann;
struct ann_params;
struct text_index;

#define SEGMENT_MAGIC "LHIXPT02"
#define SEGMENT_HEADER_BYTES 160

struct segment_builder;

/* A builder for parts whose embeddings have `dim` dimensions, of the data
 * object whose content SHA-256 is `object_sha` (64 hex; recorded in the
 * header). Never NULL. */
struct segment_builder *segment_builder_new(unsigned dim, const char *object_sha);
/* Append the next row: the text BM25 indexes, its embedding (dim floats,
 * copied) and its JSON object (copied). */
void segment_builder_add(struct segment_builder *b, const char *text, size_t text_len,
			 const float *vec, const char *row_json, size_t row_len);
uint32_t segment_builder_rows(const struct segment_builder *b);
/* The embeddings added so far (rows * dim floats), to change in place
 * before finishing (the index's common component is removed last). */
float *segment_builder_vectors(struct segment_builder *b);
/* Where a finished part's bytes go, in order: 0, or -1 to stop. */
typedef int (*segment_sink_fn)(void *ctx, const void *data, size_t n);
/* Write the part to `sink` and free the builder (also on failure). `ann`:
 * build an HNSW graph with these parameters, or NULL for none. The builder's
 * arrays are freed as soon as their section is written. 0, or -1 with err
 * (507 "index_too_large" when the sink refused bytes). */
int segment_builder_write(struct segment_builder *b, const struct ann_params *ann,
			  segment_sink_fn sink, void *ctx, struct lh_error *err);
/* The same into `out` (whose cap must hold it). */
int segment_builder_finish(struct segment_builder *b, const struct ann_params *ann,
			   struct lh_buf *out, struct lh_error *err);
/* A sink that writes to file descriptor *(int *)ctx. */
int segment_fd_sink(void *ctx, const void *data, size_t n);
/* Free a builder that will not be finished. NULL is fine. */
void segment_builder_free(struct segment_builder *b);

struct segment;

/* Open a part in place: `bytes` must outlive it. NULL with a 502
 * "bad_index_part" error naming what is wrong. */
struct segment *segment_open(const void *bytes, size_t len, struct lh_error *err);
void segment_close(struct segment *s);
uint32_t segment_rows(const struct segment *s);
/* The SHA-256 (hex, NUL-terminated) of the object the part was built from. */
const char *segment_object_sha(const struct segment *s);
unsigned segment_dim(const struct segment *s);
const struct text_index *segment_text(const struct segment *s);
/* NULL when the part has no graph. */
const struct ann *segment_ann(const struct segment *s);
/* Row `row`'s embedding (dim floats). */
const float *segment_vector(const struct segment *s, uint32_t row);
/* Row `row`'s JSON object (not NUL-terminated), *len bytes. */
const char *segment_row(const struct segment *s, uint32_t row, size_t *len);

/* The storaged key of part `chunk` (rows chunk * part_rows on)
 * of the object whose content SHA-256 is `object_sha` (hex) under the index
 * whose fingerprint is `fingerprint` ("sha256:<hex>") and whose common
 * component is pc[0..dim) (NULL: none): "_index/<16 hex of the
 * fingerprint>/<16 hex of the component's SHA-256>/<object_sha>/
 * <part_rows>.<chunk>".
 * Derived from every input of the part, so versions (and datasets) that
 * share an object and an index share its parts, and nothing else does.
 * xmalloc'd. */
char *segment_key(const char *fingerprint, const float *pc, unsigned dim, const char *object_sha,
		  uint32_t part_rows, uint32_t chunk);

#endif
