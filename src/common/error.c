/* error.c — filling and rendering struct lh_error (see error.h). */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int lh_fail(struct lh_error *err, int status, const char *code, const char *fmt, ...)
{
	if (!err || err->status)
		return -1;
	err->status = status;
	snprintf(err->code, sizeof err->code, "%s", code);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void lh_error_detail(struct lh_error *err, const char *fmt, ...)
{
	if (!err || !err->status)
		return;
	size_t n = strlen(err->detail);
	if (n && n + 2 < sizeof err->detail) {
		memcpy(err->detail + n, "; ", 3);
		n += 2;
	} else if (n) {
		return;                 /* full: the first part is the root cause */
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->detail + n, sizeof err->detail - n, fmt, ap);
	va_end(ap);
}

void lh_error_rephrase(struct lh_error *err, const char *fmt, ...)
{
	if (!err || !err->status)
		return;
	if (!err->detail[0])
		snprintf(err->detail, sizeof err->detail, "%s", err->msg);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
}

void lh_error_set(struct lh_error *err, const char *field, json_t *value)
{
	if (!err->extra)
		err->extra = json_object();
	json_object_set_new(err->extra, field, value);
}

json_t *lh_error_json(const struct lh_error *err)
{
	json_t *o = json_object();
	if (err->extra)
		json_object_update(o, err->extra);
	json_object_set_new(o, "error", json_string(err->msg[0] ? err->msg : "internal error"));
	json_object_set_new(o, "code", json_string(err->code[0] ? err->code : "internal"));
	return o;
}

void lh_error_clear(struct lh_error *err)
{
	json_decref(err->extra);
	memset(err, 0, sizeof *err);
}
