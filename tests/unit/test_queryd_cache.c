/* test_queryd_cache.c — cache.c: hits never re-fetch, failed fetches leave
 * nothing, LRU eviction by bytes spares pinned files, a reopen adopts the
 * files on disk and removes stale temp files. */
#include "test.h"

#include "common/error.h"
#include "common/xmalloc.h"
#include "queryd/queryd_int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct fake { int calls; size_t size; int fail; };

static int fake_fetch(void *ctx, const char *key, int fd, struct lh_error *err)
{
	struct fake *f = ctx;
	f->calls++;
	if (f->fail)
		return lh_fail(err, 502, "upstream_failed", "no such object %s", key);
	char *buf = xcalloc(1, f->size);
	ssize_t w = write(fd, buf, f->size);
	free(buf);
	return w == (ssize_t)f->size ? 0 : lh_fail(err, 500, "internal", "short write");
}

static int count_files(const char *dir)
{
	char *cmd = xasprintf("exit $(ls -A '%s' | wc -l)", dir);
	int rc = system(cmd);
	free(cmd);
	return WEXITSTATUS(rc);
}

TEST(queryd_cache_hit_miss_evict_reopen)
{
	char dir[] = "/tmp/lh-qc-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct lh_error err = { 0 };
	struct qcache *c = qcache_open(dir, 250, &err);
	CHECK(c != NULL);
	struct fake f = { 0, 100, 0 };
	char path[256];
	int fetched = -1;
	struct qcache_stats st;

	CHECK_EQ_INT(qcache_acquire(c, "datasets/a/1.parquet", fake_fetch, &f, path, sizeof path, &fetched, &err), 0);
	CHECK_EQ_INT(fetched, 1);
	CHECK(access(path, R_OK) == 0);
	CHECK_EQ_INT(qcache_acquire(c, "datasets/a/1.parquet", fake_fetch, &f, path, sizeof path, &fetched, &err), 0);
	CHECK_EQ_INT(fetched, 0);
	CHECK_EQ_INT(f.calls, 1);                        /* never re-fetched */
	qcache_release(c, "datasets/a/1.parquet");
	qcache_release(c, "datasets/a/1.parquet");

	/* a failed fetch leaves no entry and no file */
	f.fail = 1;
	CHECK_EQ_INT(qcache_acquire(c, "datasets/bad", fake_fetch, &f, path, sizeof path, NULL, &err), -1);
	CHECK_EQ_INT(err.status, 502);
	lh_error_clear(&err);
	CHECK(access(path, F_OK) != 0);
	f.fail = 0;

	/* b pinned, c and d arrive: a (LRU, unpinned) goes first, b stays */
	char pb[256];
	CHECK_EQ_INT(qcache_acquire(c, "b", fake_fetch, &f, pb, sizeof pb, NULL, &err), 0);
	CHECK_EQ_INT(qcache_acquire(c, "c", fake_fetch, &f, path, sizeof path, NULL, &err), 0);
	qcache_release(c, "c");
	qcache_stats(c, &st);
	CHECK_EQ_INT(st.evictions, 1);                  /* 300 > 250: a evicted */
	CHECK_EQ_INT(st.bytes, 200);
	CHECK_EQ_INT(qcache_acquire(c, "d", fake_fetch, &f, path, sizeof path, NULL, &err), 0);
	qcache_release(c, "d");
	qcache_stats(c, &st);
	CHECK_EQ_INT(st.evictions, 2);                  /* c evicted, b pinned */
	CHECK(access(pb, R_OK) == 0);
	CHECK_EQ_INT(st.files, 2);
	CHECK_EQ_INT(st.hits, 1);
	CHECK_EQ_INT(st.fetches, 4);
	qcache_release(c, "b");
	qcache_close(c);

	/* reopen: the two files are adopted, a stale temp file is removed */
	char *tmp = xasprintf("%s/junk.1234.tmp", dir);
	FILE *fp = fopen(tmp, "w");
	CHECK(fp != NULL);
	fclose(fp);
	c = qcache_open(dir, 250, &err);
	CHECK(c != NULL);
	CHECK(access(tmp, F_OK) != 0);
	free(tmp);
	f.calls = 0;
	CHECK_EQ_INT(qcache_acquire(c, "b", fake_fetch, &f, path, sizeof path, &fetched, &err), 0);
	CHECK_EQ_INT(fetched, 0);
	CHECK_EQ_INT(f.calls, 0);
	qcache_release(c, "b");
	CHECK_EQ_INT(count_files(dir), 2);
	qcache_close(c);
	/* reopen with a smaller cap evicts down to it */
	c = qcache_open(dir, 100, &err);
	CHECK(c != NULL);
	CHECK_EQ_INT(count_files(dir), 1);
	qcache_close(c);
	char *cmd = xasprintf("rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	free(cmd);
}
