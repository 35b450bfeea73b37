/* tokenize.h — the one tokenizer of the search module: BM25 (text_index.c,
 * highlight.c) and the builtin embedder (embed_builtin.c) split text the same
 * way, so a word the index knows is a word the embedder looks up.
 *
 * Pure functions, no allocation, thread-safe. docs/embeddings.md
 * "Tokenisation" says the rules in words.
 */
#ifndef LH_SEARCH_TOKENIZE_H
#define LH_SEARCH_TOKENIZE_H
#include <stddef.h>

/* The longest token handed to a token_fn, in bytes (without the NUL). */
#define TOKEN_MAX_BYTES 64

/* Called for each token: `word` is the token lower-cased (ASCII A-Z -> a-z;
 * other bytes kept), NUL-terminated, `len` bytes (<= TOKEN_MAX_BYTES; longer
 * runs are cut at a UTF-8 boundary and the rest of the run is dropped: one
 * run, one token), `src_off`/`src_len` the token's bytes in the input (the
 * WHOLE run, for highlights). `word` points into tokenize()'s stack: copy it
 * to keep it. Return 0 to go on, non-zero to stop (tokenize then returns that
 * value). */
typedef int (*token_fn)(void *ctx, const char *word, size_t len, size_t src_off, size_t src_len);

/* Tokens are maximal runs of ASCII letters/digits and non-ASCII UTF-8 code
 * points (valid sequences only: no overlong forms, no surrogates, nothing
 * above U+10FFFF); everything else (punctuation, spaces, control bytes,
 * invalid UTF-8) separates. `text` need not be NUL-terminated and may hold
 * NUL bytes (they separate). Pure, thread-safe. Returns 0 or what fn
 * returned. */
int tokenize(const char *text, size_t len, token_fn fn, void *ctx);

/* The length (2-4) of the valid UTF-8 sequence at s[0..n) if s[0] is a
 * non-ASCII lead byte, else 0 (ASCII, a stray continuation byte, an
 * overlong form, a surrogate, past U+10FFFF, or cut by n). The tokenizer's
 * own test; embed_model.c uses it to clean texts for JSON. */
size_t token_utf8_seq_len(const char *s, size_t n);

/* BM25's term for a token (in place): a light English plural stemmer
 * (Harman's S-stemmer, 1991, read as Lucene's EnglishMinimalStemmer does:
 * an ending that is an exception leaves the word alone):
 *   "ies" -> "y"  unless "eies"/"aies"
 *   "es"  -> "e"  unless "aes"/"ees"/"oes"
 *   "s"   -> ""   unless "us"/"ss"
 * The first rule whose ending matches decides; words shorter than 4 bytes
 * are kept. `word` need not be NUL-terminated; when the word shrinks,
 * word[new length] becomes '\0' (a byte of the dropped suffix), so a
 * NUL-terminated word stays NUL-terminated. Returns the new length. */
size_t token_stem(char *word, size_t len);

#endif
