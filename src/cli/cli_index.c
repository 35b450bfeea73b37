/* cli_index.c — `lakehouse index NAME ...`: declare, show and drop a
 * dataset's search index (docs/cli.md; the routes are catalogd's
 * /catalog/index/NAME through the gateway's /v1, catalog_client.h; ADR 0140).
 *
 *   lakehouse index NAME --text a,b,c [--id COL] [--embedder E]   declare
 *   lakehouse index NAME [--json] [--wide]                          show
 *   lakehouse index NAME --drop                                     drop
 *
 * Declaring prints what was declared and that the builder indexes every
 * version from the latest on, in the background; showing prints the
 * declaration and a table of versions with their build state (pending,
 * building, ready, failed) and the reasons of failed builds. A dataset
 * without an index is said in words with the command that declares one.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: lakehouse index NAME --text COL[,COL...] [--id COL] [--embedder E]\n"
		     "       lakehouse index NAME [--json] [--wide]\n"
		     "       lakehouse index NAME --drop\n"
		     "\n"
		     "Declares, shows or drops the search index of dataset NAME.\n"
		     "\n"
		     "With --text, declares which utf8 columns `lakehouse search` looks in. The\n"
		     "index applies to the latest version and every later one; each version's\n"
		     "index is built in the background after it is registered (searches work\n"
		     "meanwhile, more slowly). Declaring the same again changes nothing;\n"
		     "declaring something else replaces the index and builds it again.\n"
		     "\n"
		     "  --text COLS      the columns to search, comma-separated\n"
		     "  --id COL         the column that identifies a row (default: none, rows\n"
		     "                   are known by their position)\n"
		     "  --embedder E     builtin (default, offline), ollama/MODEL or openai/MODEL\n"
		     "\n"
		     "Without options, shows the declaration and each version's build state.\n"
		     "\n"
		     "  --json           print the server's JSON\n"
		     "  --wide           do not cut values to the terminal's width\n"
		     "  --drop           drop the index (the data stays; its parts become garbage\n"
		     "                   for `lakehouse gc`)\n");
}

struct opts {
	const char *name, *text, *id, *embedder;
	int drop, json, wide;
};

/* 0 to go on, or -1 with *rc set (help printed or bad usage). */
static int parse_args(int argc, char **argv, struct opts *o, int *rc)
{
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **value = NULL;
		if (cli_is_help(a)) {
			usage(stdout);
			*rc = CLI_OK;
			return -1;
		} else if (!strcmp(a, "--text")) {
			value = &o->text;
		} else if (!strcmp(a, "--id")) {
			value = &o->id;
		} else if (!strcmp(a, "--embedder")) {
			value = &o->embedder;
		} else if (!strcmp(a, "--drop")) {
			o->drop = 1;
		} else if (!strcmp(a, "--json")) {
			o->json = 1;
		} else if (!strcmp(a, "--wide")) {
			o->wide = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			goto bad;
		} else if (!o->name) {
			o->name = a;
		} else {
			fprintf(stderr, "lakehouse: index takes one dataset name\n\n");
			goto bad;
		}
		if (value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "lakehouse: %s needs a value\n\n", a);
				goto bad;
			}
			*value = argv[++i];
		}
	}
	if (!o->name)
		goto bad;
	if (o->drop && (o->text || o->id || o->embedder)) {
		fprintf(stderr, "lakehouse: --drop cannot be combined with --text, --id or "
				"--embedder\n\n");
		goto bad;
	}
	if (!o->text && (o->id || o->embedder)) {
		fprintf(stderr, "lakehouse: --id and --embedder go with --text COLS (the columns "
				"to search)\n\n");
		goto bad;
	}
	return 0;
bad:
	usage(stderr);
	*rc = CLI_USAGE;
	return -1;
}

/* "a,b, c" -> ["a","b","c"]; NULL (after printing why) for an empty name. */
static json_t *column_list(const char *s)
{
	json_t *arr = json_array();
	while (1) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n) {
			fprintf(stderr, "lakehouse: --text needs column names separated by commas, "
					"e.g. --text title,notes\n");
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_stringn(s, n));
		if (!comma)
			return arr;
		s = comma + 1;
	}
}

static void print_json(const json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", text ? text : "null");
	free(text);
}

static const char *str_or(const json_t *o, const char *field, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, field));
	return s ? s : dflt;
}

static char *int_text(const json_t *v)
{
	return json_is_integer(v) ? xasprintf("%lld", (long long)json_integer_value(v))
				  : xstrdup("-");
}

/* "850 ms", "12.3 s", "4 min 10 s". */
static char *duration_text(const json_t *v)
{
	if (!json_is_integer(v))
		return xstrdup("-");
	long long ms = (long long)json_integer_value(v);
	if (ms < 1000)
		return xasprintf("%lld ms", ms);
	if (ms < 60000)
		return xasprintf("%.1f s", (double)ms / 1000.0);
	return xasprintf("%lld min %lld s", ms / 60000, (ms % 60000) / 1000);
}

/* The declaration and the table of versions, for people. */
static void print_index(const json_t *ix, int wide)
{
	const json_t *decl = json_object_get(ix, "declaration");
	const json_t *text = json_object_get(decl, "text"), *versions, *v;
	size_t i, n;
	printf("search index of %s\n", str_or(ix, "name", "?"));
	printf("  text:         ");
	json_array_foreach(text, i, v) printf("%s%s", i ? ", " : "", json_string_value(v));
	printf("\n  id:           %s\n", str_or(decl, "id", "(none: rows are known by position)"));
	printf("  embedder:     %s\n", str_or(decl, "embedder", "builtin"));
	printf("  from version: %lld\n",
	       (long long)json_integer_value(json_object_get(ix, "from_version")));
	printf("  declared:     %s\n", str_or(ix, "created_at", "?"));
	printf("  fingerprint:  %s\n\n", str_or(ix, "fingerprint", "?"));

	versions = json_object_get(ix, "versions");
	n = json_array_size(versions);
	static const char *const headers[] = { "VERSION", "STATE", "ROWS",   "INDEXED",
					       "BUILD",   "PARTS", "UPDATED" };
	static const int right[] = { 1, 0, 1, 1, 1, 1, 0 };
	char **cells = xcalloc(7 * n + 1, sizeof *cells);
	json_array_foreach(versions, i, v)
	{
		cells[7 * i + 0] = int_text(json_object_get(v, "version"));
		cells[7 * i + 1] = xstrdup(str_or(v, "state", "?"));
		cells[7 * i + 2] = int_text(json_object_get(v, "rows"));
		cells[7 * i + 3] = int_text(json_object_get(v, "rows_indexed"));
		cells[7 * i + 4] = duration_text(json_object_get(v, "build_ms"));
		cells[7 * i + 5] = xasprintf("%zu", json_array_size(json_object_get(v, "parts")));
		cells[7 * i + 6] = xstrdup(str_or(v, "updated_at", "-"));
	}
	cli_table_print(stdout, CLI_TABLE_PLAIN, headers, 7, (const char *const *)cells, n, right,
			cli_terminal_width(1, wide));
	for (i = 0; i < 7 * n; i++)
		free(cells[i]);
	free(cells);
	json_array_foreach(versions, i, v)
	{
		const char *reason = json_string_value(json_object_get(v, "reason"));
		if (!strcmp(str_or(v, "state", ""), "failed"))
			printf("version %lld failed: %s\n",
			       (long long)json_integer_value(json_object_get(v, "version")),
			       reason ? reason : "(no reason given)");
	}
}

int cli_index_main(int argc, char **argv)
{
	struct opts o;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	struct catalog_client *cat = NULL;
	json_t *decl = NULL, *ix = NULL, *prev = NULL;
	char *prev_fp = NULL;
	int rc, created = 0;

	if (parse_args(argc, argv, &o, &rc) != 0)
		return rc;
	cat = cli_catalog_open();
	if (o.drop) {
		if (catalog_client_index_drop(cat, &call, o.name, &err) != 0) {
			rc = cli_report_call(&call, &err);
			goto out;
		}
		printf("dropped the search index of %s; the data stays, and the index's parts are "
		       "garbage for `lakehouse gc`\n",
		       o.name);
		rc = CLI_OK;
		goto out;
	}
	if (o.text) {
		json_t *cols = column_list(o.text);
		if (!cols) {
			rc = CLI_USAGE;
			goto out;
		}
		decl = json_object();
		json_object_set_new(decl, "text", cols);
		if (o.id)
			json_object_set_new(decl, "id", json_string(o.id));
		if (o.embedder)
			json_object_set_new(decl, "embedder", json_string(o.embedder));
		/* what was there before, to say what changed (none is fine) */
		if (catalog_client_index_get(cat, &call, o.name, &prev, &err) == 0)
			prev_fp = xstrdup(str_or(prev, "fingerprint", ""));
		lh_error_clear(&err);
		if (catalog_client_index_declare(cat, &call, o.name, decl, &ix, &created, &err)) {
			rc = cli_report_call(&call, &err);
			goto out;
		}
	} else if (catalog_client_index_get(cat, &call, o.name, &ix, &err)) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	if (o.json) {
		print_json(ix);
		goto out;
	}
	if (o.text && (created || !prev_fp))
		printf("declared the search index of %s: every version from the latest on is "
		       "indexed in the background (`lakehouse index %s` shows the progress)\n\n",
		       o.name, o.name);
	else if (o.text && !strcmp(prev_fp, str_or(ix, "fingerprint", "")))
		printf("the search index of %s was already declared like this; nothing changed\n\n",
		       o.name);
	else if (o.text)
		printf("replaced the search index of %s: every version from the latest on is "
		       "indexed again in the background\n\n",
		       o.name);
	print_index(ix, o.wide);
out:
	json_decref(decl);
	json_decref(ix);
	json_decref(prev);
	free(prev_fp);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	return rc;
}
