/* json_scan.h — the JSON upload scanner (ADR 0182): a pure, restartable
 * scanner of NDJSON (one object per line) and of a JSON array of objects,
 * one object (a "record", a row) at a time, over caller-owned buffers. No
 * I/O; used by the JSON input format (json_reader.c: its inference and its
 * record batches) and by the fuzz target (tests/fuzz/fuzz_json_reader.c).
 *
 * Why hand-written (ADR 0182): jansson parses a whole document into a tree,
 * so a 1 GiB array would be a 1 GiB tree; this scanner holds one object at a
 * time, like csv.c holds one record.
 *
 * The input (RFC 8259, UTF-8, optional BOM at the very start):
 *   - its first non-space byte is `[` (a JSON array of objects: elements
 *     separated by `,`, closed by `]`, only white space after it) or `{`
 *     (NDJSON / JSON Lines: objects separated by white space, normally one
 *     per line); anything else is an error;
 *   - every record is an object. Its members' values are reported as
 *     scalars with their text (see struct json_member) or, for an object or
 *     array, as its compact JSON text (white space outside strings removed,
 *     strings as written);
 *   - errors (400 "bad_json" with "line"): not an object, bad syntax, invalid
 *     UTF-8, a raw control character in a string, a bad escape or a lone
 *     surrogate (\ud800 without its pair), nesting deeper than
 *     LH_JSON_INGEST_MAX_DEPTH, a string longer (as written) or a nested
 *     value longer (compact) than LH_JSON_INGEST_MAX_VALUE_BYTES, an object
 *     longer than LH_JSON_INGEST_MAX_RECORD_BYTES, anything after the
 *     array's `]`, an array not closed at the end of the input.
 * Duplicate keys are the reader's to judge (json_reader.c): the scanner
 * reports every member as written.
 */
#ifndef LH_INGESTD_JSON_SCAN_H
#define LH_INGESTD_JSON_SCAN_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* What a member's value is. */
enum json_kind {
	JSON_KIND_NULL,     /* null: val is NULL, nval 0 */
	JSON_KIND_BOOL,     /* "true" or "false" as written */
	JSON_KIND_NUMBER,   /* the number as written (RFC 8259 grammar) */
	JSON_KIND_STRING,   /* the decoded string (escapes resolved; may hold a NUL
			     * byte from \u0000; valid UTF-8), possibly empty */
	JSON_KIND_NESTED,   /* an object or array: its compact JSON text */
};

/* One member of the last scanned object. key/val point into the caller's
 * buffer or the scanner's scratch, valid until the next call. Not
 * NUL-terminated. Keys are decoded strings like values. */
struct json_member {
	const char *key, *val;
	uint32_t nkey, nval;
	uint64_t line;         /* the physical line where the key starts */
	uint8_t kind;          /* enum json_kind */
	/* private: offsets before they become pointers */
	uint8_t key_scratch, val_scratch;
	size_t key_off, val_off;
};

enum json_mode {
	JSON_MODE_NONE,     /* before the first value */
	JSON_MODE_LINES,    /* NDJSON: objects one after another */
	JSON_MODE_ARRAY,    /* one array of objects */
};

struct json_scanner {
	uint64_t line;          /* physical line (1-based) where the next scan starts */
	uint64_t record_line;   /* line where the last returned object's `{` is */
	size_t record_off;      /* offset of that `{` in the buffer it was scanned from */
	uint64_t nrecords;      /* objects returned so far */
	int mode;               /* enum json_mode, fixed by the first value */
	int state;              /* JSON_MODE_ARRAY: where in the array (json_scan.c) */
	int started;            /* BOM check done */
	struct json_member *members;   /* nmembers of the last returned object */
	size_t nmembers, cap;
	char *scratch;          /* decoded strings and compact nested values */
	size_t scratch_len, scratch_cap;
};

/* Initialise / free the scanner (frees its arrays, not the struct). */
void json_scanner_init(struct json_scanner *s);
void json_scanner_free(struct json_scanner *s);

/* Set an initialised scanner to resume in the middle of an input of `mode`
 * at the `{` of an object on line `line` (the record batches read a chunk
 * that starts there: json_reader.c). */
void json_scanner_resume(struct json_scanner *s, int mode, uint64_t line);

/* Result of json_scan_record(). */
enum {
	JSON_ERROR = -1,     /* err filled: 400 bad_json with "line" */
	JSON_END = 0,        /* eof and nothing but white space (and the array's
			      * end) left: no more objects */
	JSON_RECORD = 1,     /* s->members[0..s->nmembers) hold an object */
	JSON_NEED_MORE = 2,  /* buf ends inside an object or before one: drop
			      * *used bytes (white space and separators, taken
			      * into the scanner's state), keep the rest and call
			      * again with more input appended */
};

/* Scan up to the next object in buf[0..n). `eof` says no bytes follow
 * buf[n-1] in the input. *used is the number of bytes consumed (on
 * JSON_RECORD up to the object's closing `}`; on JSON_END all of them;
 * on JSON_NEED_MORE the white space and separators before a partial
 * object, maybe 0). buf is never modified. */
int json_scan_record(struct json_scanner *s, const char *buf, size_t n, int eof, size_t *used,
		     struct lh_error *err);

/* ---- the JSON input format (json_reader.c) ------------------------------ */

/* ingest_format_json (format.h) reads NDJSON and JSON arrays of objects
 * with this scanner: keys become columns in first-seen order, values are
 * typed by docs/schema.md's rules for JSON (ADR 0182). Its layout of a
 * spooled file is an index of marks: a mark at the `{` of the first row and
 * then of the first row after every JSON_MARK_BYTES of input or
 * JSON_MARK_ROWS rows, whichever comes first. The record batches group
 * consecutive marks into chunks of at most JSON_CHUNK_BYTES of input and
 * JSON_CHUNK_CELLS values (rows x columns; one mark at least), so a batch's
 * memory is bounded even for many sparse columns. */
#define JSON_MARK_BYTES (64u << 10)
#define JSON_MARK_ROWS 1024u
#define JSON_CHUNK_BYTES (2u << 20)
#define JSON_CHUNK_CELLS (1u << 21)

struct json_mark {
	uint64_t offset;     /* file offset of the row's `{` */
	uint64_t first_row;  /* 0-based row number of that row */
	uint64_t line;       /* the line of that `{` */
};

struct ingest_schema;
extern const struct ingest_format ingest_format_json;

/* The marks of a schema the JSON format inferred: *n marks and the input's
 * enum json_mode in *mode (0 marks, NULL and JSON_MODE_NONE for a schema of
 * another format). */
const struct json_mark *json_marks(const struct ingest_schema *s, size_t *n, int *mode);

#endif
