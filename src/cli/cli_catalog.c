/* cli_catalog.c — the catalog commands: `lakehouse ls`, `lakehouse show
 * NAME [--version N]`, `lakehouse versions NAME`. Each reads one catalog
 * endpoint through the gateway and prints it for people (aligned columns cut
 * to the terminal's width; --wide or a pipe keeps values whole), or the
 * server's JSON as is with --json.
 *
 * The list endpoints are read leniently: a top-level array, or an object
 * holding it under "datasets"/"versions", so the commands do not break if
 * catalogd wraps its lists differently.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/xmalloc.h"

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

static const json_t *list_of(const json_t *j, const char *field)
{
	if (json_is_array(j))
		return j;
	const json_t *a = json_object_get(j, field);
	return json_is_array(a) ? a : NULL;
}

static char *int_text(const json_t *v)
{
	return json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v)) : xstrdup("");
}

static char *bytes_text(const json_t *v)
{
	char b[16];
	if (!json_is_integer(v))
		return xstrdup("");
	cli_format_bytes((uint64_t)json_integer_value(v), b);
	return xstrdup(b);
}

static char *str_text(const json_t *v)
{
	return xstrdup(json_is_string(v) ? json_string_value(v) : "");
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
	json_t *res = NULL;
	int rc;

	if (parse_args(argc, argv, 0, 0, ls_usage, &o, &rc) != 0)
		return rc;
	rc = cli_json("GET", "/v1/catalog/datasets", NULL, &res);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		print_json(res);
		goto out;
	}
	const json_t *list = list_of(res, "datasets");
	size_t n = json_array_size(list);
	if (n == 0) {
		fprintf(stderr, "no datasets yet; add one with: lakehouse ingest FILE.csv\n");
		goto out;
	}
	static const char *const headers[] = { "NAME", "VERSION", "ROWS", "SIZE", "UPDATED" };
	static const int right[] = { 0, 1, 1, 1, 0 };
	char **cells = xcalloc(5 * n, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		const json_t *d = json_array_get(list, i);
		cells[5 * i + 0] = str_text(json_object_get(d, "name"));
		cells[5 * i + 1] = int_text(json_object_get(d, "version"));
		cells[5 * i + 2] = int_text(json_object_get(d, "row_count"));
		cells[5 * i + 3] = bytes_text(json_object_get(d, "size_bytes"));
		cells[5 * i + 4] = str_text(json_object_get(d, "updated_at"));
	}
	table_out(headers, 5, cells, n, right, o.wide);
out:
	json_decref(res);
	return CLI_OK;
}

/* "label value" when the manifest has the string field. */
static void print_field(const char *label, const json_t *v)
{
	if (json_is_string(v))
		printf("%s%s\n", label, json_string_value(v));
}

/* --- show -------------------------------------------------------------------- */

static void show_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse show NAME [--version N] [--json] [--wide]\n\n"
		     "Prints dataset NAME's manifest (the latest version, or version N):\n"
		     "version, rows, size, objects, schema fingerprint, times and the schema.\n");
}

int cli_show_main(int argc, char **argv)
{
	struct opts o;
	json_t *m = NULL;
	int rc;

	if (parse_args(argc, argv, 1, 1, show_usage, &o, &rc) != 0)
		return rc;
	char *path = o.version ? cli_url_encoded("/v1/catalog/manifest/", o.name, "?version=")
			       : cli_url_encoded("/v1/catalog/manifest/", o.name, "");
	if (o.version) {
		char *v = cli_url_encoded(path, o.version, "");
		free(path);
		path = v;
	}
	rc = cli_json("GET", path, NULL, &m);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		print_json(m);
		goto out;
	}
	char size[16];
	cli_format_bytes((uint64_t)json_integer_value(json_object_get(m, "size_bytes")), size);
	const json_t *objects = json_object_get(m, "objects");
	const json_t *schema = json_object_get(m, "schema");
	const char *name = json_string_value(json_object_get(m, "name"));
	printf("name:         %s\n", name ? name : o.name);
	printf("version:      %lld\n", (long long)json_integer_value(json_object_get(m, "version")));
	printf("rows:         %lld\n", (long long)json_integer_value(json_object_get(m, "row_count")));
	printf("size:         %s in %zu object%s\n", size, json_array_size(objects),
	       json_array_size(objects) == 1 ? "" : "s");
	print_field("fingerprint:  ", json_object_get(m, "schema_fingerprint"));
	print_field("created:      ", json_object_get(m, "created_at"));
	print_field("updated:      ", json_object_get(m, "updated_at"));
	printf("\n");
	size_t n = json_array_size(schema);
	static const char *const headers[] = { "COLUMN", "TYPE", "NULLABLE" };
	char **cells = xcalloc(3 * n + 1, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(schema, i);
		cells[3 * i + 0] = str_text(json_object_get(c, "name"));
		cells[3 * i + 1] = str_text(json_object_get(c, "type"));
		cells[3 * i + 2] = xstrdup(json_is_true(json_object_get(c, "nullable")) ? "yes" : "no");
	}
	table_out(headers, 3, cells, n, NULL, o.wide);
out:
	json_decref(m);
	return CLI_OK;
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
	json_t *res = NULL;
	int rc;

	if (parse_args(argc, argv, 1, 0, versions_usage, &o, &rc) != 0)
		return rc;
	char *path = cli_url_encoded("/v1/catalog/versions/", o.name, "");
	rc = cli_json("GET", path, NULL, &res);
	free(path);
	if (rc != CLI_OK)
		return rc;
	if (o.json) {
		print_json(res);
		goto out;
	}
	const json_t *list = list_of(res, "versions");
	size_t n = json_array_size(list);
	static const char *const headers[] = { "VERSION", "ROWS", "SIZE", "MODE", "CREATED" };
	static const int right[] = { 1, 1, 1, 0, 0 };
	char **cells = xcalloc(5 * n + 1, sizeof *cells);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(list, i);
		cells[5 * i + 0] = int_text(json_object_get(v, "version"));
		cells[5 * i + 1] = int_text(json_object_get(v, "row_count"));
		cells[5 * i + 2] = bytes_text(json_object_get(v, "size_bytes"));
		cells[5 * i + 3] = str_text(json_object_get(v, "mode"));
		cells[5 * i + 4] = str_text(json_object_get(v, "created_at"));
	}
	table_out(headers, 5, cells, n, right, o.wide);
out:
	json_decref(res);
	return CLI_OK;
}
