/* cli_ingest.c — `lakehouse ingest [NAME] FILE [--mode append|replace]
 * [--delimiter D] [--types T] [--sheet NAME]`, and `lakehouse ingest NAME
 * --documents DIR_OR_FILES... [--partial]` (cli_documents.c, ADR 0228).
 *
 * Without NAME the dataset is named after FILE (cli_name_from_file:
 * candidates.csv -> candidates), and the name used is said on stderr.
 * Streams FILE (or stdin for "-") to /v1/ingest?name=&mode=[&delimiter=][&sheet=]
 * with the media type of its extension (media_type_of: .tsv is
 * text/tab-separated-values; stdin and unknown extensions are
 * application/octet-stream, so the server detects the format, ADR 0180),
 * never holding it in memory, with a progress bar on stderr when stderr is a
 * terminal. Prints one summary line on stdout:
 *   candidates: version 3, 5000 rows, 7 columns (new version)
 *   candidates: version 3, 5000 rows, 7 columns (unchanged)
 * and, for any format but comma-separated text, how it was read (the
 * answer's "format" in format_words.h's words):
 *   placements: version 1, 40 rows, 6 columns (new version; read sheet
 *   Placements of the workbook)   [one line]
 * and, when columns were cast to the dataset's types (ADR 0170):
 *   timesheets: version 2, 4 rows (+2 appended), 4 columns (new version;
 *   cast regular_hours int64 -> float64)   [one line]
 * and, with --evolve (ADR 0173), the schema change that was accepted:
 *   people: version 2, 3 rows (+1 appended), 3 columns (new version;
 *   evolved: city added)   [one line]
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/format_words.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse ingest [NAME] FILE [--mode replace|append] [--delimiter D]\n"
		"                        [--types COL:TYPE,...] [--sheet NAME]\n"
		"       lakehouse ingest NAME --documents DIR_OR_FILE... [--partial]\n"
		"                        [--mode replace|append] [--batch-bytes N]\n"
		"\n"
		"Uploads the data file FILE (\"-\" reads stdin; CSV, TSV or other\n"
		"delimited text, the format detected by the server) as dataset NAME to\n"
		"LAKEHOUSE_URL (default http://127.0.0.1:8080). The schema is inferred over\n"
		"every row; each change makes a new version, and the same bytes again\n"
		"change nothing. Without NAME the file's name without its extension\n"
		"is used (candidates.csv -> candidates; other characters become _).\n"
		"\n"
		"  --mode replace  the file becomes the dataset's content (default)\n"
		"  --mode append   add the rows to the latest version (same schema)\n"
		"  --delimiter D   read delimited text split at D: , ; | or tab (without\n"
		"                  it the server detects ; tab | when the first lines\n"
		"                  make it unambiguous, else reads commas)\n"
		"  --evolve        accept added, removed or reordered columns and widened\n"
		"                  types as a new version with the file's schema\n"
		"  --types T       fix columns' types instead of inferring them, e.g.\n"
		"                  --types 'zip:utf8,hourly_rate:decimal(10,2)' (kept by the\n"
		"                  dataset for later uploads; a value that does not fit\n"
		"                  its type is an error with its line)\n"
		"  --sheet NAME    the sheet of an Excel workbook to read (default: its\n"
		"                  first visible sheet)\n"
		"\n"
		"  --documents     the rest of the arguments are documents (PDF, DOCX, HTML,\n"
		"                  Markdown, text) or folders of them, walked; NAME gets one\n"
		"                  row per chunk of text and a search index on it\n"
		"  --partial       skip documents that cannot be read (listed) instead of\n"
		"                  writing nothing\n"
		"  --batch-bytes N documents per upload, at most N bytes (default 32 MiB)\n"
		"\n"
		"NAME: a letter or _, then letters, digits or _ (at most 64).\n");
}

struct upload {
	int fd;
	uint64_t sent;
	struct cli_progress *progress;
	int read_errno;
};

static ssize_t upload_read(void *ctx, char *buf, size_t max)
{
	struct upload *u = ctx;
	ssize_t n;
	do
		n = read(u->fd, buf, max);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		u->read_errno = errno;
		return -1;
	}
	u->sent += (uint64_t)n;
	if (n == 0)
		cli_progress_note(u->progress, "uploaded; the server is converting the file...");
	else
		cli_progress_update(u->progress, u->sent);
	return n;
}

int cli_name_from_file(const char *path, char out[LH_DATASET_NAME_MAX + 1])
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
	size_t k = 0;
	int gap = 0;   /* bytes a name may not hold were skipped since the last kept one */

	for (size_t i = 0; i < len; i++) {
		char c = base[i];
		int digit = c >= '0' && c <= '9';
		if (!digit && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '_') {
			gap = 1;
			continue;
		}
		/* a "_" first before a digit, one "_" for a skipped run inside */
		int sep = (k == 0 && digit) || (gap && k > 0 && out[k - 1] != '_');
		if (k + (size_t)sep + 1 > LH_DATASET_NAME_MAX)
			break;
		if (sep)
			out[k++] = '_';
		out[k++] = c;
		gap = 0;
	}
	out[k] = '\0';
	return k == 0 ? -1 : 0;
}

static void print_summary(const json_t *res, const char *mode)
{
	const json_t *m = json_object_get(res, "manifest");
	const char *name = json_string_value(json_object_get(m, "name"));
	long long version = (long long)json_integer_value(json_object_get(m, "version"));
	long long rows = (long long)json_integer_value(json_object_get(m, "row_count"));
	long long added = (long long)json_integer_value(json_object_get(res, "row_count"));
	size_t ncols = json_array_size(json_object_get(m, "schema"));
	int existing = json_is_true(json_object_get(res, "existing"));

	printf("%s: version %lld, %lld row%s", name ? name : "?", version, rows,
	       rows == 1 ? "" : "s");
	if (!existing && !strcmp(mode, "append"))
		printf(" (+%lld appended)", added);
	printf(", %zu column%s (%s", ncols, ncols == 1 ? "" : "s",
	       existing ? "unchanged" : "new version");
	/* how the file was read (ADR 0180), unless plain comma CSV: the default */
	const json_t *fmt = json_object_get(res, "format");
	const char *delim = json_string_value(json_object_get(fmt, "delimiter"));
	char words[FORMAT_WORDS_MAX];
	if (!(delim && !strcmp(delim, ",")) && format_words(fmt, words, sizeof words) == 0)
		printf("; %s", words);
	const json_t *cast = json_object_get(res, "cast");
	for (size_t i = 0; i < json_array_size(cast); i++) {
		const json_t *c = json_array_get(cast, i);
		const char *col = json_string_value(json_object_get(c, "column"));
		const char *from = json_string_value(json_object_get(c, "from"));
		const char *to = json_string_value(json_object_get(c, "to"));
		printf("%s%s %s -> %s", i ? ", " : "; cast ", col ? col : "?", from ? from : "?",
		       to ? to : "?");
	}
	const json_t *ev = json_object_get(res, "evolved");                   /* ADR 0173 */
	const json_t *diff = json_object_get(ev, "diff");
	for (size_t i = 0; i < json_array_size(diff); i++) {
		const json_t *d = json_array_get(diff, i);
		const char *col = json_string_value(json_object_get(d, "column"));
		const char *ch = json_string_value(json_object_get(d, "change"));
		const char *from = json_string_value(json_object_get(d, "old_type"));
		const char *to = json_string_value(json_object_get(d, "new_type"));
		printf("%s%s ", i ? ", " : "; evolved: ", col ? col : "?");
		if (ch && !strcmp(ch, "type_changed"))
			printf("%s -> %s", from ? from : "?", to ? to : "?");
		else
			printf("%s", ch ? ch : "?");
	}
	printf(")\n");
}

/* The media type to send FILE with, from its extension (ADR 0180): the
 * server's detection reads the bytes too, so an unknown extension (and
 * stdin) is application/octet-stream and the server decides. */
static const char *media_type_of(const char *file)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".csv", "text/csv" },
		{ ".tsv", "text/tab-separated-values" },
		{ ".tab", "text/tab-separated-values" },
		{ ".json", "application/json" },
		{ ".ndjson", "application/x-ndjson" },
		{ ".jsonl", "application/x-ndjson" },
		{ ".parquet", "application/vnd.apache.parquet" },
		{ ".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
	};
	size_t n = strlen(file);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		size_t k = strlen(types[i].ext);
		if (n > k && !strcasecmp(file + n - k, types[i].ext))
			return types[i].type;
	}
	return "application/octet-stream";
}

/* --delimiter's value as ?delimiter= sends it ("%3B"), or NULL if it is not
 * one the server reads (ingestd's csv_delimiter_parse: , ; | tab). */
static const char *delimiter_query(const char *d)
{
	static const struct {
		const char *in, *q;
	} ok[] = { { ",", "%2C" }, { ";", "%3B" }, { "|", "%7C" }, { "\t", "%09" },
		   { "\\t", "%09" }, { "tab", "%09" }, { "comma", "%2C" },
		   { "semicolon", "%3B" }, { "pipe", "%7C" } };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!strcasecmp(d, ok[i].in))
			return ok[i].q;
	return NULL;
}

int cli_ingest_main(int argc, char **argv)
{
	const char *name = NULL, *file = NULL, *mode = "replace", *delimiter = NULL;
	const char *types = NULL;                                        /* ADR 0171 */
	const char *sheet = NULL;                                        /* ADR 0186 */
	int evolve = 0, documents = 0, partial = 0;
	uint64_t batch_bytes = 32ull << 20;
	char **paths = xcalloc((size_t)argc, sizeof *paths);
	size_t npaths = 0;
	char derived[LH_DATASET_NAME_MAX + 1];
	struct upload u = { .fd = -1 };
	char *url = NULL;
	int rc = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			free(paths);
			return CLI_OK;
		} else if (!strcmp(a, "--documents")) {                          /* ADR 0228 */
			documents = 1;
		} else if (!strcmp(a, "--partial")) {
			partial = 1;
		} else if (!strcmp(a, "--batch-bytes") && i + 1 < argc) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(argv[++i], &end, 10);
			if (errno || *end || v == 0) {
				fprintf(stderr, "lakehouse: --batch-bytes must be a positive number\n");
				free(paths);
				return CLI_USAGE;
			}
			batch_bytes = v;
		} else if (!strcmp(a, "--mode") && i + 1 < argc) {
			mode = argv[++i];
		} else if (!strncmp(a, "--mode=", 7)) {
			mode = a + 7;
		} else if (!strcmp(a, "--delimiter") && i + 1 < argc) {
			delimiter = argv[++i];
		} else if (!strncmp(a, "--delimiter=", 12)) {
			delimiter = a + 12;
		} else if (!strcmp(a, "--types") && i + 1 < argc) {              /* ADR 0171 */
			types = argv[++i];
		} else if (!strncmp(a, "--types=", 8)) {
			types = a + 8;
		} else if (!strcmp(a, "--sheet") && i + 1 < argc) {              /* ADR 0186 */
			sheet = argv[++i];
		} else if (!strncmp(a, "--sheet=", 8)) {
			sheet = a + 8;
		} else if (!strcmp(a, "--evolve")) {                             /* ADR 0173 */
			evolve = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			free(paths);
			return CLI_USAGE;
		} else if (!name) {
			name = a;
		} else {
			paths[npaths++] = argv[i];
			file = file ? file : a;
		}
	}
	if (!name) {
		usage(stderr);
		free(paths);
		return CLI_USAGE;
	}
	if (documents || partial) {                                             /* ADR 0228 */
		int urc = CLI_USAGE;
		if (!documents)
			fprintf(stderr, "lakehouse: --partial goes with --documents\n");
		else if (!npaths)
			fprintf(stderr, "lakehouse: --documents needs a dataset name and files or "
					"folders: lakehouse ingest NAME --documents DIR\n");
		else if (strcmp(mode, "replace") != 0 && strcmp(mode, "append") != 0)
			fprintf(stderr, "lakehouse: --mode must be replace or append\n");
		else
			urc = cli_ingest_documents(name, paths, npaths, mode, partial, batch_bytes);
		free(paths);
		return urc;
	}
	if (npaths > 1) {
		fprintf(stderr, "lakehouse: too many arguments\n\n");
		usage(stderr);
		free(paths);
		return CLI_USAGE;
	}
	free(paths);
	if (!file) {   /* one argument: the file, named after itself */
		struct stat fst;
		file = name;
		name = NULL;
		if (!strcmp(file, "-")) {
			fprintf(stderr, "lakehouse: reading stdin needs a dataset name: "
					"lakehouse ingest NAME -\n");
			return CLI_USAGE;
		}
		if (stat(file, &fst) != 0 && errno == ENOENT) {
			fprintf(stderr, "lakehouse: there is no file \"%s\" (to choose the dataset's "
					"name: lakehouse ingest NAME FILE)\n", file);
			return CLI_USAGE;
		}
		if (cli_name_from_file(file, derived) != 0) {
			fprintf(stderr, "lakehouse: cannot make a dataset name from \"%s\"; give one: "
					"lakehouse ingest NAME FILE\n", file);
			return CLI_USAGE;
		}
		name = derived;
		fprintf(stderr, "dataset name \"%s\", from the file name (lakehouse ingest NAME FILE "
				"chooses another)\n", name);
	}
	if (strcmp(mode, "replace") != 0 && strcmp(mode, "append") != 0) {
		fprintf(stderr, "lakehouse: --mode must be replace or append\n");
		return CLI_USAGE;
	}
	if (delimiter && !delimiter_query(delimiter)) {
		fprintf(stderr, "lakehouse: --delimiter must be one of , ; | or tab, not \"%s\"\n",
			delimiter);
		return CLI_USAGE;
	}

	uint64_t size = 0;
	if (!strcmp(file, "-")) {
		u.fd = STDIN_FILENO;
	} else {
		u.fd = open(file, O_RDONLY | O_CLOEXEC);
		if (u.fd < 0) {
			fprintf(stderr, "lakehouse: cannot open %s: %s\n", file, strerror(errno));
			rc = CLI_FAILED;
			goto out;
		}
	}
	struct stat st;
	if (fstat(u.fd, &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	else if (fstat(u.fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "lakehouse: %s is a directory\n", file);
		rc = CLI_FAILED;
		goto out;
	}

	char *q = cli_url_encoded("/v1/ingest?name=", name, "");
	char *path = xasprintf("%s&mode=%s%s%s", q, mode, evolve ? "&evolve=true" : "",
			       types ? "&types=" : "");
	free(q);
	if (delimiter) {
		char *with = xasprintf("%s&delimiter=%s", path, delimiter_query(delimiter));
		free(path);
		path = with;
	}
	if (types) {                                        /* the server checks them */
		char *with = cli_url_encoded(path, types, "");
		free(path);
		path = with;
	}
	if (sheet) {                                        /* ADR 0186: the server checks it */
		char *pre = xasprintf("%s&sheet=", path);
		char *with = cli_url_encoded(pre, sheet, "");
		free(pre);
		free(path);
		path = with;
	}
	url = cli_url(path);
	free(path);
	char ctype[160];
	snprintf(ctype, sizeof ctype, "Content-Type: %s",
		 strcmp(file, "-") ? media_type_of(file) : "application/octet-stream");

	const char *hdrs[] = { ctype, "Accept: application/json", NULL };
	struct http_client_request r;
	struct http_client_response resp;
	http_client_request_init(&r);
	r.method = "POST";
	r.url = url;
	r.headers = hdrs;
	if (size == 0 && u.fd != STDIN_FILENO) {
		r.body = "";   /* an empty file: Content-Length: 0, the server says why not */
		r.body_len = 0;
	} else {
		r.body_source = upload_read;
		r.body_source_ctx = &u;
		r.body_source_len = size;    /* 0 (stdin, pipes) = chunked */
	}
	u.progress = cli_progress_create(name, size, isatty(STDERR_FILENO));
	rc = cli_do(&r, &resp);
	cli_progress_destroy(u.progress);
	u.progress = NULL;
	if (u.read_errno) {
		fprintf(stderr, "lakehouse: reading %s failed: %s\n", file, strerror(u.read_errno));
		rc = CLI_FAILED;
	}
	if (rc == CLI_OK) {
		json_t *res = json_loadb(resp.body, resp.body_len, 0, NULL);
		if (res) {
			print_summary(res, mode);
		} else {
			fprintf(stderr, "lakehouse: the server's answer is not JSON\n");
			rc = CLI_FAILED;
		}
		json_decref(res);
		http_client_response_free(&resp);
	}
out:
	if (u.fd > STDIN_FILENO)
		close(u.fd);
	free(url);
	return rc;
}
