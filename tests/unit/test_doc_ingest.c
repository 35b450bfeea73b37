/* test_doc_ingest.c — the ingest side of documents (ADR 0225): multipart
 * uploads of many files (multipart.h's on_file_begin), the spooling of a
 * documents upload (doc_ingest.h: doc_ids, the cap naming the file, file
 * names made safe) and the rows format (doc_rows.h: fixed fingerprint,
 * values and NULL pages back through batches(), several batches). */
#include "test.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/sha256.h"
#include "common/xmalloc.h"
#include "ingestd/arrow_abi.h"
#include "ingestd/doc_ingest.h"
#include "ingestd/doc_rows.h"
#include "ingestd/format.h"
#include "ingestd/multipart.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- multipart with many files ----------------------------------------- */

struct many {
	char names[4][64];
	char data[4][64];
	size_t len[4];
	int n, ended, open;
};

static int m_begin(void *ctx, const char *name, const char *type, struct lh_error *err)
{
	struct many *m = ctx;
	(void)type;
	if (m->open || m->n == 4)
		return lh_fail(err, 500, "internal", "unbalanced");
	snprintf(m->names[m->n], sizeof m->names[0], "%s", name);
	m->open = 1;
	return 0;
}

static int m_data(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	struct many *m = ctx;
	(void)err;
	memcpy(m->data[m->n] + m->len[m->n], data, n);
	m->len[m->n] += n;
	return 0;
}

static int m_end(void *ctx, struct lh_error *err)
{
	struct many *m = ctx;
	(void)err;
	m->open = 0;
	m->n++;
	m->ended++;
	return 0;
}

TEST(doc_multipart_many_files_whole_and_byte_by_byte)
{
	static const char body[] =
		"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n"
		"alpha\r\n--XB\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
		"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b c.md\"\r\n"
		"Content-Type: text/markdown\r\n\r\n# beta\r\n\r\n--XB\r\n"
		"Content-Disposition: form-data; name=\"file\"; filename=\"e.txt\"\r\n\r\n\r\n--XB--\r\n";
	for (size_t step = 0; step <= 1; step++) {
		struct many m = { 0 };
		struct lh_error err = { 0 };
		struct multipart_callbacks cb = { .on_file = m_data, .on_file_begin = m_begin,
						  .on_file_end = m_end, .ctx = &m };
		struct multipart *mp = multipart_create("XB", &cb);
		size_t len = sizeof body - 1;
		int rc = 0;
		for (size_t off = 0; rc == 0 && off < len;) {
			size_t k = step ? 1 : len;
			rc = multipart_feed(mp, body + off, k, &err);
			off += k;
		}
		CHECK_EQ_INT(rc, 0);
		CHECK_EQ_INT(multipart_finish(mp, &err), 0);
		multipart_destroy(mp);
		CHECK_EQ_INT(m.n, 3);
		CHECK_EQ_INT(m.ended, 3);
		CHECK_EQ_STR(m.names[0], "a.txt");
		CHECK_EQ_STR(m.names[1], "b c.md");
		CHECK_EQ_STR(m.names[2], "e.txt");
		CHECK(m.len[0] == 5 && !memcmp(m.data[0], "alpha", 5));
		CHECK(m.len[1] == 8 && !memcmp(m.data[1], "# beta\r\n", 8));
		CHECK_EQ_INT(m.len[2], 0);
	}
}

TEST(doc_multipart_one_file_field_without_begin_callback)
{
	/* the table upload keeps refusing a second "file" */
	static const char body[] =
		"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nx\r\n"
		"--XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b\"\r\n\r\ny\r\n--XB--\r\n";
	struct many m = { 0 };
	struct lh_error err = { 0 };
	struct multipart_callbacks cb = { .on_file = m_data, .ctx = &m };
	struct multipart *mp = multipart_create("XB", &cb);
	CHECK_EQ_INT(multipart_feed(mp, body, sizeof body - 1, &err), -1);
	CHECK_EQ_STR(err.code, "bad_multipart");
	multipart_destroy(mp);
}

/* ---- spooling a documents upload --------------------------------------- */

static int tmp_fd(void)
{
	return open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
}

TEST(doc_upload_cap_names_the_file_made_safe)
{
	int fd = tmp_fd();
	CHECK(fd >= 0);
	struct doc_upload *d = doc_upload_create(fd, 10, 0);
	struct lh_error err = { 0 };
	CHECK_EQ_INT(doc_upload_begin_file(d, "C:\\docs\\first.txt", NULL, &err), 0);
	CHECK_EQ_INT(doc_upload_write(d, "12345", 5, &err), 0);
	CHECK_EQ_INT(doc_upload_end_file(d, &err), 0);
	CHECK_EQ_INT(doc_upload_begin_file(d, "../up/we\"ird\x01name.pdf", NULL, &err), 0);
	CHECK_EQ_INT(doc_upload_write(d, "1234", 4, &err), 0);
	CHECK_EQ_INT(doc_upload_write(d, "56", 2, &err), -1);        /* 11 > 10 */
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	CHECK(strstr(err.msg, "we_ird_name.pdf") != NULL);
	CHECK(strstr(err.msg, "fewer files") != NULL);                 /* the sum crossed it */
	CHECK_EQ_STR(json_string_value(json_object_get(err.extra, "file_name")), "we_ird_name.pdf");
	lh_error_clear(&err);
	doc_upload_destroy(d);
	/* one file alone over the cap: "larger than the upload limit" */
	d = doc_upload_create(fd, 3, 0);
	CHECK_EQ_INT(doc_upload_begin_file(d, "big.txt", NULL, &err), 0);
	CHECK_EQ_INT(doc_upload_write(d, "abcd", 4, &err), -1);
	CHECK(strstr(err.msg, "big.txt is larger than the upload limit of 3 bytes") != NULL);
	lh_error_clear(&err);
	doc_upload_destroy(d);
	close(fd);
}

TEST(doc_upload_too_many_files)
{
	int fd = tmp_fd();
	CHECK(fd >= 0);
	struct doc_upload *d = doc_upload_create(fd, 1u << 20, 0);
	struct lh_error err = { 0 };
	int rc = 0;
	for (int i = 0; i <= LH_DOC_UPLOAD_MAX_FILES && rc == 0; i++) {
		rc = doc_upload_begin_file(d, "f.txt", NULL, &err);
		if (rc == 0)
			rc = doc_upload_end_file(d, &err);
	}
	CHECK_EQ_INT(rc, -1);
	CHECK_EQ_STR(err.code, "too_many_files");
	lh_error_clear(&err);
	doc_upload_destroy(d);
	close(fd);
}

/* ---- the rows format ---------------------------------------------------- */

TEST(doc_rows_fingerprint_is_the_fixed_schema)
{
	/* SPEC 5 over (doc_id utf8, file_name utf8, chunk int64, page int64,
	 * text utf8, chars int64), computed here from the bytes */
	static const char spec[] = "doc_id\x1futf8\x1e" "file_name\x1futf8\x1e" "chunk\x1fint64\x1e"
				   "page\x1fint64\x1e" "text\x1futf8\x1e" "chars\x1fint64\x1e";
	char hex[LH_SHA256_HEX_LEN + 1], want[80];
	sha256_hex(spec, sizeof spec - 1, hex);
	snprintf(want, sizeof want, "sha256:%s", hex);
	CHECK_EQ_STR(doc_rows_fingerprint(), want);
}

static int valid(const struct ArrowArray *a, int64_t i)
{
	const uint8_t *v = a->buffers[0];
	return !v || (v[i >> 3] >> (i & 7)) & 1;
}

static const char *str_at(const struct ArrowArray *a, int64_t i, size_t *n)
{
	const int32_t *off = a->buffers[1];
	*n = (size_t)(off[i + 1] - off[i]);
	return (const char *)a->buffers[2] + off[i];
}

TEST(doc_rows_round_trip_through_batches)
{
	int fd = tmp_fd();
	CHECK(fd >= 0);
	struct lh_error err = { 0 };
	struct doc_rows *w = doc_rows_create(fd);
	const size_t nrows = DOC_ROWS_PER_BATCH + 5;   /* two batches */
	char text[64];
	for (size_t i = 0; i < nrows; i++) {
		snprintf(text, sizeof text, "chunk %zu, \xc3\xa9t\xc3\xa9 \"quoted\"\nline", i);
		CHECK_EQ_INT(doc_rows_add(w, "abc", i % 2 ? "b.md" : "a.pdf", (int64_t)i,
					  i % 2 ? -1 : (int64_t)(i / 2 + 1), text, strlen(text),
					  (int64_t)i * 3, &err), 0);
	}
	CHECK_EQ_INT(doc_rows_count(w), nrows);
	struct ingest_schema *s = NULL;
	CHECK_EQ_INT(doc_rows_finish(w, &s, &err), 0);
	CHECK_EQ_INT(s->row_count, nrows);
	CHECK_EQ_INT(s->ncols, 6);
	CHECK_EQ_STR(s->fingerprint, doc_rows_fingerprint());
	CHECK_EQ_STR(s->columns[3].name, "page");
	CHECK(s->columns[3].nullable && !s->columns[2].nullable);
	struct ArrowArrayStream st;
	CHECK_EQ_INT(s->format->batches(fd, s, &st, &err), 0);
	size_t row = 0, nb = 0;
	for (;;) {
		struct ArrowArray b;
		CHECK_EQ_INT(st.get_next(&st, &b), 0);
		if (!b.release)
			break;
		nb++;
		for (int64_t r = 0; r < b.length; r++, row++) {
			size_t n;
			const char *p = str_at(b.children[1], r, &n);
			const char *want = row % 2 ? "b.md" : "a.pdf";
			CHECK(n == strlen(want) && !memcmp(p, want, n));
			CHECK_EQ_INT(((const int64_t *)b.children[2]->buffers[1])[r], (int64_t)row);
			if (row % 2)
				CHECK(!valid(b.children[3], r));
			else
				CHECK_EQ_INT(((const int64_t *)b.children[3]->buffers[1])[r],
					     (int64_t)(row / 2 + 1));
			snprintf(text, sizeof text, "chunk %zu, \xc3\xa9t\xc3\xa9 \"quoted\"\nline", row);
			p = str_at(b.children[4], r, &n);
			CHECK(n == strlen(text) && !memcmp(p, text, n));
			CHECK_EQ_INT(((const int64_t *)b.children[5]->buffers[1])[r], (int64_t)row * 3);
		}
		b.release(&b);
	}
	st.release(&st);
	CHECK_EQ_INT(row, nrows);
	CHECK_EQ_INT(nb, 2);
	ingest_schema_destroy(s);
	close(fd);
}
