/* test_search_segment.c — src/search/{segment,index_decl,part_build}.c: an
 * index part written and opened again (with and without a graph), hostile
 * part bytes, part keys, a row's indexed text, and rows -> part through the
 * builtin embedder. */
#include "test.h"

#include "search/ann.h"
#include "search/embed.h"
#include "search/index_decl.h"
#include "search/part_build.h"
#include "search/segment.h"
#include "search/text_index.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "common/xmalloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIM 8

static void unit_vec(float *v, unsigned seed)
{
	double n = 0;
	for (unsigned i = 0; i < DIM; i++) {
		v[i] = (float)(((seed * 2654435761u + i * 40503u) % 1000) / 1000.0 - 0.5);
		n += (double)v[i] * v[i];
	}
	for (unsigned i = 0; i < DIM; i++)
		v[i] = (float)(v[i] / sqrt(n));
}

/* A part of `rows` rows: text "word<i%7> common", row {"i": i}. */
static int make_part(uint32_t rows, int graph, struct lh_buf *out, struct lh_error *err)
{
	struct segment_builder *b = segment_builder_new(DIM, "ab12");
	for (uint32_t i = 0; i < rows; i++) {
		char text[64], row[64];
		float v[DIM];
		int tl = snprintf(text, sizeof text, "word%u common", i % 7);
		int rl = snprintf(row, sizeof row, "{\"i\":%u}", i);
		unit_vec(v, i);
		segment_builder_add(b, text, (size_t)tl, v, row, (size_t)rl);
	}
	struct ann_params ap = { .connectivity = 16, .expansion_add = 64, .expansion_search = 64,
				 .threads = 1 };
	lh_buf_init(out, (size_t)1 << 30);
	return segment_builder_finish(b, graph ? &ap : NULL, out, err);
}

TEST(search_segment_roundtrip)
{
	struct lh_buf b;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(make_part(500, 0, &b, &err), 0);
	CHECK_EQ_INT(b.len % 8, 0);
	struct segment *s = segment_open(b.data, b.len, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(segment_rows(s), 500);
	CHECK_EQ_INT(segment_dim(s), DIM);
	CHECK_EQ_STR(segment_object_sha(s), "ab12");
	CHECK(segment_ann(s) == NULL);
	CHECK_EQ_INT(text_index_docs(segment_text(s)), 500);
	size_t len;
	const char *row = segment_row(s, 123, &len);
	CHECK_EQ_INT(len, strlen("{\"i\":123}"));
	CHECK(!memcmp(row, "{\"i\":123}", len));
	float v[DIM];
	unit_vec(v, 321);
	CHECK(!memcmp(segment_vector(s, 321), v, sizeof v));
	CHECK_EQ_INT(text_index_df(segment_text(s), "word3", 5), 71);   /* i % 7 == 3, i < 500 */
	segment_close(s);
	lh_buf_free(&b);
}

TEST(search_segment_with_graph)
{
	struct lh_buf b;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(make_part(3000, 1, &b, &err), 0);
	struct segment *s = segment_open(b.data, b.len, &err);
	CHECK(s != NULL);
	CHECK(segment_ann(s) != NULL);
	uint64_t keys[5];
	float dist[5];
	size_t n = 0;
	CHECK_EQ_INT(ann_search(segment_ann(s), segment_vector(s, 42), 5, 0, NULL, NULL, keys, dist,
				&n, &err), 0);
	CHECK_EQ_INT(n, 5);
	CHECK_EQ_INT(keys[0], 42);   /* a stored vector is its own nearest */
	segment_close(s);
	lh_buf_free(&b);
}

TEST(search_segment_empty_part)
{
	struct lh_buf b;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(make_part(0, 1, &b, &err), 0);
	struct segment *s = segment_open(b.data, b.len, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(segment_rows(s), 0);
	segment_close(s);
	lh_buf_free(&b);
}

TEST(search_segment_hostile_bytes)
{
	struct lh_buf b;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(make_part(50, 0, &b, &err), 0);
	/* every truncation is refused */
	for (size_t cut = 0; cut < b.len; cut += 7) {
		struct segment *s = segment_open(b.data, cut, &err);
		CHECK(s == NULL);
		CHECK_EQ_INT(err.status, 502);
		CHECK_EQ_STR(err.code, "bad_index_part");
		lh_error_clear(&err);
	}
	/* a flipped byte anywhere: refused, or opened and every row readable */
	char *copy = xmalloc(b.len);
	for (size_t at = 0; at < b.len; at += 3) {
		memcpy(copy, b.data, b.len);
		copy[at] ^= 0x5a;
		struct segment *s = segment_open(copy, b.len, &err);
		if (!s) {
			lh_error_clear(&err);
			continue;
		}
		for (uint32_t r = 0; r < segment_rows(s); r++) {
			size_t len;
			const char *row = segment_row(s, r, &len);
			CHECK(row >= copy && row + len <= copy + b.len);
		}
		segment_close(s);
	}
	free(copy);
	lh_buf_free(&b);
}

TEST(search_segment_key)
{
	char *k = segment_key("sha256:0123456789abcdef0123", NULL, 0, "ffee", 1024, 3);
	CHECK_EQ_STR(k, "_index/0123456789abcdef/none/ffee/1024.3");
	free(k);
	/* the component is part of the key: another component, another part */
	float pc1[2] = { 1.0f, 0.0f }, pc2[2] = { 0.0f, 1.0f };
	char *a = segment_key("sha256:0123456789abcdef0123", pc1, 2, "ffee", 1024, 0);
	char *b = segment_key("sha256:0123456789abcdef0123", pc2, 2, "ffee", 1024, 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(!strncmp(a, "_index/0123456789abcdef/", 24));
	CHECK_EQ_INT(strlen(a), strlen("_index/0123456789abcdef/") + 16 + 1 + 4 + 7);
	free(a);
	free(b);
}

TEST(search_index_decl_row_text)
{
	struct lh_error err = { 0 };
	struct index_decl d;
	json_t *idx = json_loads("{\"declaration\": {\"text\": [\"title\", \"years\", \"notes\"], "
				 "\"id\": \"id\"}, \"fingerprint\": \"sha256:ab\"}", 0, NULL);
	CHECK_EQ_INT(index_decl_from_json(idx, &d, &err), 0);
	CHECK_EQ_STR(d.embedder, "builtin");
	CHECK_EQ_STR(d.id, "id");
	json_t *row = json_loads("{\"id\": 1, \"title\": \"Welder\", \"years\": 4, \"notes\": null}",
				 0, NULL);
	struct lh_buf out;
	lh_buf_init(&out, 1024);
	CHECK_EQ_INT(index_decl_row_text(&d, row, &out), 0);
	CHECK_EQ_STR(out.data, "title: Welder\nyears: 4");
	lh_buf_free(&out);
	json_decref(row);
	index_decl_free(&d);
	json_decref(idx);
	json_t *bad = json_loads("{\"declaration\": {\"text\": []}, \"fingerprint\": \"x\"}", 0, NULL);
	CHECK_EQ_INT(index_decl_from_json(bad, &d, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	json_decref(bad);
}

TEST(search_part_build_builtin)
{
	struct lh_error err = { 0 };
	struct embed_config ec = { 0 };
	if (access(embed_default_glove_path(), R_OK) != 0) {
		fprintf(stderr, "  FAIL: %s is missing (run make bootstrap)\n",
			embed_default_glove_path());
		CHECK(0);
	}
	struct embedder *e = embedder_open("builtin", &ec, &err);
	CHECK(e != NULL);
	struct index_decl d;
	json_t *idx = json_loads("{\"declaration\": {\"text\": [\"title\"]}, \"fingerprint\": "
				 "\"sha256:ab\"}", 0, NULL);
	CHECK_EQ_INT(index_decl_from_json(idx, &d, &err), 0);
	struct part_build *pb = part_build_new(&d, e, "cd34");
	static const char *const lines[] = { "{\"title\": \"forklift operator\"}",
					     "{\"title\": \"registered nurse\"}",
					     "{\"title\": \"zzqqxx\"}" };
	for (int r = 0; r < 600; r++)   /* more than one batch */
		CHECK_EQ_INT(part_build_line(pb, lines[r % 3], strlen(lines[r % 3]), &err), 0);
	CHECK_EQ_INT(part_build_line(pb, "[1]", 3, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	CHECK_EQ_INT(part_build_rows(pb), 600);
	struct lh_buf out;
	lh_buf_init(&out, (size_t)1 << 30);
	CHECK_EQ_INT(part_build_finish(pb, NULL, NULL, &out, &err), 0);
	struct segment *s = segment_open(out.data, out.len, &err);
	CHECK(s != NULL);
	CHECK_EQ_INT(segment_rows(s), 600);
	CHECK_EQ_INT(segment_dim(s), embedder_dim(e));
	/* the same text, the same embedding, of unit length; an unknown word
	 * adds nothing: "title: zzqqxx" embeds as the column name alone */
	CHECK(!memcmp(segment_vector(s, 0), segment_vector(s, 3), segment_dim(s) * sizeof(float)));
	double n0 = 0;
	for (unsigned i = 0; i < segment_dim(s); i++)
		n0 += (double)segment_vector(s, 0)[i] * segment_vector(s, 0)[i];
	CHECK(fabs(n0 - 1.0) < 1e-4);
	float *alone = xcalloc(embedder_dim(e), sizeof *alone);
	const char *texts[1] = { "title" };
	size_t lens[1] = { 5 };
	CHECK_EQ_INT(embedder_embed(e, texts, lens, 1, alone, &err), 0);
	int same = !memcmp(segment_vector(s, 2), alone, segment_dim(s) * sizeof(float));
	free(alone);
	CHECK(same);
	/* the column name is part of the indexed text */
	CHECK_EQ_INT(text_index_df(segment_text(s), "title", 5), 600);
	segment_close(s);
	lh_buf_free(&out);
	index_decl_free(&d);
	json_decref(idx);
	embedder_close(e);
}
