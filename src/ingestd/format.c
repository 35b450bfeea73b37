/* format.c — what every input format shares (format.h): the formats ingest
 * reads, choosing the format of an upload or refusing a kind of file it
 * does not read (ADR 0180), the schema's life and fingerprint, and
 * inference over a spooled file.
 *
 * DESIGN NOTES
 *   1. The registry is formats[]: one line per format. Every format's sniff
 *      scores the upload on format.h's scale; the highest wins, the earlier
 *      line on a tie, so comma CSV (first) is the default.
 *   2. Refusals are the kinds of files people send that ingest does not
 *      read. They are scored on the same scale (refusal_score): a refusal's
 *      magic number is 95, above any declaration (a gzip sent as text/csv
 *      is still a gzip) and below a reader's own magic number (a zip that a
 *      future .xlsx reader claims with 100 is read, not refused). A media
 *      type or file name alone (no magic) refuses only when the head is not
 *      UTF-8 text (60): Windows browsers send a .csv as
 *      application/vnd.ms-excel, and a text file named .xls is read as text.
 *   3. A refusal beats the formats only with a strictly higher score. Its
 *      message says what the file looks like and what to send instead; the
 *      list of what to send is made from formats[] (accepted()), so it
 *      grows with the registry.
 *   4. A refusal may name the format that will read its kind (the .xlsx
 *      refusal names "xlsx"): once that format is in formats[], an upload
 *      the refusal recognises goes to it even if its own sniff scored
 *      lower, so a refusal never hides a format that reads the file.
 */
#include "ingestd/format.h"

#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"
#include "ingestd/csv.h"
#include "ingestd/json_scan.h"
#include "ingestd/xlsx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every format ingest reads; the first is the default (note 1). */
static const struct ingest_format *const formats[] = {
	&ingest_format_csv,
	&ingest_format_tsv,
	&ingest_format_csv_semicolon,
	&ingest_format_csv_pipe,
	&ingest_format_json,
	&ingest_format_parquet,
	&ingest_format_xlsx,
};

#define NFORMATS (sizeof formats / sizeof formats[0])

int ingest_media_type_is(const char *t, const char *want)
{
	if (!t)
		return 0;
	while (*t == ' ' || *t == '\t')
		t++;
	size_t n = strcspn(t, ";");
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	return n == strlen(want) && !strncasecmp(t, want, n);
}

int ingest_name_ends(const char *name, const char *ext)
{
	if (!name)
		return 0;
	size_t n = strlen(name), k = strlen(ext);
	return n > k && !strcasecmp(name + n - k, ext);
}

const struct ingest_format *ingest_format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(formats[i]->name, name))
			return formats[i];
	return NULL;
}

/* ---- refusals (notes 2, 3) ----------------------------------------------- */

#define REFUSE_MAGIC 95
#define REFUSE_DECLARED 60

/* What the file looks like, and what to send instead ("%s" in `instead` is
 * the list of formats ingest reads, accepted()). */
struct refusal {
	const char *detected;   /* err->extra "detected" */
	const char *looks;      /* "a gzip-compressed file" */
	const char *instead;
	const char *reader;     /* a format that reads this kind once it is in
				 * formats[] (note 4), or NULL */
};

static const struct refusal R_XLS = {
	"xls", "a legacy Excel workbook (.xls, or another Office file from before 2007)",
	"open it in a spreadsheet and save the sheet as \"CSV UTF-8\", then send that", NULL };
static const struct refusal R_DOC = {
	"doc", "a legacy Word document (.doc)",
	"documents are not read yet; send tables as %s", NULL };
static const struct refusal R_XLSX = {
	"xlsx", "an Excel workbook (.xlsx)",
	"Excel workbooks are not read yet; save the sheet as \"CSV UTF-8\" and send that",
	"xlsx" };
static const struct refusal R_DOCX = {
	"docx", "a Word document (.docx)",
	"documents are not read yet; send tables as %s", NULL };
static const struct refusal R_PPTX = {
	"pptx", "a PowerPoint presentation (.pptx)", "send tables as %s", NULL };
static const struct refusal R_ODS = {
	"ods", "an OpenDocument spreadsheet (.ods)",
	"save the sheet as CSV (UTF-8) and send that", NULL };
static const struct refusal R_ZIP = {
	"zip", "a zip archive", "unzip it and send the %s file inside", NULL };
static const struct refusal R_PDF = {
	"pdf", "a PDF document", "PDF documents are not read yet; send tables as %s", NULL };
static const struct refusal R_PNG = {
	"png", "a PNG image", "the lakehouse reads tables: send %s", NULL };
static const struct refusal R_JPEG = {
	"jpeg", "a JPEG image", "the lakehouse reads tables: send %s", NULL };
static const struct refusal R_GIF = {
	"gif", "a GIF image", "the lakehouse reads tables: send %s", NULL };
static const struct refusal R_WEBP = {
	"webp", "a WebP image", "the lakehouse reads tables: send %s", NULL };
static const struct refusal R_GZIP = {
	"gzip", "a gzip-compressed file",
	"decompress it first (gunzip FILE) and send the %s file inside", NULL };
static const struct refusal R_BZIP2 = {
	"bzip2", "a bzip2-compressed file",
	"decompress it first (bunzip2 FILE) and send the %s file inside", NULL };
static const struct refusal R_XZ = {
	"xz", "an xz-compressed file",
	"decompress it first (unxz FILE) and send the %s file inside", NULL };
static const struct refusal R_ZSTD = {
	"zstd", "a zstd-compressed file",
	"decompress it first (unzstd FILE) and send the %s file inside", NULL };
static const struct refusal R_UTF16 = {
	"utf16", "UTF-16 text",
	"save it as UTF-8 (in a spreadsheet: \"CSV UTF-8\"; or iconv -f UTF-16 -t UTF-8 FILE)",
	NULL };
static const struct refusal R_UTF32 = {
	"utf32", "UTF-32 text", "save it as UTF-8 (iconv -f UTF-32 -t UTF-8 FILE)", NULL };

/* A magic number at the start of the head. */
static int starts(const struct ingest_sniff *in, const void *magic, size_t n)
{
	return in->head && in->nhead >= n && !memcmp(in->head, magic, n);
}

/* Does the head hold `s`? */
static int head_has(const struct ingest_sniff *in, const char *s)
{
	return in->head && memmem(in->head, in->nhead, s, strlen(s)) != NULL;
}

/* Does a zip's head have an entry whose name starts with `prefix`? Each
 * entry's local file header ("PK\3\4", name length at +26, the name at
 * +30) holds its name uncompressed. */
static int zip_has_entry(const struct ingest_sniff *in, const char *prefix)
{
	size_t k = strlen(prefix);
	const unsigned char *p = in->head, *end = in->head + in->nhead;
	while (p && end - p >= 30) {
		p = memmem(p, (size_t)(end - p), "PK\x03\x04", 4);
		if (!p || end - p < 30)
			return 0;
		size_t n = (size_t)p[26] | (size_t)p[27] << 8;
		if (n >= k && (size_t)(end - p) >= 30 + k && !memcmp(p + 30, prefix, k))
			return 1;
		p += 4;
	}
	return 0;
}

/* UTF-16 without a byte order mark: in the first 64 bytes, every other byte
 * is NUL and the rest are printable ASCII or line ends. */
static int looks_utf16_no_bom(const struct ingest_sniff *in)
{
	size_t n = in->nhead < 64 ? in->nhead & ~(size_t)1 : 64;
	if (n < 8)
		return 0;
	for (int zero = 0; zero < 2; zero++) {
		size_t i = 0;
		for (; i < n; i += 2) {
			unsigned char z = in->head[i + (size_t)zero], c = in->head[i + 1 - (size_t)zero];
			if (z != 0 || !((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t'))
				break;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

/* Which OOXML/ODF file a zip is, from its name, media type or the entry
 * names in its head; a plain zip otherwise. */
static const struct refusal *zip_kind(const struct ingest_sniff *in)
{
	const char *t = in->media_type;
	if (ingest_name_ends(in->file_name, ".xlsx") || ingest_name_ends(in->file_name, ".xlsm") ||
	    ingest_media_type_is(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") ||
	    zip_has_entry(in, "xl/"))
		return &R_XLSX;
	if (ingest_name_ends(in->file_name, ".docx") ||
	    ingest_media_type_is(t, "application/vnd.openxmlformats-officedocument.wordprocessingml.document") ||
	    zip_has_entry(in, "word/"))
		return &R_DOCX;
	if (ingest_name_ends(in->file_name, ".pptx") || zip_has_entry(in, "ppt/"))
		return &R_PPTX;
	if (ingest_name_ends(in->file_name, ".ods") ||
	    head_has(in, "application/vnd.oasis.opendocument.spreadsheet"))
		return &R_ODS;
	return &R_ZIP;
}

/* Which refusal an OLE2 compound file (or a declared legacy Office file) is. */
static const struct refusal *ole2_kind(const struct ingest_sniff *in)
{
	if (ingest_name_ends(in->file_name, ".doc") ||
	    ingest_media_type_is(in->media_type, "application/msword"))
		return &R_DOC;
	return &R_XLS;
}

/* Is the head UTF-8 text (what a delimited or JSON reader could read)? */
static int head_is_text(const struct ingest_sniff *in)
{
	if (!in->head || in->nhead == 0)
		return 1;
	size_t n = in->nhead, ok = csv_utf8_check(in->head, n);
	if (ok < n && !in->complete && n - ok < 4)
		ok = n;   /* a character cut by the end of the head */
	return ok == n && !memchr(in->head, 0, n);
}

/* The refusal the upload looks like and its score (note 2), or 0. */
static int refusal_score(const struct ingest_sniff *in, const struct refusal **out)
{
	static const unsigned char ole2[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
	static const unsigned char xz[6] = { 0xFD, '7', 'z', 'X', 'Z', 0x00 };
	static const unsigned char zstd[4] = { 0x28, 0xB5, 0x2F, 0xFD };
	static const unsigned char utf32le[4] = { 0xFF, 0xFE, 0x00, 0x00 };
	static const unsigned char utf32be[4] = { 0x00, 0x00, 0xFE, 0xFF };
	const struct refusal *r = NULL;
	const char *t = in->media_type;

	/* magic numbers */
	if (starts(in, ole2, 8))
		r = ole2_kind(in);
	else if (starts(in, "PK\x03\x04", 4) || starts(in, "PK\x05\x06", 4) ||
		 starts(in, "PK\x07\x08", 4))
		r = zip_kind(in);
	else if (starts(in, "%PDF-", 5))
		r = &R_PDF;
	else if (starts(in, png, 8))
		r = &R_PNG;
	else if (starts(in, "\xFF\xD8\xFF", 3))
		r = &R_JPEG;
	else if (starts(in, "GIF87a", 6) || starts(in, "GIF89a", 6))
		r = &R_GIF;
	else if (starts(in, "RIFF", 4) && in->nhead >= 12 && !memcmp(in->head + 8, "WEBP", 4))
		r = &R_WEBP;
	else if (starts(in, "\x1F\x8B", 2))
		r = &R_GZIP;
	else if (starts(in, "BZh", 3) && in->nhead >= 4 && in->head[3] >= '1' && in->head[3] <= '9')
		r = &R_BZIP2;
	else if (starts(in, xz, 6))
		r = &R_XZ;
	else if (starts(in, zstd, 4))
		r = &R_ZSTD;
	else if (starts(in, utf32le, 4) || starts(in, utf32be, 4))
		r = &R_UTF32;
	else if (starts(in, "\xFF\xFE", 2) || starts(in, "\xFE\xFF", 2) || looks_utf16_no_bom(in))
		r = &R_UTF16;
	if (r) {
		*out = r;
		return REFUSE_MAGIC;
	}
	/* declared by media type or name, and the head is not text */
	if (head_is_text(in))
		return 0;
	const char *n = in->file_name;
	if (ingest_name_ends(n, ".xls") || ingest_media_type_is(t, "application/vnd.ms-excel"))
		r = &R_XLS;
	else if (ingest_name_ends(n, ".doc") || ingest_media_type_is(t, "application/msword"))
		r = &R_DOC;
	else if (ingest_name_ends(n, ".zip") || ingest_media_type_is(t, "application/zip") ||
		 ingest_media_type_is(t, "application/x-zip-compressed"))
		r = &R_ZIP;
	else if (ingest_name_ends(n, ".pdf") || ingest_media_type_is(t, "application/pdf"))
		r = &R_PDF;
	else if (ingest_name_ends(n, ".gz") || ingest_media_type_is(t, "application/gzip") ||
		 ingest_media_type_is(t, "application/x-gzip"))
		r = &R_GZIP;
	else if (t && !strncasecmp(t, "image/", 6))
		r = &R_PNG;
	if (!r)
		return 0;
	if (r == &R_PNG) {   /* some other image: say which type was sent */
		static const struct refusal image = { "image", "an image",
						      "the lakehouse reads tables: send %s", NULL };
		r = &image;
	}
	*out = r;
	return REFUSE_DECLARED;
}

/* The formats to suggest: "CSV", "CSV or JSON", "CSV, JSON or Parquet" ...,
 * one word per kind among formats[] (note 3). */
static void accepted(char *out, size_t cap)
{
	const char *words[NFORMATS];
	size_t n = 0;
	for (size_t i = 0; i < NFORMATS; i++) {
		const char *name = formats[i]->name, *w;
		if (!strncmp(name, "csv", 3) || !strcmp(name, "tsv"))
			w = "CSV";
		else if (!strcmp(name, "json") || !strcmp(name, "ndjson"))
			w = "JSON";
		else if (!strcmp(name, "parquet"))
			w = "Parquet";
		else if (!strcmp(name, "xlsx"))
			w = "Excel .xlsx";
		else
			w = name;
		size_t k = 0;
		while (k < n && strcmp(words[k], w))
			k++;
		if (k == n)
			words[n++] = w;
	}
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && len < cap; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(out + len, cap - len, "%s%s", sep, words[i]);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

int ingest_format_pick(const struct ingest_sniff *in, const struct ingest_format **out,
		       struct lh_error *err)
{
	const struct ingest_format *best = formats[0];
	int best_score = -1;
	for (size_t i = 0; i < NFORMATS; i++) {
		int score = formats[i]->sniff(in);
		if (score > best_score) {
			best = formats[i];
			best_score = score;
		}
	}
	const struct refusal *r = NULL;
	int refused = refusal_score(in, &r);
	if (refused > best_score && r->reader && ingest_format_find(r->reader)) {
		*out = ingest_format_find(r->reader);                          /* 4 */
		return 0;
	}
	if (refused > best_score) {                                             /* 3 */
		char list[96], instead[256];
		accepted(list, sizeof list);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(instead, sizeof instead, r->instead, list);
#pragma GCC diagnostic pop
		*out = NULL;
		lh_fail(err, 415, "unsupported_format",
			"the file looks like %s, which the lakehouse does not read: %s", r->looks,
			instead);
		lh_error_set(err, "detected", json_string(r->detected));
		return -1;
	}
	*out = best;
	return 0;
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
		return f->infer_file(fd, (uint64_t)st.st_size, NULL, out, err);
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
