/* main.c — the `lakehouse` multi-call binary: one table of subcommands.
 *
 * Servers: serve (all five in one process), storaged, catalogd, ingestd,
 * queryd, gateway. Client commands talk to LAKEHOUSE_URL: ingest, query, ls,
 * show, versions, gc. Each entry's function lives in its module.
 */
#include "common/http_client.h"
#include "common/service.h"
#include "storaged/storaged.h"
#include "catalogd/catalogd.h"
#include "ingestd/ingestd.h"

#include <stdio.h>
#include <string.h>

#define LAKEHOUSE_VERSION "0.1.0"

/* While the services land one by one, a subcommand whose module is not in
 * the build yet is a weak NULL and is reported as unavailable. */
#pragma weak storaged_main
#pragma weak catalogd_main


struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "storaged", storaged_main, "run the object store service" },
	{ "catalogd", catalogd_main, "run the catalog service" },
	{ "ingestd", ingestd_main, "run the CSV ingest service" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: lakehouse <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(out, "  %-10s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(out, "\n`lakehouse <command> --help` describes one command.\n"
		     "lakehouse --version prints the version.\n");
}

int main(int argc, char **argv)
{
	service_signals_block();
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
	for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
		if (strcmp(argv[1], subcommands[i].name) != 0)
			continue;
		if (!subcommands[i].main) {
			fprintf(stderr, "lakehouse: \"%s\" is not built into this binary\n", argv[1]);
			return 2;
		}
		return subcommands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "lakehouse: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
