/* parquet_footer.c — the statistics of a Parquet file's footer, read from
 * its Thrift compact-protocol FileMetaData (iceberg.h; ADR 0232). Pure: the
 * caller hands the footer's bytes; nothing here does I/O.
 *
 * Only what Iceberg's data_file needs is kept: per top-level column its
 * physical and logical type, and per row group its compressed size, value
 * count, null count and exact min_value/max_value (Statistics fields 5 and
 * 6, whose order is the column's type-defined order; the deprecated
 * min/max fields 1 and 2 are ignored, as is a bound marked inexact).
 * Everything else is skipped field by field, so unknown fields of newer
 * writers pass. Nesting depth, list lengths and string lengths are checked
 * against the bytes left, never trusted; Thrift field ids are 16-bit.
 *
 * Cost (review R19): a row group's chunks are matched to columns by the
 * position of their schema leaf (a binary search by name when a chunk is
 * not where its leaf is), at most one chunk per column per row group is
 * kept, and a footer of more than LH_ICEBERG_FOOTER_MAX_CHUNKS row groups x
 * columns is refused (the file then gets no metrics, iceberg_build.c note
 * 4), so time and memory grow with the footer's bytes, not their square.
 */
#include "iceberg/iceberg.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

/* Thrift compact types. */
enum { T_STOP, T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY, T_LIST, T_SET,
       T_MAP, T_STRUCT };

#define TR_MAX_DEPTH 32

struct tr {
	const unsigned char *p;
	size_t n, off;
	int depth;
	int bad;
};

static int tr_bad(struct tr *r)
{
	r->bad = 1;
	return -1;
}

static int tr_varint(struct tr *r, uint64_t *out)
{
	uint64_t u = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (r->off >= r->n)
			return tr_bad(r);
		unsigned char c = r->p[r->off++];
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = u;
			return 0;
		}
	}
	return tr_bad(r);
}

static int tr_int(struct tr *r, int64_t *out)
{
	uint64_t u;
	if (tr_varint(r, &u))
		return -1;
	*out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

static int tr_binary(struct tr *r, const unsigned char **s, size_t *len)
{
	uint64_t l;
	if (tr_varint(r, &l) || l > r->n - r->off)
		return tr_bad(r);
	*s = r->p + r->off;
	*len = (size_t)l;
	r->off += (size_t)l;
	return 0;
}

static int tr_skip(struct tr *r, int type);

/* A list/set header: element type and count. */
static int tr_list(struct tr *r, int *etype, uint64_t *count)
{
	if (r->off >= r->n)
		return tr_bad(r);
	unsigned char h = r->p[r->off++];
	*etype = h & 0x0f;
	*count = h >> 4;
	if (*count == 15 && tr_varint(r, count))
		return -1;
	if (*count > r->n - r->off)   /* every element takes at least a byte */
		return tr_bad(r);
	return 0;
}

/* Iterate a struct: fn(ctx, r, field id, type) must consume the value (or
 * return 1 to have it skipped). */
typedef int (*tr_field_fn)(void *ctx, struct tr *r, int id, int type);

static int tr_struct(struct tr *r, tr_field_fn fn, void *ctx)
{
	int last = 0;
	if (++r->depth > TR_MAX_DEPTH)
		return tr_bad(r);
	for (;;) {
		if (r->off >= r->n)
			return tr_bad(r);
		unsigned char h = r->p[r->off++];
		int type = h & 0x0f;
		if (type == T_STOP)
			break;
		int64_t id; /* Thrift field ids are 16-bit: anything else is damage */
		if (h >> 4) {
			id = (int64_t)last + (h >> 4);
		} else if (tr_int(r, &id)) {
			return -1;
		}
		if (id < INT16_MIN || id > INT16_MAX)
			return tr_bad(r);
		last = (int)id;
		int rc = fn ? fn(ctx, r, (int)id, type) : 1;
		if (rc < 0)
			return -1;
		if (rc > 0 && tr_skip(r, type))
			return -1;
	}
	r->depth--;
	return 0;
}

static int tr_skip(struct tr *r, int type)
{
	uint64_t u;
	const unsigned char *s;
	size_t l;
	switch (type) {
	case T_TRUE:
	case T_FALSE:
		return 0;
	case T_BYTE:
		if (r->off >= r->n)
			return tr_bad(r);
		r->off++;
		return 0;
	case T_I16:
	case T_I32:
	case T_I64:
		return tr_varint(r, &u);
	case T_DOUBLE:
		if (r->n - r->off < 8)
			return tr_bad(r);
		r->off += 8;
		return 0;
	case T_BINARY:
		return tr_binary(r, &s, &l);
	case T_LIST:
	case T_SET: {
		int et;
		uint64_t cnt;
		if (tr_list(r, &et, &cnt))
			return -1;
		if (++r->depth > TR_MAX_DEPTH)
			return tr_bad(r);
		for (uint64_t i = 0; i < cnt; i++) {
			if (et == T_TRUE || et == T_FALSE) {   /* a bool element is one byte */
				if (r->off >= r->n)
					return tr_bad(r);
				r->off++;
			} else if (tr_skip(r, et)) {
				return -1;
			}
		}
		r->depth--;
		return 0;
	}
	case T_MAP: {
		uint64_t cnt;
		if (tr_varint(r, &cnt))
			return -1;
		if (cnt == 0)
			return 0;
		if (r->off >= r->n || cnt > r->n - r->off)
			return tr_bad(r);
		unsigned char kv = r->p[r->off++];
		if (++r->depth > TR_MAX_DEPTH)
			return tr_bad(r);
		for (uint64_t i = 0; i < cnt; i++)
			if (tr_skip(r, kv >> 4) || tr_skip(r, kv & 0x0f))
				return -1;
		r->depth--;
		return 0;
	}
	case T_STRUCT:
		return tr_struct(r, NULL, NULL);
	default:
		return tr_bad(r);
	}
}

static int tr_i64_field(struct tr *r, int type, int64_t *out)
{
	if (type != T_I64 && type != T_I32 && type != T_I16)
		return tr_bad(r);
	return tr_int(r, out);
}

/* ---- the schema ------------------------------------------------------------ */

struct schema_el {
	struct pq_column *col;      /* being filled */
	int64_t num_children;
	int in_logical;             /* inside LogicalType */
};

static int time_unit_fn(void *ctx, struct tr *r, int id, int type)
{
	struct pq_column *c = ctx;
	if (type == T_STRUCT && id >= 1 && id <= 3) {
		c->ts_unit = id;    /* 1 MILLIS, 2 MICROS, 3 NANOS */
		return tr_struct(r, NULL, NULL);
	}
	return 1;
}

static int timestamp_fn(void *ctx, struct tr *r, int id, int type)
{
	struct pq_column *c = ctx;
	if (id == 1 && (type == T_TRUE || type == T_FALSE)) {
		c->ts_utc = type == T_TRUE;
		return 0;
	}
	if (id == 2 && type == T_STRUCT)
		return tr_struct(r, time_unit_fn, c);
	return 1;
}

static int decimal_fn(void *ctx, struct tr *r, int id, int type)
{
	struct pq_column *c = ctx;
	int64_t v;
	if ((id == 1 || id == 2) && type == T_I32) {
		if (tr_int(r, &v))
			return -1;
		if (id == 1)
			c->scale = (int)v;
		else
			c->precision = (int)v;
		return 0;
	}
	return 1;
}

static int logical_fn(void *ctx, struct tr *r, int id, int type)
{
	struct pq_column *c = ctx;
	if (type != T_STRUCT)
		return 1;
	c->logical = id;   /* the LogicalType union member: 1 STRING, 5 DECIMAL, 6 DATE, 8 TIMESTAMP, ... */
	if (id == 8)
		return tr_struct(r, timestamp_fn, c);
	if (id == 5)
		return tr_struct(r, decimal_fn, c);
	return 1;
}

static int schema_el_fn(void *ctx, struct tr *r, int id, int type)
{
	struct schema_el *e = ctx;
	struct pq_column *c = e->col;
	int64_t v;
	const unsigned char *s;
	size_t l;
	switch (id) {
	case 1: case 2: case 5: case 6: case 7: case 8:
		if (type != T_I32)
			return 1;
		if (tr_int(r, &v))
			return -1;
		if (id == 1)
			c->physical = (int)v;
		else if (id == 2)
			c->type_length = (int)v;
		else if (id == 5)
			e->num_children = v;
		else if (id == 6)
			c->converted = (int)v;
		else if (id == 7)
			c->scale = (int)v;
		else
			c->precision = (int)v;
		return 0;
	case 4:
		if (type != T_BINARY)
			return 1;
		if (tr_binary(r, &s, &l))
			return -1;
		free(c->name);
		c->name = xstrndup((const char *)s, l);
		return 0;
	case 10:
		if (type != T_STRUCT)
			return 1;
		return tr_struct(r, logical_fn, c);
	default:
		return 1;
	}
}

/* ---- row groups ------------------------------------------------------------ */

struct named {
	const char *name;
	size_t col;
};

struct fm_ctx {
	struct pq_footer *f;
	size_t max_columns;
	/* the column chunk being read */
	const unsigned char *path0;      /* path_in_schema[0] */
	size_t path0_len;
	int path_depth;
	struct pq_chunk chunk;
	int64_t rg_rows;
	size_t rg_index;                 /* 1 + the row group being read */
	size_t *leaf_col;                /* owned: the column of each schema leaf */
	size_t nleaves;
	struct named *by_name;           /* owned: the columns sorted by name, made
					  * at the first chunk not where its leaf is */
	int by_name_made;
	struct lh_error *err;
};

#define NO_COLUMN ((size_t)-1)

static int stats_fn(void *ctx, struct tr *r, int id, int type)
{
	struct fm_ctx *c = ctx;
	const unsigned char *s;
	size_t l;
	switch (id) {
	case 3:
		if (tr_i64_field(r, type, &c->chunk.nulls))
			return -1;
		c->chunk.has_nulls = 1;
		return 0;
	case 5:
	case 6:
		if (type != T_BINARY)
			return 1;
		if (tr_binary(r, &s, &l))
			return -1;
		if (id == 5) {
			c->chunk.max = s;
			c->chunk.nmax = l;
			c->chunk.has_max = 1;
		} else {
			c->chunk.min = s;
			c->chunk.nmin = l;
			c->chunk.has_min = 1;
		}
		return 0;
	case 7:
	case 8:
		if (type == T_FALSE) {
			if (id == 7)
				c->chunk.inexact_max = 1;
			else
				c->chunk.inexact_min = 1;
		}
		return type == T_TRUE || type == T_FALSE ? 0 : 1;
	default:
		return 1;
	}
}

static int colmeta_fn(void *ctx, struct tr *r, int id, int type)
{
	struct fm_ctx *c = ctx;
	if (id == 3 && type == T_LIST) {
		int et;
		uint64_t cnt;
		if (tr_list(r, &et, &cnt))
			return -1;
		c->path_depth = (int)cnt;
		for (uint64_t i = 0; i < cnt; i++) {
			const unsigned char *s;
			size_t l;
			if (et != T_BINARY || tr_binary(r, &s, &l))
				return tr_bad(r);
			if (i == 0) {
				c->path0 = s;
				c->path0_len = l;
			}
		}
		return 0;
	}
	if (id == 5)
		return tr_i64_field(r, type, &c->chunk.values);
	if (id == 7)
		return tr_i64_field(r, type, &c->chunk.compressed);
	if (id == 12 && type == T_STRUCT)
		return tr_struct(r, stats_fn, c);
	return 1;
}

static int chunk_fn(void *ctx, struct tr *r, int id, int type)
{
	if (id == 3 && type == T_STRUCT)
		return tr_struct(r, colmeta_fn, ctx);
	return 1;
}

/* name (NUL-terminated) against s[0..l), bytewise like strcmp. */
static int name_cmp(const char *name, const unsigned char *s, size_t l)
{
	size_t nl = strnlen(name, l + 1), m = nl < l ? nl : l;
	int d = memcmp(name, s, m);
	if (d)
		return d;
	return nl < l ? -1 : nl > l ? 1 : 0;
}

static int named_order(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int d = strcmp(x->name, y->name);
	return d ? d : x->col < y->col ? -1 : x->col > y->col;
}

/* The column of the i-th chunk of a row group: chunks come in the order of
 * the schema's leaves, so the leaf's column when its name is the chunk's
 * path[0]; else the first column of that name, by binary search over the
 * columns sorted by name (review R19: a linear search per chunk was
 * quadratic). NULL when no column has that name. */
static struct pq_column *column_of_chunk(struct fm_ctx *c, uint64_t i)
{
	struct pq_footer *f = c->f;
	const unsigned char *s = c->path0;
	size_t l = c->path0_len;
	if (!s)
		return NULL;
	if (i < c->nleaves && c->leaf_col[i] != NO_COLUMN &&
	    f->columns[c->leaf_col[i]].name && !name_cmp(f->columns[c->leaf_col[i]].name, s, l))
		return &f->columns[c->leaf_col[i]];
	if (!c->by_name_made) {
		c->by_name_made = 1;
		c->by_name = xcalloc(f->ncolumns ? f->ncolumns : 1, sizeof *c->by_name);
		for (size_t k = 0; k < f->ncolumns; k++)
			c->by_name[k] = (struct named){ f->columns[k].name ? f->columns[k].name : "",
							k };
		qsort(c->by_name, f->ncolumns, sizeof *c->by_name, named_order);
	}
	size_t lo = 0, hi = f->ncolumns;     /* the first name >= s */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (name_cmp(c->by_name[mid].name, s, l) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->ncolumns && !name_cmp(c->by_name[lo].name, s, l) &&
	    f->columns[c->by_name[lo].col].name)
		return &f->columns[c->by_name[lo].col];
	return NULL;
}

static void add_leaf(struct fm_ctx *c, size_t col)
{
	if ((c->nleaves & (c->nleaves - 1)) == 0) /* 0, 1, 2, 4, ...: grow */
		c->leaf_col = xrealloc(c->leaf_col, (c->nleaves ? 2 * c->nleaves : 1) *
							    sizeof *c->leaf_col);
	c->leaf_col[c->nleaves++] = col;
}

static int rowgroup_fn(void *ctx, struct tr *r, int id, int type)
{
	struct fm_ctx *c = ctx;
	if (id == 3)
		return tr_i64_field(r, type, &c->rg_rows);
	if (id != 1 || type != T_LIST)
		return 1;
	int et;
	uint64_t cnt;
	if (tr_list(r, &et, &cnt))
		return -1;
	if (et != T_STRUCT)
		return tr_bad(r);
	for (uint64_t i = 0; i < cnt; i++) {
		memset(&c->chunk, 0, sizeof c->chunk);
		c->path0 = NULL;
		c->path_depth = 0;
		if (tr_struct(r, chunk_fn, c))
			return -1;
		struct pq_column *col = column_of_chunk(c, i);
		if (!col)
			continue;
		if (c->path_depth != 1)
			col->nested = 1;
		if (col->rg_seen == c->rg_index)
			continue;   /* one chunk per column per row group (a nested one's first) */
		col->rg_seen = c->rg_index;
		if (col->nchunks == col->achunks) {
			col->achunks = col->achunks ? 2 * col->achunks : 4;
			col->chunks = xrealloc(col->chunks, col->achunks * sizeof *col->chunks);
		}
		col->chunks[col->nchunks++] = c->chunk;
	}
	return 0;
}

static int filemeta_fn(void *ctx, struct tr *r, int id, int type)
{
	struct fm_ctx *c = ctx;
	struct pq_footer *f = c->f;
	if (id == 3)
		return tr_i64_field(r, type, &f->num_rows);
	if (id == 2 && type == T_LIST) {
		int et;
		uint64_t cnt;
		if (tr_list(r, &et, &cnt))
			return -1;
		if (et != T_STRUCT)
			return tr_bad(r);
		/* element 0 is the root; its children are the top-level columns;
		 * a child with children of its own is nested (its leaves follow) */
		int64_t top_left = 0, skip_left = 0;
		for (uint64_t i = 0; i < cnt; i++) {
			struct pq_column tmp = { .physical = -1, .converted = -1, .scale = -1,
						 .precision = -1 };
			struct schema_el e = { .col = &tmp };
			if (tr_struct(r, schema_el_fn, &e)) {
				free(tmp.name);
				return -1;
			}
			if (i > 0 && !tmp.name)
				return tr_bad(r);         /* a schema element's name is required */
			if (i == 0) {
				top_left = e.num_children;
				free(tmp.name);
				continue;
			}
			if (skip_left > 0) {    /* a nested column's descendant */
				skip_left += e.num_children - 1;
				if (e.num_children <= 0)
					add_leaf(c, f->ncolumns - 1);
				free(tmp.name);
				continue;
			}
			if (top_left <= 0) {
				if (e.num_children <= 0)
					add_leaf(c, NO_COLUMN);
				free(tmp.name);
				continue;
			}
			top_left--;
			if (e.num_children > 0) {
				tmp.nested = 1;
				skip_left = e.num_children;
			}
			if (f->ncolumns >= c->max_columns) {
				free(tmp.name);
				lh_fail(c->err, 400, "bad_parquet", "the Parquet file has more than %zu columns",
					c->max_columns);
				return -1;
			}
			f->columns = xrealloc(f->columns, (f->ncolumns + 1) * sizeof *f->columns);
			f->columns[f->ncolumns++] = tmp;
			if (e.num_children <= 0)
				add_leaf(c, f->ncolumns - 1);
		}
		return 0;
	}
	if (id == 4 && type == T_LIST) {
		int et;
		uint64_t cnt;
		if (tr_list(r, &et, &cnt))
			return -1;
		if (et != T_STRUCT)
			return tr_bad(r);
		if (f->ncolumns && cnt > LH_ICEBERG_FOOTER_MAX_CHUNKS / f->ncolumns)
			return lh_fail(c->err, 400, "bad_parquet", "the Parquet file has %llu row "
				       "groups of %zu columns; metrics are read for at most %u "
				       "column chunks", (unsigned long long)cnt, f->ncolumns,
				       LH_ICEBERG_FOOTER_MAX_CHUNKS);
		for (uint64_t i = 0; i < cnt; i++) {
			c->rg_index = (size_t)i + 1;
			if (tr_struct(r, rowgroup_fn, c))
				return -1;
		}
		f->nrowgroups = (size_t)cnt;
		return 0;
	}
	return 1;
}

int parquet_footer_parse(const unsigned char *p, size_t n, size_t max_columns,
			 struct pq_footer *out, struct lh_error *err)
{
	memset(out, 0, sizeof *out);
	struct tr r = { .p = p, .n = n };
	struct fm_ctx c = { .f = out, .max_columns = max_columns, .err = err };
	int rc = tr_struct(&r, filemeta_fn, &c);
	free(c.leaf_col);
	free(c.by_name);
	if (rc) {
		if (!err->status)
			lh_fail(err, 400, "bad_parquet",
				"the Parquet file's footer is damaged or uses an encoding the reader does not know");
		parquet_footer_free(out);
		return -1;
	}
	return 0;
}

void parquet_footer_free(struct pq_footer *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->ncolumns; i++) {
		free(f->columns[i].name);
		free(f->columns[i].chunks);
	}
	free(f->columns);
	memset(f, 0, sizeof *f);
}

int parquet_footer_locate(const unsigned char tail[8], uint64_t file_size, uint64_t *offset,
			  uint32_t *length)
{
	if (memcmp(tail + 4, "PAR1", 4))
		return -1;
	uint32_t len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
		       (uint32_t)tail[3] << 24;
	if (file_size < 12 || len > file_size - 12)
		return -1;
	*offset = file_size - 8 - len;
	*length = len;
	return 0;
}
