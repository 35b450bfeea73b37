/* tokens.h — named tokens with roles (ADR 0210): the lines that declare
 * them, their roles, their hashes, and new random tokens.
 *
 * A token line is `NAME:ROLE:TOKEN` or `NAME:ROLE:sha256:HEX`, in
 * `[auth] tokens` (comma-separated) or one per line in `[auth] tokens_file`
 * (blank lines and `#` comments allowed). ROLE is read, agent, write or
 * admin. A token is kept only as its SHA-256 (64 hex digits): the plain form
 * is hashed when the line is read, the hashed form (what `lakehouse token
 * new` writes) is taken as it is. NAME is 1-63 of [A-Za-z0-9._@-].
 *
 * Everything here is pure but tokens_generate (kernel randomness) and
 * tokens_file_read (reads a file).
 */
#ifndef LH_TOKENS_H
#define LH_TOKENS_H
#include "common/sha256.h"

#include <stddef.h>

struct lh_error;

/* What a token may do (auth.h). NONE: no token configured at all. */
enum lh_role {
	LH_ROLE_NONE = 0,
	LH_ROLE_READ,  /* reads; personal columns masked */
	LH_ROLE_AGENT, /* as read: for AI agents, so logs and rules tell them apart */
	LH_ROLE_WRITE, /* reads and writes: ingest, feedback, index declarations */
	LH_ROLE_ADMIN, /* everything: also drop, rename, gc and personal-column rules */
};

#define LH_TOKEN_NAME_MAX 63

struct lh_token {
	char name[LH_TOKEN_NAME_MAX + 1];
	unsigned char role;                     /* enum lh_role */
	char hash[LH_SHA256_HEX_LEN + 1];       /* lowercase hex SHA-256 of the token */
	unsigned char plain;                    /* 1 if the line gave the token itself */
};

/* "read", "agent", "write", "admin" ("none" for LH_ROLE_NONE). */
const char *tokens_role_name(enum lh_role role);
/* The role named by s[0..n); 0, or -1 if it is none of the four. */
int tokens_role_parse(const char *s, size_t n, enum lh_role *out);
/* Whether a role sees personal columns unmasked (write, admin, none). */
int tokens_role_sees_personal(enum lh_role role);

/* Parse one token line s[0..n) into *out. Returns 0, or -1 with the reason
 * in why (plain words, never the token). */
int tokens_parse_line(const char *s, size_t n, struct lh_token *out, char *why, size_t wn);

/* Whether s[0..n) may be a token: 16-127 printable ASCII characters
 * without spaces or commas. 0, or -1 with why. */
int tokens_check_secret(const char *s, size_t n, char *why, size_t wn);

/* The token part of a plain line s[0..n) (after NAME:ROLE:), or NULL for a
 * hashed or malformed line; *tn gets its length. */
const char *tokens_line_secret(const char *s, size_t n, size_t *tn);

/* Lowercase hex SHA-256 of token[0..n). */
void tokens_hash(const char *token, size_t n, char out[LH_SHA256_HEX_LEN + 1]);

/* A new random token: "lh_" and 43 base64url characters (256 bits), into
 * out (at least 47 bytes). 0, or -1 when the kernel gives no randomness. */
#define LH_TOKEN_NEW_LEN 46
int tokens_generate(char out[LH_TOKEN_NEW_LEN + 1]);

/* Append the lines of the tokens file `path` to table[*n..cap): 0, or -1
 * with a 400 "bad_config" naming the file and line (never the token). */
int tokens_file_read(const char *path, struct lh_token *table, unsigned cap, unsigned *n,
		     struct lh_error *err);

#endif
