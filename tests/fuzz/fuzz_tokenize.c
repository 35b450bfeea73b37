/* fuzz_tokenize.c — libFuzzer target for the search tokenizer and stemmer
 * (src/search/tokenize.h).
 *
 * Invariants, checked with an independent UTF-8 decoder: token spans lie
 * in the input, in order, without overlap; a span is exactly a maximal run
 * of token characters (ASCII letters/digits, valid non-ASCII code points)
 * and every byte between spans is a separator; the word is the span's
 * first len bytes with ASCII lower-cased, NUL-terminated, len <= 64, and
 * shorter than the span only when the next code point would not fit; a
 * callback's non-zero value stops the scan and is returned; two runs agree.
 * token_stem never grows a word, keeps words under 4 bytes, and changes
 * at most its last three bytes.
 */
#include "fuzz.h"

#include "search/tokenize.h"

#include <string.h>

/* Length of the token character at s[0..n), 0 for a separator byte. */
static size_t tchar(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z') || (s[0] >= '0' && s[0] <= '9');
	size_t len;
	uint32_t v, min;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, v = s[0] & 0x1fu, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, v = s[0] & 0x0fu, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, v = s[0] & 0x07u, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	return len;
}

struct run {
	const unsigned char *in;
	size_t n, pos, ntok, stop_at;
	uint64_t hash;
};

static int check_token(void *ctx, const char *word, size_t len, size_t off, size_t slen)
{
	struct run *r = ctx;
	FUZZ_CHECK(off >= r->pos && slen >= 1 && off + slen <= r->n);
	/* the gap is separators only */
	for (size_t i = r->pos; i < off; i++)
		FUZZ_CHECK(tchar(r->in + i, r->n - i) == 0);
	/* the span is token characters, and maximal */
	size_t i = off, fit = 0;
	while (i < off + slen) {
		size_t k = tchar(r->in + i, r->n - i);
		FUZZ_CHECK(k > 0 && i + k <= off + slen);
		if (i + k - off <= TOKEN_MAX_BYTES)
			fit = i + k - off;
		i += k;
	}
	FUZZ_CHECK(off + slen == r->n || tchar(r->in + off + slen, r->n - off - slen) == 0);
	/* the word */
	FUZZ_CHECK(len <= TOKEN_MAX_BYTES && len == fit && word[len] == '\0');
	for (size_t j = 0; j < len; j++) {
		unsigned char c = r->in[off + j];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		FUZZ_CHECK((unsigned char)word[j] == c);
	}
	/* the stemmer */
	char w[TOKEN_MAX_BYTES + 1];
	memcpy(w, word, len + 1);
	size_t m = token_stem(w, len);
	FUZZ_CHECK(m <= len && (len >= 4 || m == len));
	FUZZ_CHECK(len < 3 || memcmp(w, word, len - 3) == 0);
	FUZZ_CHECK(m == len || w[m] == '\0');
	r->pos = off + slen;
	r->ntok++;
	r->hash = (r->hash ^ (off * 31 + slen * 7 + len)) * 1099511628211ull;
	return r->stop_at && r->ntok == r->stop_at ? 42 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run a = { data, size, 0, 0, 0, 14695981039346656037ull };
	FUZZ_CHECK(tokenize((const char *)data, size, check_token, &a) == 0);
	for (size_t i = a.pos; i < size; i++)
		FUZZ_CHECK(tchar(data + i, size - i) == 0);
	struct run b = { data, size, 0, 0, 0, 14695981039346656037ull };
	FUZZ_CHECK(tokenize((const char *)data, size, check_token, &b) == 0);
	FUZZ_CHECK(a.ntok == b.ntok && a.hash == b.hash);
	if (a.ntok > 0) {
		struct run c = { data, size, 0, 0, (a.ntok + 1) / 2, 0 };
		FUZZ_CHECK(tokenize((const char *)data, size, check_token, &c) == 42);
		FUZZ_CHECK(c.ntok == (a.ntok + 1) / 2);
	}
	return 0;
}
