/* cli_drop.c — `lakehouse drop NAME [--yes]`: delete a dataset and every
 * version of it (DELETE /v1/catalog/manifest/NAME, a write).
 *
 * Dropping is final, so the command asks first: it reads the manifest,
 * says what will go (versions, rows, size) and asks for the dataset's name
 * to be typed again on the terminal (as GitHub does before deleting a
 * repository, ADR 0175): a reflexive "y" or Enter keeps the dataset, and so
 * does a name that differs by a letter or its case.
 * Without a terminal on stdin there is nobody to ask, and it refuses unless
 * --yes says the caller means it (a script must never drop a dataset because
 * stdin happened to hold a "y"). Afterwards it says what was dropped and that
 * the Parquet objects are now garbage for `lakehouse gc`: the catalog forgets
 * them at once, the object store keeps them until gc deletes them.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse drop NAME [--yes]\n"
		"\n"
		"Deletes dataset NAME and all its versions from the catalog at LAKEHOUSE_URL.\n"
		"This cannot be undone: queries of NAME or \"NAME@N\" fail from then on, and\n"
		"ingesting NAME again starts a new dataset at version 1. The Parquet\n"
		"objects stay in the object store as garbage until `lakehouse gc`\n"
		"deletes them (once older than its grace period, 1 h by default).\n"
		"\n"
		"On a terminal it asks for the dataset's name again before dropping;\n"
		"otherwise --yes is required.\n"
		"\n"
		"  --yes   drop without asking\n");
}

/* "3 versions, 6000 rows, 1.6 MiB in 4 objects" from a manifest; the caller
 * frees. The version number counts the versions: they are 1..N. */
static char *describe(const struct manifest *m)
{
	char size[16];
	long long versions = (long long)m->version;
	long long rows = (long long)m->row_count;
	size_t objects = m->nobjects;
	cli_format_bytes((uint64_t)m->size_bytes, size);
	return xasprintf("%lld version%s; the latest has %lld row%s, %s in %zu object%s",
			 versions, versions == 1 ? "" : "s", rows, rows == 1 ? "" : "s", size,
			 objects, objects == 1 ? "" : "s");
}

/* Pure: 1 when the line typed (its end of line, if any, not counted) is
 * exactly `name`, case and all; surrounding spaces count as typed. */
int cli_drop_confirmed(const char *name, const char *line)
{
	size_t n = strcspn(line, "\r\n");
	return n == strlen(name) && !strncmp(line, name, n);
}

/* Ask on stderr, read the answer from the terminal on stdin: 1 when the
 * dataset's name was typed again. */
static int confirm(const char *name, const char *what)
{
	char line[LH_DATASET_NAME_MAX + 16];
	fprintf(stderr, "Drop dataset \"%s\" (%s)? This cannot be undone.\n"
			"Type the dataset's name to drop it, or press Enter to keep it: ", name, what);
	fflush(stderr);
	if (!fgets(line, sizeof line, stdin)) {
		fputc('\n', stderr);
		return 0;
	}
	return cli_drop_confirmed(name, line);
}

int cli_drop_main(int argc, char **argv)
{
	const char *name = NULL;
	int yes = 0, rc;
	struct manifest *m = NULL;
	struct catalog_client *cat = NULL;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	char *what = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--yes") || !strcmp(a, "-y")) {
			yes = 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			return CLI_USAGE;
		} else if (!name) {
			name = a;
		} else {
			fprintf(stderr, "lakehouse: drop takes one dataset name\n\n");
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!name) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!yes && !isatty(STDIN_FILENO)) {
		fprintf(stderr, "lakehouse: not dropping \"%s\": there is no terminal to confirm on; "
				"add --yes to drop it\n", name);
		return CLI_USAGE;
	}

	/* what is about to go (and a clear 404 before asking about nothing) */
	cat = cli_catalog_open();
	if (catalog_client_manifest(cat, &call, name, 0, &m, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	what = describe(m);
	if (!yes && !confirm(name, what)) {
		fprintf(stderr, "lakehouse: not dropped: the name typed was not \"%s\"\n", name);
		rc = CLI_FAILED;
		goto out;
	}

	if (catalog_client_drop(cat, &call, name, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	printf("dropped %s (%s)\n"
	       "its objects are now garbage: `lakehouse gc` deletes them once they are older than "
	       "the grace period (1 h by default)\n", name, what);
out:
	manifest_unref(m);
	catalog_client_destroy(cat);
	lh_error_clear(&err);
	free(what);
	return rc;
}
