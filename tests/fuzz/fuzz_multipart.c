/* fuzz_multipart.c — libFuzzer target for the streaming multipart parser
 * (src/ingestd/multipart.h).
 *
 * Input layout: 2 bytes (little-endian split offset), 1 byte (chunk size),
 * then a Content-Type header value up to the first '\n', then the body.
 * The body is parsed three times: in one feed, in two feeds split at the
 * chosen offset, and in chunks of 1..16 bytes. Invariants: all three give
 * the same verdict (0, or the same HTTP status and code) and, on success,
 * the same "file" bytes and the same small fields; a field handed to
 * on_field is at most LH_MULTIPART_FIELD_MAX bytes and never named "file".
 * Then the same three times with on_file_begin/on_file_end (uploads of
 * many documents, ADR 0225): the same verdicts and bytes among the three,
 * every file's bytes between its begin and its end, begins and ends
 * balanced on success.
 */
#include "fuzz.h"

#include "common/error.h"
#include "ingestd/multipart.h"

#include <string.h>

struct result {
	int rc, status;
	int open;               /* many files: a file part is open */
	char code[32];
	struct bytes file;      /* the "file" field's content */
	struct bytes fields;    /* name '\0' length value, per small field */
};

static int on_file(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	struct result *r = ctx;
	FUZZ_CHECK(n > 0);
	bytes_add(&r->file, data, n);
	return 0;
}

static int on_field(void *ctx, const char *name, const char *value, size_t n,
		    struct lh_error *err)
{
	struct result *r = ctx;
	FUZZ_CHECK(n <= LH_MULTIPART_FIELD_MAX);
	FUZZ_CHECK(name[0] != '\0' && strcmp(name, "file") != 0);
	bytes_add(&r->fields, name, strlen(name) + 1);
	bytes_add(&r->fields, &n, sizeof n);
	bytes_add(&r->fields, value, n);
	return 0;
}

static int on_file_many(void *ctx, const char *data, size_t n, struct lh_error *err)
{
	struct result *r = ctx;
	FUZZ_CHECK(r->open);
	return on_file(ctx, data, n, err);
}

static int on_begin(void *ctx, const char *name, const char *type, struct lh_error *err)
{
	struct result *r = ctx;
	(void)type;
	(void)err;
	FUZZ_CHECK(!r->open);
	FUZZ_CHECK(strlen(name) <= LH_MULTIPART_FILE_NAME_MAX);
	r->open = 1;
	bytes_add(&r->file, "\0<", 2);
	bytes_add(&r->file, name, strlen(name) + 1);
	return 0;
}

static int on_end(void *ctx, struct lh_error *err)
{
	struct result *r = ctx;
	(void)err;
	FUZZ_CHECK(r->open);
	r->open = 0;
	bytes_add(&r->file, "\0>", 2);
	return 0;
}

/* Parse body[0..n) fed in pieces: first `split` bytes, then `chunk`-byte
 * pieces (chunk 0 = everything left at once). */
static void parse(struct result *r, const char *boundary, const char *body, size_t n,
		  size_t split, size_t chunk, int many)
{
	struct lh_error err = { 0 };
	struct multipart_callbacks cb = { .on_file = on_file, .on_field = on_field, .ctx = r };
	if (many) {
		cb.on_file = on_file_many;
		cb.on_file_begin = on_begin;
		cb.on_file_end = on_end;
	}
	struct multipart *mp = multipart_create(boundary, &cb);
	size_t pos = 0;
	int rc = 0;
	if (split > 0)
		rc = multipart_feed(mp, body, split, &err);
	pos = split;
	while (rc == 0 && pos < n) {
		size_t take = chunk && n - pos > chunk ? chunk : n - pos;
		rc = multipart_feed(mp, body + pos, take, &err);
		pos += take;
	}
	if (rc == 0)
		rc = multipart_finish(mp, &err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK((rc == 0) == (err.status == 0));
	if (rc)
		FUZZ_CHECK(err.status == 400 || err.status == 413);
	if (many && rc == 0)
		FUZZ_CHECK(!r->open);
	r->rc = rc;
	r->status = err.status;
	memcpy(r->code, err.code, sizeof r->code);
	lh_error_clear(&err);
	multipart_destroy(mp);
}

static void same(const struct result *a, const struct result *b)
{
	FUZZ_CHECK(a->rc == b->rc);
	FUZZ_CHECK(a->status == b->status);
	FUZZ_CHECK(strcmp(a->code, b->code) == 0);
	if (a->rc != 0)
		return;    /* a failed upload's partial output is discarded */
	FUZZ_CHECK(a->file.n == b->file.n);
	FUZZ_CHECK(a->file.n == 0 || memcmp(a->file.p, b->file.p, a->file.n) == 0);
	FUZZ_CHECK(a->fields.n == b->fields.n);
	FUZZ_CHECK(a->fields.n == 0 || memcmp(a->fields.p, b->fields.p, a->fields.n) == 0);
}

static void result_free(struct result *r)
{
	free(r->file.p);
	free(r->fields.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t split = (size_t)data[0] | (size_t)data[1] << 8;
	size_t chunk = (size_t)(data[2] % 16) + 1;
	const char *p = (const char *)data + 3;
	size_t n = size - 3;

	const char *nl = memchr(p, '\n', n);
	if (!nl)
		return 0;
	char ctype[256];
	size_t clen = (size_t)(nl - p);
	if (clen >= sizeof ctype || memchr(p, '\0', clen))
		return 0;
	memcpy(ctype, p, clen);
	ctype[clen] = '\0';
	const char *body = nl + 1;
	n -= clen + 1;

	char boundary[LH_MULTIPART_BOUNDARY_MAX + 1];
	struct lh_error err = { 0 };
	if (multipart_boundary(ctype, boundary, sizeof boundary, &err) != 0) {
		FUZZ_CHECK(err.status == 400 && strcmp(err.code, "bad_multipart") == 0);
		lh_error_clear(&err);
		return 0;
	}
	FUZZ_CHECK(boundary[0] != '\0' && strlen(boundary) <= LH_MULTIPART_BOUNDARY_MAX);

	for (int many = 0; many <= 1; many++) {
		struct result whole = { 0 }, two = { 0 }, small = { 0 };
		parse(&whole, boundary, body, n, 0, 0, many);
		parse(&two, boundary, body, n, n ? split % (n + 1) : 0, 0, many);
		parse(&small, boundary, body, n, 0, chunk, many);
		same(&whole, &two);
		same(&whole, &small);
		result_free(&whole);
		result_free(&two);
		result_free(&small);
	}
	return 0;
}
