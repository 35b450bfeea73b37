/* cli_mask.c — `lakehouse mask NAME [COLUMNS] [--clear]`: a dataset's
 * personal columns (ADR 0211, docs/cli.md). With COLUMNS (comma-separated)
 * they become the masked ones (an admin token: PUT
 * /v1/catalog/masks/NAME); --clear unmarks them all (DELETE); with neither,
 * it shows them (GET). Read and agent tokens then read those columns as
 * NULL everywhere.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/names.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mask_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse mask NAME [COLUMN,COLUMN...] [--clear]\n\n"
		     "Marks a dataset's personal columns (e.g. email,phone,dob). Tokens with the\n"
		     "role read or agent then read them as NULL everywhere: SQL, search, MCP and\n"
		     "downloads; write and admin tokens see them. Needs an admin token.\n\n"
		     "  (no columns)  show the masked columns\n"
		     "  --clear       unmark them all\n");
}

static void print_columns(const char *name, const json_t *answer)
{
	const json_t *cols = json_object_get(answer, "columns");
	if (!json_array_size(cols)) {
		printf("%s has no masked columns\n", name);
		return;
	}
	printf("%s masks for read and agent tokens:", name);
	size_t i;
	const json_t *c;
	json_array_foreach(cols, i, c)
		printf("%s %s", i ? "," : "", json_string_value(c));
	printf("\n");
}

int cli_mask_main(int argc, char **argv)
{
	const char *name = NULL, *cols = NULL;
	int clear = 0, rc;
	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			mask_usage(stdout);
			return CLI_OK;
		} else if (!strcmp(argv[i], "--clear")) {
			clear = 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", argv[i]);
			mask_usage(stderr);
			return CLI_USAGE;
		} else if (!name) {
			name = argv[i];
		} else if (!cols) {
			cols = argv[i];
		} else {
			mask_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!name || (clear && cols)) {
		mask_usage(stderr);
		return CLI_USAGE;
	}
	if (!dataset_name_valid(name)) {
		fprintf(stderr, "lakehouse: \"%s\" is not a dataset name\n", name);
		return CLI_USAGE;
	}
	char *path = cli_url_encoded("/v1/catalog/masks/", name, "");
	json_t *answer = NULL, *body = NULL;
	char *text = NULL;
	if (cols) {
		json_t *arr = json_array();
		const char *p = cols;
		while (*p) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			while (n && p[0] == ' ') {
				p++;
				n--;
			}
			while (n && p[n - 1] == ' ')
				n--;
			if (n)
				json_array_append_new(arr, json_stringn(p, n));
			p += comma ? (size_t)(comma - p) + 1 : strlen(p);
		}
		body = json_pack("{s:o}", "columns", arr);
		text = json_dumps(body, JSON_COMPACT);
	}
	rc = cli_json(cols ? "PUT" : clear ? "DELETE" : "GET", path, text, &answer);
	if (rc == CLI_OK)
		print_columns(name, answer);
	json_decref(answer);
	json_decref(body);
	free(text);
	free(path);
	return rc;
}
