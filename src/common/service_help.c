/* service_help.c — what `lakehouse <server> --help` says each server
 * subcommand runs (service.c prints it between the usage line and the
 * flags). One entry per server subcommand of src/main.c; the flags are
 * common to all of them and described by service.c itself.
 */
#include "common/service_help.h"

#include <string.h>

struct service_help {
	const char *cmd;
	const char *about;
};

static const struct service_help helps[] = {
	{ "serve",
	  "Runs the whole lakehouse in one process: the gateway (the /v1 API and the\n"
	  "web UI) on --bind, default 127.0.0.1:8080, and behind it storaged (the\n"
	  "object store), catalogd (the catalog), ingestd (CSV ingest) and queryd\n"
	  "(read-only SQL), each on a free loopback port. Data lives under --data-dir\n"
	  "(default ./lakehouse-data). Prints \"lakehouse is running at URL\" once\n"
	  "every service answers. Bound to an address other than loopback it needs\n"
	  "[auth] tokens.\n" },
	{ "storaged",
	  "Runs storaged, the object store: write-once objects (the datasets'\n"
	  "Parquet) on local disk under <data-dir>/objects, or in an S3 bucket with\n"
	  "[storaged] backend = \"s3\". Default bind 127.0.0.1:0 (a free port; the\n"
	  "\"listening on\" line names it).\n" },
	{ "catalogd",
	  "Runs catalogd, the catalog: datasets, their versions and manifests, in\n"
	  "SQLite at <data-dir>/catalog.db or in PostgreSQL ([catalogd] backend).\n"
	  "Set [catalogd] storaged_url for garbage collection (lakehouse gc).\n"
	  "Default bind 127.0.0.1:0 (a free port).\n" },
	{ "ingestd",
	  "Runs ingestd, the CSV ingest service: it spools each upload under\n"
	  "<data-dir>/spool, infers the schema, writes Parquet to storaged and\n"
	  "registers a version in catalogd. Needs [ingestd] storaged_url and\n"
	  "catalogd_url. Default bind 127.0.0.1:0 (a free port).\n" },
	{ "queryd",
	  "Runs queryd, the read-only SQL service (DuckDB in worker processes): every\n"
	  "dataset is a table, its Parquet cached under <data-dir>/cache. Needs\n"
	  "[queryd] storaged_url and catalogd_url. Default bind 127.0.0.1:0 (a free\n"
	  "port).\n" },
	{ "gateway",
	  "Runs the gateway: the /v1 API and the web UI, forwarding to the services\n"
	  "listed in [gateway] storaged_url, catalogd_url, ingestd_url and queryd_url\n"
	  "(each a list; it balances and health-checks them). Default bind\n"
	  "127.0.0.1:8080.\n" },
};

const char *service_help_about(const char *cmd)
{
	for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
		if (!strcmp(helps[i].cmd, cmd))
			return helps[i].about;
	return NULL;
}
