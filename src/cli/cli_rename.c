/* cli_rename.c — `lakehouse rename OLD NEW`: give a dataset a new name
 * (POST /v1/datasets/OLD/rename {"to": "NEW"}, a write; ADR 0175).
 *
 * Renaming loses nothing (every version, the history, the objects and the
 * search index stay with the dataset) and can be undone by renaming back,
 * so it does not ask. The new name obeys the name rules and must not equal
 * another dataset's name in any letter case; the server judges both, and
 * its words (400 bad_name, 409 name_conflict, 404) are what the user sees.
 * Afterwards it says that queries and "OLD@N" must use the new name and
 * how long the old name keeps answering "renamed to NEW".
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/manifest.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse rename OLD NEW\n"
		"\n"
		"Renames dataset OLD to NEW in the catalog at LAKEHOUSE_URL. Every version,\n"
		"its history, its objects and its search index stay with the dataset:\n"
		"query \"NEW\" and \"NEW@N\" from now on. For %lld days the old name answers\n"
		"\"renamed to NEW\" (queries too), until a dataset is created under it.\n"
		"NEW follows the name rules ([A-Za-z_][A-Za-z0-9_]*, at most 64) and must\n"
		"not equal another dataset's name in any letter case.\n",
		(long long)(LH_RENAME_REDIRECT_MS / (86400ll * 1000)));
}

int cli_rename_main(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	struct catalog_client *cat = NULL;
	struct manifest *m = NULL;
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			return CLI_OK;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			return CLI_USAGE;
		} else if (!from) {
			from = a;
		} else if (!to) {
			to = a;
		} else {
			fprintf(stderr, "lakehouse: rename takes two names, OLD and NEW\n\n");
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (!to) {
		usage(stderr);
		return CLI_USAGE;
	}
	cat = cli_catalog_open();
	if (catalog_client_rename(cat, &call, from, to, &m, &err) != 0) {
		rc = cli_report_call(&call, &err);
		goto out;
	}
	rc = CLI_OK;
	printf("renamed %s to %s (%lld version%s kept)\n"
	       "query it as %s, and its versions as \"%s@N\"; for %lld days \"%s\" answers "
	       "\"renamed to %s\"\n",
	       from, m->name, (long long)m->version, m->version == 1 ? "" : "s", m->name, m->name,
	       (long long)(LH_RENAME_REDIRECT_MS / (86400ll * 1000)), from, m->name);
out:
	manifest_unref(m);
	catalog_client_destroy(cat);
	lh_error_clear(&err);
	return rc;
}
