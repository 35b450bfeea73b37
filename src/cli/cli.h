/* cli.h — the client commands of `lakehouse`, talking to LAKEHOUSE_URL
 * (default http://127.0.0.1:8080) through the gateway's /v1 API (docs/cli.md).
 * Each returns the process exit code: 0 on success, 1 when the server
 * answered an error (its message is printed), 2 on bad usage. */
#ifndef LH_CLI_H
#define LH_CLI_H

int cli_ingest_main(int argc, char **argv);    /* ingest [NAME] FILE [--mode append] */
int cli_query_main(int argc, char **argv);     /* query SQL [--format F] [--output FILE] */
int cli_ls_main(int argc, char **argv);        /* ls */
int cli_show_main(int argc, char **argv);      /* show NAME */
int cli_versions_main(int argc, char **argv);  /* versions NAME */
int cli_drop_main(int argc, char **argv);      /* drop NAME [--yes] */
int cli_rename_main(int argc, char **argv);    /* rename OLD NEW */
int cli_gc_main(int argc, char **argv);        /* gc [--dry-run] [--grace DURATION] */
int cli_token_main(int argc, char **argv);     /* token new NAME [--role R] [--file F] */
int cli_mask_main(int argc, char **argv);      /* mask NAME [COLS] [--clear] */
int cli_index_main(int argc, char **argv);     /* index NAME [--text COLS [--id C] [--embedder E] | --drop] */
int cli_search_main(int argc, char **argv);    /* search NAME QUERY [--where SQL] [-k N] [--mode M] */
int cli_feedback_main(int argc, char **argv);  /* feedback NAME QUERY ID SCORE */

#endif
