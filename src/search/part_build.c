/* part_build.c — rows -> index part (part_build.h).
 *
 * DESIGN NOTES
 *  1. A row's text and JSON go to the segment builder as soon as its batch
 *     is embedded, so what is held besides the part itself is one batch.
 *  2. A row whose text has no word the embedder knows gets an all-zero
 *     embedding: it is never near anything in vector search (cosine 0) but
 *     stays findable by its words.
 */
#include "search/part_build.h"

#include "search/embed.h"
#include "search/index_decl.h"
#include "search/segment.h"
#include "search/sif.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct part_build {
	const struct index_decl *decl;
	struct embedder *e;
	unsigned dim;
	struct segment_builder *seg;
	/* the batch (note 1) */
	char *texts[PART_BUILD_BATCH];
	size_t text_lens[PART_BUILD_BATCH];
	char *rows[PART_BUILD_BATCH];
	size_t row_lens[PART_BUILD_BATCH];
	size_t n;
	float *vecs;             /* PART_BUILD_BATCH * dim */
};

struct part_build *part_build_new(const struct index_decl *decl, struct embedder *e,
				  const char *object_sha)
{
	struct part_build *pb = xcalloc(1, sizeof *pb);
	pb->decl = decl;
	pb->e = e;
	pb->dim = embedder_dim(e);
	pb->seg = segment_builder_new(pb->dim, object_sha);
	pb->vecs = xcalloc((size_t)PART_BUILD_BATCH * pb->dim, sizeof *pb->vecs);
	return pb;
}

static void batch_clear(struct part_build *pb)
{
	for (size_t i = 0; i < pb->n; i++) {
		free(pb->texts[i]);
		free(pb->rows[i]);
	}
	pb->n = 0;
}

int part_build_flush(struct part_build *pb, struct lh_error *err)
{
	if (pb->n == 0)
		return 0;
	if (embedder_embed(pb->e, (const char *const *)pb->texts, pb->text_lens, pb->n, pb->vecs,
			   err))
		return -1;
	for (size_t i = 0; i < pb->n; i++)
		segment_builder_add(pb->seg, pb->texts[i], pb->text_lens[i],
				    pb->vecs + i * pb->dim, pb->rows[i], pb->row_lens[i]);
	batch_clear(pb);
	return 0;
}

int part_build_line(struct part_build *pb, const char *line, size_t len, struct lh_error *err)
{
	struct lh_buf text;
	json_t *row = json_loadb(line, len, 0, NULL);
	if (!json_is_object(row)) {
		json_decref(row);
		return lh_fail(err, 502, "upstream_failed", "the query engine sent a row that is not "
			       "a JSON object");
	}
	lh_buf_init(&text, LH_SEARCH_MAX_ROW_TEXT);
	(void)index_decl_row_text(pb->decl, row, &text);   /* past the cap: the text is cut */
	json_decref(row);
	size_t i = pb->n++;
	pb->text_lens[i] = text.len;
	pb->texts[i] = lh_buf_take(&text);
	pb->rows[i] = xstrndup(line, len);
	pb->row_lens[i] = len;
	return pb->n == PART_BUILD_BATCH ? part_build_flush(pb, err) : 0;
}

uint32_t part_build_rows(const struct part_build *pb)
{
	return segment_builder_rows(pb->seg) + (uint32_t)pb->n;
}

unsigned part_build_dim(const struct part_build *pb)
{
	return pb->dim;
}

const float *part_build_raw_vectors(struct part_build *pb)
{
	return segment_builder_vectors(pb->seg);
}

int part_build_write(struct part_build *pb, const float *pc, const struct ann_params *ann,
		     int (*sink)(void *ctx, const void *data, size_t n), void *ctx,
		     struct lh_error *err)
{
	int rc = -1;
	if (part_build_flush(pb, err))
		goto out;
	float *v = segment_builder_vectors(pb->seg);
	uint32_t rows = segment_builder_rows(pb->seg);
	if (pc)
		for (uint32_t i = 0; i < rows; i++)
			sif_remove(v + (size_t)i * pb->dim, pb->dim, pc);
	struct segment_builder *seg = pb->seg;
	pb->seg = NULL;
	rc = segment_builder_write(seg, ann, sink, ctx, err);
out:
	part_build_free(pb);
	return rc;
}

static int buf_sink(void *ctx, const void *data, size_t n)
{
	return lh_buf_append(ctx, data, n);
}

int part_build_finish(struct part_build *pb, const float *pc, const struct ann_params *ann,
		      struct lh_buf *out, struct lh_error *err)
{
	return part_build_write(pb, pc, ann, buf_sink, out, err);
}

void part_build_free(struct part_build *pb)
{
	if (!pb)
		return;
	batch_clear(pb);
	segment_builder_free(pb->seg);
	free(pb->vecs);
	free(pb);
}
