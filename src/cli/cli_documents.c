/* cli_documents.c — `lakehouse ingest NAME --documents DIR_OR_FILES...
 * [--partial] [--mode replace|append] [--batch-bytes N]` (SPEC 15, ADR 0228).
 *
 * DESIGN NOTES
 *  1. Directories are walked (sorted by name, so runs are repeatable);
 *     inside them only regular files are taken: symbolic links, devices,
 *     sockets and hidden entries (a name starting with ".") are skipped and
 *     counted. A file named on the command line is taken if it is regular.
 *  2. The files go in multipart uploads of at most --batch-bytes (default
 *     CLI_DOC_BATCH_BYTES) and CLI_DOC_BATCH_FILES files each; a file larger
 *     than the bound goes alone. The body is streamed from the files with
 *     its exact Content-Length (part headers + files + boundaries), never
 *     held in memory.
 *  3. The first upload uses --mode (replace by default); the ones after it
 *     append, so one run makes the dataset hold exactly the given files.
 *     Running it again with the same files is `existing` upload by upload
 *     (the server's content digest of each upload; ADR 0225).
 *  4. Without --partial an upload with a bad file writes nothing and the
 *     run stops there, naming every bad file of that upload; the uploads
 *     before it are in (said in words). With --partial bad files are
 *     skipped and listed, and the exit status is still 0.
 *  5. Progress: one bar over the bytes of all files (cli_progress.c, only
 *     on a terminal), then a summary line on stdout.
 *  6. Each upload has its own multipart boundary, "lakehouse-" and 32 hex
 *     digits from the kernel's CSPRNG (random.h), so a file cannot end its
 *     own part and smuggle in others (a fixed boundary let one do that).
 *     The files are checked for it as they are sent; one holding it stops
 *     the upload before its end (the server writes nothing) and is named.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/limits.h"
#include "common/random.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_DOC_BATCH_BYTES (32ull << 20)
#define CLI_DOC_BATCH_FILES 500
#define CLI_DOC_BOUNDARY_MAX 64

struct doc_path {
	char *path;
	uint64_t size;
};

struct doc_list {
	struct doc_path *v;
	size_t n, cap;
	size_t skipped;      /* not regular files (note 1) */
	uint64_t bytes;
};

static void list_add(struct doc_list *l, const char *path, uint64_t size)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n].path = xstrdup(path);
	l->v[l->n].size = size;
	l->n++;
	l->bytes += size;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Note 1: walk `dir` into l. -1 after printing why a directory failed. */
static int walk(const char *dir, struct doc_list *l, int depth)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "lakehouse: cannot read the folder %s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				l->skipped++;
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, name_cmp);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (rc == 0 && lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 32)
				rc = walk(path, l, depth + 1);
			else if (S_ISREG(st.st_mode))
				list_add(l, path, (uint64_t)st.st_size);
			else
				l->skipped++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ---- one multipart upload (note 2) ------------------------------------- */

struct doc_body {
	const struct doc_path *files;
	size_t n;
	size_t at;           /* the file being sent */
	int fd;
	char head[600];      /* the current part's headers (or the closing line) */
	size_t head_len, head_off;
	int stage;           /* 0 headers, 1 file bytes, 2 closing line, 3 done */
	uint64_t *sent;      /* all uploads' file bytes, for the bar */
	struct cli_progress *progress;
	int read_errno;
	const char *failed_path;
	const char *boundary;  /* random per upload (note 6) */
	char tail[CLI_DOC_BOUNDARY_MAX];  /* the file's last bytes, for a match across reads */
	size_t tail_len;
	int has_boundary;      /* the file holds the boundary: refused */
};

static const char *base_name(const char *p)
{
	const char *b = strrchr(p, '/');
	return b ? b + 1 : p;
}

/* The part headers of `path` into out: its base name as the filename
 * ('"' and control characters become '_'). */
static size_t part_head(const char *boundary, const char *path, int first, char *out,
			size_t cap)
{
	char name[LH_DOC_FILE_NAME_MAX + 1];
	size_t k = 0;
	for (const char *s = base_name(path); *s && k < sizeof name - 1; s++)
		name[k++] = (*s == '"' || (unsigned char)*s < 0x20 || *s == '\\') ? '_' : *s;
	name[k] = '\0';
	int n = snprintf(out, cap, "%s--%s\r\nContent-Disposition: form-data; name=\"file\"; "
			 "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
			 first ? "" : "\r\n", boundary, name);
	return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}

static uint64_t body_length(const char *boundary, const struct doc_path *files, size_t n)
{
	char head[600];
	uint64_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += part_head(boundary, files[i].path, i == 0, head, sizeof head) + files[i].size;
	return len + strlen("\r\n----\r\n") + strlen(boundary);
}

/* Note 6: whether the boundary occurs in the file's bytes read so far
 * (buf[0..n) follows the ones before it, whose last bytes are in b->tail). */
static int holds_boundary(struct doc_body *b, const char *buf, size_t n)
{
	size_t bl = strlen(b->boundary), head = n < bl - 1 ? n : bl - 1;
	char across[2 * CLI_DOC_BOUNDARY_MAX];
	memcpy(across, b->tail, b->tail_len);
	memcpy(across + b->tail_len, buf, head);
	if (memmem(across, b->tail_len + head, b->boundary, bl) || memmem(buf, n, b->boundary, bl))
		return 1;
	size_t keep = bl - 1;
	if (n >= keep) {
		memcpy(b->tail, buf + n - keep, keep);
		b->tail_len = keep;
	} else {
		size_t all = b->tail_len + n, drop = all > keep ? all - keep : 0;
		memmove(b->tail, b->tail + drop, b->tail_len - drop);
		memcpy(b->tail + b->tail_len - drop, buf, n);
		b->tail_len = all - drop;
	}
	return 0;
}

static ssize_t body_read(void *ctx, char *buf, size_t max)
{
	struct doc_body *b = ctx;
	for (;;) {
		if (b->stage == 0 || b->stage == 2) {
			if (b->head_off < b->head_len) {
				size_t take = b->head_len - b->head_off;
				if (take > max)
					take = max;
				memcpy(buf, b->head + b->head_off, take);
				b->head_off += take;
				return (ssize_t)take;
			}
			if (b->stage == 2) {
				b->stage = 3;
				continue;
			}
			b->fd = open(b->files[b->at].path, O_RDONLY | O_CLOEXEC);
			if (b->fd < 0) {
				b->read_errno = errno;
				b->failed_path = b->files[b->at].path;
				return -1;
			}
			b->stage = 1;
		} else if (b->stage == 1) {
			ssize_t n;
			do
				n = read(b->fd, buf, max);
			while (n < 0 && errno == EINTR);
			if (n < 0) {
				b->read_errno = errno;
				b->failed_path = b->files[b->at].path;
				return -1;
			}
			if (n > 0 && holds_boundary(b, buf, (size_t)n)) {
				b->has_boundary = 1;
				b->failed_path = b->files[b->at].path;
				return -1;
			}
			if (n > 0) {
				*b->sent += (uint64_t)n;
				cli_progress_update(b->progress, *b->sent);
				return n;
			}
			close(b->fd);
			b->fd = -1;
			b->at++;
			b->head_off = 0;
			b->tail_len = 0;
			if (b->at < b->n) {
				b->head_len = part_head(b->boundary, b->files[b->at].path, 0, b->head,
							sizeof b->head);
				b->stage = 0;
			} else {
				b->head_len = (size_t)snprintf(b->head, sizeof b->head, "\r\n--%s--\r\n",
							       b->boundary);
				b->stage = 2;
			}
		} else {
			return 0;
		}
	}
}

/* Print the failed (or skipped) files of an answer on stderr. */
static void print_files(const json_t *arr, const char *what)
{
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *f = json_array_get(arr, i);
		fprintf(stderr, "%s %s: %s\n", what,
			json_string_value(json_object_get(f, "file_name")) ?: "?",
			json_string_value(json_object_get(f, "error")) ?: "?");
	}
}

struct doc_totals {
	size_t files, skipped, uploads, existing, latin1;
	long long version, rows;
	const char *name;
};

/* Send files[0..n) as one upload. CLI_OK with the answer folded into t, or
 * CLI_FAILED after saying why. */
static int send_batch(const char *name, const char *mode, int partial,
		      const struct doc_path *files, size_t n, uint64_t *sent,
		      struct cli_progress *progress, struct doc_totals *t)
{
	char *q = cli_url_encoded("/v1/ingest?kind=documents&name=", name, "");
	char *path = xasprintf("%s&mode=%s%s", q, mode, partial ? "&partial=true" : "");
	char *url = cli_url(path);
	free(q);
	free(path);
	/* note 6: a boundary no one can guess, so no file's bytes can end its part */
	char boundary[CLI_DOC_BOUNDARY_MAX], rnd[33];
	if (random_hex(rnd, 16) != 0)
		random_name(rnd, 16);
	snprintf(boundary, sizeof boundary, "lakehouse-%s", rnd);
	char *ctype = xasprintf("Content-Type: multipart/form-data; boundary=%s", boundary);
	const char *hdrs[] = { ctype, "Accept: application/json", NULL };
	struct doc_body b = { .files = files, .n = n, .fd = -1, .sent = sent, .progress = progress,
			      .boundary = boundary };
	b.head_len = part_head(boundary, files[0].path, 1, b.head, sizeof b.head);
	struct http_client_request r;
	struct http_client_response resp;
	http_client_request_init(&r);
	r.method = "POST";
	r.url = url;
	r.headers = hdrs;
	r.body_source = body_read;
	r.body_source_ctx = &b;
	r.body_source_len = body_length(boundary, files, n);
	int rc = cli_send(&r, &resp);
	if (b.fd >= 0)
		close(b.fd);
	free(url);
	free(ctype);
	if (b.has_boundary) {
		fprintf(stderr, "lakehouse: %s holds the upload's random boundary, so it was not "
			"sent (nothing of this upload is written); run the command again\n",
			b.failed_path);
		if (rc == CLI_OK)
			http_client_response_free(&resp);
		return CLI_FAILED;
	}
	if (b.read_errno) {
		fprintf(stderr, "lakehouse: reading %s failed: %s\n", b.failed_path,
			strerror(b.read_errno));
		if (rc == CLI_OK)
			http_client_response_free(&resp);
		return CLI_FAILED;
	}
	if (rc != CLI_OK)
		return rc;
	json_t *res = json_loadb(resp.body, resp.body_len, 0, NULL);
	if (partial && resp.status >= 400 && resp.status < 500 &&
	    json_array_size(json_object_get(res, "failed")) == n) {
		/* note 4: with --partial an upload of only bad files is skipped too */
		t->skipped += n;
		print_files(json_object_get(res, "failed"), "skipped");
	} else if (resp.status < 200 || resp.status >= 300) {
		cli_report_error(resp.status, resp.body, resp.body_len);
		if (json_array_size(json_object_get(res, "failed")) > 3)   /* the message may be cut */
			print_files(json_object_get(res, "failed"), "  cannot read");
		rc = CLI_FAILED;
	} else if (!res) {
		fprintf(stderr, "lakehouse: the server's answer is not JSON\n");
		rc = CLI_FAILED;
	} else {
		const json_t *m = json_object_get(res, "manifest");
		const json_t *fl = json_object_get(res, "files");
		t->uploads++;
		t->existing += json_is_true(json_object_get(res, "existing"));
		t->version = (long long)json_integer_value(json_object_get(m, "version"));
		t->rows = (long long)json_integer_value(json_object_get(m, "row_count"));
		t->files += json_array_size(fl);
		for (size_t i = 0; i < json_array_size(fl); i++)
			t->latin1 += json_is_true(json_object_get(json_array_get(fl, i), "from_latin1"));
		t->skipped += json_array_size(json_object_get(res, "skipped"));
		print_files(json_object_get(res, "skipped"), "skipped");
		const char *ie = json_string_value(json_object_get(res, "index_error"));
		if (ie)
			fprintf(stderr, "lakehouse: the text index was not declared: %s\n", ie);
	}
	json_decref(res);
	http_client_response_free(&resp);
	return rc;
}

int cli_ingest_documents(const char *name, char **paths, size_t npaths, const char *mode,
			 int partial, uint64_t batch_bytes)
{
	struct doc_list l = { 0 };
	struct doc_totals t = { .name = name };
	int rc = CLI_OK;
	uint64_t sent = 0;

	for (size_t i = 0; i < npaths && rc == CLI_OK; i++) {
		struct stat st;
		if (stat(paths[i], &st) != 0) {
			fprintf(stderr, "lakehouse: there is no file or folder \"%s\"\n", paths[i]);
			rc = CLI_FAILED;
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk(paths[i], &l, 0) == 0 ? CLI_OK : CLI_FAILED;
		} else if (S_ISREG(st.st_mode)) {
			list_add(&l, paths[i], (uint64_t)st.st_size);
		} else {
			l.skipped++;
		}
	}
	if (rc == CLI_OK && l.n == 0) {
		fprintf(stderr, "lakehouse: no files to ingest in %s%s\n", paths[0],
			npaths > 1 ? " and the others" : "");
		rc = CLI_FAILED;
	}
	struct cli_progress *progress = rc == CLI_OK
		? cli_progress_create(name, l.bytes, isatty(STDERR_FILENO)) : NULL;
	size_t done = 0;
	while (rc == CLI_OK && done < l.n) {                                     /* 2 */
		size_t k = 1;
		uint64_t bytes = l.v[done].size;
		while (done + k < l.n && k < CLI_DOC_BATCH_FILES &&
		       bytes + l.v[done + k].size <= batch_bytes)
			bytes += l.v[done + k++].size;
		rc = send_batch(name, done == 0 ? mode : "append", partial, l.v + done, k, &sent, /* 3 */
				progress, &t);
		if (rc != CLI_OK && done > 0)                                     /* 4 */
			fprintf(stderr, "lakehouse: the %zu files before it are in (version %lld); "
				"the rest were not sent\n", done, t.version);
		done += k;
	}
	cli_progress_destroy(progress);
	if (rc == CLI_OK) {                                                     /* 5 */
		printf("%s: version %lld, %lld chunk%s from %zu file%s", name, t.version, t.rows,
		       t.rows == 1 ? "" : "s", t.files, t.files == 1 ? "" : "s");
		if (t.skipped)
			printf(", %zu skipped (cannot be read)", t.skipped);
		if (t.latin1)
			printf(", %zu converted from Latin-1", t.latin1);
		if (l.skipped)
			printf(", %zu not regular files left out", l.skipped);
		printf(" in %zu upload%s (%s)\n", t.uploads, t.uploads == 1 ? "" : "s",
		       t.existing == t.uploads ? "unchanged" : "new version");
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	return rc;
}
