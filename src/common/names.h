/* names.h — dataset names (docs/api.md, catalogd): [A-Za-z_][A-Za-z0-9_]{0,63}. They become
 * SQL table names, storage key segments and URL path segments, so one pure
 * validator is shared by ingestd, catalogd and queryd. Being SQL
 * identifiers, they are unique regardless of letter case. */
#ifndef LH_NAMES_H
#define LH_NAMES_H

struct lh_error;

/* 1 if `name` is a valid dataset name, else 0. */
int dataset_name_valid(const char *name);
/* 0, or -1 with a 400 "bad_name" error that quotes the name. */
int dataset_name_check(const char *name, struct lh_error *err);

/* Names are unique regardless of letter case (ADR 0112): a new
 * dataset `name` that equals `existing` but for case is refused. Fills err
 * with 409 "name_conflict", extra "existing_name", and returns -1. Used by
 * catalogd's backends (the authority) and ingestd's early check, so both
 * answer the same words. */
int dataset_name_conflict(struct lh_error *err, const char *name, const char *existing);

#endif
