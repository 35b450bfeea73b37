/* format_words.h — the plain words for how an upload was read, from the
 * "format" of an ingest answer (docs/api.md, POST /ingest; ADR 0180): one
 * sentence fragment shared by `lakehouse ingest`'s summary line and the web
 * upload page's result, so both say the same thing. */
#ifndef LH_FORMAT_WORDS_H
#define LH_FORMAT_WORDS_H
#include "common/json.h"

#include <stddef.h>

/* Room for any of them: a sheet name is at most 124 bytes (format.h). */
#define FORMAT_WORDS_MAX 192

/* Into out[0..n): "read as comma-separated text", "read as
 * semicolon-separated text", "read as tab-separated text", "read as
 * pipe-separated text", "read as NDJSON", "read as a JSON array of
 * objects", "read as JSON", "read sheet NAME of the workbook", "stored the
 * Parquet file as it is", "converted the Parquet file", or "read as NAME"
 * for another name. Returns 0, or -1 (out = "") when `format` is not an
 * object with a string "name" (an answer from an older server). The text
 * is not escaped (a sheet name is the workbook's): HTML callers escape it. */
int format_words(const json_t *format, char *out, size_t n);

#endif
