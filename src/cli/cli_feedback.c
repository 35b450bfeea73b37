/* cli_feedback.c — `lakehouse feedback NAME QUERY ID SCORE [--json]`: rate
 * one row for one search through the gateway's POST /v1/search/feedback
 * (SPEC 13, docs/cli.md, ADR 0190). The rating is appended to the dataset
 * NAME__feedback; `lakehouse search NAME QUERY --feedback` then uses it.
 *
 * ID is sent as text: the server reads it as the index's id column is
 * typed (a whole number for an int64 column). SCORE is a number from -1
 * (rejected) to 1 (placed); the server checks the range and the id, and
 * its words are printed as they are (cli_http.c).
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/xmalloc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: lakehouse feedback NAME QUERY ID SCORE [--json]\n"
		"\n"
		"Records that, for the search QUERY over dataset NAME, the row whose id is ID\n"
		"was good or bad: SCORE from -1 (rejected) to 1 (placed, shortlisted). The\n"
		"rating is kept in the dataset NAME__feedback (queryable with SQL, never\n"
		"edited), and `lakehouse search NAME ... --feedback` moves rated rows up or\n"
		"down for searches close to QUERY. ID is the value of the column the index\n"
		"declares with --id. Needs a write token when auth is on.\n"
		"\n"
		"  --json           print the server's JSON answer\n"
		"\n"
		"examples:\n"
		"  lakehouse feedback candidates \"forklift operator osha\" 17 1\n"
		"  lakehouse feedback candidates \"night shift nurse\" C-204 -1\n");
}

int cli_feedback_main(int argc, char **argv)
{
	const char *pos[4] = { 0 };
	size_t npos = 0;
	int json = 0, rc;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			usage(stdout);
			return CLI_OK;
		}
		if (!strcmp(a, "--json")) {
			json = 1;
		} else if (a[0] == '-' && a[1] == '-' && npos < 4) {
			fprintf(stderr, "lakehouse: unknown option \"%s\"\n\n", a);
			usage(stderr);
			return CLI_USAGE;
		} else if (npos < 4) {
			pos[npos++] = a;   /* a SCORE of -1 is a value, not an option */
		} else {
			fprintf(stderr, "lakehouse: too many arguments (quote a QUERY of several "
					"words)\n\n");
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (npos < 4) {
		fprintf(stderr, "lakehouse: feedback needs NAME, QUERY, ID and SCORE\n\n");
		usage(stderr);
		return CLI_USAGE;
	}
	char *end = NULL;
	errno = 0;
	double score = strtod(pos[3], &end);
	if (errno || end == pos[3] || *end || !isfinite(score)) {
		fprintf(stderr, "lakehouse: SCORE must be a number from -1 to 1, got \"%s\"\n\n",
			pos[3]);
		usage(stderr);
		return CLI_USAGE;
	}
	json_t *req = json_object();
	json_t *name = json_string(pos[0]), *query = json_string(pos[1]), *id = json_string(pos[2]);
	if (!name || !query || !id) {
		fprintf(stderr, "lakehouse: NAME, QUERY and ID must be valid UTF-8 text\n");
		json_decref(name);
		json_decref(query);
		json_decref(id);
		json_decref(req);
		return CLI_USAGE;
	}
	json_object_set_new(req, "dataset", name);
	json_object_set_new(req, "query", query);
	json_object_set_new(req, "id", id);
	json_object_set_new(req, "score", json_real(score));
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	json_t *ans = NULL;
	rc = cli_json("POST", "/v1/search/feedback", body, &ans);
	free(body);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		char *text = json_dumps(ans, JSON_INDENT(2));
		printf("%s\n", text ? text : "null");
		free(text);
	} else {
		printf("recorded: row %s rated %+g for \"%s\" in %s@%lld\n", pos[2], score, pos[1],
		       json_string_value(json_object_get(ans, "feedback_dataset")),
		       (long long)json_integer_value(json_object_get(ans, "version")));
	}
	json_decref(ans);
	return CLI_OK;
}
