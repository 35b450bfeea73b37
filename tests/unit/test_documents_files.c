/* test_documents_files.c — the readers of src/documents/ on files made by
 * real tools (tests/documents/make_docs.py --fixtures: Ghostscript, qpdf,
 * pandoc, zip, iconv; ADR 0220), and the PDF worker's isolation: a worker
 * that crashes, hangs or talks nonsense is an error for that file only.
 *
 * The fixtures are made once into build/doc-fixtures (or $LH_DOC_FIXTURES)
 * when its .done stamp is missing (a few seconds).
 */
#include "test.h"

#include "common/error.h"
#include "documents/documents_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static const char *fixture_dir(void)
{
	static char dir[512];
	static int made;
	if (made)
		return dir;
	const char *env = getenv("LH_DOC_FIXTURES");
	snprintf(dir, sizeof dir, "%s", env && *env ? env : "build/doc-fixtures");
	char stamp[600];
	snprintf(stamp, sizeof stamp, "%s/.done", dir);
	if (access(stamp, F_OK) != 0) {
		char cmd[1200];
		snprintf(cmd, sizeof cmd, "python3 tests/documents/make_docs.py --fixtures '%s' >&2", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "  making the document fixtures failed: %s\n", cmd);
	}
	made = 1;
	return dir;
}

/* The bytes of a fixture (malloc'd; *len), or NULL. */
static unsigned char *fixture(const char *name, size_t *len)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", fixture_dir(), name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "  fixture %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	fstat(fileno(f), &st);
	unsigned char *data = malloc((size_t)st.st_size + 1);
	*len = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	return data;
}

/* Extract fixture `name` with `lim` (NULL = defaults): the return code. */
static int extract(const char *name, const struct doc_limits *lim, struct doc_text *t, struct lh_error *err)
{
	size_t len = 0;
	unsigned char *data = fixture(name, &len);
	if (!data)
		return -2;
	int rc = doc_extract(name, data, len, lim, t, err);
	free(data);
	return rc;
}

TEST(documents_pdf_text)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	for (unsigned n = 1; n <= 3; n++) {
		char name[32];
		snprintf(name, sizeof name, "text-%up.pdf", n);
		CHECK_EQ_INT(extract(name, NULL, &t, &err), 0);
		CHECK_EQ_INT(t.format, DOC_PDF);
		CHECK_EQ_INT(t.n_pages, n);
		CHECK(!t.from_latin1);
		for (unsigned k = 1; k <= n; k++) {
			char marker[32];
			snprintf(marker, sizeof marker, "marker-p%u", k);
			CHECK_EQ_INT(t.pages[k - 1].page, k);
			CHECK(strstr(t.pages[k - 1].text, marker));
			CHECK(strstr(t.pages[k - 1].text, "Jane M\xC3\xBCller"));
			CHECK(strstr(t.pages[k - 1].text, "\n\nSecond paragraph"));   /* a blank line kept */
			for (unsigned j = 1; j <= 3; j++) {      /* no other page's marker */
				snprintf(marker, sizeof marker, "marker-p%u", j);
				CHECK(j == k || !strstr(t.pages[k - 1].text, marker));
			}
		}
		/* chunks keep their page */
		struct doc_chunk *c;
		size_t nc;
		CHECK_EQ_INT(doc_chunk(&t, 200, &c, &nc, &err), 0);
		CHECK(nc >= n);
		CHECK_EQ_INT(c[0].page, 1);
		CHECK_EQ_INT(c[nc - 1].page, n);
		doc_chunks_free(c, nc);
		doc_text_free(&t);
	}
	/* an owner password only (no user password): readable, as in every viewer */
	CHECK_EQ_INT(extract("owner-only.pdf", NULL, &t, &err), 0);
	CHECK(strstr(t.pages[0].text, "marker-p1"));
	doc_text_free(&t);
}

TEST(documents_pdf_bad)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	CHECK_EQ_INT(extract("encrypted.pdf", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "encrypted_pdf");
	CHECK(strstr(err.msg, "password"));
	CHECK_EQ_INT(t.n_pages, 0);
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("image-only.pdf", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "no_text");
	CHECK(strstr(err.msg, "scanned images"));
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("truncated.pdf", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	CHECK(!strstr(err.msg, "truncated.pdf"));    /* the caller names the file */
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("not-a-pdf.pdf", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	lh_error_clear(&err);
}

TEST(documents_pdf_pages)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_limits lim;
	doc_limits_default(&lim);
	CHECK_EQ_INT(extract("pages-500.pdf", &lim, &t, &err), 0);
	CHECK_EQ_INT(t.n_pages, 500);
	CHECK_EQ_INT(t.pages[499].page, 500);
	CHECK(strstr(t.pages[499].text, "page 500 of 500"));
	CHECK(strstr(t.pages[0].text, "page 1 of 500"));
	doc_text_free(&t);
	lim.max_pages = 499;
	CHECK_EQ_INT(extract("pages-500.pdf", &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_many_pages");
	CHECK(strstr(err.msg, "500 pages"));
	lh_error_clear(&err);
	/* the text cap, counted while pages arrive */
	doc_limits_default(&lim);
	lim.max_text_bytes = 10000;
	CHECK_EQ_INT(extract("pages-500.pdf", &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
}

/* A stand-in worker: a shell script (posix_spawn runs it by its #! line). */
static const char *script(const char *name, const char *body)
{
	static char path[700];
	snprintf(path, sizeof path, "%s/%s", fixture_dir(), name);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

TEST(documents_pdf_worker_isolation)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_limits lim;
	size_t len = 0;
	unsigned char *pdf = fixture("text-1p.pdf", &len);
	CHECK(pdf);

	/* a worker that crashes (killed by SIGSEGV): 400 for this file, we go on */
	doc_limits_default(&lim);
	lim.worker_exe = script("crash.sh", "kill -SEGV $$");
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	CHECK(strstr(err.detail, "signal 11"));
	lh_error_clear(&err);
	/* one that hangs: killed at the deadline, 413 */
	lim.worker_exe = script("hang.sh", "exec sleep 30");
	lim.max_seconds = 0.3;
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
	/* one that answers nonsense */
	doc_limits_default(&lim);
	lim.worker_exe = script("babble.sh", "printf 'Zzzzzzzzzzzzzzzzzzzz' >&3; cat <&3 >/dev/null 2>&1");
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 500);
	lh_error_clear(&err);
	/* one killed from outside (the OOM killer): not "time" (review R18
	 * finding 7: any SIGKILL was "needed more than 60 seconds") */
	doc_limits_default(&lim);
	lim.worker_exe = script("oom.sh", "kill -KILL $$");
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	CHECK(strstr(err.msg, "could not be read") != NULL);
	CHECK(!strstr(err.msg, "seconds"));
	CHECK(strstr(err.detail, "signal 9"));
	lh_error_clear(&err);
	/* one that exits without a word */
	lim.worker_exe = "/bin/false";
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
	CHECK_EQ_STR(err.code, "bad_document");
	lh_error_clear(&err);
	/* the real worker past its memory limit (not in sanitizer builds, note 3) */
	if (!SANITIZED) {
		doc_limits_default(&lim);
		lim.max_worker_bytes = 1u << 20;
		CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
		CHECK_EQ_STR(err.code, "bad_document");
		lh_error_clear(&err);
	}
	/* and the real worker still reads it afterwards */
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, NULL, &t, &err), 0);
	CHECK(strstr(t.pages[0].text, "marker-p1"));
	doc_text_free(&t);
	free(pdf);
}

TEST(documents_text_files)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	CHECK_EQ_INT(extract("latin1.txt", NULL, &t, &err), 0);
	CHECK(t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "Ren\xC3\xA9 M\xC3\xBCller, caf\xC3\xA9, na\xC3\xAFve\n\nSecond paragraph.");
	doc_text_free(&t);
	CHECK_EQ_INT(extract("utf8.txt", NULL, &t, &err), 0);
	CHECK(!t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "Ren\xC3\xA9 M\xC3\xBCller, caf\xC3\xA9, na\xC3\xAFve\n\nSecond paragraph.");
	doc_text_free(&t);
	CHECK_EQ_INT(extract("notes.md", NULL, &t, &err), 0);
	CHECK_EQ_INT(t.format, DOC_MARKDOWN);
	CHECK(strstr(t.pages[0].text, "*Emphasis* stays"));
	doc_text_free(&t);
}

TEST(documents_docx)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	CHECK_EQ_INT(extract("resume.docx", NULL, &t, &err), 0);
	CHECK_EQ_INT(t.format, DOC_DOCX);
	CHECK_EQ_INT(t.n_pages, 1);
	CHECK_EQ_INT(t.pages[0].page, 0);    /* no pages (docx.c note 3) */
	CHECK(!t.from_latin1);
	const char *s = t.pages[0].text;
	const char *head = "Jane M\xC3\xBCller\n\njane.muller@example.com";
	CHECK(!strncmp(s, head, strlen(head)));
	CHECK(strstr(s, "\n\nSQL\n\nPython\n\nforklift\n\n"));                   /* list items */
	CHECK(strstr(s, "Data Analyst at Acme Logistics, 2019-2024. Built a reporting pipeline in SQL."));
	CHECK(strstr(s, "Year\n\nRole\n\n2018\n\nIntern"));                     /* table cells */
	CHECK(strstr(s, "Tabs and line\nbreaks kept."));                         /* w:br */
	CHECK(strstr(s, "After the page break: marker-docx-end.\n\nLeft\tRight"));   /* w:tab */
	CHECK(!strstr(s, "deleted-marker"));                                    /* w:delText */
	CHECK(!strstr(s, "w:"));
	doc_text_free(&t);

	CHECK_EQ_INT(extract("corrupt.docx", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "bad_document");
	CHECK(strstr(err.msg, "damaged or truncated"));
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("bomb.docx", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	CHECK(strstr(err.msg, "zip bomb"));
	lh_error_clear(&err);
	CHECK_EQ_INT(extract("no-text.docx", NULL, &t, &err), -1);
	CHECK_EQ_INT(err.status, 400);
	CHECK_EQ_STR(err.code, "no_text");
	lh_error_clear(&err);
	/* the expansion cap on its own: resume.docx's text part is ~10 KB */
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.max_expanded_bytes = 2000;
	CHECK_EQ_INT(extract("resume.docx", &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	CHECK_EQ_STR(err.code, "too_large");
	lh_error_clear(&err);
}

TEST(documents_html)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	const char *want = "Jane M\xC3\xBCller\n\nData\xC2\xA0" "analyst & SQL\nexpert.\n\nFirst block\n\n"
			   "nested block\n\ntail\n\nitem one\n\nitem two\n\n\tcell a\tcell b\n\n"
			   "caf\xC3\xA9 bolditalic end";
	CHECK_EQ_INT(extract("page.html", NULL, &t, &err), 0);
	CHECK_EQ_INT(t.format, DOC_HTML);
	CHECK_EQ_INT(t.pages[0].page, 0);
	CHECK(!t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, want);
	CHECK(!strstr(t.pages[0].text, "marker"));     /* title, style, script, noscript dropped */
	doc_text_free(&t);
	/* declared ISO-8859-1: read as declared (not a guess, so not flagged) */
	CHECK_EQ_INT(extract("latin1.html", NULL, &t, &err), 0);
	CHECK_EQ_STR(t.pages[0].text, want);
	CHECK(!t.from_latin1);
	doc_text_free(&t);
	/* Latin-1 bytes, nothing declared: Windows-1252, and said */
	const char *l1 = "<p>Ren\xE9 \x93quoted\x94</p>";
	CHECK_EQ_INT(doc_extract("x.html", (const unsigned char *)l1, strlen(l1), NULL, &t, &err), 0);
	CHECK(t.from_latin1);
	CHECK_EQ_STR(t.pages[0].text, "Ren\xC3\xA9 \xE2\x80\x9Cquoted\xE2\x80\x9D");
	doc_text_free(&t);
	/* tag soup is read as a browser would; only scripts: no text */
	const char *soup = "<div><p>one<p>two</div></span><b>three";
	CHECK_EQ_INT(doc_extract("x.htm", (const unsigned char *)soup, strlen(soup), NULL, &t, &err), 0);
	CHECK_EQ_STR(t.pages[0].text, "one\n\ntwo\n\nthree");
	doc_text_free(&t);
	const char *js = "<html><script>document.write('x')</script></html>";
	CHECK_EQ_INT(doc_extract("x.html", (const unsigned char *)js, strlen(js), NULL, &t, &err), -1);
	CHECK_EQ_STR(err.code, "no_text");
	lh_error_clear(&err);
	/* the text cap */
	struct doc_limits lim;
	doc_limits_default(&lim);
	lim.max_text_bytes = 20;
	CHECK_EQ_INT(extract("page.html", &lim, &t, &err), -1);
	CHECK_EQ_INT(err.status, 413);
	lh_error_clear(&err);
}

/* Review R18 finding 8b: the worker got the server's whole environment
 * (LAKEHOUSE_AUTH_TOKENS in /proc/<worker>/environ). */
TEST(documents_pdf_worker_environment)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_limits lim;
	char out[700], body[1600], line[4096];
	unsigned char pdf[] = "%PDF-1.4\n";
	snprintf(out, sizeof out, "%s/worker-env.txt", fixture_dir());
	unlink(out);
	snprintf(body, sizeof body, "tr '\\0' '\\n' < /proc/$$/environ > '%s'; exit 1", out);
	setenv("LAKEHOUSE_AUTH_TOKENS", "secret-token-f18b", 1);
	setenv("LC_ALL", "C", 1);
	doc_limits_default(&lim);
	lim.worker_exe = script("env.sh", body);
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, sizeof pdf - 1, &lim, &t, &err), -1);
	lh_error_clear(&err);
	unsetenv("LAKEHOUSE_AUTH_TOKENS");
	FILE *f = fopen(out, "r");
	CHECK(f != NULL);
	int lines = 0, secret = 0, locale = 0;
	while (f && fgets(line, sizeof line, f)) {
		lines++;
		secret |= strstr(line, "secret-token-f18b") != NULL || !strncmp(line, "LAKEHOUSE_", 10);
		locale |= !strcmp(line, "LC_ALL=C\n");
	}
	if (f)
		fclose(f);
	CHECK(!secret);
	CHECK(locale);          /* what it may see still gets there */
	CHECK(lines <= 7);
}

struct slot_run {
	const struct doc_limits *lim;
	int rc;
};

static void *slot_thread(void *arg)
{
	struct slot_run *r = arg;
	struct lh_error err = { 0 };
	struct doc_text t;
	unsigned char pdf[] = "%PDF-1.4\n";
	r->rc = doc_extract("a.pdf", pdf, sizeof pdf - 1, r->lim, &t, &err);
	lh_error_clear(&err);
	return NULL;
}

/* Review R18 finding 4: every request's threads started their own worker
 * (5 uploads: 10 workers of 1 GiB). The pool's slots cap them service-wide;
 * the workers log their own starts and ends, so the count is theirs. */
TEST(documents_extract_slots)
{
	struct doc_limits lim;
	char log[700], body[1600], line[64];
	snprintf(log, sizeof log, "%s/slots.log", fixture_dir());
	unlink(log);
	snprintf(body, sizeof body, "echo s >> '%s'; sleep 0.2; echo e >> '%s'; exit 1", log, log);
	struct doc_workers *pool = doc_workers_create(0, 1, 2);
	doc_limits_default(&lim);
	lim.workers = pool;
	lim.worker_exe = script("slow.sh", body);
	pthread_t th[6];
	struct slot_run runs[6];
	for (int i = 0; i < 6; i++) {
		runs[i].lim = &lim;
		runs[i].rc = 0;
		CHECK_EQ_INT(pthread_create(&th[i], NULL, slot_thread, &runs[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(runs[i].rc, -1);
	}
	FILE *f = fopen(log, "r");
	CHECK(f != NULL);
	int now = 0, most = 0, starts = 0;
	while (f && fgets(line, sizeof line, f)) {
		now += line[0] == 's' ? 1 : -1;
		starts += line[0] == 's';
		most = now > most ? now : most;
	}
	if (f)
		fclose(f);
	CHECK_EQ_INT(starts, 6);
	CHECK(most >= 1 && most <= 2);
	unsigned peak = 0;
	doc_workers_stats(pool, &peak, NULL);
	CHECK(peak >= 1 && peak <= 2);
	CHECK_EQ_INT(doc_workers_spawned(pool), 6);
	doc_workers_destroy(pool);
}

TEST(documents_pdf_worker_pool)
{
	struct lh_error err = { 0 };
	struct doc_text t;
	struct doc_limits lim;
	size_t len = 0, elen = 0;
	unsigned char *pdf = fixture("text-2p.pdf", &len);
	unsigned char *enc = fixture("encrypted.pdf", &elen);
	CHECK(pdf && enc);
	struct doc_workers *pool = doc_workers_create(1, 3, 2);
	doc_limits_default(&lim);
	lim.workers = pool;
	/* one worker serves three PDFs, an answered error included, then retires */
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), 0);
	CHECK_EQ_INT(t.n_pages, 2);
	CHECK(strstr(t.pages[1].text, "marker-p2"));
	doc_text_free(&t);
	CHECK_EQ_INT(doc_extract("e.pdf", enc, elen, &lim, &t, &err), -1);
	CHECK_EQ_STR(err.code, "encrypted_pdf");
	lh_error_clear(&err);
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), 0);
	CHECK(strstr(t.pages[0].text, "marker-p1"));
	CHECK(!strstr(t.pages[0].text, "marker-p2"));
	doc_text_free(&t);
	CHECK_EQ_INT(doc_workers_spawned(pool), 1);
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), 0);
	doc_text_free(&t);
	CHECK_EQ_INT(doc_workers_spawned(pool), 2);
	/* other limits: another worker */
	lim.max_seconds = 30;
	CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), 0);
	doc_text_free(&t);
	CHECK_EQ_INT(doc_workers_spawned(pool), 3);
	/* a worker that failed is never reused */
	lim.worker_exe = script("crash.sh", "kill -SEGV $$");
	for (int i = 0; i < 2; i++) {
		CHECK_EQ_INT(doc_extract("a.pdf", pdf, len, &lim, &t, &err), -1);
		CHECK_EQ_STR(err.code, "bad_document");
		lh_error_clear(&err);
	}
	CHECK_EQ_INT(doc_workers_spawned(pool), 5);
	doc_workers_destroy(pool);
	free(pdf);
	free(enc);
}
