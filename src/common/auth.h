/* auth.h — bearer-token authentication of every service (ADR 0090).
 *
 * Tokens come from [auth] read_tokens and write_tokens, shared by every
 * service of one deployment. With no token configured, nothing is checked —
 * and auth_http_setup() refuses a bind address other than loopback, so an
 * open server is never reachable from the network. With tokens, every
 * request but GET /health needs `Authorization: Bearer <token>`:
 *   - missing, malformed or unknown token      -> 401, WWW-Authenticate: Bearer
 *   - a read token on a write                  -> 403 (insufficient_scope)
 *   - a write token                            -> anything
 * A write is any method other than GET and HEAD, except POST /query and
 * POST /v1/query: queries are reads (ADR 0090: read tokens may query);
 * so are searches, embeddings, the UI console, and POST/DELETE /mcp (MCP
 * messages, ADR 0161: the MCP write tool checks the token class itself).
 *
 * auth_decide() and the helpers before it are pure (no I/O), unit-tested in
 * tests/unit/test_auth.c. Tokens are compared in constant time: the presented
 * token is compared with every configured one over the full fixed-size
 * buffer, so neither the position of a difference nor which token matched
 * shows in the time taken.
 */
#ifndef LH_AUTH_H
#define LH_AUTH_H
#include "common/tokens.h"

#include <stddef.h>

struct http_server_config;
struct lh_config;
struct lh_error;

enum auth_outcome {
	AUTH_ALLOW = 0,
	AUTH_MISSING,      /* 401: no Authorization header, or not "Bearer <token>" */
	AUTH_INVALID,      /* 401: a bearer token that matches no configured one */
	AUTH_READ_ONLY,    /* 403: a read (or agent) token on a write */
	AUTH_NOT_ADMIN,    /* 403: a write token on an admin operation */
	AUTH_RAW_DATA,     /* 403: a read or agent token reading a data object
			    * (it would bypass masking, ADR 0211) */
};

/* Who made a request (ADR 0210): the token's name and role. With no token
 * configured: name "" and LH_ROLE_NONE (everything allowed, nothing
 * masked). The legacy lists have no names: "read token N" (role read) and
 * "write token N" (role admin, what a write token could always do). */
struct auth_principal {
	char name[LH_TOKEN_NAME_MAX + 1];
	enum lh_role role;
};

/* Whether any token is configured (read, write, named or a tokens file). */
int auth_enabled(const struct lh_config *cfg);

/* Whether (method, path) changes something (see the header comment). */
int auth_is_write(const char *method, const char *path);

/* Whether (method, path) is an admin operation: dropping a dataset
 * (DELETE .../catalog/manifest/<name>, the UI's POST /datasets/<name>/drop),
 * renaming one (POST .../rename), garbage collection (POST .../catalog/gc)
 * and personal-column rules (PUT/DELETE .../catalog/masks/<name>, the UI's
 * POST /datasets/<name>/masks). */
int auth_is_admin(const char *method, const char *path);

/* Whether (method, path) reads a stored data or index object byte for byte
 * (GET/HEAD .../storage/get/datasets/..., .../_index/..., .../_iceberg/...
 * or .../documents/..., the original files of documents, ADR 0227), or has
 * queryd build Iceberg metadata (GET /iceberg/tables/..., ADR 0237), which a
 * read or agent token may not: those objects hold personal columns unmasked. */
int auth_is_raw_data(const char *method, const char *path);

/* Who the Authorization header (or NULL) names: AUTH_ALLOW with *out
 * filled, AUTH_MISSING or AUTH_INVALID. With no tokens configured,
 * AUTH_ALLOW and role NONE. Constant time over the configured tokens. */
enum auth_outcome auth_identify(const struct lh_config *cfg, const char *authorization,
				struct auth_principal *out);

/* Build cfg->auth.table from [auth] tokens and tokens_file (reads the
 * file) and check that the services have a token to send each other.
 * service_load_config() calls it; 0, or -1 with a 400 bad_config. */
int auth_tokens_load(struct lh_config *cfg, struct lh_error *err);

/* Whether the host of "HOST:PORT" / "[V6]:PORT" is loopback: 127.0.0.0/8,
 * ::1, ::ffff:127.x.y.z or "localhost". Anything else (0.0.0.0, ::, a
 * name, an address of this box) is not. */
int auth_bind_is_loopback(const char *bind);

/* Decide one request. `authorization` is the Authorization header or NULL.
 * With no tokens configured, always AUTH_ALLOW. Pure. */
enum auth_outcome auth_decide(const struct lh_config *cfg, const char *method,
			      const char *path, const char *authorization);
/* The same, also saying who it was (*who may be NULL). */
enum auth_outcome auth_decide_who(const struct lh_config *cfg, const char *method,
				  const char *path, const char *authorization,
				  struct auth_principal *who);

/* Constant-time equality of two byte strings of at most `cap` bytes each:
 * both are compared as zero-padded `cap`-byte buffers, plus their lengths.
 * Returns 1 if equal. Lengths over `cap` compare unequal. */
int auth_token_equal(const char *a, size_t alen, const char *b, size_t blen, size_t cap);

/* The token a service sends on its own calls to other services (ingestd ->
 * storaged/catalogd, queryd -> storaged/catalogd): [auth] service_token,
 * else the first write token, else the first plain write/admin line of
 * [auth] tokens, else the first read token, else NULL (no auth configured).
 * The string lives in cfg. */
const char *auth_service_token(const struct lh_config *cfg);

/* What every service's start function calls on its http_server_config
 * (after .bind is set), in one line:
 *   - refuses (-1, err 400 "insecure_bind" with how to fix it) a bind that is
 *     not loopback when no token is configured;
 *   - with tokens, installs the authorize hook with a private copy of the
 *     tokens (owned by the server, freed by http_server_stop());
 *   - sets hc->allowed_hosts to [http] allowed_hosts (the Host allow-list,
 *     http_policy.h), so every service gets it from this one line.
 * Returns 0 or -1 with err. */
int auth_http_setup(struct http_server_config *hc, const struct lh_config *cfg,
		    struct lh_error *err);

#endif
