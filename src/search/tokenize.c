/* tokenize.c — the search module's tokenizer and plural stemmer (see
 * tokenize.h for the rules).
 *
 * One pass over the bytes: at each position either an ASCII letter/digit,
 * a complete valid UTF-8 sequence (a token byte run), or a separator byte.
 * A token's lower-cased bytes are gathered in a fixed stack buffer of
 * TOKEN_MAX_BYTES + 1; once full, later code points of the same run are
 * still scanned (so src_len covers the whole run) but not copied, and the
 * buffer only ever ends after a whole code point (the cut is at a UTF-8
 * boundary).
 */
#include "search/tokenize.h"

/* The length of the valid UTF-8 sequence at s[0..n) that starts with a
 * non-ASCII byte, or 0 if it is not one (RFC 3629 table 3.7: no overlong
 * forms, no surrogates D800-DFFF, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need;
	unsigned char lo = 0x80, hi = 0xBF;   /* bounds of the 2nd byte */
	if (c >= 0xC2 && c <= 0xDF) {
		need = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		return 0;   /* ASCII, a continuation byte, C0/C1, F5-FF */
	}
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	return need;
}

size_t token_utf8_seq_len(const char *s, size_t n)
{
	return n ? utf8_seq_len((const unsigned char *)s, n) : 0;
}

static int ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* The number of bytes of the token character at s[0..n), or 0 for a
 * separator byte. */
static size_t token_char_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return ascii_alnum(s[0]) ? 1 : 0;
	return utf8_seq_len(s, n);
}

int tokenize(const char *text, size_t len, token_fn fn, void *ctx)
{
	const unsigned char *s = (const unsigned char *)text;
	char word[TOKEN_MAX_BYTES + 1];
	size_t i = 0;
	if (!text)
		return 0;
	while (i < len) {
		size_t cl = token_char_len(s + i, len - i);
		if (cl == 0) {
			i++;
			continue;
		}
		size_t start = i, wl = 0;
		int full = 0;
		while (cl > 0) {
			if (!full && wl + cl <= TOKEN_MAX_BYTES) {
				for (size_t k = 0; k < cl; k++) {
					unsigned char c = s[i + k];
					if (c >= 'A' && c <= 'Z')
						c = (unsigned char)(c - 'A' + 'a');
					word[wl++] = (char)c;
				}
			} else {
				full = 1;
			}
			i += cl;
			cl = i < len ? token_char_len(s + i, len - i) : 0;
		}
		word[wl] = '\0';
		int rc = fn(ctx, word, wl, start, i - start);
		if (rc)
			return rc;
	}
	return 0;
}

size_t token_stem(char *word, size_t len)
{
	size_t out = len;
	if (len < 4 || word[len - 1] != 's')
		return len;
	switch (word[len - 2]) {
	case 'u':
	case 's':
		return len;          /* "us", "ss": kept */
	case 'e':
		if (word[len - 3] == 'i') {
			if (word[len - 4] == 'a' || word[len - 4] == 'e')
				return len;  /* "aies", "eies": kept */
			word[len - 3] = 'y';
			out = len - 2;   /* "ies" -> "y" */
			break;
		}
		if (word[len - 3] == 'a' || word[len - 3] == 'e' || word[len - 3] == 'o')
			return len;      /* "aes", "ees", "oes": kept */
		out = len - 1;       /* "es" -> "e" */
		break;
	default:
		out = len - 1;       /* "s" -> "" */
		break;
	}
	word[out] = '\0';   /* inside the dropped suffix: in bounds */
	return out;
}
