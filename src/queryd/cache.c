/* cache.c — queryd's local content-addressed cache of Parquet objects.
 *
 * Objects in storaged are write-once (ADR 0050 point 6), so a key names the same
 * bytes forever and a cached copy never needs re-fetching.
 *
 * DESIGN NOTES
 *  1. A key lives in <dir>/<sha256(key)>.parquet: the name is fixed-length
 *     and safe whatever the key holds. Fetches write <dir>/<name>.<rand>.tmp,
 *     which the fetch callback verifies (sha256 == ETag) before we rename it
 *     into place, so a visible cache file is always whole and verified.
 *  2. The index is in memory (an array; caches hold thousands of files, not
 *     millions) and rebuilt at open from the directory, oldest mtime first,
 *     so a restart reuses every file. Leftover *.tmp files are deleted.
 *  3. One mutex guards the index; fetches run outside it. An entry being
 *     fetched is marked `loading`; a second acquire of that key waits on the
 *     condition variable rather than fetching again (never re-fetch).
 *  4. Each acquire pins its entry (pins++), each release unpins. Eviction
 *     (least recently used first, by a logical clock) removes only unpinned,
 *     loaded entries while the total exceeds the cap: a running query never
 *     loses a file. A single pinned working set larger than the cap is
 *     allowed to exceed it until released.
 */
#include "queryd/queryd_int.h"

#include "common/error.h"
#include "common/random.h"
#include "common/sha256.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct centry {
	char name[QCACHE_NAME_LEN];
	uint64_t size;
	uint64_t used;      /* logical clock of last use */
	unsigned pins;
	int loading;
};

struct qcache {
	char *dir;
	uint64_t cap;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct centry *v;
	size_t n, alloc;
	uint64_t clock;
	struct qcache_stats st;
};

void qcache_file_name(const char *key, char out[QCACHE_NAME_LEN])
{
	char hex[LH_SHA256_HEX_LEN + 1];
	sha256_hex(key, strlen(key), hex);
	snprintf(out, QCACHE_NAME_LEN, "%s.parquet", hex);
}

static struct centry *find(struct qcache *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			return &c->v[i];
	return NULL;
}

static struct centry *add(struct qcache *c, const char *name)
{
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? c->alloc * 2 : 64;
		c->v = xrealloc(c->v, c->alloc * sizeof *c->v);
	}
	struct centry *e = &c->v[c->n++];
	memset(e, 0, sizeof *e);
	memcpy(e->name, name, QCACHE_NAME_LEN);
	return e;
}

static void remove_at(struct qcache *c, struct centry *e)
{
	size_t i = (size_t)(e - c->v);
	c->v[i] = c->v[--c->n];
}

/* Under the lock: unlink LRU unpinned files while over the cap. */
static void evict(struct qcache *c)
{
	while (c->st.bytes > c->cap) {
		struct centry *victim = NULL;
		for (size_t i = 0; i < c->n; i++) {
			struct centry *e = &c->v[i];
			if (e->pins || e->loading)
				continue;
			if (!victim || e->used < victim->used)
				victim = e;
		}
		if (!victim)
			return;
		char *path = xasprintf("%s/%s", c->dir, victim->name);
		unlink(path);
		free(path);
		c->st.bytes -= victim->size;
		c->st.files--;
		c->st.evictions++;
		remove_at(c, victim);
	}
}

static int is_cache_name(const char *s)
{
	size_t n = strlen(s);
	if (n != 64 + strlen(".parquet") || strcmp(s + 64, ".parquet") != 0)
		return 0;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

struct found { char name[QCACHE_NAME_LEN]; uint64_t size; double mtime; };

static int by_mtime(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

struct qcache *qcache_open(const char *dir, uint64_t cap_bytes, struct lh_error *err)
{
	struct qcache *c = NULL;
	DIR *d = NULL;
	struct found *f = NULL;
	size_t nf = 0, af = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		lh_fail(err, 500, "internal", "cannot create the query cache directory %s: %s",
			dir, strerror(errno));
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		lh_fail(err, 500, "internal", "cannot open the query cache directory %s: %s",
			dir, strerror(errno));
		goto out;
	}
	c = xcalloc(1, sizeof *c);
	c->dir = xstrdup(dir);
	c->cap = cap_bytes;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *path = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		size_t len = strlen(de->d_name);
		if (len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			unlink(path);
		} else if (is_cache_name(de->d_name) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (nf == af) {
				af = af ? af * 2 : 64;
				f = xrealloc(f, af * sizeof *f);
			}
			memcpy(f[nf].name, de->d_name, QCACHE_NAME_LEN);   /* is_cache_name: exact length */
			f[nf].size = (uint64_t)st.st_size;
			f[nf].mtime = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
			nf++;
		}
		free(path);
	}
	if (nf)
		qsort(f, nf, sizeof *f, by_mtime);
	for (size_t i = 0; i < nf; i++) {
		struct centry *e = add(c, f[i].name);
		e->size = f[i].size;
		e->used = ++c->clock;
		c->st.bytes += e->size;
		c->st.files++;
	}
	evict(c);
out:
	if (d)
		closedir(d);
	free(f);
	return c;
}

void qcache_close(struct qcache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->v);
	free(c->dir);
	free(c);
}

int qcache_acquire(struct qcache *c, const char *key, cache_fetch_fn fetch, void *ctx,
		   char *path, size_t size, int *fetched, struct lh_error *err)
{
	char name[QCACHE_NAME_LEN];
	char *tmp = NULL, *final = NULL;
	int fd = -1, rc = -1;
	struct stat st = { 0 };
	qcache_file_name(key, name);
	snprintf(path, size, "%s/%s", c->dir, name);
	if (fetched)
		*fetched = 0;

	pthread_mutex_lock(&c->mu);
	struct centry *e;
	while ((e = find(c, name)) != NULL && e->loading)
		pthread_cond_wait(&c->cv, &c->mu);
	if (e) {
		e->pins++;
		e->used = ++c->clock;
		c->st.hits++;
		pthread_mutex_unlock(&c->mu);
		return 0;
	}
	e = add(c, name);
	e->loading = 1;
	c->st.misses++;
	pthread_mutex_unlock(&c->mu);

	char rnd[2 * 8 + 1];
	random_name(rnd, 8);
	tmp = xasprintf("%s/%s.%s.tmp", c->dir, name, rnd);
	final = xasprintf("%s/%s", c->dir, name);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		lh_fail(err, 500, "internal", "cannot create a file in the query cache: %s",
			strerror(errno));
		goto out;
	}
	if (fetched)
		*fetched = 1;
	if (fetch(ctx, key, fd, err) != 0)
		goto out;
	if (fstat(fd, &st) != 0 || rename(tmp, final) != 0) {
		lh_fail(err, 500, "internal", "cannot store a file in the query cache: %s",
			strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp)
		unlink(tmp);
	pthread_mutex_lock(&c->mu);
	e = find(c, name);
	if (rc == 0) {
		e->loading = 0;
		e->pins = 1;
		e->size = (uint64_t)st.st_size;
		e->used = ++c->clock;
		c->st.fetches++;
		c->st.bytes += e->size;
		c->st.files++;
		evict(c);
	} else {
		remove_at(c, e);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	free(tmp);
	free(final);
	return rc;
}

void qcache_release(struct qcache *c, const char *key)
{
	char name[QCACHE_NAME_LEN];
	qcache_file_name(key, name);
	pthread_mutex_lock(&c->mu);
	struct centry *e = find(c, name);
	if (e && e->pins > 0) {
		e->pins--;
		e->used = ++c->clock;
	}
	evict(c);
	pthread_mutex_unlock(&c->mu);
}

void qcache_stats(struct qcache *c, struct qcache_stats *out)
{
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	pthread_mutex_unlock(&c->mu);
}
