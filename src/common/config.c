/* config.c — the lakehouse configuration (see config.h): defaults, the
 * lakehouse.toml subset parser, LAKEHOUSE_* variables and config_set, all
 * through one table.
 *
 * Every key is one row of keys[]: section, name, type, offset in struct
 * lh_config and its checks. The file parser, the environment and config_set
 * only find the row and hand a value to cfg_assign(), so a key is parsed and
 * validated the same way wherever it comes from.
 *
 * Invariants:
 *   1. The parsers do no I/O and never read text[len] or beyond; the text
 *      need not be NUL-terminated (toml_line() works on [p, e) only).
 *   2. A failed config_parse_toml / config_apply_env leaves *cfg untouched:
 *      both work on a copy and commit it at the end. cfg_assign() validates
 *      before it stores, so a failed config_set changes nothing either.
 *   3. Every copy is bounded by the field's size: over-long is an error,
 *      never a silent truncation.
 *   4. Error messages are printable ASCII (user text goes through excerpt()),
 *      so the HTTP layer can always render them as JSON.
 */
#include "common/config.h"

#include "common/error.h"
#include "common/http_policy.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_MAX_FILE_BYTES (1u << 20) /* lakehouse.toml larger than this is refused */
#define CFG_FIELD_SIZE(f) sizeof(((struct lh_config *)0)->f)
#define CFG_TOKEN_SIZE CFG_FIELD_SIZE(auth.tokens[0]) /* the longest token item */
/* data_dir leaves room for the longest derived leaf (config_finish). */
#define CFG_DATA_DIR_MAX (LH_CFG_STR - sizeof "/catalog.db")
#define ENV_PREFIX "LAKEHOUSE_"
#define ENV_PREFIX_LEN (sizeof ENV_PREFIX - 1)

enum cfg_type {
	T_STR,    /* char[size], bounded copy */
	T_UINT,   /* unsigned */
	T_SIZE,   /* uint64_t bytes: 123, "64K", "256MiB" */
	T_MS,     /* unsigned milliseconds: 1500, "250ms", "30s", "5m", "2h" */
	T_INT64,  /* int64_t */
	T_TOKENS, /* char[LH_CFG_MAX_TOKENS][size] + unsigned count */
	T_BOOL,   /* int 0/1: TOML true/false; env and --set "true"/"false" */
};

enum cfg_check { C_NONE, C_DATA_DIR, C_BIND, C_URL, C_URL_LIST, C_HOST_LIST, C_TOKEN_LINE };

struct cfg_key {
	const char *section;        /* "" = top level, before any [section] */
	const char *name;
	enum cfg_type type;
	size_t off;                 /* offsetof(struct lh_config, ...) */
	size_t size;                /* sizeof the field; T_TOKENS: of one token */
	size_t count_off;           /* T_TOKENS: offset of the unsigned count */
	long long min;              /* numeric types: smallest accepted value */
	enum cfg_check check;       /* T_STR: extra validation */
	const char *const *choices; /* T_STR: allowed values, NULL-terminated */
};

/* A compile-time check that a numeric row points at a field of type T. */
#define CFG_SAME_SIZE(f, T) (0 * sizeof(char[CFG_FIELD_SIZE(f) == sizeof(T) ? 1 : -1]))
#define CFG_OFF(f) offsetof(struct lh_config, f)

#define K_STR(s, n, f, chk, ch) { s, n, T_STR, CFG_OFF(f), CFG_FIELD_SIZE(f), 0, 0, chk, ch }
#define K_NUM(s, n, t, T, f, mn) \
	{ s, n, t, CFG_OFF(f), CFG_FIELD_SIZE(f) + CFG_SAME_SIZE(f, T), 0, mn, C_NONE, NULL }
#define K_UINT(s, n, f, mn) K_NUM(s, n, T_UINT, unsigned, f, mn)
#define K_SIZE(s, n, f) K_NUM(s, n, T_SIZE, uint64_t, f, 0)
#define K_MS(s, n, f) K_NUM(s, n, T_MS, unsigned, f, 0)
#define K_BOOL(s, n, f) { s, n, T_BOOL, CFG_OFF(f), sizeof(int), 0, 0, C_NONE, NULL }
#define K_INT64(s, n, f, mn) K_NUM(s, n, T_INT64, int64_t, f, mn)
#define K_TOKENS(s, n, f, cnt)                                                    \
	{ s, n, T_TOKENS, CFG_OFF(f), CFG_FIELD_SIZE(f[0]) + CFG_SAME_SIZE(cnt, unsigned), \
	  CFG_OFF(cnt), 0, C_NONE, NULL }

static const char *const storage_backends[] = { "disk", "s3", NULL };
static const char *const catalog_backends[] = { "sqlite", "postgres", NULL };
static const char *const log_modes[] = { "auto", "json", "human", "quiet", NULL };

static const char *const sections[] = {
	"gateway", "storaged", "catalogd", "ingestd", "queryd", "auth", "http",
	"search", "embed",
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

static const struct cfg_key keys[] = {
	K_STR("", "data_dir", data_dir, C_DATA_DIR, NULL),
	K_STR("", "log", log, C_NONE, log_modes),

	K_STR("gateway", "bind", gateway.bind, C_BIND, NULL),
	K_STR("gateway", "storaged_url", gateway.storaged_url, C_URL_LIST, NULL),
	K_STR("gateway", "catalogd_url", gateway.catalogd_url, C_URL_LIST, NULL),
	K_STR("gateway", "ingestd_url", gateway.ingestd_url, C_URL_LIST, NULL),
	K_STR("gateway", "queryd_url", gateway.queryd_url, C_URL_LIST, NULL),
	K_MS("gateway", "upstream_timeout_ms", gateway.upstream_timeout_ms),
	K_MS("gateway", "session_ttl", gateway.session_ttl_ms),
	K_STR("gateway", "public_url", gateway.public_url, C_URL, NULL),

	K_STR("storaged", "bind", storaged.bind, C_BIND, NULL),
	K_STR("storaged", "backend", storaged.backend, C_NONE, storage_backends),
	K_STR("storaged", "root", storaged.root, C_NONE, NULL),
	K_SIZE("storaged", "max_object_bytes", storaged.max_object_bytes),
	K_STR("storaged", "s3_endpoint", storaged.s3_endpoint, C_NONE, NULL),
	K_STR("storaged", "s3_bucket", storaged.s3_bucket, C_NONE, NULL),
	K_STR("storaged", "s3_region", storaged.s3_region, C_NONE, NULL),
	K_BOOL("storaged", "single_writer", storaged.single_writer),

	K_STR("catalogd", "bind", catalogd.bind, C_BIND, NULL),
	K_STR("catalogd", "backend", catalogd.backend, C_NONE, catalog_backends),
	K_STR("catalogd", "sqlite_path", catalogd.sqlite_path, C_NONE, NULL),
	K_STR("catalogd", "postgres_dsn", catalogd.postgres_dsn, C_NONE, NULL),
	K_STR("catalogd", "storaged_url", catalogd.storaged_url, C_URL, NULL),

	K_STR("ingestd", "bind", ingestd.bind, C_BIND, NULL),
	K_SIZE("ingestd", "max_upload_bytes", ingestd.max_upload_bytes),
	K_STR("ingestd", "spool_dir", ingestd.spool_dir, C_NONE, NULL),
	K_STR("ingestd", "storaged_url", ingestd.storaged_url, C_URL_LIST, NULL),
	K_STR("ingestd", "catalogd_url", ingestd.catalogd_url, C_URL_LIST, NULL),
	K_SIZE("ingestd", "duckdb_memory_bytes", ingestd.duckdb_memory_bytes),
	K_UINT("ingestd", "duckdb_threads", ingestd.duckdb_threads, 1),
	K_UINT("ingestd", "max_document_pages", ingestd.max_document_pages, 1),
	K_MS("ingestd", "document_timeout_ms", ingestd.document_timeout_ms),
	K_SIZE("ingestd", "document_memory_bytes", ingestd.document_memory_bytes),

	K_STR("queryd", "bind", queryd.bind, C_BIND, NULL),
	K_MS("queryd", "timeout_ms", queryd.timeout_ms),
	K_SIZE("queryd", "cache_bytes", queryd.cache_bytes),
	K_STR("queryd", "cache_dir", queryd.cache_dir, C_NONE, NULL),
	K_SIZE("queryd", "duckdb_memory_bytes", queryd.duckdb_memory_bytes),
	K_UINT("queryd", "duckdb_threads", queryd.duckdb_threads, 1),
	K_INT64("queryd", "max_rows", queryd.max_rows, 0),
	K_UINT("queryd", "workers", queryd.workers, 1),
	K_SIZE("queryd", "worker_memory_bytes", queryd.worker_memory_bytes),
	K_SIZE("queryd", "spill_bytes", queryd.spill_bytes),
	K_STR("queryd", "storaged_url", queryd.storaged_url, C_URL_LIST, NULL),
	K_STR("queryd", "catalogd_url", queryd.catalogd_url, C_URL_LIST, NULL),
	K_STR("queryd", "ingestd_url", queryd.ingestd_url, C_URL, NULL),
	K_UINT("queryd", "catalog_stale_seconds", queryd.catalog_stale_seconds, 0),
	K_UINT("queryd", "catalog_stale_masked_seconds", queryd.catalog_stale_masked_seconds, 0),

	K_TOKENS("auth", "read_tokens", auth.read_tokens, auth.n_read_tokens),
	K_TOKENS("auth", "write_tokens", auth.write_tokens, auth.n_write_tokens),
	{ "auth", "tokens", T_TOKENS, CFG_OFF(auth.tokens),
	  CFG_FIELD_SIZE(auth.tokens[0]) + CFG_SAME_SIZE(auth.n_tokens, unsigned),
	  CFG_OFF(auth.n_tokens), 0, C_TOKEN_LINE, NULL },
	K_STR("auth", "tokens_file", auth.tokens_file, C_NONE, NULL),
	K_STR("auth", "service_token", auth.service_token, C_NONE, NULL),

	K_UINT("http", "connection_timeout_s", http.connection_timeout_s, 1),
	K_UINT("http", "max_connections", http.max_connections, 1),
	K_STR("http", "allowed_hosts", http.allowed_hosts, C_HOST_LIST, NULL),

	K_STR("search", "glove_path", search.glove_path, C_NONE, NULL),
	K_UINT("search", "part_rows", search.part_rows, 1024),
	K_STR("embed", "url", embed.url, C_URL, NULL),
	K_STR("embed", "api_key", embed.api_key, C_NONE, NULL),
	K_MS("embed", "timeout_ms", embed.timeout_ms),
};
#define N_KEYS (sizeof keys / sizeof keys[0])

/* LAKEHOUSE_* variables that belong to the CLI or the scripts, not here
 * (LAKEHOUSE_LOG is checked by service.c, over the file's `log`). */
static const char *const env_ignored[] = {
	"LAKEHOUSE_URL", "LAKEHOUSE_TOKEN", "LAKEHOUSE_LOG", "LAKEHOUSE_BIN",
};

/* ---- defaults and derived paths ---------------------------------------- */

void config_defaults(struct lh_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", "./lakehouse-data");
	cfg->http.connection_timeout_s = LH_HTTP_CONNECTION_TIMEOUT_S;
	cfg->http.max_connections = LH_HTTP_MAX_CONNECTIONS;

	snprintf(cfg->gateway.bind, sizeof cfg->gateway.bind, "%s", "127.0.0.1:8080");
	cfg->gateway.upstream_timeout_ms = 600000;
	cfg->gateway.session_ttl_ms = 12u * 3600u * 1000u;

	snprintf(cfg->storaged.bind, sizeof cfg->storaged.bind, "%s", "127.0.0.1:0");
	snprintf(cfg->storaged.backend, sizeof cfg->storaged.backend, "%s", "disk");
	cfg->storaged.max_object_bytes = LH_DEFAULT_MAX_OBJECT_BYTES;
	snprintf(cfg->storaged.s3_region, sizeof cfg->storaged.s3_region, "%s", "us-east-1");

	snprintf(cfg->catalogd.bind, sizeof cfg->catalogd.bind, "%s", "127.0.0.1:0");
	snprintf(cfg->catalogd.backend, sizeof cfg->catalogd.backend, "%s", "sqlite");

	snprintf(cfg->ingestd.bind, sizeof cfg->ingestd.bind, "%s", "127.0.0.1:0");
	cfg->ingestd.max_upload_bytes = LH_DEFAULT_MAX_UPLOAD_BYTES;
	cfg->ingestd.max_document_pages = LH_DOC_MAX_PAGES;
	cfg->ingestd.document_timeout_ms = (unsigned)(LH_DOC_MAX_SECONDS * 1000);
	cfg->ingestd.document_memory_bytes = LH_DOC_WORKER_BYTES;
	cfg->ingestd.duckdb_memory_bytes = 384ull << 20;
	cfg->ingestd.duckdb_threads = 2;

	snprintf(cfg->queryd.bind, sizeof cfg->queryd.bind, "%s", "127.0.0.1:0");
	cfg->queryd.timeout_ms = LH_DEFAULT_QUERY_TIMEOUT_MS;
	cfg->queryd.cache_bytes = LH_DEFAULT_CACHE_BYTES;
	cfg->queryd.duckdb_memory_bytes = 1ull << 30;
	cfg->queryd.duckdb_threads = 2;
	cfg->queryd.max_rows = 0;
	cfg->queryd.workers = LH_DEFAULT_QUERY_WORKERS;
	cfg->search.part_rows = LH_SEARCH_PART_ROWS;
	cfg->queryd.worker_memory_bytes = 0;   /* derived from duckdb_memory_bytes */
	cfg->queryd.spill_bytes = LH_DEFAULT_QUERY_SPILL_BYTES;
	cfg->queryd.catalog_stale_seconds = LH_DEFAULT_CATALOG_STALE_S;

	cfg->embed.timeout_ms = LH_EMBED_DEFAULT_TIMEOUT_MS;
}

/* dst = <dir>/<leaf> if dst is "". data_dir is capped at CFG_DATA_DIR_MAX by
 * config_set, so this fits; a data_dir written past that cap by hand leaves
 * dst "" rather than a truncated, wrong path. */
static void derive(char *dst, size_t size, const char *dir, const char *leaf)
{
	if (dst[0])
		return;
	size_t n = strnlen(dir, LH_CFG_STR);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		n = 0;
	int w = snprintf(dst, size, "%.*s/%s", (int)n, dir, leaf);
	if (w < 0 || (size_t)w >= size)
		dst[0] = '\0';
}

void config_finish(struct lh_config *cfg)
{
	derive(cfg->storaged.root, sizeof cfg->storaged.root, cfg->data_dir, "objects");
	derive(cfg->catalogd.sqlite_path, sizeof cfg->catalogd.sqlite_path, cfg->data_dir,
	       "catalog.db");
	derive(cfg->ingestd.spool_dir, sizeof cfg->ingestd.spool_dir, cfg->data_dir, "spool");
	derive(cfg->queryd.cache_dir, sizeof cfg->queryd.cache_dir, cfg->data_dir, "cache");
}

/* ---- small helpers ------------------------------------------------------ */

static int whyf(char *why, size_t wn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int whyf(char *why, size_t wn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wn, fmt, ap);
	va_end(ap);
	return -1;
}

/* Quote user text for a message: at most `max` bytes of s[0..n), non-printable
 * and non-ASCII bytes as '?', a cut marked "...". dst needs max + 4 bytes. */
#define EXCERPT_MAX 48
static const char *excerpt(char *dst, size_t dsize, const char *s, size_t n, size_t max)
{
	size_t i, o = 0;
	if (max + 4 > dsize)
		max = dsize > 4 ? dsize - 4 : 0;
	for (i = 0; i < n && i < max; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < n) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

static const char *section_label(const char *section)
{
	return section[0] ? section : "(top level)";
}

static bool section_known(const char *s, size_t n)
{
	for (size_t i = 0; i < N_SECTIONS; i++)
		if (strlen(sections[i]) == n && memcmp(sections[i], s, n) == 0)
			return true;
	return false;
}

static const struct cfg_key *key_find(const char *section, const char *name, size_t n)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strlen(keys[i].name) == n &&
		    memcmp(keys[i].name, name, n) == 0)
			return &keys[i];
	return NULL;
}

/* The message for a key the section does not have; hints at top-level keys
 * written after a [section] header. */
static int unknown_key(char *why, size_t wn, const char *section, const char *name, size_t n)
{
	char q[EXCERPT_MAX + 4];
	excerpt(q, sizeof q, name, n, EXCERPT_MAX);
	if (!section[0])
		return whyf(why, wn, "unknown top-level key \"%s\"", q);
	if (key_find("", name, n))
		return whyf(why, wn, "unknown key \"%s\" in [%s] (top-level keys go before any [section])",
			    q, section);
	return whyf(why, wn, "unknown key \"%s\" in [%s]", q, section);
}

/* ---- values ------------------------------------------------------------- */

enum val_kind { V_TEXT, V_INT, V_BOOL, V_ARRAY };

/* One value on its way to cfg_assign(). `typed` marks a TOML value, where a
 * string is only a string; env and config_set values are all V_TEXT and a
 * token list is comma-separated. */
struct cfg_value {
	enum val_kind kind;
	bool typed;
	const char *s;      /* V_TEXT, V_INT: NUL-terminated, n bytes */
	size_t n;
	unsigned nitems;    /* V_ARRAY */
	char buf[LH_CFG_STR];
	char items[LH_CFG_MAX_TOKENS][CFG_TOKEN_SIZE];
};

static const char *kind_name(enum val_kind k)
{
	switch (k) {
	case V_TEXT: return "a string";
	case V_INT: return "an integer";
	case V_BOOL: return "a boolean";
	case V_ARRAY: return "an array";
	}
	return "a value";
}

/* Leading decimal digits of s[0..n) into *out; the count consumed, 0 if none,
 * or -1 on overflow. */
static int scan_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		i++;
	}
	if (i > INT_MAX)
		return -1;
	*out = v;
	return (int)i;
}

struct unit {
	const char *name;
	uint64_t mul;
};

static const struct unit size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "K", 1ull << 10 }, { "KiB", 1ull << 10 },
	{ "M", 1ull << 20 }, { "MiB", 1ull << 20 },
	{ "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	{ "T", 1ull << 40 }, { "TiB", 1ull << 40 },
	{ NULL, 0 },
};

static const struct unit ms_units[] = {
	{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	{ NULL, 0 },
};

/* "<digits>[ ]<unit>" with a unit from `units` (case-insensitive).
 * 0, or -1 if malformed; *overflow set when the value does not fit. */
static int parse_with_unit(const char *s, size_t n, const struct unit *units, uint64_t *out,
			   bool *overflow)
{
	uint64_t v;
	*overflow = false;
	int used = scan_digits(s, n, &v);
	if (used < 0) {
		*overflow = true;
		return -1;
	}
	if (used == 0)
		return -1;
	size_t i = (size_t)used;
	if (i < n && s[i] == ' ')
		i++;
	for (const struct unit *u = units; u->name; u++) {
		size_t ul = strlen(u->name);
		if (n - i != ul || (ul && strncasecmp(s + i, u->name, ul) != 0))
			continue;
		if (ul == 0 && i != (size_t)used)
			return -1; /* "12 " */
		if (v > UINT64_MAX / u->mul) {
			*overflow = true;
			return -1;
		}
		*out = v * u->mul;
		return 0;
	}
	return -1;
}

/* HOST:PORT, HOST a name or address without ':' or an [IPv6] literal. */
static int check_bind(const char *s, size_t n, char *why, size_t wn)
{
	char q[EXCERPT_MAX + 4];
	excerpt(q, sizeof q, s, n, EXCERPT_MAX);
	size_t colon = n;
	for (size_t i = n; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = i - 1;
			break;
		}
	if (colon == n)
		return whyf(why, wn, "\"%s\" is not HOST:PORT", q);
	const char *host = s, *port = s + colon + 1;
	size_t hn = colon, pn = n - colon - 1;
	if (hn == 0)
		return whyf(why, wn, "\"%s\" has no host (use 127.0.0.1:PORT or 0.0.0.0:PORT)", q);
	bool bracket = host[0] == '[';
	if (bracket && (hn < 3 || host[hn - 1] != ']'))
		return whyf(why, wn, "\"%s\": unterminated [IPv6] host", q);
	for (size_t i = bracket ? 1 : 0; i < (bracket ? hn - 1 : hn); i++) {
		unsigned char c = (unsigned char)host[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == '_' || (bracket && c == ':');
		if (!ok)
			return whyf(why, wn, "\"%s\" is not HOST:PORT (bad character in host%s)", q,
				    c == ':' ? "; write IPv6 as [::1]:PORT" : "");
	}
	uint64_t p;
	int used = scan_digits(port, pn, &p);
	if (used <= 0 || (size_t)used != pn || pn > 5 || p > 65535)
		return whyf(why, wn, "\"%s\": port must be 0..65535", q);
	return 0;
}

static int check_url(const char *s, size_t n, char *why, size_t wn)
{
	if (n == 0)
		return 0;
	bool scheme = (n > 7 && strncmp(s, "http://", 7) == 0) ||
		      (n > 8 && strncmp(s, "https://", 8) == 0);
	for (size_t i = 0; scheme && i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			scheme = false;
	if (!scheme) {
		char q[EXCERPT_MAX + 4];
		return whyf(why, wn, "\"%s\" is not an http:// or https:// URL",
			    excerpt(q, sizeof q, s, n, EXCERPT_MAX));
	}
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int config_list_next(const char *s, size_t n, size_t *pos, const char **item,
		       size_t *item_n)
{
	size_t i = *pos;
	if (i > n)
		return 0;
	if (i == 0) {
		size_t k = 0;
		while (k < n && is_blank(s[k]))
			k++;
		if (k == n) {
			*pos = n + 1;
			return 0;
		}
	}
	size_t j = i;
	while (j < n && s[j] != ',')
		j++;
	size_t a = i, b = j;
	while (a < b && is_blank(s[a]))
		a++;
	while (b > a && is_blank(s[b - 1]))
		b--;
	*item = s + a;
	*item_n = b - a;
	*pos = j + 1;   /* j == n: past the end, the next call returns 0 */
	return 1;
}

/* One URL ([catalogd] storaged_url): a comma means a list was meant. */
static int check_one_url(const char *s, size_t n, char *why, size_t wn)
{
	if (memchr(s, ',', n))
		return whyf(why, wn, "one URL expected (lists of URLs are accepted by "
				     "[gateway], [ingestd] and [queryd] *_url only)");
	return check_url(s, n, why, wn);
}

/* A comma-separated list of distinct URLs, each as check_url; "" = none. */
static int check_url_list(const char *s, size_t n, char *why, size_t wn)
{
	const char *items[LH_UPSTREAM_MAX_MEMBERS];
	size_t lens[LH_UPSTREAM_MAX_MEMBERS];
	size_t pos = 0, nitems = 0, k;
	const char *item;

	while (config_list_next(s, n, &pos, &item, &k)) {
		if (k == 0)
			return whyf(why, wn, "empty URL in the list");
		if (nitems == LH_UPSTREAM_MAX_MEMBERS)
			return whyf(why, wn, "more than %d URLs", LH_UPSTREAM_MAX_MEMBERS);
		if (check_url(item, k, why, wn))
			return -1;
		for (size_t i = 0; i < nitems; i++)
			if (lens[i] == k && memcmp(items[i], item, k) == 0) {
				char q[EXCERPT_MAX + 4];
				return whyf(why, wn, "\"%s\" is listed twice",
					    excerpt(q, sizeof q, item, k, EXCERPT_MAX));
			}
		items[nitems] = item;
		lens[nitems] = k;
		nitems++;
	}
	return 0;
}

static int check_token(const char *s, size_t n, size_t max, char *why, size_t wn)
{
	if (n == 0)
		return whyf(why, wn, "empty token");
	if (n > max)
		return whyf(why, wn, "token too long (%zu bytes, max %zu)", n, max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return whyf(why, wn, "tokens are printable ASCII without spaces or commas");
	}
	return 0;
}

static int assign_str(struct lh_config *cfg, const struct cfg_key *k, const struct cfg_value *v,
		      char *why, size_t wn)
{
	char q[EXCERPT_MAX + 4];
	if (v->kind != V_TEXT)
		return whyf(why, wn, "expected a string, got %s", kind_name(v->kind));
	if (v->n >= k->size)
		return whyf(why, wn, "too long (%zu bytes, max %zu)", v->n, k->size - 1);
	if (k->choices) {
		bool ok = false;
		for (const char *const *c = k->choices; *c && !ok; c++)
			ok = strlen(*c) == v->n && memcmp(*c, v->s, v->n) == 0;
		if (!ok) {
			char list[128];
			size_t o = 0;
			for (const char *const *c = k->choices; *c; c++) {
				int w = snprintf(list + o, sizeof list - o, "%s%s",
						 c == k->choices ? "" : ", ", *c);
				if (w < 0 || (size_t)w >= sizeof list - o)
					break;
				o += (size_t)w;
			}
			return whyf(why, wn, "\"%s\" is not one of: %s",
				    excerpt(q, sizeof q, v->s, v->n, EXCERPT_MAX), list);
		}
	}
	switch (k->check) {
	case C_NONE:
		break;
	case C_DATA_DIR:
		if (v->n == 0)
			return whyf(why, wn, "must not be empty");
		if (v->n > CFG_DATA_DIR_MAX)
			return whyf(why, wn, "too long (%zu bytes, max %zu)", v->n,
				    (size_t)CFG_DATA_DIR_MAX);
		break;
	case C_BIND:
		if (check_bind(v->s, v->n, why, wn))
			return -1;
		break;
	case C_URL:
		if (check_one_url(v->s, v->n, why, wn))
			return -1;
		break;
	case C_URL_LIST:
		if (check_url_list(v->s, v->n, why, wn))
			return -1;
		break;
	case C_HOST_LIST:
		if (http_policy_host_list_check(v->s, v->n, why, wn))
			return -1;
		break;
	case C_TOKEN_LINE: /* T_TOKENS only: assign_tokens checks the lines */
		break;
	}
	char *dst = (char *)cfg + k->off;
	memcpy(dst, v->s, v->n);
	dst[v->n] = '\0';
	return 0;
}

static int assign_num(struct lh_config *cfg, const struct cfg_key *k, const struct cfg_value *v,
		      char *why, size_t wn)
{
	char q[EXCERPT_MAX + 4];
	const char *what = k->type == T_SIZE ? "a size (bytes, or with a unit K, M, G, KiB, MiB, GiB)"
			   : k->type == T_MS ? "a duration (milliseconds, or with a unit ms, s, m, h)"
					     : "an integer";
	if (v->kind != V_TEXT && v->kind != V_INT)
		return whyf(why, wn, "expected %s, got %s", what, kind_name(v->kind));
	excerpt(q, sizeof q, v->s, v->n, EXCERPT_MAX);
	bool neg = v->n > 0 && v->s[0] == '-';
	if (neg && k->type != T_INT64)
		return whyf(why, wn, "\"%s\" must not be negative", q);
	uint64_t u = 0;
	bool overflow = false;
	int rc;
	if (k->type == T_SIZE)
		rc = parse_with_unit(v->s, v->n, size_units, &u, &overflow);
	else if (k->type == T_MS)
		rc = parse_with_unit(v->s, v->n, ms_units, &u, &overflow);
	else {
		size_t skip = neg ? 1 : 0;
		int used = scan_digits(v->s + skip, v->n - skip, &u);
		overflow = used < 0;
		rc = (used > 0 && (size_t)used == v->n - skip) ? 0 : -1;
	}
	if (overflow)
		return whyf(why, wn, "\"%s\" is out of range", q);
	if (rc)
		return whyf(why, wn, "expected %s, got \"%s\"", what, q);

	char *dst = (char *)cfg + k->off;
	if (k->type == T_INT64) {
		if ((!neg && u > (uint64_t)INT64_MAX) || (neg && u > (uint64_t)INT64_MAX + 1))
			return whyf(why, wn, "\"%s\" is out of range", q);
		int64_t x = neg ? (int64_t)(0 - u) : (int64_t)u;
		if (x < k->min)
			return whyf(why, wn, "must be at least %lld", k->min);
		memcpy(dst, &x, sizeof x);
		return 0;
	}
	if (u < (uint64_t)k->min)
		return whyf(why, wn, "must be at least %lld", k->min);
	if (k->type == T_SIZE) {
		memcpy(dst, &u, sizeof u);
		return 0;
	}
	if (u > UINT_MAX)
		return whyf(why, wn, "\"%s\" is out of range (max %u)", q, UINT_MAX);
	unsigned x = (unsigned)u;
	memcpy(dst, &x, sizeof x);
	return 0;
}

static int assign_tokens(struct lh_config *cfg, const struct cfg_key *k, const struct cfg_value *v,
			 char *why, size_t wn)
{
	const char *items[LH_CFG_MAX_TOKENS];
	size_t lens[LH_CFG_MAX_TOKENS];
	unsigned n = 0;

	if (v->kind == V_ARRAY) {
		for (unsigned i = 0; i < v->nitems; i++) {
			items[i] = v->items[i];
			lens[i] = strnlen(v->items[i], k->size);
		}
		n = v->nitems;
	} else if (v->kind == V_TEXT && !v->typed) {
		/* "a,b,c": spaces around items are dropped, "" is no tokens. */
		size_t i = 0;
		while (i < v->n) {
			size_t j = i;
			while (j < v->n && v->s[j] != ',')
				j++;
			size_t a = i, b = j;
			while (a < b && (v->s[a] == ' ' || v->s[a] == '\t'))
				a++;
			while (b > a && (v->s[b - 1] == ' ' || v->s[b - 1] == '\t'))
				b--;
			if (n == LH_CFG_MAX_TOKENS)
				return whyf(why, wn, "too many tokens (max %d)", LH_CFG_MAX_TOKENS);
			items[n] = v->s + a;
			lens[n] = b - a;
			n++;
			if (j == v->n)
				break;
			i = j + 1;
			if (i == v->n) /* trailing comma: an empty last item */
				return whyf(why, wn, "empty token");
		}
	} else {
		return whyf(why, wn, "expected an array of strings, got %s", kind_name(v->kind));
	}
	for (unsigned i = 0; i < n; i++)
		if (check_token(items[i], lens[i], k->size - 1, why, wn))
			return -1;
	for (unsigned i = 0; k->check == C_TOKEN_LINE && i < n; i++) {
		struct lh_token t;
		if (tokens_parse_line(items[i], lens[i], &t, why, wn))
			return -1;
	}

	char *base = (char *)cfg + k->off;
	for (unsigned i = 0; i < n; i++) {
		memcpy(base + i * k->size, items[i], lens[i]);
		base[i * k->size + lens[i]] = '\0';
	}
	for (unsigned i = n; i < LH_CFG_MAX_TOKENS; i++)
		base[i * k->size] = '\0';
	memcpy((char *)cfg + k->count_off, &n, sizeof n);
	return 0;
}

/* T_BOOL: a TOML boolean, or the words true/false (env, --set). */
static int assign_bool(struct lh_config *cfg, const struct cfg_key *k, const struct cfg_value *v,
		       char *why, size_t wn)
{
	if ((v->kind != V_BOOL && (v->kind != V_TEXT || v->typed)) || !v->s)
		return whyf(why, wn, "expected true or false, got %s", kind_name(v->kind));
	int b;
	if (v->n == 4 && !memcmp(v->s, "true", 4))
		b = 1;
	else if (v->n == 5 && !memcmp(v->s, "false", 5))
		b = 0;
	else
		return whyf(why, wn, "expected true or false");
	memcpy((char *)cfg + k->off, &b, sizeof b);
	return 0;
}

/* The one place a value is stored. Validates first, so a failure leaves the
 * field as it was. Returns 0, or -1 with the reason (without the key) in why. */
static int cfg_assign(struct lh_config *cfg, const struct cfg_key *k, const struct cfg_value *v,
		      char *why, size_t wn)
{
	switch (k->type) {
	case T_STR:
		return assign_str(cfg, k, v, why, wn);
	case T_UINT:
	case T_SIZE:
	case T_MS:
	case T_INT64:
		return assign_num(cfg, k, v, why, wn);
	case T_TOKENS:
		return assign_tokens(cfg, k, v, why, wn);
	case T_BOOL:
		return assign_bool(cfg, k, v, why, wn);
	}
	return whyf(why, wn, "unsupported key type");
}

static void value_text(struct cfg_value *v, const char *s)
{
	v->kind = V_TEXT;
	v->typed = false;
	v->s = s;
	v->n = strlen(s);
	v->nitems = 0;
}

/* ---- config_set --------------------------------------------------------- */

int config_set(struct lh_config *cfg, const char *section, const char *key, const char *value,
	       struct lh_error *err)
{
	char why[384], q[EXCERPT_MAX + 4], qk[EXCERPT_MAX + 4];
	const char *sec = section ? section : "";
	if (!key || !value)
		return lh_fail(err, 400, "bad_config", "config_set: missing key or value");
	if (sec[0] && !section_known(sec, strlen(sec)))
		return lh_fail(err, 400, "bad_config", "unknown section [%s]",
			       excerpt(q, sizeof q, sec, strlen(sec), EXCERPT_MAX));
	const struct cfg_key *k = key_find(sec, key, strlen(key));
	if (!k) {
		unknown_key(why, sizeof why, sec, key, strlen(key));
		return lh_fail(err, 400, "bad_config", "%s", why);
	}
	struct cfg_value *v = xmalloc(sizeof *v);
	value_text(v, value);
	int rc = cfg_assign(cfg, k, v, why, sizeof why);
	free(v);
	if (rc) {
		excerpt(qk, sizeof qk, key, strlen(key), EXCERPT_MAX);
		lh_fail(err, 400, "bad_config", "bad value for %s%s%s: %s", sec, sec[0] ? "." : "",
			qk, why);
		if (err)
			lh_error_set(err, "key", json_string(k->name));
		return -1;
	}
	return 0;
}

/* ---- lakehouse.toml ----------------------------------------------------- */

struct toml_state {
	struct lh_config *cfg;
	const char *section;          /* current section, "" before the first header */
	bool seen_key[N_KEYS];        /* duplicate keys */
	bool seen_section[N_SECTIONS];
	struct cfg_value v;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && is_ws(*p))
		p++;
	return p;
}

/* Only whitespace and an optional comment left on the line. */
static int line_rest(const char *p, const char *e, const char *after, char *why, size_t wn)
{
	p = skip_ws(p, e);
	if (p < e && *p != '#') {
		char q[EXCERPT_MAX + 4];
		return whyf(why, wn, "unexpected \"%s\" after %s",
			    excerpt(q, sizeof q, p, (size_t)(e - p), 16), after);
	}
	return 0;
}

/* A "basic" (escapes) or 'literal' string at *pp, which points at the quote.
 * Decodes into dst (cap bytes with the NUL); *pp moves past the closing quote. */
static int toml_string(const char **pp, const char *e, char *dst, size_t cap, size_t *outn,
		       char *why, size_t wn)
{
	const char *p = *pp;
	char quote = *p++;
	size_t o = 0;
	if (e - p >= 2 && p[0] == quote && p[1] == quote)
		return whyf(why, wn, "multi-line strings are not supported");
	for (;;) {
		if (p >= e)
			return whyf(why, wn, "unterminated string");
		unsigned char c = (unsigned char)*p++;
		if (c == (unsigned char)quote)
			break;
		if (c == '\\' && quote == '"') {
			if (p >= e)
				return whyf(why, wn, "unterminated string");
			switch (*p++) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			default: {
				char q[8];
				return whyf(why, wn, "unsupported escape \"\\%s\" (use \\\" \\\\ \\n \\t)",
					    excerpt(q, sizeof q, p - 1, 1, 1));
			}
			}
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return whyf(why, wn, "control character in string");
		}
		if (o + 1 >= cap)
			return whyf(why, wn, "string too long (max %zu bytes)", cap - 1);
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	*outn = o;
	*pp = p;
	return 0;
}

/* A single-line array of strings at *pp (pointing at '['). */
static int toml_array(const char **pp, const char *e, struct cfg_value *v, char *why, size_t wn)
{
	const char *p = *pp + 1;
	v->nitems = 0;
	for (;;) {
		p = skip_ws(p, e);
		if (p >= e)
			return whyf(why, wn, "unterminated array (arrays must fit on one line)");
		if (*p == ']')
			break;
		if (*p != '"' && *p != '\'')
			return whyf(why, wn, "expected a string in the array (only arrays of strings are supported)");
		if (v->nitems == LH_CFG_MAX_TOKENS)
			return whyf(why, wn, "too many elements (max %d)", LH_CFG_MAX_TOKENS);
		size_t n;
		if (toml_string(&p, e, v->items[v->nitems], sizeof v->items[0], &n, why, wn))
			return -1;
		v->nitems++;
		p = skip_ws(p, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		if (p < e && *p == ']')
			break;
		if (p >= e)
			return whyf(why, wn, "unterminated array (arrays must fit on one line)");
		return whyf(why, wn, "expected ',' or ']' in the array");
	}
	*pp = p + 1;
	v->kind = V_ARRAY;
	return 0;
}

/* A bare value: integer (digits, optional sign, '_' between digits) or boolean. */
static int toml_bare(const char **pp, const char *e, struct cfg_value *v, char *why, size_t wn)
{
	const char *p = *pp, *s = p;
	while (p < e && !is_ws(*p) && *p != '#')
		p++;
	size_t n = (size_t)(p - s);
	char q[EXCERPT_MAX + 4];
	excerpt(q, sizeof q, s, n, EXCERPT_MAX);
	if (n == 0)
		return whyf(why, wn, "missing value after '='");
	*pp = p;
	if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0)) {
		v->kind = V_BOOL;
		v->s = n == 4 ? "true" : "false";   /* T_BOOL reads it */
		v->n = n;
		return 0;
	}
	size_t i = 0, o = 0;
	if (s[0] == '+' || s[0] == '-') {
		if (s[0] == '-')
			v->buf[o++] = '-';
		i++;
	}
	/* TOML: no leading zeros ("007") */
	bool ok = i < n && !(s[i] == '0' && i + 1 < n);
	for (; ok && i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			if (o + 1 >= 32)
				return whyf(why, wn, "integer %s is out of range", q);
			v->buf[o++] = s[i];
		} else if (s[i] == '_' && i > 0 && i + 1 < n && s[i - 1] >= '0' && s[i - 1] <= '9' &&
			   s[i + 1] >= '0' && s[i + 1] <= '9') {
			continue;
		} else {
			ok = false;
		}
	}
	if (!ok) {
		if (s[0] >= '0' && s[0] <= '9')
			return whyf(why, wn, "bad value %s (quote sizes and durations with a unit: \"%s\")",
				    q, q);
		return whyf(why, wn, "bad value %s (strings must be in double quotes)", q);
	}
	v->buf[o] = '\0';
	v->kind = V_INT;
	v->s = v->buf;
	v->n = o;
	return 0;
}

static int toml_header(struct toml_state *st, const char *p, const char *e, char *why, size_t wn)
{
	char q[EXCERPT_MAX + 4];
	p++; /* '[' */
	if (p < e && *p == '[')
		return whyf(why, wn, "arrays of tables ([[...]]) are not supported");
	p = skip_ws(p, e);
	const char *name = p;
	while (p < e && is_bare(*p))
		p++;
	size_t n = (size_t)(p - name);
	p = skip_ws(p, e);
	if (n == 0 || p >= e || *p != ']')
		return whyf(why, wn, "bad section header (expected [name])");
	if (line_rest(p + 1, e, "the section header", why, wn))
		return -1;
	for (size_t i = 0; i < N_SECTIONS; i++) {
		if (strlen(sections[i]) != n || memcmp(sections[i], name, n) != 0)
			continue;
		if (st->seen_section[i])
			return whyf(why, wn, "duplicate section [%s]", sections[i]);
		st->seen_section[i] = true;
		st->section = sections[i];
		return 0;
	}
	return whyf(why, wn, "unknown section [%s]", excerpt(q, sizeof q, name, n, EXCERPT_MAX));
}

/* One line, [p, e) without its newline. */
static int toml_line(struct toml_state *st, const char *p, const char *e, char *why, size_t wn)
{
	if (e > p && e[-1] == '\r')
		e--;
	p = skip_ws(p, e);
	if (p >= e || *p == '#')
		return 0;
	if (*p == '[')
		return toml_header(st, p, e, why, wn);

	const char *name = p;
	while (p < e && is_bare(*p))
		p++;
	size_t n = (size_t)(p - name);
	if (n == 0) {
		if (*p == '"' || *p == '\'')
			return whyf(why, wn, "quoted keys are not supported");
		return whyf(why, wn, "expected a key or a [section]");
	}
	p = skip_ws(p, e);
	if (p < e && *p == '.')
		return whyf(why, wn, "dotted keys are not supported (use a [section])");
	if (p >= e || *p != '=')
		return whyf(why, wn, "expected '=' after the key");
	p = skip_ws(p + 1, e);

	const struct cfg_key *k = key_find(st->section, name, n);
	if (!k)
		return unknown_key(why, wn, st->section, name, n);
	size_t ki = (size_t)(k - keys);
	if (st->seen_key[ki])
		return whyf(why, wn, "duplicate key \"%s\" in [%s]", k->name, section_label(k->section));

	struct cfg_value *v = &st->v;
	v->typed = true;
	v->nitems = 0;
	if (p < e && (*p == '"' || *p == '\'')) {
		size_t cap = k->type == T_STR ? k->size : sizeof v->buf;
		if (toml_string(&p, e, v->buf, cap, &v->n, why, wn))
			return -1;
		v->kind = V_TEXT;
		v->s = v->buf;
	} else if (p < e && *p == '[') {
		if (toml_array(&p, e, v, why, wn))
			return -1;
	} else if (toml_bare(&p, e, v, why, wn)) {
		return -1;
	}
	if (line_rest(p, e, "the value", why, wn))
		return -1;

	char reason[320];
	if (cfg_assign(st->cfg, k, v, reason, sizeof reason)) {
		if (k->section[0])
			return whyf(why, wn, "bad value for %s in [%s]: %s", k->name, k->section, reason);
		return whyf(why, wn, "bad value for %s: %s", k->name, reason);
	}
	st->seen_key[ki] = true;
	return 0;
}

int config_parse_toml(struct lh_config *cfg, const char *text, size_t len, const char *filename,
		      struct lh_error *err)
{
	char why[400], qf[200];
	excerpt(qf, sizeof qf, filename ? filename : "lakehouse.toml",
		strlen(filename ? filename : "lakehouse.toml"), sizeof qf - 4);
	if (len == 0)
		return 0;
	if (!text)
		return lh_fail(err, 400, "bad_config", "%s: no text", qf);

	struct toml_state *st = xcalloc(1, sizeof *st);
	st->cfg = xmalloc(sizeof *st->cfg);
	memcpy(st->cfg, cfg, sizeof *cfg);
	st->section = "";

	int rc = 0;
	const char *p = text, *end = text + len;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	long long line = 0;
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (toml_line(st, p, le, why, sizeof why)) {
			rc = lh_fail(err, 400, "bad_config", "%s:%lld: %s", qf, line, why);
			if (err)
				lh_error_set(err, "line", json_integer(line));
			goto out;
		}
		p = nl ? nl + 1 : end;
	}
	memcpy(cfg, st->cfg, sizeof *cfg);
out:
	free(st->cfg);
	free(st);
	return rc;
}

/* ---- environment -------------------------------------------------------- */

/* The key named by the part of a variable after "LAKEHOUSE_"
 * ("GATEWAY_BIND", "data_dir"), case-insensitively. */
static const struct cfg_key *env_find(const char *s, size_t n)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct cfg_key *k = &keys[i];
		size_t sl = strlen(k->section), kl = strlen(k->name);
		if (sl == 0) {
			if (n == kl && strncasecmp(s, k->name, kl) == 0)
				return k;
			continue;
		}
		if (n == sl + 1 + kl && strncasecmp(s, k->section, sl) == 0 && s[sl] == '_' &&
		    strncasecmp(s + sl + 1, k->name, kl) == 0)
			return k;
	}
	return NULL;
}

static bool env_is_ignored(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof env_ignored / sizeof env_ignored[0]; i++)
		if (strlen(env_ignored[i]) == n && memcmp(env_ignored[i], s, n) == 0)
			return true;
	return false;
}

int config_apply_env(struct lh_config *cfg, char *const *envp, struct lh_error *err)
{
	if (!envp)
		return 0;
	char why[384], qv[EXCERPT_MAX + 4];
	struct lh_config *tmp = xmalloc(sizeof *tmp);
	struct cfg_value *v = xmalloc(sizeof *v);
	memcpy(tmp, cfg, sizeof *tmp);
	int rc = 0;
	for (size_t i = 0; envp[i]; i++) {
		const char *ent = envp[i];
		if (strncmp(ent, ENV_PREFIX, ENV_PREFIX_LEN) != 0)
			continue;
		const char *eq = strchr(ent, '=');
		if (!eq)
			continue;
		size_t nlen = (size_t)(eq - ent);
		if (env_is_ignored(ent, nlen))
			continue;
		excerpt(qv, sizeof qv, ent, nlen, EXCERPT_MAX);
		const struct cfg_key *k = env_find(ent + ENV_PREFIX_LEN, nlen - ENV_PREFIX_LEN);
		if (!k) {
			rc = lh_fail(err, 400, "bad_config",
				     "unknown environment variable %s (expected LAKEHOUSE_<SECTION>_<KEY>, see docs/configuration.md)",
				     qv);
			if (err)
				lh_error_set(err, "variable", json_string(qv));
			goto out;
		}
		value_text(v, eq + 1);
		if (cfg_assign(tmp, k, v, why, sizeof why)) {
			rc = lh_fail(err, 400, "bad_config", "%s: bad value for %s%s%s: %s", qv,
				     k->section, k->section[0] ? "." : "", k->name, why);
			if (err)
				lh_error_set(err, "variable", json_string(qv));
			goto out;
		}
	}
	memcpy(cfg, tmp, sizeof *cfg);
out:
	free(v);
	free(tmp);
	return rc;
}

/* ---- config_load -------------------------------------------------------- */

/* Read a whole file of at most CFG_MAX_FILE_BYTES. *missing is set (and -1
 * returned without touching err) when it does not exist and `optional`. */
static int read_file(const char *path, bool optional, char **out, size_t *outn, bool *missing,
		     struct lh_error *err)
{
	char q[200];
	int rc = -1;
	char *buf = NULL;
	size_t n = 0;
	*missing = false;
	excerpt(q, sizeof q, path, strlen(path), sizeof q - 4);
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (optional && errno == ENOENT) {
			*missing = true;
			return -1;
		}
		return lh_fail(err, 400, "bad_config", "cannot open config file %s: %s", q,
			       strerror(errno));
	}
	buf = xmalloc(CFG_MAX_FILE_BYTES + 1);
	n = fread(buf, 1, CFG_MAX_FILE_BYTES + 1, f);
	if (ferror(f)) {
		lh_fail(err, 400, "bad_config", "cannot read config file %s", q);
		goto out;
	}
	if (n > CFG_MAX_FILE_BYTES) {
		lh_fail(err, 400, "bad_config", "config file %s is larger than %u bytes", q,
			CFG_MAX_FILE_BYTES);
		goto out;
	}
	*out = buf;
	*outn = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

int config_load(struct lh_config *cfg, const char *path, char *const *envp, struct lh_error *err)
{
	char *text = NULL;
	size_t n = 0;
	bool missing = false;
	int rc;
	config_defaults(cfg);
	const char *file = path ? path : "lakehouse.toml";
	rc = read_file(path ? path : "./lakehouse.toml", path == NULL, &text, &n, &missing, err);
	if (rc && !missing)
		goto out;
	if (!rc) {
		rc = config_parse_toml(cfg, text, n, file, err);
		if (rc)
			goto out;
	}
	rc = config_apply_env(cfg, envp, err);
out:
	free(text);
	return rc;
}
