/* test_format_words.c — the ingest answer's "format" (pipeline_format_json,
 * pipeline.c note 7) of schemas each reader inferred, and the words the CLI
 * and the upload page print for it (format_words.h). */
#include "test.h"

#include "common/error.h"
#include "common/format_words.h"
#include "ingestd/csv.h"
#include "ingestd/format.h"
#include "ingestd/json_scan.h"
#include "ingestd/pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int words_tmp(const char *text)
{
	char path[] = "/tmp/lh-test-words-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	size_t n = strlen(text);
	if (write(fd, text, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The compact "format" JSON and its words for `text` read by `f`. */
static int describe(const struct ingest_format *f, const char *text, char *js, size_t njs,
		    char *words, size_t nwords)
{
	struct lh_error err = { 0 };
	struct ingest_schema *s = NULL;
	int fd = words_tmp(text);
	if (fd < 0 || ingest_infer_fd(f, fd, &s, &err) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	json_t *o = pipeline_format_json(s, 0);
	char *dump = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	snprintf(js, njs, "%s", dump ? dump : "");
	int rc = format_words(o, words, nwords);
	free(dump);
	json_decref(o);
	ingest_schema_destroy(s);
	close(fd);
	return rc;
}

TEST(format_words_of_each_reader)
{
	char js[256], w[128];
	CHECK_EQ_INT(describe(&ingest_format_csv, "a,b\n1,2\n", js, sizeof js, w, sizeof w), 0);
	CHECK_EQ_STR(js, "{\"delimiter\":\",\",\"name\":\"csv\"}");
	CHECK_EQ_STR(w, "read as comma-separated text");
	CHECK_EQ_INT(describe(&ingest_format_csv_semicolon, "a;b\n1;2\n", js, sizeof js, w,
			      sizeof w), 0);
	CHECK_EQ_STR(js, "{\"delimiter\":\";\",\"name\":\"csv\"}");
	CHECK_EQ_STR(w, "read as semicolon-separated text");
	CHECK_EQ_INT(describe(&ingest_format_tsv, "a\tb\n1\t2\n", js, sizeof js, w, sizeof w), 0);
	CHECK_EQ_STR(js, "{\"delimiter\":\"\\t\",\"name\":\"tsv\"}");
	CHECK_EQ_STR(w, "read as tab-separated text");
	CHECK_EQ_INT(describe(&ingest_format_csv_pipe, "a|b\n1|2\n", js, sizeof js, w, sizeof w), 0);
	CHECK_EQ_STR(w, "read as pipe-separated text");
	CHECK_EQ_INT(describe(&ingest_format_json, "{\"a\": 1}\n{\"a\": 2}\n", js, sizeof js, w,
			      sizeof w), 0);
	CHECK_EQ_STR(js, "{\"layout\":\"ndjson\",\"name\":\"json\"}");
	CHECK_EQ_STR(w, "read as NDJSON");
	CHECK_EQ_INT(describe(&ingest_format_json, "[{\"a\": 1},\n {\"a\": 2}]\n", js, sizeof js, w,
			      sizeof w), 0);
	CHECK_EQ_STR(js, "{\"layout\":\"array\",\"name\":\"json\"}");
	CHECK_EQ_STR(w, "read as a JSON array of objects");
}

TEST(format_words_of_answers)
{
	char w[128];
	json_t *o = json_loads("{\"name\":\"xlsx\",\"sheet\":\"Placements\"}", 0, NULL);
	CHECK_EQ_INT(format_words(o, w, sizeof w), 0);
	CHECK_EQ_STR(w, "read sheet Placements of the workbook");
	json_decref(o);
	o = json_loads("{\"name\":\"parquet\",\"stored_as_is\":true}", 0, NULL);
	CHECK_EQ_INT(format_words(o, w, sizeof w), 0);
	CHECK_EQ_STR(w, "stored the Parquet file as it is");
	json_decref(o);
	o = json_loads("{\"name\":\"parquet\",\"stored_as_is\":false}", 0, NULL);
	CHECK_EQ_INT(format_words(o, w, sizeof w), 0);
	CHECK_EQ_STR(w, "converted the Parquet file");
	json_decref(o);
	/* an older server's answer has no "format": no words */
	CHECK_EQ_INT(format_words(NULL, w, sizeof w), -1);
	CHECK_EQ_STR(w, "");
}
