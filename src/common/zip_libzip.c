/* zip_libzip.c — zipread.h on Debian's libzip (ADR 0108): the only file
 * that includes <zip.h>.
 *
 * DESIGN NOTES
 *   1. libzip reads the archive through a source of our own (fd_source):
 *      pread at a position it keeps, so the caller's descriptor is never
 *      seeked, duplicated or closed (ingestd's spool file is read by other
 *      code too), and nothing is read into memory but what libzip asks for.
 *   2. The archive is opened read-only with ZIP_CHECKCONS: libzip compares
 *      the central directory with the local headers, so a file cut short
 *      or spliced fails at open, not half-way through a sheet.
 *   3. Entries are inflated by libzip as a stream (zip_fread); the caps are
 *      counted here on the inflated bytes actually returned, never on what
 *      the archive declares (a zip bomb declares little). The declared size
 *      is checked too, so an honest large entry fails before any work, and
 *      so is the declared ratio (a bomb that declares its size honestly, as
 *      Info-ZIP's zip does, fails at open: its first bytes may not even
 *      parse, which would hide what it is).
 *   4. libzip's messages ("Zip archive inconsistent") are replaced by plain
 *      words for the client; libzip's own text goes to the log detail.
 */
#include "common/zipread.h"

#include "common/error.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

struct fd_source {           /* note 1 */
	int fd;
	uint64_t size, pos;
	zip_error_t error;
};

struct zipread {
	zip_t *za;
	struct fd_source *src;   /* owned by libzip's source once opened */
};

struct zipread_entry {
	zip_file_t *f;
	char name[128];          /* for messages */
	struct zipread_caps caps;
	uint64_t comp_size;      /* compressed bytes, for the ratio */
	uint64_t got;            /* inflated bytes returned so far */
};

static zip_int64_t fd_source_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
	struct fd_source *s = ud;
	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		s->pos = 0;
		return 0;
	case ZIP_SOURCE_READ: {
		if (s->pos >= s->size)
			return 0;
		if (len > s->size - s->pos)
			len = s->size - s->pos;
		for (;;) {
			ssize_t n = pread(s->fd, data, (size_t)len, (off_t)s->pos);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				zip_error_set(&s->error, ZIP_ER_READ, errno);
				return -1;
			}
			s->pos += (uint64_t)n;
			return n;
		}
	}
	case ZIP_SOURCE_CLOSE:
		return 0;
	case ZIP_SOURCE_STAT: {
		zip_stat_t *st = data;
		if (len < sizeof *st) {
			zip_error_set(&s->error, ZIP_ER_INVAL, 0);
			return -1;
		}
		zip_stat_init(st);
		st->size = s->size;
		st->valid |= ZIP_STAT_SIZE;
		return sizeof *st;
	}
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&s->error, data, len);
	case ZIP_SOURCE_FREE:
		zip_error_fini(&s->error);
		free(s);
		return 0;
	case ZIP_SOURCE_SEEK: {
		zip_int64_t to = zip_source_seek_compute_offset(s->pos, s->size, data, len, &s->error);
		if (to < 0)
			return -1;
		s->pos = (uint64_t)to;
		return 0;
	}
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)s->pos;
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_SEEKABLE;
	default:
		zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* The length of `name` cut to at most `max` bytes on a UTF-8 character
 * boundary (messages become JSON, which must be UTF-8). */
static int cut(const char *name, size_t max)
{
	size_t n = strlen(name);
	if (n <= max)
		return (int)n;
	while (max > 0 && ((unsigned char)name[max] & 0xc0) == 0x80)
		max--;
	return (int)max;
}

/* Plain words for a libzip error code (note 4). */
static const char *plain(int ze)
{
	switch (ze) {
	case ZIP_ER_NOZIP:
		return "it is not a zip archive";
	case ZIP_ER_INCONS:
		return "its zip directory does not match its contents (a damaged or cut file?)";
	case ZIP_ER_CRC:
		return "a part of it is damaged (checksum mismatch)";
	case ZIP_ER_COMPNOTSUPP:
		return "a part of it is compressed with a method this server does not read";
	case ZIP_ER_ENCRNOTSUPP:
	case ZIP_ER_NOPASSWD:
	case ZIP_ER_WRONGPASSWD:
		return "it is encrypted (password protected)";
	case ZIP_ER_READ:
		return "it could not be read";
	default:
		return "it is not a readable zip archive";
	}
}

int zipread_open(int fd, uint64_t size, struct zipread **out, struct lh_error *err)
{
	zip_error_t ze;
	struct fd_source *s = xcalloc(1, sizeof *s);
	zip_source_t *src;
	zip_t *za;

	*out = NULL;
	s->fd = fd;
	s->size = size;
	zip_error_init(&s->error);
	zip_error_init(&ze);
	src = zip_source_function_create(fd_source_cb, s, &ze);
	if (!src) {
		zip_error_fini(&s->error);
		free(s);
		zip_error_fini(&ze);
		return lh_fail(err, 500, "internal", "the zip reader could not start");
	}
	za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);        /* 2 */
	if (!za) {
		lh_fail(err, 400, "bad_zip", "%s", plain(zip_error_code_zip(&ze)));
		lh_error_detail(err, "libzip: %s", zip_error_strerror(&ze));
		zip_source_free(src);       /* frees s (ZIP_SOURCE_FREE) */
		zip_error_fini(&ze);
		return -1;
	}
	zip_error_fini(&ze);
	struct zipread *z = xcalloc(1, sizeof *z);
	z->za = za;
	z->src = s;
	*out = z;
	return 0;
}

void zipread_close(struct zipread *z)
{
	if (!z)
		return;
	zip_discard(z->za);     /* read-only: nothing to write; frees the source */
	free(z);
}

size_t zipread_count(const struct zipread *z)
{
	zip_int64_t n = zip_get_num_entries(z->za, 0);
	return n > 0 ? (size_t)n : 0;
}

const char *zipread_name(struct zipread *z, size_t i)
{
	const char *name = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
	return name ? name : "";
}

int zipread_entry_open(struct zipread *z, const char *name, const struct zipread_caps *caps,
		       struct zipread_entry **out, struct lh_error *err)
{
	zip_stat_t st;
	*out = NULL;
	zip_int64_t idx = zip_name_locate(z->za, name, ZIP_FL_ENC_RAW);
	if (idx < 0)
		return 0;
	zip_stat_init(&st);
	if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &st) != 0)
		return lh_fail(err, 400, "bad_zip", "its part %.*s cannot be read", cut(name, 100),
			       name);
	if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
		return lh_fail(err, 400, "bad_zip", "it is encrypted (password protected)");
	if ((st.valid & ZIP_STAT_COMP_METHOD) && !zip_compression_method_supported(st.comp_method, 0))
		return lh_fail(err, 400, "bad_zip", "%s", plain(ZIP_ER_COMPNOTSUPP));
	if ((st.valid & ZIP_STAT_SIZE) && st.size > caps->max_bytes)                  /* 3 */
		return lh_fail(err, 400, "zip_too_large",
			       "its part %.*s inflates to %llu bytes, more than the %llu bytes read",
			       cut(name, 100), name, (unsigned long long)st.size, (unsigned long long)caps->max_bytes);
	if ((st.valid & ZIP_STAT_SIZE) && (st.valid & ZIP_STAT_COMP_SIZE) && st.size > caps->grace &&
	    st.size / (st.comp_size ? st.comp_size : 1) > caps->max_ratio)                   /* 3 */
		return lh_fail(err, 400, "zip_too_large",
			       "its part %.*s inflates to more than %llu times its compressed size "
			       "(a zip bomb?)", cut(name, 100), name, (unsigned long long)caps->max_ratio);
	zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
	if (!f) {
		zip_error_t *ze = zip_get_error(z->za);
		lh_fail(err, 400, "bad_zip", "its part %.*s cannot be read: %s", cut(name, 100), name,
			plain(zip_error_code_zip(ze)));
		lh_error_detail(err, "libzip: %s", zip_error_strerror(ze));
		return -1;
	}
	struct zipread_entry *e = xcalloc(1, sizeof *e);
	e->f = f;
	e->caps = *caps;
	e->comp_size = (st.valid & ZIP_STAT_COMP_SIZE) ? st.comp_size : 0;
	size_t nlen = (size_t)cut(name, sizeof e->name - 1);
	memcpy(e->name, name, nlen);
	e->name[nlen] = '\0';
	*out = e;
	return 1;
}

ssize_t zipread_entry_read(struct zipread_entry *e, void *buf, size_t n, struct lh_error *err)
{
	zip_int64_t got = zip_fread(e->f, buf, n);
	if (got < 0) {
		zip_error_t *ze = zip_file_get_error(e->f);
		lh_fail(err, 400, "bad_zip", "its part %s cannot be read: %s", e->name,
			plain(zip_error_code_zip(ze)));
		lh_error_detail(err, "libzip: %s", zip_error_strerror(ze));
		return -1;
	}
	e->got += (uint64_t)got;                                                /* 3 */
	if (e->got > e->caps.max_bytes)
		return lh_fail(err, 400, "zip_too_large",
			       "its part %s inflates to more than %llu bytes", e->name,
			       (unsigned long long)e->caps.max_bytes);
	if (e->got > e->caps.grace && e->got / (e->comp_size ? e->comp_size : 1) > e->caps.max_ratio)
		return lh_fail(err, 400, "zip_too_large",
			       "its part %s inflates to more than %llu times its compressed size "
			       "(a zip bomb?)", e->name, (unsigned long long)e->caps.max_ratio);
	return (ssize_t)got;
}

void zipread_entry_close(struct zipread_entry *e)
{
	if (!e)
		return;
	zip_fclose(e->f);
	free(e);
}
