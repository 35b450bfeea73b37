/* cli_gc.c — `lakehouse gc [--dry-run] [--grace DURATION] [--json]`: garbage
 * collection of the object store (ADR 0095, docs/cli.md) through POST
 * /v1/catalog/gc. Prints the candidates (size, age, key — the key last and
 * whole, it is what a person copies) and the totals, or the server's JSON
 * with --json. The safety argument lives in catalogd/gc.c; this file only
 * asks.
 */
#include "cli/cli.h"
#include "cli/cli_int.h"

#include "common/catalog_client.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void gc_usage(FILE *out)
{
	fprintf(out, "usage: lakehouse gc [--dry-run] [--grace DURATION] [--json]\n\n"
		     "Deletes the objects under datasets/ that no version of any dataset\n"
		     "references (left by schema-drift refusals, interrupted ingests and\n"
		     "dropped datasets), and the search-index parts under _index/ that no\n"
		     "index build references (of replaced or dropped indexes), once they\n"
		     "are older than the grace period.\n\n"
		     "  --dry-run         list what would be deleted; delete nothing\n"
		     "  --grace DURATION  only objects at least this old: 0, 90s, 30m, 1h, 7d\n"
		     "                    (default 1h)\n"
		     "  --json            print the server's JSON answer\n");
}

/* "0", "90", "90s", "30m", "1h", "7d" into seconds; 0 or -1. */
static int parse_duration(const char *s, int64_t *out)
{
	int64_t v = 0, mul = 1;
	const char *p = s;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > LH_GC_MAX_GRACE_S)
			return -1;
	}
	if (*p == 's')
		mul = 1;
	else if (*p == 'm')
		mul = 60;
	else if (*p == 'h')
		mul = 3600;
	else if (*p == 'd')
		mul = 86400;
	else if (*p)
		return -1;
	if (*p && p[1])
		return -1;
	if (v > LH_GC_MAX_GRACE_S / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/* 45s, 12m, 3h, 5d: the largest unit that fits. */
static void format_age(int64_t s, char out[24])
{
	if (s < 120)
		snprintf(out, 24, "%llds", (long long)s);
	else if (s < 2 * 3600)
		snprintf(out, 24, "%lldm", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(out, 24, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, 24, "%lldd", (long long)(s / 86400));
}

static long long int_of(const json_t *o, const char *field)
{
	return (long long)json_integer_value(json_object_get(o, field));
}

static void print_report(const json_t *res, int dry_run, int64_t grace)
{
	const json_t *cands = json_object_get(res, "candidates");
	size_t n = json_array_size(cands);
	uint64_t total = 0;
	char size[16], age[24], grace_text[24];

	if (n)
		printf("%10s %6s  %s\n", "SIZE", "AGE", "KEY");
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(cands, i);
		const char *key = json_string_value(json_object_get(c, "key"));
		int kept = !dry_run && !json_is_true(json_object_get(c, "deleted"));
		total += (uint64_t)int_of(c, "size");
		cli_format_bytes((uint64_t)int_of(c, "size"), size);
		format_age(int_of(c, "age_seconds"), age);
		printf("%10s %6s  %s%s\n", size, age, key ? key : "",
		       kept ? "  (kept: referenced again)" : "");
	}
	format_age(grace, grace_text);
	cli_format_bytes(total, size);
	if (dry_run) {
		printf("%zu object%s, %s would be deleted (dry run, grace %s)\n", n,
		       n == 1 ? "" : "s", size, grace_text);
	} else {
		char freed[16];
		cli_format_bytes((uint64_t)int_of(res, "bytes_freed"), freed);
		printf("deleted %lld object%s, %s freed (grace %s)\n", int_of(res, "deleted"),
		       int_of(res, "deleted") == 1 ? "" : "s", freed, grace_text);
	}
	printf("scanned %lld object%s under datasets/ and _index/: %lld referenced, %lld younger "
	       "than the grace period\n", int_of(res, "scanned"), int_of(res, "scanned") == 1 ? "" : "s",
	       int_of(res, "referenced"), int_of(res, "too_young"));
	if (json_is_true(json_object_get(res, "truncated")))
		printf("more garbage remains; run lakehouse gc again\n");
}

int cli_gc_main(int argc, char **argv)
{
	int dry_run = 0, json = 0, rc;
	int64_t grace = LH_GC_DEFAULT_GRACE_S;
	json_t *res = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (cli_is_help(a)) {
			gc_usage(stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--dry-run")) {
			dry_run = 1;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--grace") && i + 1 < argc) {
			if (parse_duration(argv[++i], &grace)) {
				fprintf(stderr, "lakehouse: --grace \"%s\" is not a duration like 0, "
						"90s, 30m, 1h or 7d\n", argv[i]);
				return CLI_USAGE;
			}
		} else {
			fprintf(stderr, "lakehouse: %s \"%s\"\n\n",
				a[0] == '-' ? "unknown option" : "unexpected argument", a);
			gc_usage(stderr);
			return CLI_USAGE;
		}
	}
	struct catalog_client *cat = cli_catalog_open();
	struct lh_error err = { 0 };
	struct peer_call call = { 0 };
	rc = catalog_client_gc(cat, &call, dry_run, grace, &res, &err) == 0
		     ? CLI_OK : cli_report_call(&call, &err);
	lh_error_clear(&err);
	catalog_client_destroy(cat);
	if (rc != CLI_OK)
		return rc;
	if (json) {
		char *s = json_dumps(res, JSON_INDENT(2));
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		print_report(res, dry_run, grace);
	}
	json_decref(res);
	return CLI_OK;
}
