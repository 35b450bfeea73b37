/* glove.c — the memory-mapped GloVe word-vector file (see glove.h).
 *
 * DESIGN NOTES
 * 1. The file is trusted no more than an upload: glove_open checks the
 *    magic, the header's sizes (dim <= LH_GLOVE_MAX_DIM, count <=
 *    LH_GLOVE_MAX_WORDS, hash_slots a power of two >= 2*count), that each
 *    section lies inside the file (in 64-bit arithmetic, no overflow), that
 *    the u32 arrays are 4-byte aligned, that word ends never decrease nor
 *    pass the words section, and that every hash slot is 0 or <= count with
 *    at most `count` slots used. After that, glove_vector/glove_word index
 *    only checked ranges.
 * 2. glove_find probes at most hash_slots slots, so even a table without an
 *    empty slot (refused at open anyway: count < hash_slots) cannot loop.
 * 3. The mapping is PROT_READ, MAP_PRIVATE: processes share the page cache;
 *    pages are read on first touch (the vectors are 137 MB, a sentence
 *    touches a few KB).
 * 4. The format is little-endian; so is every host we build for (checked at
 *    compile time below), so the arrays are read in place.
 */
#include "search/glove.h"

#include "common/error.h"
#include "common/limits.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "glove.c reads the little-endian .lhwv arrays in place"
#endif

#define GLOVE_MAGIC       "LHWV0001"
#define GLOVE_HEADER_SIZE 64

struct glove {
	const unsigned char *base;
	size_t size;
	int mapped;             /* glove_open: munmap on close */
	uint32_t dim, count, slots;
	const float *vectors;
	const char *words;
	uint64_t words_len;
	const uint32_t *ends;
	const uint32_t *hash;
};

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint32_t glove_hash(const char *word, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)word[i];
		h *= 16777619u;
	}
	return h;
}

static int bad(struct lh_error *err, const char *path, const char *why)
{
	lh_fail(err, 503, "embedder_unavailable",
		"the builtin embedder's word vectors could not be loaded");
	lh_error_detail(err, "%s: %s", path, why);
	return -1;
}

/* 1 if [off, off + len) lies inside a file of `size` bytes. */
static int inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Validate the mapped bytes and fill g's views (design note 1). */
static int glove_check(struct glove *g, const char *path, struct lh_error *err)
{
	const unsigned char *b = g->base;
	uint64_t size = g->size;
	if (size < GLOVE_HEADER_SIZE)
		return bad(err, path, "shorter than the 64-byte header");
	if (memcmp(b, GLOVE_MAGIC, 8) != 0)
		return bad(err, path, "not an LHWV0001 file (bad magic)");
	uint32_t dim = rd32(b + 8), count = rd32(b + 12), slots = rd32(b + 16);
	uint64_t voff = rd64(b + 24), woff = rd64(b + 32), eoff = rd64(b + 40);
	uint64_t hoff = rd64(b + 48), fsize = rd64(b + 56);
	if (rd32(b + 20) != 0)
		return bad(err, path, "reserved header field is not 0");
	if (fsize != size)
		return bad(err, path, "file size differs from the header's (truncated?)");
	if (dim == 0 || dim > LH_GLOVE_MAX_DIM)
		return bad(err, path, "dimension out of range");
	if (count == 0 || count > LH_GLOVE_MAX_WORDS)
		return bad(err, path, "word count out of range");
	if (slots == 0 || (slots & (slots - 1)) != 0 || (uint64_t)slots < 2ull * count)
		return bad(err, path, "hash table size is not a power of two >= 2 * words");
	if (voff % 4 || eoff % 4 || hoff % 4)
		return bad(err, path, "a section is not 4-byte aligned");
	if (voff < GLOVE_HEADER_SIZE || woff < GLOVE_HEADER_SIZE || eoff < GLOVE_HEADER_SIZE ||
	    hoff < GLOVE_HEADER_SIZE)
		return bad(err, path, "a section overlaps the header");
	if (!inside(voff, 4ull * dim * count, size))
		return bad(err, path, "vectors section outside the file");
	if (!inside(eoff, 4ull * count, size))
		return bad(err, path, "word ends section outside the file");
	if (!inside(hoff, 4ull * slots, size))
		return bad(err, path, "hash section outside the file");
	if (woff > size)
		return bad(err, path, "words section outside the file");
	const uint32_t *ends = (const uint32_t *)(const void *)(b + eoff);
	uint32_t prev = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (ends[i] < prev)
			return bad(err, path, "word ends decrease");
		prev = ends[i];
	}
	if (!inside(woff, prev, size))
		return bad(err, path, "words section outside the file");
	const uint32_t *hash = (const uint32_t *)(const void *)(b + hoff);
	uint64_t used = 0;
	for (uint32_t i = 0; i < slots; i++) {
		if (hash[i] > count)
			return bad(err, path, "hash slot names a word past the end");
		used += hash[i] != 0;
	}
	if (used > count)
		return bad(err, path, "hash table has more entries than words");
	g->dim = dim;
	g->count = count;
	g->slots = slots;
	g->vectors = (const float *)(const void *)(b + voff);
	g->words = (const char *)b + woff;
	g->words_len = prev;
	g->ends = ends;
	g->hash = hash;
	return 0;
}

struct glove *glove_open(const char *path, struct lh_error *err)
{
	int fd = -1;
	struct glove *g = NULL;
	void *map = MAP_FAILED;
	struct stat st;
	char why[160];
	if (!path || !*path) {
		bad(err, "(no path)", "no word-vector file configured");
		goto fail;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(why, sizeof why, "cannot open: %s", strerror(errno));
		bad(err, path, why);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		bad(err, path, "not a regular file");
		goto fail;
	}
	if (st.st_size < GLOVE_HEADER_SIZE) {
		bad(err, path, "shorter than the 64-byte header");
		goto fail;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		snprintf(why, sizeof why, "cannot map: %s", strerror(errno));
		bad(err, path, why);
		goto fail;
	}
	g = calloc(1, sizeof *g);
	if (!g) {
		bad(err, path, "out of memory");
		goto fail;
	}
	g->base = map;
	g->size = (size_t)st.st_size;
	g->mapped = 1;
	if (glove_check(g, path, err) != 0)
		goto fail;
	close(fd);
	return g;
fail:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	free(g);
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct glove *glove_view(const void *bytes, size_t len, struct lh_error *err)
{
	struct glove *g = NULL;
	if (((uintptr_t)bytes & 3) != 0) {
		bad(err, "(memory)", "not 4-byte aligned");
		return NULL;
	}
	g = calloc(1, sizeof *g);
	if (!g) {
		bad(err, "(memory)", "out of memory");
		return NULL;
	}
	g->base = bytes;
	g->size = len;
	if (glove_check(g, "(memory)", err) != 0) {
		free(g);
		return NULL;
	}
	return g;
}

void glove_close(struct glove *g)
{
	if (!g)
		return;
	if (g->mapped)
		munmap((void *)g->base, g->size);
	free(g);
}

uint32_t glove_dim(const struct glove *g)
{
	return g->dim;
}

uint32_t glove_count(const struct glove *g)
{
	return g->count;
}

const float *glove_vector(const struct glove *g, uint32_t index)
{
	return index < g->count ? g->vectors + (size_t)index * g->dim : NULL;
}

const char *glove_word(const struct glove *g, uint32_t index, size_t *len)
{
	if (index >= g->count) {
		*len = 0;
		return NULL;
	}
	uint32_t start = index ? g->ends[index - 1] : 0;
	*len = g->ends[index] - start;
	return g->words + start;
}

int64_t glove_find(const struct glove *g, const char *word, size_t len)
{
	uint32_t mask = g->slots - 1;
	uint32_t s = glove_hash(word, len) & mask;
	for (uint32_t probes = 0; probes < g->slots; probes++, s = (s + 1) & mask) {
		uint32_t v = g->hash[s];
		if (v == 0)
			return -1;
		size_t wl;
		const char *w = glove_word(g, v - 1, &wl);
		if (wl == len && memcmp(w, word, len) == 0)
			return (int64_t)v - 1;
	}
	return -1;
}
