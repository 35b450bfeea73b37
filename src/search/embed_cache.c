/* embed_cache.c — the process-wide vector cache of the model-server
 * embedders (see embed_cache.h).
 *
 * DESIGN NOTES
 * 1. A chained hash table (EMBED_CACHE_BUCKETS heads, by FNV-1a of the hex
 *    key) plus one doubly linked list in use order: get moves a hit to the
 *    front, put inserts at the front and evicts from the back while the
 *    bytes (header + vector of each entry) exceed the cap.
 * 2. Process-wide on purpose (ADR 0144): queryd may open an embedder per
 *    request or per index; the cache must outlive them. The key covers the
 *    id and the URL, so sharing is always safe.
 * 3. One mutex; the critical sections copy at most one vector.
 */
#include "search/embed_cache.h"

#include "common/limits.h"
#include "common/sha256.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_CACHE_BUCKETS 65536

struct entry {
	struct entry *hnext;          /* bucket chain */
	struct entry *prev, *next;    /* use order: head = most recent */
	char key[EMBED_CACHE_KEY_LEN + 1];
	unsigned dim;
	float v[];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	struct entry **buckets;       /* allocated on first put */
	struct entry *head, *tail;
	size_t entries, bytes, cap;
	uint64_t hits, misses;
} c;

void embed_cache_key(const char *id, const char *url, const char *text, size_t len,
		     char key[EMBED_CACHE_KEY_LEN + 1])
{
	struct sha256 *h = sha256_create();
	sha256_update(h, id, strlen(id) + 1);
	sha256_update(h, url, strlen(url) + 1);
	sha256_update(h, text, len);
	sha256_finish_hex(h, key);
}

static uint32_t bucket_of(const char *key)
{
	uint32_t x = 2166136261u;
	for (int i = 0; i < EMBED_CACHE_KEY_LEN; i++) {
		x ^= (unsigned char)key[i];
		x *= 16777619u;
	}
	return x % EMBED_CACHE_BUCKETS;
}

static size_t entry_bytes(unsigned dim)
{
	return sizeof(struct entry) + sizeof(float) * dim;
}

static size_t cap_bytes(void)
{
	return c.cap ? c.cap : LH_EMBED_CACHE_BYTES;
}

static void unlink_use(struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c.head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c.tail = e->prev;
	e->prev = e->next = NULL;
}

static void push_front(struct entry *e)
{
	e->prev = NULL;
	e->next = c.head;
	if (c.head)
		c.head->prev = e;
	c.head = e;
	if (!c.tail)
		c.tail = e;
}

static struct entry **find_slot(const char *key)
{
	struct entry **p = &c.buckets[bucket_of(key)];
	while (*p && memcmp((*p)->key, key, EMBED_CACHE_KEY_LEN) != 0)
		p = &(*p)->hnext;
	return p;
}

static void remove_entry(struct entry *e)
{
	struct entry **p = find_slot(e->key);
	if (*p == e)
		*p = e->hnext;
	unlink_use(e);
	c.entries--;
	c.bytes -= entry_bytes(e->dim);
	free(e);
}

int embed_cache_get(const char *key, unsigned *dim, float *out)
{
	int hit = 0;
	pthread_mutex_lock(&mu);
	if (c.buckets) {
		struct entry *e = *find_slot(key);
		if (e && (e->dim == *dim || *dim == 0)) {
			*dim = e->dim;
			memcpy(out, e->v, sizeof(float) * e->dim);
			unlink_use(e);
			push_front(e);
			hit = 1;
		}
	}
	if (hit)
		c.hits++;
	else
		c.misses++;
	pthread_mutex_unlock(&mu);
	return hit;
}

void embed_cache_put(const char *key, unsigned dim, const float *v)
{
	pthread_mutex_lock(&mu);
	if (entry_bytes(dim) > cap_bytes())
		goto out;
	if (!c.buckets) {
		c.buckets = calloc(EMBED_CACHE_BUCKETS, sizeof *c.buckets);
		if (!c.buckets)
			goto out;             /* no cache is still correct */
	}
	struct entry *old = *find_slot(key);
	if (old)
		remove_entry(old);
	struct entry *e = malloc(entry_bytes(dim));
	if (!e)
		goto out;
	memcpy(e->key, key, EMBED_CACHE_KEY_LEN + 1);
	e->dim = dim;
	memcpy(e->v, v, sizeof(float) * dim);
	struct entry **slot = &c.buckets[bucket_of(key)];
	e->hnext = *slot;
	*slot = e;
	push_front(e);
	c.entries++;
	c.bytes += entry_bytes(dim);
	while (c.bytes > cap_bytes() && c.tail)
		remove_entry(c.tail);
out:
	pthread_mutex_unlock(&mu);
}

void embed_cache_stats(struct embed_cache_stats *out)
{
	pthread_mutex_lock(&mu);
	out->entries = c.entries;
	out->bytes = c.bytes;
	out->cap_bytes = cap_bytes();
	out->hits = c.hits;
	out->misses = c.misses;
	pthread_mutex_unlock(&mu);
}

void embed_cache_reset(size_t cap)
{
	pthread_mutex_lock(&mu);
	while (c.tail)
		remove_entry(c.tail);
	c.cap = cap;
	c.hits = c.misses = 0;
	pthread_mutex_unlock(&mu);
}
