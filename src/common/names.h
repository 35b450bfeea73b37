/* names.h — dataset names (SPEC 6): [A-Za-z_][A-Za-z0-9_]{0,63}. They become
 * SQL table names, storage key segments and URL path segments, so one pure
 * validator is shared by ingestd, catalogd and queryd. */
#ifndef LH_NAMES_H
#define LH_NAMES_H

struct lh_error;

/* 1 if `name` is a valid dataset name, else 0. */
int dataset_name_valid(const char *name);
/* 0, or -1 with a 400 "bad_name" error that quotes the name. */
int dataset_name_check(const char *name, struct lh_error *err);

#endif
