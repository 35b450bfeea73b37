/* multipart.h — a streaming multipart/form-data parser (RFC 7578), pure.
 *
 * Bytes go in with multipart_feed() in chunks of any size; the content of
 * the field named "file" comes out through `on_file` as it arrives, without
 * ever holding a whole part in memory. Small text fields (name, mode) are
 * collected up to LH_MULTIPART_FIELD_MAX bytes and handed to `on_field`
 * when complete. No I/O: the ingest service passes a sink that writes the
 * spool file; the fuzzer passes one that discards.
 */
#ifndef LH_MULTIPART_H
#define LH_MULTIPART_H
#include <stddef.h>

struct lh_error;
struct multipart;

#define LH_MULTIPART_FIELD_MAX 1024     /* a small form field's value */
#define LH_MULTIPART_HEADER_MAX 16384   /* one part's header block */
#define LH_MULTIPART_BOUNDARY_MAX 70    /* RFC 2046 */

struct multipart_callbacks {
	/* A chunk of the "file" field's content; return 0, or -1 to stop
	 * (with err filled by the callback). */
	int (*on_file)(void *ctx, const char *data, size_t n, struct lh_error *err);
	/* A complete small field other than "file" (value not NUL-safe: use n). */
	int (*on_field)(void *ctx, const char *name, const char *value, size_t n,
			struct lh_error *err);
	void *ctx;
	/* OPTIONAL, for uploads of many files (documents, ADR 0225): when set,
	 * "file" may repeat; each "file" part is announced by on_file_begin
	 * with its filename ("" when it has none) and Content-Type (NULL when
	 * none) before its first on_file, and closed by on_file_end (may be
	 * NULL). Return 0, or -1 with err to stop. */
	int (*on_file_begin)(void *ctx, const char *file_name, const char *file_type,
			     struct lh_error *err);
	int (*on_file_end)(void *ctx, struct lh_error *err);
};

/* Extract the boundary from a Content-Type header value
 * ("multipart/form-data; boundary=XYZ", possibly quoted) into out[71].
 * Returns 0 or -1 with a 400 error. */
int multipart_boundary(const char *content_type, char *out, size_t out_cap,
		       struct lh_error *err);

/* A parser for `boundary`; free with multipart_destroy(). */
struct multipart *multipart_create(const char *boundary,
				   const struct multipart_callbacks *cb);
void multipart_destroy(struct multipart *mp);
/* Feed a chunk. Returns 0, or -1 with a 400 "bad_multipart" error (or the
 * callback's error). */
int multipart_feed(struct multipart *mp, const char *data, size_t n, struct lh_error *err);
/* The body has ended: checks the closing boundary was seen and that a "file"
 * field was present. Returns 0 or -1 with a 400 error. */
int multipart_finish(struct multipart *mp, struct lh_error *err);

/* The "file" part's filename (Content-Disposition's filename= or
 * filename*=, at most LH_MULTIPART_FILE_NAME_MAX bytes, else cut to its
 * last bytes so the extension stays) and its own Content-Type, once its
 * headers have been read (before its first on_file call); NULL before, or
 * when the part has none. Format detection uses them (ingestd.c). */
#define LH_MULTIPART_FILE_NAME_MAX 255
const char *multipart_file_name(const struct multipart *mp);
const char *multipart_file_type(const struct multipart *mp);

#endif
