/* main.c — the `lakehouse` multi-call binary: one table of subcommands.
 *
 * Servers: serve (all five in one process), storaged, catalogd, ingestd,
 * queryd, gateway. Client commands talk to LAKEHOUSE_URL: ingest, query, ls,
 * show, versions, drop, rename, gc, index, search, mcp (an MCP server on stdio). Each entry's function lives in its module.
 *
 * Only servers block SIGTERM/SIGINT (their sigwait thread stops them
 * cleanly, service.h); a client command keeps the default actions, so
 * Ctrl-C stops it at once.
 */
#include "common/http_client.h"
#include "common/service.h"
#include "storaged/storaged.h"
#include "catalogd/catalogd.h"
#include "ingestd/ingestd.h"
#include "queryd/queryd.h"
#include "gateway/gateway.h"
#include "serve/serve.h"
#include "cli/cli.h"
#include "mcp/mcp.h"
#include "documents/documents.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define LAKEHOUSE_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
	int server;    /* runs until SIGTERM/SIGINT: blocks them for sigwait */
};

static const struct subcommand subcommands[] = {
	{ "serve", serve_main, "run all five services in one process (the default setup)", 1 },
	{ "storaged", storaged_main, "run the object store service", 1 },
	{ "catalogd", catalogd_main, "run the catalog service", 1 },
	{ "ingestd", ingestd_main, "run the CSV ingest service", 1 },
	{ "queryd", queryd_main, "run the read-only SQL service", 1 },
	{ "gateway", gateway_main, "run the gateway (the /v1 API and the web UI)", 1 },
	{ "ingest", cli_ingest_main, "upload a CSV file as a dataset version", 0 },
	{ "query", cli_query_main, "run read-only SQL over the datasets", 0 },
	{ "ls", cli_ls_main, "list the datasets", 0 },
	{ "show", cli_show_main, "show a dataset's manifest and schema", 0 },
	{ "versions", cli_versions_main, "list a dataset's versions", 0 },
	{ "drop", cli_drop_main, "delete a dataset and all its versions (asks first)", 0 },
	{ "rename", cli_rename_main, "give a dataset a new name, keeping its versions", 0 },
	{ "gc", cli_gc_main, "delete objects no version references (--dry-run lists them)", 0 },
	{ "index", cli_index_main, "declare, show or drop a dataset's search index", 0 },
	{ "search", cli_search_main, "search a dataset's rows by words and meaning", 0 },
	{ "feedback", cli_feedback_main, "rate a search result, so later searches learn from it", 0 },
	{ "mask", cli_mask_main, "mark a dataset's personal columns (masked for read and agent tokens)", 0 },
	{ "token", cli_token_main, "make a new named token for [auth] (prints it once)", 0 },
	{ "mcp", mcp_stdio_main, "serve the lakehouse to an AI agent over MCP (stdio)", 0 },
	{ "queryd-worker", queryd_worker_main, NULL, 1 },   /* started by queryd only */
	{ "document-worker", doc_worker_main, NULL, 0 },    /* started to read a PDF only (ADR 0220) */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: lakehouse <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (subcommands[i].help)
			fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(out, "\n`lakehouse <command> --help` describes one command.\n"
		     "lakehouse --version prints the version.\n");
}

int main(int argc, char **argv)
{
	const struct subcommand *cmd = NULL;
	for (size_t i = 0; argc >= 2 && i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			cmd = &subcommands[i];
	if (cmd && cmd->server)
		service_signals_block();   /* before any thread exists */
	else
		signal(SIGPIPE, SIG_IGN);  /* a closed pipe is an EPIPE error to report */
	http_client_global_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("lakehouse %s\n", LAKEHOUSE_VERSION);
		return 0;
	}
	if (cmd)
		return cmd->main(argc - 1, argv + 1);
	fprintf(stderr, "lakehouse: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
