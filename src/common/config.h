/* config.h — the lakehouse configuration: one struct, filled in three layers.
 *
 *   1. defaults (config_defaults): everything has one, so no file is needed;
 *   2. lakehouse.toml (config_parse_toml): sections [gateway] [storaged]
 *      [catalogd] [ingestd] [queryd] [auth] [http], `key = value` lines,
 *      strings in double quotes, integers, booleans, arrays of strings;
 *   3. environment (config_apply_env): LAKEHOUSE_<SECTION>_<KEY>, plus
 *      LAKEHOUSE_DATA_DIR;
 *   4. flags (--data-dir DIR, --bind HOST:PORT, --config FILE) applied by the
 *      subcommand after the rest.
 * Unknown sections/keys and bad values are errors that name the file and line
 * (or the variable). The parsers do no I/O, so they are unit-tested and fuzzed.
 *
 * Sizes accept plain integers or a suffix K/M/G/KiB/MiB/GiB ("256MiB").
 * Durations accept integers (ms for *_ms keys) or "30s", "5m", "2h".
 */
#ifndef LH_CONFIG_H
#define LH_CONFIG_H
#include "common/tokens.h"

#include <stddef.h>
#include <stdint.h>

#define LH_CFG_STR 512
#define LH_CFG_URL_LIST 2048   /* [gateway] *_url: a comma-separated list */
#define LH_CFG_MAX_TOKENS 16
#define LH_CFG_TOKEN_LINE 192       /* one NAME:ROLE:TOKEN line of [auth] tokens */
#define LH_CFG_MAX_NAMED_TOKENS 128 /* [auth] tokens and tokens_file together */

struct lh_error;

struct lh_config {
	char data_dir[LH_CFG_STR];          /* LAKEHOUSE_DATA_DIR, default ./lakehouse-data */
	/* top-level `log`: "auto", "json", "human" or "quiet" (log.h); "" =
	 * auto. LAKEHOUSE_LOG and --log override it; service.c applies them. */
	char log[8];
	struct {
		unsigned connection_timeout_s;   /* [http] connection_timeout_s */
		unsigned max_connections;        /* [http] max_connections */
		/* [http] allowed_hosts: host names every service answers to
		 * besides IP literals and localhost (http_policy.h), a
		 * comma-separated list; "" = none. */
		char allowed_hosts[LH_CFG_URL_LIST];
	} http;
	struct {
		char bind[LH_CFG_STR];           /* default 127.0.0.1:8080 */
		/* Each a comma-separated list of 1..LH_UPSTREAM_MAX_MEMBERS base
		 * URLs of interchangeable instances (ADR 0075), "" = the embedded
		 * one (serve) or not configured. */
		char storaged_url[LH_CFG_URL_LIST];
		char catalogd_url[LH_CFG_URL_LIST];
		char ingestd_url[LH_CFG_URL_LIST];
		char queryd_url[LH_CFG_URL_LIST];
		unsigned upstream_timeout_ms;    /* default 600000 */
		unsigned session_ttl_ms;         /* a web UI sign-in lasts this long
						  * (ADR 0212); default 12 h */
		/* The gateway's URL as Iceberg clients reach it (ADR 0236):
		 * tables' HTTP locations start with it; "" = http(s)://<the
		 * request's Host>. */
		char public_url[LH_CFG_STR];
	} gateway;
	struct {
		char bind[LH_CFG_STR];           /* default 127.0.0.1:0 under serve, :8081 alone */
		char backend[16];                /* "disk" | "s3" */
		char root[LH_CFG_STR];           /* "" = <data_dir>/objects */
		uint64_t max_object_bytes;       /* default LH_DEFAULT_MAX_OBJECT_BYTES */
		char s3_endpoint[LH_CFG_STR];
		char s3_bucket[LH_CFG_STR];
		char s3_region[64];
		int single_writer;               /* 1: run on a store without
						  * conditional writes (ADR 0203) */
	} storaged;
	struct {
		char bind[LH_CFG_STR];
		char backend[16];                /* "sqlite" | "postgres" */
		char sqlite_path[LH_CFG_STR];    /* "" = <data_dir>/catalog.db */
		char postgres_dsn[LH_CFG_STR];
		char storaged_url[LH_CFG_STR];   /* for GC; "" = none (serve: the embedded one) */
	} catalogd;
	struct {
		char bind[LH_CFG_STR];
		uint64_t max_upload_bytes;       /* default LH_DEFAULT_MAX_UPLOAD_BYTES */
		char spool_dir[LH_CFG_STR];      /* "" = <data_dir>/spool */
		char storaged_url[LH_CFG_URL_LIST];   /* lists: upstream pools (ADR 0204) */
		char catalogd_url[LH_CFG_URL_LIST];
		uint64_t duckdb_memory_bytes;    /* default 256 MiB */
		unsigned duckdb_threads;         /* default 2 */
		unsigned max_document_pages;     /* a PDF's pages, default LH_DOC_MAX_PAGES (ADR 0220) */
		unsigned document_timeout_ms;    /* one document's reading, default LH_DOC_MAX_SECONDS */
		uint64_t document_memory_bytes;  /* the PDF worker's RLIMIT_AS, default LH_DOC_WORKER_BYTES */
	} ingestd;
	struct {
		char bind[LH_CFG_STR];
		unsigned timeout_ms;             /* default LH_DEFAULT_QUERY_TIMEOUT_MS */
		uint64_t cache_bytes;            /* default LH_DEFAULT_CACHE_BYTES */
		char cache_dir[LH_CFG_STR];      /* "" = <data_dir>/cache */
		uint64_t duckdb_memory_bytes;    /* default 1 GiB */
		unsigned duckdb_threads;         /* default 2 */
		int64_t max_rows;                /* default result row cap, 0 = none */
		unsigned workers;                /* worker processes = concurrent queries */
		uint64_t worker_memory_bytes;    /* a worker's hard cap, 0 = derived */
		uint64_t spill_bytes;            /* a worker's DuckDB spill cap */
		char storaged_url[LH_CFG_URL_LIST];   /* lists: upstream pools (ADR 0204) */
		char catalogd_url[LH_CFG_URL_LIST];
		/* ingestd, where search feedback is appended (ADR 0190); "" =
		 * the embedded one (serve) or none: POST /search/feedback 502 */
		char ingestd_url[LH_CFG_STR];
		/* ADR 0205: while the catalog is down, answer from what it said
		 * at most this long ago (0 = never); default 30 */
		unsigned catalog_stale_seconds;
		unsigned catalog_stale_masked_seconds;  /* ADR 0205: read/agent tokens; 0 */
	} queryd;
	struct {
		/* The builtin embedder's word-vector file (docs/embeddings.md);
		 * "" = the compiled-in deps/glove/glove-6b-100d.lhwv. */
		char glove_path[LH_CFG_STR];
		/* Rows of a data object one index part covers (docs/search.md);
		 * LH_SEARCH_PART_ROWS. Part keys name it: changing it builds
		 * every index again. */
		unsigned part_rows;
	} search;
	struct {
		/* The model server behind "ollama/<model>" and "openai/<model>"
		 * embedders (ADR 0144): its base URL, "" = none configured. */
		char url[LH_CFG_STR];
		char api_key[LH_CFG_STR];        /* openai: Bearer key, "" = none */
		unsigned timeout_ms;             /* one request; LH_EMBED_DEFAULT_TIMEOUT_MS */
	} embed;
	struct {
		char read_tokens[LH_CFG_MAX_TOKENS][128];
		unsigned n_read_tokens;
		char write_tokens[LH_CFG_MAX_TOKENS][128];
		unsigned n_write_tokens;
		/* Named tokens with roles (tokens.h, ADR 0210): the lines of
		 * `tokens`, the path of `tokens_file`, and the token the
		 * services send each other ("" = the first plain write/admin
		 * token). `table` is filled by auth_tokens_load() from the
		 * lines and the file: names, roles and SHA-256s only. */
		char tokens[LH_CFG_MAX_TOKENS][LH_CFG_TOKEN_LINE];
		unsigned n_tokens;
		char tokens_file[LH_CFG_STR];
		char service_token[128];
		struct lh_token table[LH_CFG_MAX_NAMED_TOKENS];
		unsigned n_table;
	} auth;
};

/* Fill every field with its default. */
void config_defaults(struct lh_config *cfg);

/* Apply a TOML text over `cfg`. `filename` only labels errors
 * ("lakehouse.toml:12: unknown key \"bnid\" in [storaged]"). Pure: no I/O.
 * Returns 0, or -1 with a 400 "bad_config" error carrying `line`. */
int config_parse_toml(struct lh_config *cfg, const char *text, size_t len,
		      const char *filename, struct lh_error *err);

/* Apply LAKEHOUSE_* variables from `envp` (NULL-terminated "K=V" strings).
 * Unknown LAKEHOUSE_* names are errors. Pure. */
int config_apply_env(struct lh_config *cfg, char *const *envp, struct lh_error *err);

/* Set one key by section and name, as the file would (used by flags and env).
 * Returns 0 or -1 with an error naming the key. */
int config_set(struct lh_config *cfg, const char *section, const char *key,
	       const char *value, struct lh_error *err);

/* The full load a subcommand does: defaults, then the file (`path`, or
 * ./lakehouse.toml if present when `path` is NULL), then the environment.
 * Reads the file; returns 0 or -1 with an error. */
int config_load(struct lh_config *cfg, const char *path, char *const *envp,
		struct lh_error *err);

/* Pure iterator over a comma-separated list s[0..n): each call that returns
 * 1 sets *item and *item_n to the next item with spaces and tabs around it
 * dropped, and advances *pos (start at 0). Returns 0 at the end. A blank
 * list has no items; empty items ("a,,b", "a,") are returned with
 * *item_n == 0 so that callers can refuse them. */
int config_list_next(const char *s, size_t n, size_t *pos, const char **item,
		     size_t *item_n);

/* Fill derived paths ("" -> under data_dir). Call after flags. */
void config_finish(struct lh_config *cfg);

#endif
