/* json.h — the lakehouse's JSON value type and request-body helpers.
 *
 * jansson's json_t is our JSON value everywhere; this is the only header that
 * includes <jansson.h> (ADR 0004). Ownership follows jansson: json_object_set_new
 * and json_array_append_new steal the reference they are given; json_decref
 * releases one.
 *
 * The getters validate a request object field by field and fill an lh_error
 * that names the field, so handlers read as a list of requirements.
 */
#ifndef LH_JSON_H
#define LH_JSON_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* Parse a request body. Rejects non-objects, invalid UTF-8 and nesting deeper
 * than LH_JSON_MAX_DEPTH with 400 "bad_json". Returns a new reference or NULL. */
json_t *json_parse_request(const char *buf, size_t n, struct lh_error *err);

/* Compact serialisation; the caller frees the string. */
char *json_dump_compact(const json_t *v);

/* Field getters. Each returns 0 and stores the value, or returns -1 with a 400
 * "bad_request" naming `field` (missing, or of the wrong type). Borrowed pointers
 * stay valid while `obj` lives. `required` = 0 leaves *out untouched when absent. */
int json_get_string(const json_t *obj, const char *field, int required,
		    const char **out, struct lh_error *err);
int json_get_int(const json_t *obj, const char *field, int required,
		 int64_t *out, struct lh_error *err);
int json_get_bool(const json_t *obj, const char *field, int required,
		  int *out, struct lh_error *err);
int json_get_array(const json_t *obj, const char *field, int required,
		   json_t **out, struct lh_error *err);

#endif
