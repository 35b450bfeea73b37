/* csv.h — the lakehouse's one CSV dialect (docs/schema.md): a pure,
 * restartable record scanner over caller-owned buffers. No I/O, no
 * allocation per record; used by the CSV input format (csv_reader.c: its
 * inference and its record batches) and by the fuzz target.
 *
 * Dialect (ADR 0020): RFC 4180, comma (or the scanner's `delim`: ';', tab
 * or '|', ADR 0180), UTF-8 (validated), optional BOM at the very start
 * (stripped), records end at LF or CRLF (a bare CR is data), quoted fields
 * with doubled quotes and embedded newlines. A quote inside an unquoted
 * field is data (`5'10"`); anything but the delimiter/end of record after a
 * closing quote (`"ab"c`) is an error. Every line is a record: a blank line
 * is a record with one empty field. The first record is the header and fixes
 * the field count of every later record.
 */
#ifndef LH_INGESTD_CSV_H
#define LH_INGESTD_CSV_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* One field of the last scanned record. `ptr` points into the caller's
 * buffer (doubled quotes already collapsed in place); valid until the caller
 * reuses that part of the buffer. Not NUL-terminated. */
struct csv_field {
	const char *ptr;
	uint32_t len;
	uint32_t quoted;   /* 1 if the field was written in quotes */
};

struct csv_scanner {
	uint64_t line;          /* physical line (1-based) where the next record starts */
	uint64_t record_line;   /* physical line where the last returned record started */
	uint64_t nrecords;      /* records returned so far (header included) */
	size_t nfields;         /* fields of the last returned record */
	size_t expected;        /* field count fixed by the header, 0 before it */
	size_t cap;             /* capacity of fields[] */
	struct csv_field *fields;
	int started;            /* BOM check done */
	char delim;             /* the field delimiter: ',' (init), ';', '\t' or '|' */
};

/* Initialise (delimiter ',') / free the scanner (frees fields[], not the
 * struct). Set `delim` after init for other delimited text. */
void csv_scanner_init(struct csv_scanner *s);
void csv_scanner_free(struct csv_scanner *s);

/* Result of csv_scan_record(). */
enum {
	CSV_ERROR = -1,   /* err filled: 400 bad_csv with "line" (and "field") */
	CSV_END = 0,      /* eof and no bytes left: no more records */
	CSV_RECORD = 1,   /* s->fields[0..s->nfields) hold a record */
	CSV_NEED_MORE = 2 /* buf holds only part of a record: call again with the
			   * same bytes (from buf[0]) followed by more input */
};

/* Scan one record from buf[0..n). `eof` says no bytes follow buf[n-1] in the
 * input. On CSV_RECORD, *used is the number of bytes the record took
 * (terminator and, for the first record, the BOM included); the next call
 * passes buf + *used. On CSV_NEED_MORE nothing in buf was changed; the caller
 * must keep the bytes and append more (grow its buffer geometrically so a
 * long record is rescanned O(1) times). Records larger than
 * LH_CSV_MAX_RECORD_BYTES, fields larger than LH_CSV_MAX_FIELD_BYTES and
 * more than LH_CSV_MAX_COLUMNS fields are 400 errors. `buf` is modified in
 * place (doubled quotes collapsed) only inside a returned record. */
int csv_scan_record(struct csv_scanner *s, char *buf, size_t n, int eof, size_t *used,
		    struct lh_error *err);

/* Check the header record's names (s->fields after the first CSV_RECORD):
 * non-empty, at most LH_CSV_MAX_HEADER_NAME bytes, no NUL byte, unique under ASCII case
 * folding. Returns 0, or -1 with 400 "bad_header" and "column" (the name) and
 * "index" (1-based) in err->extra. */
int csv_check_header(const struct csv_scanner *s, struct lh_error *err);

/* Offset of the first invalid UTF-8 byte in p[0..n), or n if it is valid
 * (no overlongs, surrogates, or code points above U+10FFFF). */
size_t csv_utf8_check(const unsigned char *p, size_t n);

/* ---- delimited text: which delimiter (ADR 0180) --------------------- */

/* The delimiters ingest reads: ',' ';' '\t' '|'. */
int csv_delimiter_ok(char c);

/* ?delimiter= (or the form field): one of , ; | or a tab (%09), or the
 * words comma, semicolon, tab, pipe, or the two characters \t. Returns the
 * delimiter, or 0 when `s` is none of them. */
char csv_delimiter_parse(const char *s, size_t n);

/* The delimiter of the delimited text head[0..n) (the first bytes of an
 * upload; `eof` says it is the whole upload), by the rule of ADR 0180: ';',
 * '\t' or '|' when it is the only one of them that splits every sampled
 * record (up to CSV_DETECT_RECORDS complete records, scanned by this
 * dialect) into the same number > 1 of fields and ',' does not; else ','.
 * Pure. */
#define CSV_DETECT_RECORDS 50
char csv_detect_delimiter(const char *head, size_t n, int eof);

/* ---- the CSV input format (csv_reader.c) ------------------------------- */

/* ingest_format_csv (format.h) reads uploads with this scanner. Its layout
 * of a spooled file is the chunk index: data records split into runs of
 * about CSV_CHUNK_BYTES, each starting at a record start, so the batches
 * read them independently and in parallel. Chunk i spans [offset, next
 * chunk's offset or schema->data_end). Offsets count every fed byte from 0. */
#define CSV_CHUNK_BYTES (2u << 20)
struct csv_chunk {
	uint64_t offset;     /* file offset of the chunk's first record */
	uint64_t first_row;  /* 0-based data row number of that record */
	uint64_t line;       /* physical line where that record starts */
};

struct ingest_schema;
struct ingest_format;
/* The chunk index of a schema a delimited-text format inferred: *n chunks
 * (0 and NULL for a schema of another format or without data records). */
const struct csv_chunk *csv_chunks(const struct ingest_schema *s, size_t *n);

/* Delimited text is one reader in four formats, one per delimiter (format.h
 * has ingest_format_csv, the comma): ingest_format_tsv,
 * ingest_format_csv_semicolon, ingest_format_csv_pipe. The delimiter of a
 * format (0 when it is not delimited text), and the format of a delimiter
 * (NULL when it is not one of csv_delimiter_ok's). */
extern const struct ingest_format ingest_format_tsv;
extern const struct ingest_format ingest_format_csv_semicolon;
extern const struct ingest_format ingest_format_csv_pipe;
char csv_format_delimiter(const struct ingest_format *f);
const struct ingest_format *csv_format_for(char delim);

#endif
