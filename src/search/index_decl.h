/* index_decl.h — a search index declaration as the catalog holds it, and
 * what it says about a row: the text BM25 and the embedder see.
 *
 * SPEC 11: `{"text": ["title","skills","notes"], "id": "candidate_id",
 * "embedder": "builtin"}`. A row's indexed text is its declared columns'
 * values, each after its column name ("title: Forklift operator\nskills:
 * ..."), in the declared order; NULL values are left out. Pure.
 */
#ifndef LH_SEARCH_INDEX_DECL_H
#define LH_SEARCH_INDEX_DECL_H
#include "common/json.h"

#include <stddef.h>

struct lh_buf;
struct lh_error;

#define INDEX_DECL_MAX_COLUMNS 64

struct index_decl {
	char *text[INDEX_DECL_MAX_COLUMNS];  /* owned column names */
	size_t ntext;
	char *id;                /* owned; NULL: rows are known by position */
	char *embedder;          /* owned; "builtin" when unsaid */
	char *fingerprint;       /* owned; "sha256:<hex>" from the catalog */
};

/* Decode the catalog's {"declaration": {...}, "fingerprint": "..."} (GET
 * /catalog/index/<name>) into d. 0, or -1 with a 502 "upstream_failed". */
int index_decl_from_json(const json_t *index, struct index_decl *d, struct lh_error *err);
void index_decl_free(struct index_decl *d);

/* Append row `row`'s indexed text (the JSON object of one row) to out.
 * 0, or -1 when out's cap is reached. */
int index_decl_row_text(const struct index_decl *d, const json_t *row, struct lh_buf *out);

#endif
