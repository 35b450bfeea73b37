/* format.h — an input format of ingest (ADR 0132), like storage_backend.h
 * and catalog_store.h: a small struct of function pointers per format, so
 * the service (ingestd.c), the pipeline (pipeline.c) and the Parquet writer
 * never know which format an upload was. CSV (csv_reader.c) is the first;
 * docs/architecture.md says how to add another.
 *
 * A format does three things:
 *   - sniff: how sure it is that an upload is its own, from the media type,
 *     the file name and the first bytes (ingest_format_pick asks them all);
 *   - infer over the stream: begin/feed/finish while the upload arrives
 *     (ingestd.c note 4), giving the schema (format-neutral: names, types,
 *     nullability, row count, fingerprint) plus the format's own `layout`
 *     of the spooled bytes (the CSV reader's chunk index);
 *   - produce record batches: an Arrow C stream (batch.h) over the spooled
 *     file, in input order, which the Parquet writer consumes
 *     (parquet_write_input() in parquet_writer.h).
 * The schema records the format that inferred it, so the batches are read
 * by the same code that chose the types.
 */
#ifndef LH_INGESTD_FORMAT_H
#define LH_INGESTD_FORMAT_H
#include "common/schema.h"

#include <stddef.h>
#include <stdint.h>

struct lh_error;
struct ArrowArrayStream;
struct ingest_fit;
struct ingest_format;

struct ingest_column {
	char *name;              /* owned, NUL-terminated UTF-8 */
	struct schema_type type; /* one of the inferred types (schema.h), or the
				  * dataset's type the column is cast to (cast.h) */
	int nullable;            /* 1 if any null (empty value) was seen */
	/* What a cast needs to know of the values (cast.h, ADR 0170); set by
	 * inference (infer_columns_result), zero in a hand-made column. */
	unsigned char all_null;  /* no non-null value (all empty, or no rows) */
	unsigned char inexact;   /* an int64 value that no float64 holds exactly */
	/* Set only in a cast schema (cast.h): `type` is the dataset's and the
	 * values have the inferred type `from`, which the batches parse them
	 * as before converting (a date32 into a timestamp[us] column). */
	unsigned char cast;
	struct schema_type from;
	/* What declared types check (declared.h, infer.h note 5); owned, set
	 * by inference (infer_columns_result); NULL when a format did not
	 * infer the column from text (then only ingest_cast_fits applies). */
	struct ingest_fit *fit;
};

struct ingest_schema {
	struct ingest_column *columns;      /* ncols, input order */
	size_t ncols;
	uint64_t row_count;                 /* data records (a header excluded) */
	char fingerprint[SCHEMA_FP_LEN + 1]; /* "sha256:<hex>" */
	uint64_t data_end;                  /* input bytes up to the end of the last
					     * record (time-outs scale with it) */
	unsigned char as_is;                /* the spooled bytes already are the
					     * dataset's object (a Parquet upload
					     * whose every column maps exactly, ADR
					     * 0184): the pipeline stores them as
					     * they are; never for a cast schema */
	const struct ingest_format *format; /* the format that inferred it */
	void *layout;                       /* that format's own (CSV: the chunk
					     * index); freed with the schema */
};

/* What sniffing sees. Any field may be NULL/0 (a raw body has no file name
 * or part type; an empty upload has no head). ingestd picks once it has
 * INGEST_SNIFF_HEAD_BYTES of the upload, or the whole upload when it is
 * shorter (`complete`), for raw bodies and multipart uploads alike. */
#define INGEST_SNIFF_HEAD_BYTES (64u << 10)
struct ingest_sniff {
	const char *media_type;       /* Content-Type, parameters included: the
				       * request's for a raw body, the file
				       * part's for multipart (may be NULL) */
	const char *file_name;        /* multipart: the file part's filename */
	const unsigned char *head;    /* the first bytes of the upload */
	size_t nhead;
	int complete;                 /* head is the whole upload */
	char delimiter;               /* ?delimiter= (csv.h), 0 = not given */
};

/* How sure a sniff is: the scale every format's sniff uses, so that
 * ingest_format_pick can compare them and the kinds of files ingest does not
 * read (format.c's refusals) can outrank a mere declaration.
 *   INGEST_SNIFF_MAGIC    the head starts with the format's magic number
 *                         (PAR1, PK\3\4 with xl/ entries, ...): certain
 *   (95: a refusal's magic number: gzip, PDF, PNG, OLE2 .xls, a zip, ...)
 *   INGEST_SNIFF_ASKED    the client asked for it (?delimiter=)
 *   INGEST_SNIFF_DECLARED the media type or file name says so and the head
 *                         does not contradict it (text/csv, .json, ...)
 *   INGEST_SNIFF_LOOKS    the head looks like it (a first `{`), no more
 *   INGEST_SNIFF_DEFAULT  delimited text when nothing else claims the upload
 *   0                     not this format
 * A format does not need more than the struct ingest_sniff to decide. */
#define INGEST_SNIFF_MAGIC 100
#define INGEST_SNIFF_ASKED 90
#define INGEST_SNIFF_DECLARED 80
#define INGEST_SNIFF_LOOKS 50
#define INGEST_SNIFF_DEFAULT 10

/* Sniffing helpers. Does the media type `t` (parameters and case ignored;
 * NULL is none) equal `want`? Does the file name end with `ext` (".csv",
 * case ignored; NULL is no)? */
int ingest_media_type_is(const char *t, const char *want);
int ingest_name_ends(const char *name, const char *ext);

/* What the client chose for one upload that a format reads while it
 * infers (infer_file): the query string, or form fields sent before the
 * file. A NULL field was not given. */
#define INGEST_SHEET_NAME_MAX 124  /* bytes: Excel's 31 characters of UTF-8 */
struct ingest_options {
	const char *sheet;       /* ?sheet=: the workbook's sheet to read (xlsx.h),
				  * NULL = the first; other formats ignore it */
	uint64_t max_upload_bytes; /* [ingestd] max_upload_bytes: bounds what a
				  * compact format may decode to (Parquet:
				  * LH_PARQUET_DECODED_FACTOR times it); 0 =
				  * LH_DEFAULT_MAX_UPLOAD_BYTES */
};

/* Inference state of one upload, the format's own. */
struct ingest_reader;

struct ingest_format {
	const char *name;        /* "csv": logs and errors */
	/* 0 (not this format) to 100 (certainly this format). Pure. */
	int (*sniff)(const struct ingest_sniff *in);
	/* Incremental inference: begin() never returns NULL; feed() takes the
	 * next n bytes (any split; the caller keeps `data`) and returns 0 or
	 * -1 with a 400 naming the place (after which only abort is allowed);
	 * finish() says the input ended and ALWAYS consumes the reader: 0 and
	 * *out (ingest_schema_destroy), or -1 with err. abort(NULL) is fine. */
	struct ingest_reader *(*begin)(void);
	int (*feed)(struct ingest_reader *r, const char *data, size_t n, struct lh_error *err);
	int (*finish)(struct ingest_reader *r, struct ingest_schema **out, struct lh_error *err);
	void (*abort)(struct ingest_reader *r);
	/* The record batches of the spooled input `fd` (read with pread; the
	 * file position is not used), which `s` was inferred from: fills *out
	 * (the caller releases it; `s` must outlive it). Each batch's values
	 * are parsed with the column's type; a value that no longer matches
	 * fails the stream. 0, or -1 with err. */
	int (*batches)(int fd, const struct ingest_schema *s, struct ArrowArrayStream *out,
		       struct lh_error *err);
	/* Free the schema's layout. */
	void (*layout_free)(void *layout);
	/* OPTIONAL: inference over the whole spooled file, for a format whose
	 * schema cannot be known before the upload has ended (Parquet's footer
	 * is at the end of the file, an XLSX's zip directory too). Such a
	 * format sets feed = NULL (begin, finish and abort may be NULL too)
	 * and infer_file instead: ingestd spools the upload (digest as
	 * always), feeds nothing, and once the body has ended calls
	 * infer_file(fd, size, opt, &schema, err) on the spooled file (opt:
	 * the client's choices, struct ingest_options; NULL = none): `size` bytes
	 * at offsets 0..size, read with pread (the file position is not used;
	 * the fd stays open and unchanged while the schema lives, and
	 * batches() gets the same fd later). 0 and *out (ingest_schema_create
	 * of this format: columns, row_count, fingerprint, data_end, layout;
	 * the caller destroys it), or -1 with err: 400 with the format's own
	 * code and plain words for a bad file (no library internals, no
	 * paths), 413 for a limit, 500/507 for the service's own failures.
	 * ingest_infer_fd() calls it too. NULL for a streaming format. */
	int (*infer_file)(int fd, uint64_t size, const struct ingest_options *opt,
			  struct ingest_schema **out, struct lh_error *err);
};

/* The formats ingest reads (format.c's formats[]; the comma CSV first), and
 * the one to use for an upload: the highest sniff score, the earlier format
 * on a tie, comma CSV when nothing claims it (so an upload that is not CSV
 * fails as bad CSV, with its line, as before other formats). Unless the
 * upload is a kind of file ingest does not read (format.c's refusals: legacy
 * .xls, a zip, PDF, images, compressed files, UTF-16 text) whose score is
 * higher than every format's: then -1 and a 415 "unsupported_format" whose
 * message says what the file looks like and what to send instead, with
 * "detected" (a short word: "xls", "zip", "gzip", ...) in err->extra.
 * Returns 0 and *out, or -1. */
extern const struct ingest_format ingest_format_csv;
extern const struct ingest_format ingest_format_parquet;  /* parquet_reader.c */
int ingest_format_pick(const struct ingest_sniff *in, const struct ingest_format **out,
		       struct lh_error *err);

/* The format called `name` among formats[], or NULL. */
const struct ingest_format *ingest_format_find(const char *name);

/* begin/feed/finish over the file `fd` (pread pieces from offset 0 to EOF),
 * or infer_file() over its whole size for a format without feed(): the
 * spooled-file form of inference (tests, benchmarks). As finish(), plus
 * 500 "io_error" if reading fails. */
int ingest_infer_fd(const struct ingest_format *f, int fd, struct ingest_schema **out,
		    struct lh_error *err);

/* An empty schema of `format` (no columns, no layout) for a reader to fill;
 * free with ingest_schema_destroy(), which also frees the layout. */
struct ingest_schema *ingest_schema_create(const struct ingest_format *format);
void ingest_schema_destroy(struct ingest_schema *s);

/* The fingerprint of columns[0..n) (schema.h's schema_fp) into out.
 * Nullability is not part of it. */
void ingest_fingerprint(const struct ingest_column *columns, size_t n,
			char out[SCHEMA_FP_LEN + 1]);

#endif
