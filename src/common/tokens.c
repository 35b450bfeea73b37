/* tokens.c — named tokens with roles: token lines, roles, hashes, new
 * tokens and the tokens file (tokens.h, ADR 0210).
 *
 * DESIGN NOTES
 *  1. A configured token is only ever kept as its SHA-256: auth.c hashes
 *     the presented token once and compares hashes, so a plain line and a
 *     hashed line are checked the same way and in the same time.
 *  2. No error message quotes a token or a line that holds one: a mistake
 *     in a tokens file must not print a secret into a log. Errors name the
 *     file, the line number and, where it is known, the token's NAME.
 */
#include "common/tokens.h"

#include "common/error.h"
#include "common/random.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest line of a tokens file that is read (a hashed line is about
 * 140 bytes). */
#define TOKENS_LINE_MAX 1024
#define TOKEN_SECRET_MAX 127

static const char *const role_names[] = { "none", "read", "agent", "write", "admin" };

const char *tokens_role_name(enum lh_role role)
{
	if ((unsigned)role >= sizeof role_names / sizeof role_names[0])
		return "none";
	return role_names[role];
}

int tokens_role_parse(const char *s, size_t n, enum lh_role *out)
{
	for (unsigned r = LH_ROLE_READ; r <= LH_ROLE_ADMIN; r++)
		if (strlen(role_names[r]) == n && memcmp(role_names[r], s, n) == 0) {
			*out = (enum lh_role)r;
			return 0;
		}
	return -1;
}

int tokens_role_sees_personal(enum lh_role role)
{
	return role == LH_ROLE_NONE || role == LH_ROLE_WRITE || role == LH_ROLE_ADMIN;
}

static int whyf(char *why, size_t wn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int whyf(char *why, size_t wn, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wn, fmt, ap);
	va_end(ap);
	return -1;
}

static int name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '@' || c == '-';
}

static int is_hex64(const char *s, size_t n)
{
	if (n != LH_SHA256_HEX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

/* Split NAME:ROLE:REST; 0 with the pieces, or -1 with why. */
static int split_line(const char *s, size_t n, size_t *name_n, const char **role, size_t *role_n,
		      const char **rest, size_t *rest_n, char *why, size_t wn)
{
	const char *c1 = memchr(s, ':', n);
	if (!c1)
		return whyf(why, wn, "a token line is NAME:ROLE:TOKEN (no ':' found)");
	const char *c2 = memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - s));
	if (!c2)
		return whyf(why, wn, "a token line is NAME:ROLE:TOKEN (only one ':' found)");
	*name_n = (size_t)(c1 - s);
	*role = c1 + 1;
	*role_n = (size_t)(c2 - (c1 + 1));
	*rest = c2 + 1;
	*rest_n = n - (size_t)(c2 + 1 - s);
	return 0;
}

int tokens_parse_line(const char *s, size_t n, struct lh_token *out, char *why, size_t wn)
{
	size_t name_n, role_n, rest_n;
	const char *role, *rest;
	enum lh_role r;

	memset(out, 0, sizeof *out);
	if (split_line(s, n, &name_n, &role, &role_n, &rest, &rest_n, why, wn))
		return -1;
	if (name_n == 0 || name_n > LH_TOKEN_NAME_MAX)
		return whyf(why, wn, "a token's name is 1 to %d characters", LH_TOKEN_NAME_MAX);
	for (size_t i = 0; i < name_n; i++)
		if (!name_char((unsigned char)s[i]))
			return whyf(why, wn, "a token's name uses only letters, digits and . _ @ -");
	memcpy(out->name, s, name_n);
	if (tokens_role_parse(role, role_n, &r))
		return whyf(why, wn, "token \"%s\": the role must be read, agent, write or admin",
			    out->name);
	out->role = (unsigned char)r;
	if (rest_n >= 7 && memcmp(rest, "sha256:", 7) == 0) {
		/* a hashed line must be exactly that: a mistyped hash must not
		 * become a plain token whose text is in the file */
		if (!is_hex64(rest + 7, rest_n - 7))
			return whyf(why, wn, "token \"%s\": after sha256: come exactly 64 hex "
				    "digits", out->name);
		for (size_t i = 0; i < LH_SHA256_HEX_LEN; i++) {
			char c = rest[7 + i];
			out->hash[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
		}
		out->hash[LH_SHA256_HEX_LEN] = '\0';
		return 0;
	}
	if (rest_n == 0)
		return whyf(why, wn, "token \"%s\": the token is empty", out->name);
	if (rest_n > TOKEN_SECRET_MAX)
		return whyf(why, wn, "token \"%s\": the token is longer than %d bytes", out->name,
			    TOKEN_SECRET_MAX);
	if (rest_n < 16)
		return whyf(why, wn, "token \"%s\": the token is shorter than 16 characters "
			    "(make one with: lakehouse token new %s)", out->name, out->name);
	for (size_t i = 0; i < rest_n; i++) {
		unsigned char c = (unsigned char)rest[i];
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return whyf(why, wn, "token \"%s\": tokens are printable ASCII without "
				    "spaces or commas", out->name);
	}
	tokens_hash(rest, rest_n, out->hash);
	out->plain = 1;
	return 0;
}

int tokens_check_secret(const char *s, size_t n, char *why, size_t wn)
{
	if (n < 16 || n > TOKEN_SECRET_MAX)
		return whyf(why, wn, "a token is 16 to %d characters", TOKEN_SECRET_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return whyf(why, wn, "tokens are printable ASCII without spaces or commas");
	}
	return 0;
}

const char *tokens_line_secret(const char *s, size_t n, size_t *tn)
{
	struct lh_token t;
	char why[160];
	size_t name_n, role_n, rest_n;
	const char *role, *rest;
	if (tokens_parse_line(s, n, &t, why, sizeof why) || !t.plain ||
	    split_line(s, n, &name_n, &role, &role_n, &rest, &rest_n, why, sizeof why))
		return NULL;
	*tn = rest_n;
	return rest;
}

void tokens_hash(const char *token, size_t n, char out[LH_SHA256_HEX_LEN + 1])
{
	sha256_hex(token, n, out);
}

int tokens_generate(char out[LH_TOKEN_NEW_LEN + 1])
{
	static const char b64url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[33]; /* 264 bits: 43 characters use 258 of them */
	if (random_bytes(raw, sizeof raw)) {
		out[0] = '\0';
		return -1;
	}
	memcpy(out, "lh_", 3);
	size_t o = 3;
	for (size_t i = 0; i + 2 < sizeof raw && o < LH_TOKEN_NEW_LEN; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];
		for (int k = 3; k >= 0 && o < LH_TOKEN_NEW_LEN; k--)
			out[o++] = b64url[(v >> (6 * k)) & 63];
	}
	out[o] = '\0';
	return 0;
}

int tokens_file_read(const char *path, struct lh_token *table, unsigned cap, unsigned *n,
		     struct lh_error *err)
{
	FILE *f = fopen(path, "r");
	char line[TOKENS_LINE_MAX + 2];
	unsigned lineno = 0;
	int rc = -1;

	if (!f)
		return lh_fail(err, 400, "bad_config", "cannot read the tokens file %s: %s", path,
			       strerror(errno));
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t len = strlen(line);
		if (len > TOKENS_LINE_MAX) {
			lh_fail(err, 400, "bad_config", "%s:%u: the line is too long", path, lineno);
			goto out;
		}
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			       line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		const char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		if (*n >= cap) {
			lh_fail(err, 400, "bad_config", "%s:%u: too many tokens (at most %u in all)",
				path, lineno, cap);
			goto out;
		}
		char why[200];
		if (tokens_parse_line(s, strlen(s), &table[*n], why, sizeof why)) {
			lh_fail(err, 400, "bad_config", "%s:%u: %s", path, lineno, why);
			goto out;
		}
		(*n)++;
	}
	if (ferror(f)) {
		lh_fail(err, 400, "bad_config", "cannot read the tokens file %s", path);
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}
