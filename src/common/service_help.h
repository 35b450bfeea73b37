/* service_help.h — the help text of the server subcommands (serve,
 * storaged, catalogd, ingestd, queryd, gateway), printed by
 * service_load_config() on --help. */
#ifndef LH_SERVICE_HELP_H
#define LH_SERVICE_HELP_H

/* What subcommand `cmd` runs, as lines of at most 80 columns ending in "\n";
 * static storage. NULL for a name that is not a server subcommand. */
const char *service_help_about(const char *cmd);

#endif
