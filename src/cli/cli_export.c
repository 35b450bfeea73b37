/* cli_export.c — `lakehouse query --output FILE`: the result written to a
 * file atomically, and the row count reported ("wrote 5000 rows (1.2 MiB)
 * to out.parquet" on stderr).
 *
 * DESIGN NOTES
 *  1. The bytes go to a temporary file beside FILE (".FILE.<pid>.<n>.tmp",
 *     created with O_EXCL, so the same directory and file system), which is
 *     fsync'ed and renamed over FILE only after the whole answer arrived with
 *     a success status: an error, a dropped connection or Ctrl-C leaves FILE
 *     as it was (cli_export_abort removes the temporary file).
 *  2. Rows are counted as the bytes stream by (struct cli_row_count): CSV
 *     records after the header (line ends inside quotes do not count),
 *     NDJSON lines, JSON's own "row_count" near the end of the body. Parquet
 *     is checked to start and end with "PAR1" and its rows are read from the
 *     footer (FileMetaData, Thrift compact protocol): a file without the
 *     magic is refused rather than renamed over FILE.
 *  3. The temporary file is created with mode 0666 and the umask applies, as
 *     for any file a shell redirection creates.
 *  4. Ctrl-C or SIGTERM while the result streams removes the temporary file
 *     (on_signal: unlink is async-signal-safe) and ends the process by the
 *     same signal, as it would have ended without the handler.
 */
#include "cli/cli_int.h"

#include "common/limits.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PARQUET_MAGIC "PAR1"
#define THRIFT_MAX_DEPTH 64
#define EXPORT_TMP_TRIES 100

struct cli_export {
	char *path;                  /* the target FILE */
	char *tmp;                   /* note 1 */
	int fd;
	int parquet;
	struct cli_row_count rows;   /* unless parquet */
	uint64_t bytes;
};

/* --- row counting (note 2) ------------------------------------------------------ */

void cli_row_count_feed(struct cli_row_count *rc, const char *data, size_t n)
{
	if (!n)
		return;
	if (rc->format == CLI_ROWS_CSV) {
		for (size_t i = 0; i < n; i++) {
			if (data[i] == '"')
				rc->in_quotes = !rc->in_quotes;   /* "" toggles twice */
			else if (data[i] == '\n' && !rc->in_quotes)
				rc->lines++;
		}
	} else if (rc->format == CLI_ROWS_NDJSON) {
		for (const char *p = data; (p = memchr(p, '\n', (size_t)(data + n - p))); p++)
			rc->lines++;
	} else if (rc->format == CLI_ROWS_JSON) {
		size_t keep = sizeof rc->tail;
		if (n >= keep) {
			memcpy(rc->tail, data + n - keep, keep);
			rc->tail_len = keep;
		} else {
			size_t drop = rc->tail_len + n > keep ? rc->tail_len + n - keep : 0;
			memmove(rc->tail, rc->tail + drop, rc->tail_len - drop);
			memcpy(rc->tail + rc->tail_len - drop, data, n);
			rc->tail_len = rc->tail_len - drop + n;
		}
	}
	rc->last = data[n - 1];
}

int64_t cli_row_count_result(const struct cli_row_count *rc)
{
	/* a last line without its line end still counts */
	uint64_t lines = rc->lines + (rc->last && rc->last != '\n' && !rc->in_quotes);
	if (rc->format == CLI_ROWS_CSV)
		return lines ? (int64_t)lines - 1 : 0;   /* the header */
	if (rc->format == CLI_ROWS_NDJSON)
		return (int64_t)lines;
	if (rc->format != CLI_ROWS_JSON)
		return -1;
	/* the last "row_count": in the body's tail; inside a JSON string the
	 * quote would be escaped, so only the member itself matches */
	static const char key[] = "\"row_count\":";
	const char *hit = NULL;
	for (size_t i = 0; i + sizeof key - 1 <= rc->tail_len; i++)
		if (!memcmp(rc->tail + i, key, sizeof key - 1))
			hit = rc->tail + i + sizeof key - 1;
	if (!hit)
		return -1;
	const char *end = rc->tail + rc->tail_len;
	while (hit < end && *hit == ' ')
		hit++;
	int64_t v = 0;
	int digits = 0;
	for (; hit < end && *hit >= '0' && *hit <= '9' && digits < 18; hit++, digits++)
		v = v * 10 + (*hit - '0');
	return digits ? v : -1;
}

/* --- Parquet footer (note 2) ----------------------------------------------------- */

struct thrift {
	const unsigned char *p, *end;
};

static int tc_varint(struct thrift *t, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (t->p == t->end)
			return -1;
		unsigned char b = *t->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int tc_bytes(struct thrift *t, uint64_t n)
{
	if (n > (uint64_t)(t->end - t->p))
		return -1;
	t->p += n;
	return 0;
}

/* Skip one value of compact type `type`; `element`: inside a list, set or
 * map, where booleans take a byte of their own. */
static int tc_skip(struct thrift *t, int type, int element, int depth)
{
	uint64_t n;
	if (depth > THRIFT_MAX_DEPTH)
		return -1;
	switch (type) {
	case 1: case 2:                  /* BOOLEAN_TRUE / BOOLEAN_FALSE */
		return element ? tc_bytes(t, 1) : 0;
	case 3:                          /* BYTE */
		return tc_bytes(t, 1);
	case 4: case 5: case 6:          /* I16, I32, I64: zigzag varints */
		return tc_varint(t, &n);
	case 7:                          /* DOUBLE */
		return tc_bytes(t, 8);
	case 8:                          /* BINARY: length, bytes */
		return tc_varint(t, &n) ? -1 : tc_bytes(t, n);
	case 9: case 10: {               /* LIST, SET: size and element type */
		if (t->p == t->end)
			return -1;
		unsigned char h = *t->p++;
		n = h >> 4;
		if (n == 15 && tc_varint(t, &n))
			return -1;
		if (n > (uint64_t)(t->end - t->p))   /* every element takes a byte or more */
			return -1;
		for (uint64_t i = 0; i < n; i++)
			if (tc_skip(t, h & 0x0f, 1, depth + 1))
				return -1;
		return 0;
	}
	case 11: {                       /* MAP: size, then key and value types */
		if (tc_varint(t, &n))
			return -1;
		if (n == 0)
			return 0;
		if (t->p == t->end || n > (uint64_t)(t->end - t->p))
			return -1;
		unsigned char kv = *t->p++;
		for (uint64_t i = 0; i < n; i++)
			if (tc_skip(t, kv >> 4, 1, depth + 1) || tc_skip(t, kv & 0x0f, 1, depth + 1))
				return -1;
		return 0;
	}
	case 12:                         /* STRUCT: fields up to a stop byte */
		for (;;) {
			if (t->p == t->end)
				return -1;
			unsigned char h = *t->p++;
			if (h == 0)
				return 0;
			if (!(h >> 4) && tc_varint(t, &n))   /* a long field id delta */
				return -1;
			if (tc_skip(t, h & 0x0f, 0, depth + 1))
				return -1;
		}
	default:
		return -1;
	}
}

int cli_parquet_rows(const unsigned char *meta, size_t n, int64_t *rows)
{
	struct thrift t = { meta, meta + n };
	int64_t id = 0;
	/* FileMetaData: 1 version (i32), 2 schema (list), 3 num_rows (i64), ... */
	for (;;) {
		uint64_t v;
		if (t.p == t.end)
			return -1;
		unsigned char h = *t.p++;
		if (h == 0)
			return -1;               /* no num_rows */
		if (h >> 4) {
			id += h >> 4;
		} else {
			if (tc_varint(&t, &v))
				return -1;
			id = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		}
		int type = h & 0x0f;
		if (id == 3 && type == 6) {
			if (tc_varint(&t, &v))
				return -1;
			*rows = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
			return *rows >= 0 ? 0 : -1;
		}
		if (tc_skip(&t, type, 0, 1))
			return -1;
	}
}

/* --- the file (notes 1, 3 and 4) --------------------------------------------------- */

/* Note 4: the temporary file to remove if a signal ends the process. One
 * export at a time: a command writes one --output file. */
static char *volatile pending_tmp;

static void on_signal(int sig)
{
	char *tmp = pending_tmp;
	if (tmp)
		unlink(tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void watch_signals(char *tmp)
{
	pending_tmp = tmp;
	if (tmp) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	} else {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
	}
}

struct cli_export *cli_export_open(const char *path, const char *format)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "lakehouse: %s is a directory; --output needs a file name\n", path);
		return NULL;
	}
	struct cli_export *e = xcalloc(1, sizeof *e);
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	e->path = xstrdup(path);
	e->fd = -1;
	e->parquet = !strcmp(format, "parquet");
	e->rows.format = !strcmp(format, "csv")      ? CLI_ROWS_CSV
			 : !strcmp(format, "ndjson") ? CLI_ROWS_NDJSON
			 : !strcmp(format, "json")   ? CLI_ROWS_JSON : 0;
	for (int i = 0; i < EXPORT_TMP_TRIES && e->fd < 0; i++) {
		free(e->tmp);
		e->tmp = xasprintf("%.*s.%s.%ld.%d.tmp", dirlen, path, path + dirlen,
				   (long)getpid(), i);
		e->fd = open(e->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (e->fd < 0 && errno != EEXIST)
			break;
	}
	if (e->fd < 0) {
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", path, strerror(errno));
		free(e->tmp);
		e->tmp = NULL;
		cli_export_abort(e);
		return NULL;
	}
	watch_signals(e->tmp);
	return e;
}

int cli_export_write(struct cli_export *e, const char *data, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(e->fd, data + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	e->bytes += n;
	if (!e->parquet)
		cli_row_count_feed(&e->rows, data, n);
	return 0;
}

/* Note 2: "PAR1" at both ends, then the rows from the footer (-1: unknown).
 * Returns 0, or -1 when the file is not Parquet. */
static int parquet_check(int fd, uint64_t size, int64_t *rows)
{
	unsigned char head[4], tail[8];
	*rows = -1;
	if (size < 12 || pread(fd, head, 4, 0) != 4 || pread(fd, tail, 8, (off_t)size - 8) != 8 ||
	    memcmp(head, PARQUET_MAGIC, 4) || memcmp(tail + 4, PARQUET_MAGIC, 4))
		return -1;
	uint32_t len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
		       (uint32_t)tail[3] << 24;
	if (len == 0 || len > size - 12 || len > LH_CLI_MAX_RESPONSE)
		return 0;   /* Parquet by its magic; rows unknown */
	unsigned char *meta = xmalloc(len);
	if (pread(fd, meta, len, (off_t)(size - 8 - len)) == (ssize_t)len)
		cli_parquet_rows(meta, len, rows);
	free(meta);
	return 0;
}

void cli_export_abort(struct cli_export *e)
{
	if (!e)
		return;
	if (e->fd >= 0)
		close(e->fd);
	if (e->tmp)
		unlink(e->tmp);
	if (pending_tmp == e->tmp)
		watch_signals(NULL);
	free(e->tmp);
	free(e->path);
	free(e);
}

int cli_export_commit(struct cli_export *e)
{
	int64_t rows = -1;
	char size[16];

	if (fsync(e->fd) != 0) {
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", e->path, strerror(errno));
		goto fail;
	}
	if (e->parquet && parquet_check(e->fd, e->bytes, &rows) != 0) {
		fprintf(stderr, "lakehouse: the answer is not a Parquet file; %s was not written\n",
			e->path);
		goto fail;
	}
	if (!e->parquet)
		rows = cli_row_count_result(&e->rows);
	if (close(e->fd) != 0) {
		e->fd = -1;
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", e->path, strerror(errno));
		goto fail;
	}
	e->fd = -1;
	if (rename(e->tmp, e->path) != 0) {
		fprintf(stderr, "lakehouse: cannot write %s: %s\n", e->path, strerror(errno));
		goto fail;
	}
	watch_signals(NULL);
	free(e->tmp);
	e->tmp = NULL;
	cli_format_bytes(e->bytes, size);
	if (rows >= 0)
		fprintf(stderr, "wrote %lld row%s (%s) to %s\n", (long long)rows,
			rows == 1 ? "" : "s", size, e->path);
	else
		fprintf(stderr, "wrote %s to %s\n", size, e->path);
	cli_export_abort(e);
	return CLI_OK;
fail:
	cli_export_abort(e);
	return CLI_FAILED;
}
