/* test_search_tokenize.c — src/search/tokenize.c: token boundaries, case,
 * UTF-8 validity, the 64-byte cut, source offsets, early stop, and the
 * S-stemmer's rules. */
#include "test.h"

#include "search/tokenize.h"

#include <stdlib.h>

#define MAXTOK 64

struct toks {
	size_t n;
	char word[MAXTOK][TOKEN_MAX_BYTES + 1];
	size_t len[MAXTOK], off[MAXTOK], slen[MAXTOK];
	size_t stop_after;   /* 0 = never stop */
};

static int collect(void *ctx, const char *word, size_t len, size_t off, size_t slen)
{
	struct toks *t = ctx;
	if (t->n == MAXTOK)
		return 99;
	memcpy(t->word[t->n], word, len + 1);
	t->len[t->n] = len;
	t->off[t->n] = off;
	t->slen[t->n] = slen;
	t->n++;
	if (t->stop_after && t->n == t->stop_after)
		return 7;
	return 0;
}

static struct toks *run(const char *s, size_t len)
{
	struct toks *t = calloc(1, sizeof *t);
	if (tokenize(s, len, collect, t) != 0)
		t->n = (size_t)-1;
	return t;
}

#define RUN(s) run((s), sizeof(s) - 1)

TEST(search_tokenize_ascii_case_digits)
{
	struct toks *t = RUN("Hello, World! 42 apples-and B2B");
	CHECK_EQ_INT(t->n, 6);
	CHECK_EQ_STR(t->word[0], "hello");
	CHECK_EQ_STR(t->word[1], "world");
	CHECK_EQ_STR(t->word[2], "42");
	CHECK_EQ_STR(t->word[3], "apples");
	CHECK_EQ_STR(t->word[4], "and");
	CHECK_EQ_STR(t->word[5], "b2b");
	CHECK_EQ_INT(t->len[0], 5);
	CHECK_EQ_INT(t->off[0], 0);
	CHECK_EQ_INT(t->slen[0], 5);
	CHECK_EQ_INT(t->off[1], 7);
	CHECK_EQ_INT(t->off[2], 14);
	CHECK_EQ_INT(t->off[5], 28);
	CHECK_EQ_INT(t->slen[5], 3);
	free(t);
}

TEST(search_tokenize_punctuation_and_controls_separate)
{
	struct toks *t = RUN("a_b.c'd\te\x01" "f\0g~h@i");
	CHECK_EQ_INT(t->n, 9);
	const char *want[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
	for (size_t i = 0; i < 9; i++) {
		CHECK_EQ_STR(t->word[i], want[i]);
		CHECK_EQ_INT(t->off[i], 2 * i);
		CHECK_EQ_INT(t->slen[i], 1);
	}
	free(t);
}

TEST(search_tokenize_empty_and_only_separators)
{
	struct toks *t = run("", 0);
	CHECK_EQ_INT(t->n, 0);
	free(t);
	t = RUN("  ,.;!?-- \n");
	CHECK_EQ_INT(t->n, 0);
	free(t);
	CHECK_EQ_INT(tokenize(NULL, 0, collect, NULL), 0);
}

TEST(search_tokenize_utf8_kept_only_ascii_lowered)
{
	/* "Café ÉCOLE naïve 東京": é, É, ï and the CJK characters are token bytes,
	 * kept as they are (only ASCII is lower-cased). */
	struct toks *t = RUN("Caf\xc3\xa9 \xc3\x89" "COLE na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80x");
	CHECK_EQ_INT(t->n, 5);
	CHECK_EQ_STR(t->word[0], "caf\xc3\xa9");
	CHECK_EQ_INT(t->len[0], 5);
	CHECK_EQ_INT(t->slen[0], 5);
	CHECK_EQ_STR(t->word[1], "\xc3\x89" "cole");
	CHECK_EQ_INT(t->off[1], 6);
	CHECK_EQ_STR(t->word[2], "na\xc3\xafve");
	CHECK_EQ_STR(t->word[3], "\xe6\x9d\xb1\xe4\xba\xac");
	CHECK_EQ_INT(t->len[3], 6);
	CHECK_EQ_STR(t->word[4], "\xf0\x9f\x98\x80x");   /* a 4-byte code point + x */
	free(t);
}

TEST(search_tokenize_invalid_utf8_separates)
{
	/* a lone continuation byte, a truncated 2-byte sequence, an overlong
	 * "/" (C0 AF), a surrogate (ED A0 80), a code point above U+10FFFF
	 * (F4 90 80 80), F5 and FF bytes, an overlong 3-byte (E0 80 AF). */
	struct toks *t = RUN("a\x80" "b\xc3" "c\xc0\xaf" "d\xed\xa0\x80" "e\xf4\x90\x80\x80" "f\xf5g\xffh\xe0\x80\xafi");
	CHECK_EQ_INT(t->n, 9);
	const char *want[] = { "a", "b", "c", "d", "e", "f", "g", "h", "i" };
	for (size_t i = 0; i < 9; i++) {
		CHECK_EQ_STR(t->word[i], want[i]);
		CHECK_EQ_INT(t->len[i], 1);
	}
	CHECK_EQ_INT(t->off[3], 7);
	free(t);
	/* A sequence truncated by the end of the input. */
	t = RUN("ab\xe6\x9d");
	CHECK_EQ_INT(t->n, 1);
	CHECK_EQ_STR(t->word[0], "ab");
	CHECK_EQ_INT(t->slen[0], 2);
	free(t);
	/* Largest valid code point U+10FFFF and U+D7FF (just below surrogates). */
	t = RUN("\xf4\x8f\xbf\xbf \xed\x9f\xbf");
	CHECK_EQ_INT(t->n, 2);
	CHECK_EQ_INT(t->len[0], 4);
	CHECK_EQ_INT(t->len[1], 3);
	free(t);
}

TEST(search_tokenize_long_run_cut_at_utf8_boundary)
{
	/* 200 bytes of ASCII: the word is the first 64 bytes, the source span
	 * the whole run, and no second token from the rest. */
	char buf[210];
	for (int i = 0; i < 200; i++)
		buf[i] = (char)('A' + i % 26);
	buf[200] = ' ';
	buf[201] = 'z';
	struct toks *t = run(buf, 202);
	CHECK_EQ_INT(t->n, 2);
	CHECK_EQ_INT(t->len[0], TOKEN_MAX_BYTES);
	CHECK_EQ_INT(strlen(t->word[0]), TOKEN_MAX_BYTES);
	CHECK_EQ_INT(t->off[0], 0);
	CHECK_EQ_INT(t->slen[0], 200);
	CHECK(t->word[0][0] == 'a' && t->word[0][63] == 'l');   /* 63 % 26 = 11 */
	CHECK_EQ_STR(t->word[1], "z");
	CHECK_EQ_INT(t->off[1], 201);
	free(t);
	/* "x" then 2-byte é's: 1 + 31*2 = 63 bytes fit, a 32nd é would make
	 * 65: the cut leaves 63 bytes, never half a code point. */
	char u[1 + 2 * 40];
	u[0] = 'x';
	for (int i = 0; i < 40; i++) {
		u[1 + 2 * i] = (char)0xc3;
		u[2 + 2 * i] = (char)0xa9;
	}
	t = run(u, sizeof u);
	CHECK_EQ_INT(t->n, 1);
	CHECK_EQ_INT(t->len[0], 63);
	CHECK_EQ_INT(t->slen[0], sizeof u);
	CHECK((unsigned char)t->word[0][62] == 0xa9);
	free(t);
	/* Exactly 64 bytes: not cut. */
	t = run(buf, 64);
	CHECK_EQ_INT(t->n, 1);
	CHECK_EQ_INT(t->len[0], 64);
	CHECK_EQ_INT(t->slen[0], 64);
	free(t);
}

TEST(search_tokenize_stop_returns_callback_value)
{
	struct toks *t = calloc(1, sizeof *t);
	t->stop_after = 2;
	CHECK_EQ_INT(tokenize("one two three", 13, collect, t), 7);
	CHECK_EQ_INT(t->n, 2);
	free(t);
}

TEST(search_tokenize_not_nul_terminated)
{
	/* The length bounds the scan: "abcdef" with len 3 is "abc". */
	struct toks *t = run("abcdef", 3);
	CHECK_EQ_INT(t->n, 1);
	CHECK_EQ_STR(t->word[0], "abc");
	free(t);
}

static const char *stem(const char *w)
{
	static char buf[TOKEN_MAX_BYTES + 1];
	size_t n = strlen(w);
	memcpy(buf, w, n + 1);
	size_t m = token_stem(buf, n);
	if (m != strlen(buf))
		return "(length and NUL disagree)";
	return buf;
}

TEST(search_tokenize_stem_rules)
{
	CHECK_EQ_STR(stem("queries"), "query");
	CHECK_EQ_STR(stem("ponies"), "pony");
	CHECK_EQ_STR(stem("ties"), "ty");
	CHECK_EQ_STR(stem("aies"), "aies");      /* "aies" kept */
	CHECK_EQ_STR(stem("zombies"), "zomby");  /* the S-stemmer's known over-stem */
	CHECK_EQ_STR(stem("movies"), "movy");
	CHECK_EQ_STR(stem("eies"), "eies");
	CHECK_EQ_STR(stem("horses"), "horse");
	CHECK_EQ_STR(stem("boxes"), "boxe");
	CHECK_EQ_STR(stem("does"), "does");      /* "oes" kept */
	CHECK_EQ_STR(stem("trees"), "trees");    /* "ees" kept */
	CHECK_EQ_STR(stem("algaes"), "algaes");  /* "aes" kept */
	CHECK_EQ_STR(stem("cats"), "cat");
	CHECK_EQ_STR(stem("apples"), "apple");
	CHECK_EQ_STR(stem("status"), "status");  /* "us" kept */
	CHECK_EQ_STR(stem("glass"), "glass");    /* "ss" kept */
	CHECK_EQ_STR(stem("caf\xc3\xa9s"), "caf\xc3\xa9");
	CHECK_EQ_STR(stem("42s"), "42s");        /* under 4 bytes */
	CHECK_EQ_STR(stem("bus"), "bus");
	CHECK_EQ_STR(stem("is"), "is");
	CHECK_EQ_STR(stem("s"), "s");
	CHECK_EQ_STR(stem(""), "");
	CHECK_EQ_STR(stem("apple"), "apple");
	/* Not NUL-terminated input: only `len` bytes are read. */
	char w[8] = { 'c', 'a', 't', 's', 'X', 'X', 'X', 'X' };
	CHECK_EQ_INT(token_stem(w, 4), 3);
	CHECK_EQ_INT(token_stem(w, 3), 3);
}
