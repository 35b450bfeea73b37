/* error.c — filling and rendering struct lh_error (see error.h). */
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0
 * (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A message as a JSON string even when it is not valid UTF-8 (a value cut
 * mid-character by "%.64s", bytes of a bad upload): every byte that starts
 * no well-formed sequence becomes '?', so the answer always says "error". */
static json_t *message_json(const char *msg)
{
	json_t *j = json_string(msg);
	if (j)
		return j;
	size_t n = strlen(msg);
	char *copy = malloc(n + 1);
	if (!copy)
		return json_string("internal error");
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq((const unsigned char *)msg + i, n - i);
		if (len == 0) {
			copy[i++] = '?';
		} else {
			memcpy(copy + i, msg + i, len);
			i += len;
		}
	}
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j ? j : json_string("internal error");
}

json_t *lh_error_json(const struct lh_error *err)
{
	json_t *o = json_object();
	if (err->extra)
		json_object_update(o, err->extra);
	json_object_set_new(o, "error", message_json(err->msg[0] ? err->msg : "internal error"));
	json_object_set_new(o, "code", json_string(err->code[0] ? err->code : "internal"));
	return o;
}

void lh_error_clear(struct lh_error *err)
{
	json_decref(err->extra);
	memset(err, 0, sizeof *err);
}
