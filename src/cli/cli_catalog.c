/* cli_catalog.c — the catalog commands: `lakehouse ls`, `lakehouse show
 * NAME [--version N]`, `lakehouse versions NAME`. Each reads one catalog
 * endpoint through the gateway with the typed catalog client (as every other
 * caller does, catalog_client.h: decoded manifests and lists, the server's
 * errors as it said them) and prints it for people (aligned columns cut to
 * the terminal's width; --wide or a pipe keeps values whole), or the
 * server's JSON with --json (encoded again by the codec catalogd itself
 * answers with, manifest.h, so it is the same JSON).
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct opts {
	const char *name;
	const char *version;
	int json;
	int wide;
};

/* Parse [NAME] [--json] [--wide] [--version N]; returns -1 when done (help printed or
 * bad usage: *rc set), 0 to go on. */
static int parse_args(int argc, char **argv, int want_name, int allow_version,
		      void (*usage)(FILE *), struct opts *o, int *rc)
{
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			*rc = CLI_OK;
			return -1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--wide")) {
			o->wide = 1;
		} else if (allow_version && !strcmp(a, "--version") && i + 1 < argc) {
			o->version = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			*rc = CLI_USAGE;
			return -1;
		} else if (want_name && !o->name) {
			o->name = a;
		} else {
			fprintf(stderr, "lakehouse: unexpected argument \"%s\"\n\n", a);
			usage(stderr);
			*rc = CLI_USAGE;
			return -1;
		}
	}
	if (want_name && !o->name) {
		usage(stderr);
		*rc = CLI_USAGE;
		return -1;
	}
	return 0;
}

static void print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	printf("%s\n", s ? s : "null");
	free(s);
}

/* A list of summaries as catalogd answered it: {"<field>": [...]} (and
 * "name" for a version list); a new reference. */
static json_t *list_json(const char *field, const char *name,
			 const struct manifest_summary *list, size_t n)
{
	json_t *arr = json_array(), *o = json_object();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, manifest_summary_to_json(&list[i], name != NULL));
	if (name)
		json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, field, arr);
	return o;
}

/* A number, or "" when the server left it unsaid (-1). */
static char *int_text(int64_t v)
{
	return v >= 0 ? xasprintf("%lld", (long long)v) : xstrdup("");
}

static char *bytes_text(int64_t v)
{
	char b[16];
	if (v < 0)
		return xstrdup("");
	cli_format_bytes((uint64_t)v, b);
	return xstrdup(b);
}

/* Print a table whose cells the caller filled (ncols per row), then free them. */
static void table_out(const char *const *headers, size_t ncols, char **cells, size_t nrows,
		      const int *right, int wide)
{
	cli_table_print(stdout, CLI_TABLE_PLAIN, headers, ncols, (const char *const *)cells,
			nrows, right, cli_terminal_width(STDOUT_FILENO, wide));
	for (size_t i = 0; i < ncols * nrows; i++)
		free(cells[i]);
	free(cells);
}

/* --- ls ---------------------------------------------------------------------- */

static void ls_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse ls [--json] [--wide]\n\n"
		     "Lists the datasets at LAKEHOUSE_URL with their latest version: name,\n"
		     "version, rows, size and when it last changed.\n");
}

int cli_ls_main(int argc, char **argv)
{
	struct opts o;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct manifest_summary *list = NULL;
	size_t n = 0;
	int rc;

	if (parse_args(argc, argv, 0, 0, ls_usage, &o, &rc) != 0)
		return rc;
	struct catalog_client *cat = cli_catalog_open();
	if (catalog_client_datasets(cat, &call, &list, &n, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	if (o.json) {
		json_t *j = list_json("datasets", NULL, list, n);
		print_json(j);
		json_decref(j);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "no datasets yet; add one with: lakehouse ingest FILE.csv\n");
		goto out;
	}
	static const char *const headers[] = { "NAME", "VERSION", "ROWS", "SIZE", "UPDATED" };
	static const int right[] = { 0, 1, 1, 1, 0 };
	char **cells = xcalloc(5 * n, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		const struct manifest_summary *d = &list[i];
		cells[5 * i + 0] = xstrdup(d->name);
		cells[5 * i + 1] = int_text(d->version);
		cells[5 * i + 2] = int_text(d->row_count);
		cells[5 * i + 3] = bytes_text(d->size_bytes);
		cells[5 * i + 4] = xstrdup(d->updated_at);
	}
	table_out(headers, 5, cells, n, right, o.wide);
out:
	free(list);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	return rc;
}

/* "label value" when the manifest says it. */
static void print_field(const char *label, const char *v)
{
	if (v[0])
		printf("%s%s\n", label, v);
}

/* --version N: what the server accepts (catalogd's parse_version), said in
 * its words when it is not. */
static int parse_version(const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < 1) {
		fprintf(stderr, "lakehouse: version must be a positive integer\n");
		return -1;
	}
	*out = v;
	return 0;
}

/* --- show -------------------------------------------------------------------- */

static void show_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse show NAME [--version N] [--json] [--wide]\n\n"
		     "Prints dataset NAME's manifest (the latest version, or version N):\n"
		     "version, rows, size, objects, schema fingerprint, times and the schema\n"
		     "(a type fixed by ingest --types says \"(declared)\").\n");
}

int cli_show_main(int argc, char **argv)
{
	struct opts o;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct manifest *m = NULL;
	int64_t version = 0;
	int rc;

	if (parse_args(argc, argv, 1, 1, show_usage, &o, &rc) != 0)
		return rc;
	if (o.version && parse_version(o.version, &version) != 0)
		return CLI_FAILED;
	struct catalog_client *cat = cli_catalog_open();
	if (catalog_client_manifest(cat, &call, o.name, version, &m, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	if (o.json) {
		json_t *j = manifest_to_json(m);
		print_json(j);
		json_decref(j);
		goto out;
	}
	char size[16];
	cli_format_bytes((uint64_t)m->size_bytes, size);
	printf("name:         %s\n", m->name);
	printf("version:      %lld\n", (long long)m->version);
	printf("rows:         %lld\n", (long long)m->row_count);
	printf("size:         %s in %zu object%s\n", size, m->nobjects, m->nobjects == 1 ? "" : "s");
	print_field("fingerprint:  ", m->fingerprint);
	print_field("created:      ", m->created_at);
	print_field("updated:      ", m->updated_at);
	printf("\n");
	size_t n = m->ncolumns;
	static const char *const headers[] = { "COLUMN", "TYPE", "NULLABLE" };
	char **cells = xcalloc(3 * n + 1, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		cells[3 * i + 0] = xstrdup(m->columns[i].name);
		int declared = 0;                /* fixed by ?types= (ADR 0171) */
		for (size_t k = 0; k < m->ndeclared && !declared; k++)
			declared = !strcmp(m->declared[k].name, m->columns[i].name);
		cells[3 * i + 1] = declared ? xasprintf("%s (declared)", m->columns[i].type)
					    : xstrdup(m->columns[i].type);
		cells[3 * i + 2] = xstrdup(m->columns[i].nullable ? "yes" : "no");
	}
	table_out(headers, 3, cells, n, NULL, o.wide);
out:
	manifest_unref(m);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	return rc;
}

/* --- versions ---------------------------------------------------------------- */

static void versions_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse versions NAME [--json] [--wide]\n\n"
		     "Lists every version of dataset NAME: version, rows, size, how it was\n"
		     "made (replace or append) and when. Query an old one as \"NAME@VERSION\".\n");
}

int cli_versions_main(int argc, char **argv)
{
	struct opts o;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct manifest_summary *list = NULL;
	size_t n = 0;
	int rc;

	if (parse_args(argc, argv, 1, 0, versions_usage, &o, &rc) != 0)
		return rc;
	struct catalog_client *cat = cli_catalog_open();
	if (catalog_client_versions(cat, &call, o.name, &list, &n, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	if (o.json) {
		json_t *j = list_json("versions", o.name, list, n);
		print_json(j);
		json_decref(j);
		goto out;
	}
	/* BY: the token that made the version (ADR 0210), shown when any has one */
	static const char *const headers[] = { "VERSION", "ROWS", "SIZE", "MODE", "CREATED", "BY" };
	static const int right[] = { 1, 1, 1, 0, 0, 0 };
	size_t ncol = 5;
	for (size_t i = 0; i < n; i++)
		if (list[i].ingested_by[0])
			ncol = 6;
	char **cells = xcalloc(ncol * n + 1, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		const struct manifest_summary *v = &list[i];
		cells[ncol * i + 0] = int_text(v->version);
		cells[ncol * i + 1] = int_text(v->row_count);
		cells[ncol * i + 2] = bytes_text(v->size_bytes);
		cells[ncol * i + 3] = xstrdup(v->mode);
		cells[ncol * i + 4] = xstrdup(v->created_at);
		if (ncol == 6)
			cells[ncol * i + 5] = xstrdup(v->ingested_by);
	}
	table_out(headers, ncol, cells, n, right, o.wide);
out:
	free(list);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	return rc;
}
