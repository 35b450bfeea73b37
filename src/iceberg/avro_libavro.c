/* avro_libavro.c — Avro object container files over Debian's avro-c: the
 * only file that includes <avro.h> (avro.h says what and why; ADR 0231).
 *
 * DESIGN NOTES
 *   1. avro-c does the Avro part: avro_schema_from_json_length checks the
 *      schema, a generic value of it is filled from each JSON record
 *      (fill()), avro_value_sizeof/avro_value_write encode it in Avro's
 *      binary encoding. One generic value is reused (avro_value_reset).
 *   2. The container is ours (avro.h): "Obj\x01", the header map (an Avro
 *      map<bytes>: one block of count entries, then 0), the sync marker;
 *      then blocks of <count, byte size, encoded records, sync>. Only
 *      AVRO_OCF_BLOCK_BYTES of encoded records are held at a time.
 *   3. Reading back (avro_ocf_read) uses avro-c's own file reader for the
 *      records, so a test that reads our files with it checks our container
 *      against an independent implementation; the header's string entries
 *      are read by header_read() (avro-c's reader keeps only the schema
 *      and codec).
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <avro.h>
#pragma GCC diagnostic pop

#include "iceberg/avro.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct avro_ocf {
	int fd;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t value;
	int has_value;
	struct lh_buf block;       /* encoded records of the current block */
	int64_t count;             /* records in it */
	unsigned char sync[16];
	uint64_t written;          /* bytes written to fd */
	char *scratch;             /* one record's encoding */
	size_t scratch_len;
};

static int write_all(struct avro_ocf *w, const void *p, size_t n, struct lh_error *err)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(w->fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			lh_fail(err, 500, "internal", "cannot write an Iceberg manifest file");
			lh_error_detail(err, "write: %s", strerror(k < 0 ? errno : EIO));
			return -1;
		}
		c += k;
		n -= (size_t)k;
		w->written += (uint64_t)k;
	}
	return 0;
}

/* Avro's zig-zag varint of a long into out[10]; returns its length. */
static size_t zigzag(int64_t v, unsigned char out[10])
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;
	while (u >= 0x80) {
		out[n++] = (unsigned char)(u | 0x80);
		u >>= 7;
	}
	out[n++] = (unsigned char)u;
	return n;
}

static int put_long(struct lh_buf *b, int64_t v)
{
	unsigned char t[10];
	return lh_buf_append(b, t, zigzag(v, t));
}

static int put_bytes(struct lh_buf *b, const char *s, size_t n)
{
	return put_long(b, (int64_t)n) || lh_buf_append(b, s, n);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int avro_fail(struct lh_error *err, const char *what)
{
	lh_fail(err, 500, "internal", "cannot encode an Iceberg manifest record");
	lh_error_detail(err, "%s: %s", what, avro_strerror());
	return -1;
}

/* Note 1: set `v` from `j` (NULL = JSON null). */
static int fill(avro_value_t *v, const json_t *j, struct lh_error *err)
{
	avro_type_t t = avro_value_get_type(v);
	switch (t) {
	case AVRO_NULL:
		return avro_value_set_null(v) ? avro_fail(err, "null") : 0;
	case AVRO_BOOLEAN:
		if (!json_is_boolean(j))
			break;
		return avro_value_set_boolean(v, json_is_true(j)) ? avro_fail(err, "boolean") : 0;
	case AVRO_INT32:
		if (!json_is_integer(j))
			break;
		return avro_value_set_int(v, (int32_t)json_integer_value(j)) ? avro_fail(err, "int")
									     : 0;
	case AVRO_INT64:
		if (!json_is_integer(j))
			break;
		return avro_value_set_long(v, (int64_t)json_integer_value(j)) ? avro_fail(err, "long")
									      : 0;
	case AVRO_DOUBLE:
		if (!json_is_number(j))
			break;
		return avro_value_set_double(v, json_number_value(j)) ? avro_fail(err, "double") : 0;
	case AVRO_STRING:
		if (!json_is_string(j))
			break;
		return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1)
			       ? avro_fail(err, "string")
			       : 0;
	case AVRO_BYTES: {
		if (!json_is_string(j) || json_string_length(j) % 2)
			break;
		size_t n = json_string_length(j) / 2;
		const char *h = json_string_value(j);
		unsigned char *bytes = xmalloc(n + 1);
		for (size_t i = 0; i < n; i++) {
			int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				free(bytes);
				goto mismatch;
			}
			bytes[i] = (unsigned char)(hi << 4 | lo);
		}
		int rc = avro_value_set_bytes(v, bytes, n);
		free(bytes);
		return rc ? avro_fail(err, "bytes") : 0;
	}
	case AVRO_RECORD: {
		if (!json_is_object(j))
			break;
		size_t n = 0;
		avro_value_get_size(v, &n);
		for (size_t i = 0; i < n; i++) {
			avro_value_t f;
			const char *name = NULL;
			if (avro_value_get_by_index(v, i, &f, &name))
				return avro_fail(err, "field");
			if (fill(&f, json_object_get(j, name), err))
				return -1;
		}
		return 0;
	}
	case AVRO_ARRAY: {
		if (!json_is_array(j))
			break;
		size_t i;
		json_t *e;
		json_array_foreach(j, i, e) {
			avro_value_t c;
			if (avro_value_append(v, &c, NULL))
				return avro_fail(err, "array");
			if (fill(&c, e, err))
				return -1;
		}
		return 0;
	}
	case AVRO_UNION: {
		avro_schema_t us = avro_value_get_schema(v);
		size_t nb = avro_schema_union_size(us);
		int want_null = !j || json_is_null(j);
		for (size_t b = 0; b < nb; b++) {
			int is_null = avro_typeof(avro_schema_union_branch(us, (int)b)) == AVRO_NULL;
			if (is_null != want_null)
				continue;
			avro_value_t br;
			if (avro_value_set_branch(v, (int)b, &br))
				return avro_fail(err, "union");
			return fill(&br, j, err);
		}
		break;
	}
	default:
		break;
	}
mismatch:
	lh_fail(err, 500, "internal", "cannot encode an Iceberg manifest record");
	lh_error_detail(err, "a value does not fit Avro type %d", (int)t);
	return -1;
}

static int flush_block(struct avro_ocf *w, struct lh_error *err)
{
	if (w->count == 0)
		return 0;
	unsigned char a[10], b[10];
	size_t na = zigzag(w->count, a), nb = zigzag((int64_t)w->block.len, b);
	if (write_all(w, a, na, err) || write_all(w, b, nb, err) ||
	    write_all(w, w->block.data, w->block.len, err) || write_all(w, w->sync, 16, err))
		return -1;
	lh_buf_free(&w->block);
	lh_buf_init(&w->block, (size_t)1 << 30);
	w->count = 0;
	return 0;
}

struct avro_ocf *avro_ocf_create(int fd, const char *schema_json, const struct avro_meta *meta,
				 size_t nmeta, const unsigned char sync[16], struct lh_error *err)
{
	struct avro_ocf *w = xcalloc(1, sizeof *w);
	struct lh_buf h;
	lh_buf_init(&h, (size_t)1 << 24);
	w->fd = fd;
	memcpy(w->sync, sync, 16);
	lh_buf_init(&w->block, (size_t)1 << 30);
	if (avro_schema_from_json_length(schema_json, strlen(schema_json), &w->schema)) {
		avro_fail(err, "schema");
		goto fail;
	}
	w->iface = avro_generic_class_from_schema(w->schema);
	if (!w->iface || avro_generic_value_new(w->iface, &w->value)) {
		avro_fail(err, "value");
		goto fail;
	}
	w->has_value = 1;
	/* Note 2: the header. */
	if (lh_buf_append(&h, "Obj\x01", 4) || put_long(&h, (int64_t)nmeta + 2) ||
	    put_bytes(&h, "avro.schema", 11) || put_bytes(&h, schema_json, strlen(schema_json)) ||
	    put_bytes(&h, "avro.codec", 10) || put_bytes(&h, "null", 4))
		goto too_big;
	for (size_t i = 0; i < nmeta; i++)
		if (put_bytes(&h, meta[i].key, strlen(meta[i].key)) ||
		    put_bytes(&h, meta[i].value, strlen(meta[i].value)))
			goto too_big;
	if (put_long(&h, 0) || lh_buf_append(&h, sync, 16))
		goto too_big;
	if (write_all(w, h.data, h.len, err))
		goto fail;
	lh_buf_free(&h);
	return w;
too_big:
	lh_fail(err, 500, "internal", "an Iceberg manifest header is too big");
fail:
	lh_buf_free(&h);
	avro_ocf_destroy(w);
	return NULL;
}

int avro_ocf_append(struct avro_ocf *w, const json_t *record, struct lh_error *err)
{
	avro_value_reset(&w->value);
	if (fill(&w->value, record, err))
		return -1;
	size_t n = 0;
	if (avro_value_sizeof(&w->value, &n))
		return avro_fail(err, "size");
	if (n > w->scratch_len) {
		free(w->scratch);
		w->scratch = xmalloc(n);
		w->scratch_len = n;
	}
	avro_writer_t wr = avro_writer_memory(w->scratch, (int64_t)n);
	int rc = avro_value_write(wr, &w->value);
	avro_writer_free(wr);
	if (rc)
		return avro_fail(err, "write");
	if (lh_buf_append(&w->block, w->scratch, n))
		return lh_fail(err, 500, "internal", "an Iceberg manifest record is too big");
	w->count++;
	if (w->block.len >= AVRO_OCF_BLOCK_BYTES)
		return flush_block(w, err);
	return 0;
}

int avro_ocf_finish(struct avro_ocf *w, uint64_t *bytes, struct lh_error *err)
{
	if (flush_block(w, err))
		return -1;
	*bytes = w->written;
	return 0;
}

void avro_ocf_destroy(struct avro_ocf *w)
{
	if (!w)
		return;
	if (w->has_value)
		avro_value_decref(&w->value);
	if (w->iface)
		avro_value_iface_decref(w->iface);
	if (w->schema)
		avro_schema_decref(w->schema);
	lh_buf_free(&w->block);
	free(w->scratch);
	free(w);
}

/* ---- reading back (note 3) ------------------------------------------------ */

static int get_long(const unsigned char *p, size_t n, size_t *off, int64_t *out)
{
	uint64_t u = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		if (*off >= n)
			return -1;
		unsigned char c = p[(*off)++];
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return -1;
}

/* The header map's entries as strings (values that are not UTF-8 text are
 * kept as jansson keeps bytes: refused, so skipped). */
static json_t *header_read(const unsigned char *p, size_t n)
{
	size_t off = 4;
	json_t *meta = json_object();
	if (n < 4 || memcmp(p, "Obj\x01", 4))
		goto bad;
	for (;;) {
		int64_t count;
		if (get_long(p, n, &off, &count))
			goto bad;
		if (count == 0)
			break;
		if (count < 0) {
			int64_t skip;
			count = -count;
			if (get_long(p, n, &off, &skip))
				goto bad;
		}
		for (int64_t i = 0; i < count; i++) {
			int64_t kl, vl;
			if (get_long(p, n, &off, &kl) || kl < 0 || (uint64_t)kl > n - off)
				goto bad;
			char *k = xstrndup((const char *)p + off, (size_t)kl);
			off += (size_t)kl;
			if (get_long(p, n, &off, &vl) || vl < 0 || (uint64_t)vl > n - off) {
				free(k);
				goto bad;
			}
			json_t *s = json_stringn((const char *)p + off, (size_t)vl);
			off += (size_t)vl;
			if (s)
				json_object_set_new(meta, k, s);
			free(k);
		}
	}
	return meta;
bad:
	json_decref(meta);
	return NULL;
}

int avro_ocf_read(const char *path, json_t **meta, json_t **records, struct lh_error *err)
{
	int rc = -1;
	avro_file_reader_t r = NULL;
	avro_schema_t ws = NULL;
	avro_value_iface_t *iface = NULL;
	avro_value_t v;
	int has_v = 0;
	unsigned char head[1 << 16];
	*meta = *records = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return lh_fail(err, 500, "internal", "cannot open %s", path);
	size_t n = fread(head, 1, sizeof head, f);
	fclose(f);
	*meta = header_read(head, n);
	if (!*meta) {
		lh_fail(err, 500, "internal", "%s: not an Avro container file header", path);
		goto out;
	}
	if (avro_file_reader(path, &r)) {
		avro_fail(err, "reader");
		goto out;
	}
	ws = avro_file_reader_get_writer_schema(r);   /* a reference of ours */
	iface = avro_generic_class_from_schema(ws);
	if (!iface || avro_generic_value_new(iface, &v)) {
		avro_fail(err, "value");
		goto out;
	}
	has_v = 1;
	*records = json_array();
	for (;;) {
		int k = avro_file_reader_read_value(r, &v);
		if (k == EOF)
			break;
		if (k) {
			avro_fail(err, "read");
			goto out;
		}
		char *text = NULL;
		if (avro_value_to_json(&v, 1, &text)) {
			avro_fail(err, "to_json");
			goto out;
		}
		json_error_t je;
		json_t *rec = json_loads(text, JSON_ALLOW_NUL, &je);
		free(text);
		if (!rec) {
			lh_fail(err, 500, "internal", "avro-c rendered a record that is not JSON");
			goto out;
		}
		json_array_append_new(*records, rec);
		avro_value_reset(&v);
	}
	rc = 0;
out:
	if (has_v)
		avro_value_decref(&v);
	if (iface)
		avro_value_iface_decref(iface);
	if (ws)
		avro_schema_decref(ws);
	if (r)
		avro_file_reader_close(r);
	if (rc) {
		json_decref(*meta);
		json_decref(*records);
		*meta = *records = NULL;
	}
	return rc;
}
