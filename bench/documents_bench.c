/* documents_bench.c — text extraction and chunking speed per document
 * format (bench/README.md "Documents: extraction", ADR 0220), and the cost
 * of reading each PDF in its own worker process.
 *
 *   build/bench/documents_bench [--rounds N] PATH...   (files or directories)
 *
 * Every file is read into memory first (not timed); then, N rounds, each
 * file goes through doc_extract() and doc_chunk() as ingest does. Per
 * format: files, MB, pages, chunks, files/s, pages/s, MB/s, PDFs read by a
 * pool of warm workers (LH_DOC_WORKERS_IDLE, LH_DOC_WORKER_USES). Then the
 * PDFs again with a new worker per PDF, and with poppler in this process
 * (doc_poppler_pages, what a worker runs): the differences per file are
 * what the isolation costs. The binary is its own document worker
 * (/proc/self/exe), as lakehouse is.
 */
#include "common/error.h"
#include "common/limits.h"
#include "documents/documents_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct file {
	char *name;
	unsigned char *data;
	size_t len;
	enum doc_format f;
};

static struct file *files;
static size_t nfiles;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		struct dirent **list;
		int n = scandir(path, &list, NULL, alphasort);
		for (int i = 0; i < n; i++) {
			if (list[i]->d_name[0] != '.') {
				char sub[4096];
				snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name);
				add(sub);
			}
			free(list[i]);
		}
		free(list);
		return;
	}
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return;
	struct file f = { .name = strdup(path), .data = malloc((size_t)st.st_size + 1) };
	f.len = fread(f.data, 1, (size_t)st.st_size, fp);
	fclose(fp);
	struct lh_error err = { 0 };
	const char *ext = strrchr(path, '.');
	if ((ext && !strcmp(ext, ".csv")) || doc_detect(path, f.data, f.len, &f.f, &err)) {
		lh_error_clear(&err);
		free(f.name);
		free(f.data);
		return;
	}
	files = realloc(files, (nfiles + 1) * sizeof *files);
	files[nfiles++] = f;
}

struct collect {
	struct doc_text *t;
	const struct doc_limits *lim;
	size_t total;
};

static int collect_page(void *ctx, unsigned page, const char *text, size_t len, struct lh_error *err)
{
	struct collect *c = ctx;
	return doc_text_add_page(c->t, page, text, len, c->lim, &c->total, err);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "document-worker"))
		return doc_worker_main(argc - 1, argv + 1);
	int rounds = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = (int)strtol(argv[++i], NULL, 10);
		else
			add(argv[i]);
	}
	if (nfiles == 0) {
		fprintf(stderr, "usage: documents_bench [--rounds N] PATH...\n");
		return 2;
	}
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.workers = doc_workers_create(LH_DOC_WORKERS_IDLE, LH_DOC_WORKER_USES, LH_DOC_EXTRACT_SLOTS);
	static const enum doc_format fmts[] = { DOC_PDF, DOC_DOCX, DOC_HTML, DOC_MARKDOWN, DOC_TEXT };
	printf("%-9s %6s %8s %7s %7s %9s %9s %8s\n", "format", "files", "MB", "pages", "chunks",
	       "files/s", "pages/s", "MB/s");
	double pdf_worker_s = 0;
	size_t pdf_files = 0;
	for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
		size_t n = 0, bytes = 0, pages = 0, chunks = 0, failed = 0;
		double t0 = now_s();
		for (int r = 0; r < rounds; r++) {
			for (size_t i = 0; i < nfiles; i++) {
				if (files[i].f != fmts[k])
					continue;
				struct doc_text t;
				struct lh_error err = { 0 };
				struct doc_chunk *c = NULL;
				size_t nc = 0;
				n++;
				bytes += files[i].len;
				if (doc_extract(files[i].name, files[i].data, files[i].len, &lim, &t, &err) == 0) {
					doc_chunk(&t, 0, &c, &nc, &err);
					pages += t.n_pages;
					chunks += nc;
					doc_chunks_free(c, nc);
					doc_text_free(&t);
				} else {
					failed++;
				}
				lh_error_clear(&err);
			}
		}
		double s = now_s() - t0;
		if (n == 0)
			continue;
		if (fmts[k] == DOC_PDF) {
			pdf_worker_s = s;
			pdf_files = n;
		}
		printf("%-9s %6zu %8.2f %7zu %7zu %9.1f %9.1f %8.2f%s\n", doc_format_name(fmts[k]), n,
		       bytes / 1e6, pages, chunks, n / s, pages / s, bytes / 1e6 / s,
		       failed ? "  (some failed)" : "");
	}
	if (pdf_files) {
		struct doc_limits one = lim;
		one.workers = NULL;
		double t0 = now_s();
		for (int r = 0; r < rounds; r++) {
			for (size_t i = 0; i < nfiles; i++) {
				if (files[i].f != DOC_PDF)
					continue;
				struct doc_text t;
				struct lh_error err = { 0 };
				if (doc_extract(files[i].name, files[i].data, files[i].len, &one, &t, &err) == 0)
					doc_text_free(&t);
				lh_error_clear(&err);
			}
		}
		double fresh = now_s() - t0;
		t0 = now_s();
		for (int r = 0; r < rounds; r++) {
			for (size_t i = 0; i < nfiles; i++) {
				if (files[i].f != DOC_PDF)
					continue;
				struct doc_text t = { .format = DOC_PDF };
				struct collect c = { .t = &t, .lim = &lim };
				struct lh_error err = { 0 };
				doc_poppler_pages(files[i].data, files[i].len, lim.max_pages, collect_page, &c, &err);
				doc_text_free(&t);
				lh_error_clear(&err);
			}
		}
		double inproc = now_s() - t0;
		printf("pdf, extraction only: pooled workers %.1f files/s (%.2f ms/file), a new worker per "
		       "PDF %.1f files/s (%.2f ms/file), poppler in this process %.1f files/s (%.2f ms/file)\n",
		       pdf_files / pdf_worker_s, pdf_worker_s * 1000 / pdf_files, pdf_files / fresh,
		       fresh * 1000 / pdf_files, pdf_files / inproc, inproc * 1000 / pdf_files);
		printf("pdf: a process start costs %.2f ms per PDF; the pool %.2f ms per PDF over in-process\n",
		       (fresh - inproc) * 1000 / pdf_files, (pdf_worker_s - inproc) * 1000 / pdf_files);
	}
	doc_workers_destroy(lim.workers);
	return 0;
}
