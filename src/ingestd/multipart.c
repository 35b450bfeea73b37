/* multipart.c — streaming multipart/form-data parser (see multipart.h).
 *
 * DESIGN NOTES
 *  1. The delimiter is "\r\n--" + boundary. The parser starts with "\r\n"
 *     already in its carry buffer, so the first boundary (which has no CRLF
 *     before it) is found by the same search as every later one.
 *  2. In a part's body, all bytes except the last (delimiter length - 1) are
 *     safe to emit: a delimiter cannot start before them unseen. Those last
 *     bytes are carried into the next feed. The working buffer is carry +
 *     chunk; its size is bounded by the largest chunk plus the delimiter.
 *  3. After a delimiter come either "--" (the end; the epilogue is ignored)
 *     or optional transport padding and "\r\n" (the next part's headers).
 *  4. Part headers are collected up to LH_MULTIPART_HEADER_MAX bytes, then
 *     parsed for Content-Disposition's name; the "file" part's filename and
 *     Content-Type are kept for format detection.
 *  5. With on_file_begin (uploads of many documents), "file" may repeat:
 *     each such part is announced with its filename and type, and closed
 *     by on_file_end when its delimiter is found.
 */
#include "ingestd/multipart.h"

#include "common/error.h"
#include "common/xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_END };

struct multipart {
	struct multipart_callbacks cb;
	enum mp_state state;
	char delim[LH_MULTIPART_BOUNDARY_MAX + 5];  /* "\r\n--" + boundary */
	size_t dlen;
	char *buf;              /* carry + current chunk (note 2) */
	size_t len, cap;
	char headers[LH_MULTIPART_HEADER_MAX];
	size_t hlen;
	enum { PART_OTHER, PART_FILE, PART_FIELD } part;
	char field_name[64];
	char field[LH_MULTIPART_FIELD_MAX];
	size_t field_len;
	int saw_file;
	char file_name[LH_MULTIPART_FILE_NAME_MAX + 1];  /* "" = none (note 4) */
	char file_type[128];
};

int multipart_boundary(const char *content_type, char *out, size_t out_cap,
		       struct lh_error *err)
{
	const char *p = content_type ? strcasestr(content_type, "boundary=") : NULL;
	if (!p)
		return lh_fail(err, 400, "bad_multipart", "multipart body without a boundary parameter");
	p += strlen("boundary=");
	size_t n = 0;
	if (*p == '"') {
		p++;
		while (p[n] && p[n] != '"')
			n++;
	} else {
		while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
			n++;
	}
	if (n == 0 || n > LH_MULTIPART_BOUNDARY_MAX || n >= out_cap)
		return lh_fail(err, 400, "bad_multipart", "multipart boundary must be 1 to %d characters",
			       LH_MULTIPART_BOUNDARY_MAX);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

struct multipart *multipart_create(const char *boundary, const struct multipart_callbacks *cb)
{
	struct multipart *mp = xcalloc(1, sizeof *mp);
	mp->cb = *cb;
	size_t blen = strlen(boundary);
	if (blen > LH_MULTIPART_BOUNDARY_MAX)
		blen = LH_MULTIPART_BOUNDARY_MAX;
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, blen);
	mp->dlen = 4 + blen;
	mp->state = MP_PREAMBLE;
	mp->cap = 4096;
	mp->buf = xmalloc(mp->cap);
	memcpy(mp->buf, "\r\n", 2);   /* note 1 */
	mp->len = 2;
	return mp;
}

void multipart_destroy(struct multipart *mp)
{
	if (!mp)
		return;
	free(mp->buf);
	free(mp);
}

/* The value of parameter `key` ("filename=") in a Content-Disposition line,
 * quoted or not, into out (its last bytes if it is longer: the extension
 * stays). */
static void disposition_param(const char *line, const char *key, char *out, size_t cap)
{
	size_t klen = strlen(key);
	for (const char *p = strcasestr(line, key); p; p = strcasestr(p + 1, key)) {
		if (p == line || (p[-1] != ' ' && p[-1] != ';' && p[-1] != '\t'))
			continue;
		const char *v = p + klen, *end;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
			if (!end)
				end = v + strlen(v);
		} else {
			end = v + strcspn(v, "; \t");
		}
		size_t n = (size_t)(end - v);
		if (n >= cap) {
			v = end - (cap - 1);
			n = cap - 1;
		}
		memcpy(out, v, n);
		out[n] = '\0';
		return;
	}
}

/* Content-Disposition: form-data; name="file"; filename="x.csv" */
static int parse_part_headers(struct multipart *mp, struct lh_error *err)
{
	char file_name[sizeof mp->file_name] = "", file_type[sizeof mp->file_type] = "";
	mp->part = PART_OTHER;
	mp->field_len = 0;
	mp->field_name[0] = '\0';
	char *h = mp->headers;
	h[mp->hlen] = '\0';
	for (char *line = h; line && *line;) {
		char *eol = strstr(line, "\r\n");
		if (eol)
			*eol = '\0';
		if (!strncasecmp(line, "Content-Disposition:", 20)) {
			const char *name = strstr(line, " name=\"");
			if (!name)
				name = strstr(line, ";name=\"");
			if (name) {
				name += 7;
				const char *q = strchr(name, '"');
				size_t n = q ? (size_t)(q - name) : 0;
				if (!q || n >= sizeof mp->field_name)
					return lh_fail(err, 400, "bad_multipart", "malformed field name in multipart part");
				memcpy(mp->field_name, name, n);
				mp->field_name[n] = '\0';
			}
			disposition_param(line, "filename=", file_name, sizeof file_name);
			if (!file_name[0])   /* RFC 5987: filename*=UTF-8''x.csv */
				disposition_param(line, "filename*=", file_name, sizeof file_name);
		} else if (!strncasecmp(line, "Content-Type:", 13)) {
			const char *v = line + 13;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(file_type, sizeof file_type, "%s", v);
		}
		line = eol ? eol + 2 : NULL;
	}
	if (!strcmp(mp->field_name, "file")) {
		if (mp->saw_file && !mp->cb.on_file_begin)
			return lh_fail(err, 400, "bad_multipart", "more than one \"file\" field in the upload");
		mp->part = PART_FILE;
		mp->saw_file = 1;
		memcpy(mp->file_name, file_name, sizeof file_name);            /* 4 */
		memcpy(mp->file_type, file_type, sizeof file_type);
		if (mp->cb.on_file_begin &&                                     /* 5 */
		    mp->cb.on_file_begin(mp->cb.ctx, mp->file_name,
					 mp->file_type[0] ? mp->file_type : NULL, err) != 0)
			return -1;
	} else if (mp->field_name[0]) {
		mp->part = PART_FIELD;
	}
	return 0;
}

static int emit_body(struct multipart *mp, const char *data, size_t n, struct lh_error *err)
{
	if (n == 0)
		return 0;
	if (mp->part == PART_FILE)
		return mp->cb.on_file ? mp->cb.on_file(mp->cb.ctx, data, n, err) : 0;
	if (mp->part == PART_FIELD) {
		if (mp->field_len + n > LH_MULTIPART_FIELD_MAX)
			return lh_fail(err, 413, "too_large", "form field \"%s\" is longer than %d bytes",
				       mp->field_name, LH_MULTIPART_FIELD_MAX);
		memcpy(mp->field + mp->field_len, data, n);
		mp->field_len += n;
	}
	return 0;
}

static int end_part(struct multipart *mp, struct lh_error *err)
{
	if (mp->part == PART_FIELD && mp->cb.on_field)
		return mp->cb.on_field(mp->cb.ctx, mp->field_name, mp->field, mp->field_len, err);
	if (mp->part == PART_FILE && mp->cb.on_file_end)                        /* 5 */
		return mp->cb.on_file_end(mp->cb.ctx, err);
	return 0;
}

/* Run the state machine over mp->buf[0..len); keep what must be carried. */
static int process(struct multipart *mp, struct lh_error *err)
{
	size_t pos = 0;
	for (;;) {
		char *p = mp->buf + pos;
		size_t left = mp->len - pos;
		if (mp->state == MP_PREAMBLE || mp->state == MP_BODY) {
			char *d = memmem(p, left, mp->delim, mp->dlen);
			if (!d) {
				size_t safe = left >= mp->dlen ? left - (mp->dlen - 1) : 0;
				if (mp->state == MP_BODY && emit_body(mp, p, safe, err) != 0)
					return -1;
				pos += safe;
				break;
			}
			if (mp->state == MP_BODY) {
				if (emit_body(mp, p, (size_t)(d - p), err) != 0 || end_part(mp, err) != 0)
					return -1;
			}
			pos += (size_t)(d - p) + mp->dlen;
			mp->state = MP_AFTER_DELIM;
		} else if (mp->state == MP_AFTER_DELIM) {
			if (left < 2)
				break;
			if (p[0] == '-' && p[1] == '-') {
				mp->state = MP_END;
				pos = mp->len;
				break;
			}
			/* transport padding (spaces/tabs) then CRLF */
			size_t i = 0;
			while (i < left && (p[i] == ' ' || p[i] == '\t'))
				i++;
			/* The padding cap holds however the bytes were chunked. */
			if (i > 64)
				return lh_fail(err, 400, "bad_multipart", "malformed multipart boundary line");
			if (i + 2 > left)
				break;
			if (p[i] != '\r' || p[i + 1] != '\n')
				return lh_fail(err, 400, "bad_multipart", "malformed multipart boundary line");
			pos += i + 2;
			mp->state = MP_HEADERS;
			mp->hlen = 0;
		} else if (mp->state == MP_HEADERS) {
			/* Headers end at an empty line: CRLF CRLF, or an immediate CRLF. */
			size_t room = sizeof mp->headers - 1 - mp->hlen;
			size_t take = left < room ? left : room;
			memcpy(mp->headers + mp->hlen, p, take);
			size_t before = mp->hlen;
			mp->hlen += take;
			char *end = NULL;
			if (mp->hlen >= 2 && mp->headers[0] == '\r' && mp->headers[1] == '\n')
				end = mp->headers;          /* a part with no headers */
			else
				end = memmem(mp->headers, mp->hlen, "\r\n\r\n", 4);
			if (!end) {
				if (take == room)
					return lh_fail(err, 400, "bad_multipart",
						       "multipart part headers exceed %d bytes",
						       LH_MULTIPART_HEADER_MAX);
				pos += take;
				break;
			}
			size_t hdr_end = (size_t)(end - mp->headers) + (end == mp->headers ? 2 : 4);
			mp->hlen = hdr_end;
			pos += hdr_end - before;
			if (parse_part_headers(mp, err) != 0)
				return -1;
			mp->state = MP_BODY;
		} else {  /* MP_END: the epilogue is ignored */
			pos = mp->len;
			break;
		}
	}
	memmove(mp->buf, mp->buf + pos, mp->len - pos);
	mp->len -= pos;
	return 0;
}

int multipart_feed(struct multipart *mp, const char *data, size_t n, struct lh_error *err)
{
	if (mp->state == MP_END)
		return 0;
	if (mp->len + n > mp->cap) {
		while (mp->cap < mp->len + n)
			mp->cap *= 2;
		mp->buf = xrealloc(mp->buf, mp->cap);
	}
	memcpy(mp->buf + mp->len, data, n);
	mp->len += n;
	return process(mp, err);
}

int multipart_finish(struct multipart *mp, struct lh_error *err)
{
	if (mp->state != MP_END)
		return lh_fail(err, 400, "bad_multipart",
			       "the multipart body ended before its closing boundary");
	if (!mp->saw_file)
		return lh_fail(err, 400, "bad_multipart", "the upload has no \"file\" field");
	return 0;
}

const char *multipart_file_name(const struct multipart *mp)
{
	return mp && mp->file_name[0] ? mp->file_name : NULL;
}

const char *multipart_file_type(const struct multipart *mp)
{
	return mp && mp->file_type[0] ? mp->file_type : NULL;
}
