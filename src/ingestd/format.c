/* format.c — what every input format shares (format.h): choosing the
 * format of an upload, the schema's life and fingerprint, and inference
 * over a spooled file. */
#include "ingestd/format.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/xlsx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every format ingest reads; the first is the default (format.h). */
static const struct ingest_format *const formats[] = {
	&ingest_format_csv,
	&ingest_format_parquet,
	&ingest_format_xlsx,
};

const struct ingest_format *ingest_format_pick(const struct ingest_sniff *in)
{
	const struct ingest_format *best = formats[0];
	int best_score = -1;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		int score = formats[i]->sniff(in);
		if (score > best_score) {
			best = formats[i];
			best_score = score;
		}
	}
	return best;
}

struct ingest_schema *ingest_schema_create(const struct ingest_format *format)
{
	struct ingest_schema *s = xcalloc(1, sizeof *s);
	s->format = format;
	return s;
}

void ingest_schema_destroy(struct ingest_schema *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->columns[i].name);
		free(s->columns[i].fit);
	}
	free(s->columns);
	if (s->layout && s->format && s->format->layout_free)
		s->format->layout_free(s->layout);
	free(s);
}

void ingest_fingerprint(const struct ingest_column *columns, size_t n,
			char out[SCHEMA_FP_LEN + 1])
{
	struct schema_fp fp;
	char buf[SCHEMA_TYPE_NAME_MAX];
	schema_fp_init(&fp);
	for (size_t i = 0; i < n; i++)
		schema_fp_add(&fp, columns[i].name, schema_type_name(&columns[i].type, buf));
	schema_fp_finish(&fp, out);
}

int ingest_infer_fd(const struct ingest_format *f, int fd, struct ingest_schema **out,
		    struct lh_error *err)
{
	*out = NULL;
	if (!f->feed) {          /* the format reads the whole file (format.h) */
		struct stat st;
		if (fstat(fd, &st) != 0)
			return lh_fail(err, 500, "io_error", "reading the uploaded file failed");
		return f->infer_file(fd, (uint64_t)st.st_size, out, err);
	}
	struct ingest_reader *r = f->begin();
	size_t cap = 4 * (size_t)LH_STREAM_CHUNK;
	char *buf = xmalloc(cap);
	uint64_t off = 0;
	int rc = -1;

	for (;;) {
		ssize_t n = pread(fd, buf, cap, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lh_fail(err, 500, "io_error", "reading the uploaded file failed");
			goto out;
		}
		if (n == 0)
			break;
		off += (uint64_t)n;
		if (f->feed(r, buf, (size_t)n, err))
			goto out;
	}
	rc = f->finish(r, out, err);
	r = NULL;
out:
	f->abort(r);
	free(buf);
	return rc;
}
