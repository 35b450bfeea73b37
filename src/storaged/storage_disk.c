/* storage_disk.c — storaged's local-disk backend (struct storage_backend).
 *
 * LAYOUT (ADR 0030). Under the root (cfg storaged.root, <data_dir>/objects):
 *     .tmp/put-<pid>-<n>           uploads in progress
 *     data/<s1>~d/<s2>~d/<sN>~o    the object with key "s1/s2/sN"
 * Every directory name ends in "~d" and every object file in "~o", so the
 * keys "a" and "a/b" never collide as file and directory, and no name can be
 * ".", ".." or ".tmp". A segment is limited to NAME_MAX - 2 bytes here.
 * An object file is a 128-byte header followed by the object's bytes:
 *     0   8  magic "LHOBJv1\n"
 *     8   8  size, little-endian
 *     16  8  commit time, Unix ms, little-endian
 *     24  64 SHA-256, lowercase hex
 *     88  40 zero
 * so size and digest are in the same file as the bytes: one rename or link
 * publishes both, and GET/HEAD/LIST read 128 bytes, never the whole object.
 *
 * NOTES ON THE DESIGN OF THE WRITE PATH — invariants and who keeps them:
 *  1. A file under data/ is always complete: header and body were written and
 *     fsync'd in .tmp/ before any name under data/ pointed at it
 *     (disk_put_commit: pwrite header, fsync, then link/rename).
 *  2. Publishing is one atomic step: link(2) for write-once (EEXIST -> 412;
 *     two racing writers cannot both win), rename(2) to replace. A crash
 *     before it leaves the old state; after it, the new object, whole (1).
 *  3. Once the publishing step returns, fsync of the object's directory makes
 *     the name durable before we answer 200; directories created on the way
 *     are made durable by fsync of their parents (disk_mkdirs).
 *  4. Nothing under .tmp/ is ever visible as an object. Every failure path
 *     and client disconnect unlinks its temp file (disk_put_abort); a crash
 *     can leave one, and storage_disk_create empties .tmp/ at start. So one
 *     root belongs to one storaged process.
 *  5. DELETE unlinks the object then fsyncs its directory before 204; empty
 *     parent directories are removed best-effort. A writer racing with that
 *     rmdir sees ENOENT from mkdir, link or rename and recreates the path
 *     (bounded retries in disk_mkdirs and disk_put_commit); a DELETE whose
 *     directory another DELETE removed syncs the nearest ancestor instead.
 *  6. A reader holds an open fd, so an object deleted or replaced while it is
 *     being sent is still sent whole from the old inode.
 */
#include "storaged/storage_backend.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DISK_HEADER_BYTES   128
#define DISK_MAGIC          "LHOBJv1\n"
#define DISK_SEGMENT_MAX    (NAME_MAX - 2)     /* room for the "~o"/"~d" suffix */
#define DISK_PUBLISH_TRIES  8

struct disk_backend {
	struct storage_backend base;   /* first: storaged.c sees only this */
	char *root;
	char *data;                    /* <root>/data */
	char *tmp;                     /* <root>/.tmp */
	atomic_ulong tmp_seq;
};

struct disk_put {
	struct storage_put base;       /* first */
	char *key;                     /* for log lines */
	char *final_path;
	char *tmp_path;
	int fd;
	int create_only;
	struct sha256 *hash;
	uint64_t size;
};

/* --- small helpers ------------------------------------------------------ */

static int fail_io(struct lh_error *err, int e, const char *what, const char *path)
{
	log_event("error", "storaged", "disk backend: %s %s: %s", what, path, strerror(e));
	if (e == ENOSPC || e == EDQUOT)
		return lh_fail(err, 507, "insufficient_storage",
			       "the object store is out of disk space");
	return lh_fail(err, 500, "storage_failed", "the object store could not %s", what);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* fsync a directory by path. */
static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* The directory part of `path` (up to the last '/'), newly allocated. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return xstrndup(path, slash ? (size_t)(slash - path) : 0);
}

/* Write all of buf, retrying short writes and EINTR. */
static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* "<data>/<s1>~d/.../<sN>~o" for a validated key. 400 if a segment is too
 * long for a file name. The caller frees *out. */
static int disk_path(struct disk_backend *d, const char *key, char **out,
		     struct lh_error *err)
{
	size_t nkey = strlen(key), ndata = strlen(d->data), nsegs = 1;
	for (size_t i = 0; i < nkey; i++)
		nsegs += key[i] == '/';
	char *path = xmalloc(ndata + 1 + nkey + 2 * nsegs + 1);
	char *w = path;
	memcpy(w, d->data, ndata);
	w += ndata;
	const char *seg = key;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		if (n > DISK_SEGMENT_MAX) {
			free(path);
			return lh_fail(err, 400, "bad_key",
				       "key segment of %zu bytes; the disk store allows %d per segment",
				       n, DISK_SEGMENT_MAX);
		}
		*w++ = '/';
		memcpy(w, seg, n);
		w += n;
		*w++ = '~';
		*w++ = slash ? 'd' : 'o';
		if (!slash)
			break;
		seg = slash + 1;
	}
	*w = '\0';
	*out = path;
	return 0;
}

/* Create the directories above `path` below d->data, fsyncing the parent of
 * each directory created (invariant 3). A concurrent DELETE may rmdir a
 * parent that just became empty (invariant 5) between two of our mkdir
 * calls; the next mkdir then fails with ENOENT and the walk starts again
 * from the top (bounded, like the publish retries). */
static int disk_mkdirs(struct disk_backend *d, const char *path, struct lh_error *err)
{
	int rc = 0;
	char *p = xstrdup(path);
	size_t base = strlen(d->data);
	for (int attempt = 1;; attempt++) {
		int vanished = 0;
		for (char *s = strchr(p + base + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (mkdir(p, 0755) == 0) {
				char *parent = dir_of(p);
				int frc = fsync_dir(parent);
				int e = errno;
				free(parent);
				if (frc && e == ENOENT && attempt < DISK_PUBLISH_TRIES) {
					/* removed again before we synced it */
					*s = '/';
					vanished = 1;
					break;
				}
				if (frc) {
					rc = fail_io(err, e, "sync a directory", p);
					goto out;
				}
			} else if (errno == ENOENT && attempt < DISK_PUBLISH_TRIES) {
				*s = '/';
				vanished = 1;
				break;
			} else if (errno != EEXIST) {
				rc = fail_io(err, errno, "create a directory", p);
				goto out;
			}
			*s = '/';
		}
		if (!vanished)
			break;
	}
out:
	free(p);
	return rc;
}

/* Read and check the header of an open object file. */
static int read_header(int fd, const char *path, struct storage_object_info *info,
		       struct lh_error *err)
{
	unsigned char h[DISK_HEADER_BYTES];
	struct stat st;
	ssize_t n = pread(fd, h, sizeof h, 0);
	if (n < 0)
		return fail_io(err, errno, "read an object", path);
	if (fstat(fd, &st))
		return fail_io(err, errno, "read an object", path);
	if (n != (ssize_t)sizeof h || memcmp(h, DISK_MAGIC, 8) != 0)
		goto corrupt;
	info->size = get_le64(h + 8);
	info->modified_ms = (int64_t)get_le64(h + 16);
	for (int i = 0; i < LH_SHA256_HEX_LEN; i++) {
		char c = (char)h[24 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto corrupt;
		info->sha256[i] = c;
	}
	info->sha256[LH_SHA256_HEX_LEN] = '\0';
	if ((uint64_t)st.st_size != info->size + DISK_HEADER_BYTES)
		goto corrupt;
	return 0;
corrupt:
	log_event("error", "storaged", "disk backend: corrupt object file %s", path);
	return lh_fail(err, 500, "storage_failed", "the stored object is damaged");
}

/* Open an object file; 404 if there is none. */
static int open_object(struct disk_backend *d, const char *key, char **path_out,
		       int *fd_out, struct lh_error *err)
{
	char *path = NULL;
	if (disk_path(d, key, &path, err))
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		int rc;
		if (e == ENOENT || e == ENOTDIR)
			rc = lh_fail(err, 404, "not_found", "no object with key \"%s\"", key);
		else
			rc = fail_io(err, e, "open an object", path);
		free(path);
		return rc;
	}
	*path_out = path;
	*fd_out = fd;
	return 0;
}

/* --- uploads ------------------------------------------------------------ */

static void disk_put_free(struct disk_put *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->tmp_path)
		unlink(p->tmp_path);
	sha256_destroy(p->hash);
	free(p->tmp_path);
	free(p->final_path);
	free(p->key);
	free(p);
}

static int disk_put_begin(struct storage_backend *b, const char *key, int create_only,
			  struct storage_put **out, struct lh_error *err)
{
	struct disk_backend *d = (struct disk_backend *)b;
	struct disk_put *p = xcalloc(1, sizeof *p);
	static const unsigned char zero[DISK_HEADER_BYTES];
	int rc = 0;

	p->base.backend = b;
	p->fd = -1;
	p->create_only = create_only;
	p->key = xstrdup(key);
	rc = disk_path(d, key, &p->final_path, err);
	if (rc)
		goto out;
	if (create_only && access(p->final_path, F_OK) == 0) {
		rc = lh_fail(err, 412, "exists", "an object with key \"%s\" exists", key);
		goto out;
	}
	for (int tries = 0; p->fd < 0; tries++) {
		free(p->tmp_path);
		p->tmp_path = xasprintf("%s/put-%ld-%lu", d->tmp, (long)getpid(),
					atomic_fetch_add(&d->tmp_seq, 1));
		p->fd = open(p->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (p->fd < 0 && (errno != EEXIST || tries > 100)) {
			rc = fail_io(err, errno, "create a temporary file", p->tmp_path);
			free(p->tmp_path);
			p->tmp_path = NULL;
			goto out;
		}
	}
	/* The header stays zero (not an object) until the commit. */
	if (write_all(p->fd, zero, sizeof zero)) {
		rc = fail_io(err, errno, "write a temporary file", p->tmp_path);
		goto out;
	}
	p->hash = sha256_create();
out:
	if (rc) {
		disk_put_free(p);
		return rc;
	}
	*out = &p->base;
	return 0;
}

static int disk_put_write(struct storage_put *base, const void *data, size_t n,
			  struct lh_error *err)
{
	struct disk_put *p = (struct disk_put *)base;
	if (write_all(p->fd, data, n))
		return fail_io(err, errno, "write a temporary file", p->tmp_path);
	sha256_update(p->hash, data, n);
	p->size += n;
	return 0;
}

static void disk_put_abort(struct storage_put *base)
{
	if (base)
		disk_put_free((struct disk_put *)base);
}

static int disk_put_commit(struct storage_put *base, struct storage_object_info *info,
			   struct lh_error *err)
{
	struct disk_put *p = (struct disk_put *)base;
	struct disk_backend *d = (struct disk_backend *)p->base.backend;
	unsigned char h[DISK_HEADER_BYTES] = {0};
	char *dir = NULL;
	int rc = 0;

	info->size = p->size;
	info->modified_ms = clock_wall_ms();
	sha256_finish_hex(p->hash, info->sha256);
	p->hash = NULL;

	/* Invariant 1: the whole file is durable before it gets a name. */
	memcpy(h, DISK_MAGIC, 8);
	put_le64(h + 8, info->size);
	put_le64(h + 16, (uint64_t)info->modified_ms);
	memcpy(h + 24, info->sha256, LH_SHA256_HEX_LEN);
	if (pwrite(p->fd, h, sizeof h, 0) != (ssize_t)sizeof h || fsync(p->fd)) {
		rc = fail_io(err, errno, "write a temporary file", p->tmp_path);
		goto out;
	}
	if (close(p->fd)) {
		p->fd = -1;
		rc = fail_io(err, errno, "write a temporary file", p->tmp_path);
		goto out;
	}
	p->fd = -1;

	/* Invariant 2: one atomic step publishes it; retry if a DELETE removed
	 * the directories in between (invariant 5). */
	for (int tries = 0;; tries++) {
		rc = disk_mkdirs(d, p->final_path, err);
		if (rc)
			goto out;
		int prc = p->create_only ? link(p->tmp_path, p->final_path)
					 : rename(p->tmp_path, p->final_path);
		if (prc == 0)
			break;
		if (errno == EEXIST && p->create_only) {
			rc = lh_fail(err, 412, "exists", "an object with key \"%s\" exists",
				     p->key);
			goto out;
		}
		if (errno != ENOENT || tries >= DISK_PUBLISH_TRIES) {
			rc = fail_io(err, errno, "store an object", p->final_path);
			goto out;
		}
	}
	if (!p->create_only) {
		free(p->tmp_path);     /* renamed away: nothing to unlink */
		p->tmp_path = NULL;
	}

	/* Invariant 3: the new name is durable before we answer. */
	dir = dir_of(p->final_path);
	if (fsync_dir(dir)) {
		rc = fail_io(err, errno, "sync a directory", dir);
		goto out;
	}
out:
	free(dir);
	disk_put_free(p);     /* unlinks the temp name, if any (invariant 4) */
	return rc;
}

/* --- reads, delete ------------------------------------------------------ */

static int disk_open(struct storage_backend *b, const char *key, struct storage_read *out,
		     struct lh_error *err)
{
	struct disk_backend *d = (struct disk_backend *)b;
	char *path = NULL;
	int fd = -1;
	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (open_object(d, key, &path, &fd, err))
		return -1;
	int rc = read_header(fd, path, &out->info, err);
	free(path);
	if (rc) {
		close(fd);
		return rc;
	}
	out->fd = fd;
	out->fd_offset = DISK_HEADER_BYTES;
	return 0;
}

static int disk_stat(struct storage_backend *b, const char *key,
		     struct storage_object_info *info, struct lh_error *err)
{
	struct disk_backend *d = (struct disk_backend *)b;
	char *path = NULL;
	int fd = -1;
	if (open_object(d, key, &path, &fd, err))
		return -1;
	int rc = read_header(fd, path, info, err);
	close(fd);
	free(path);
	return rc;
}

static int disk_remove(struct storage_backend *b, const char *key, struct lh_error *err)
{
	struct disk_backend *d = (struct disk_backend *)b;
	char *path = NULL, *dir = NULL;
	int rc = disk_path(d, key, &path, err);
	if (rc)
		return rc;
	if (unlink(path)) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = lh_fail(err, 404, "not_found", "no object with key \"%s\"", key);
		else
			rc = fail_io(err, errno, "delete an object", path);
		goto out;
	}
	dir = dir_of(path);
	/* A concurrent DELETE may already have removed our directory once it
	 * became empty (below): then sync the nearest ancestor that still
	 * exists, whose entry for the removed directory is what changed. */
	while (fsync_dir(dir)) {
		if (errno != ENOENT || strlen(dir) <= strlen(d->data)) {
			rc = fail_io(err, errno, "sync a directory", dir);
			goto out;
		}
		char *up = dir_of(dir);
		free(dir);
		dir = up;
	}
	/* Best effort: drop directories left empty, up to data/. */
	while (strlen(dir) > strlen(d->data) && rmdir(dir) == 0) {
		char *up = dir_of(dir);
		free(dir);
		dir = up;
	}
out:
	free(dir);
	free(path);
	return rc;
}

/* --- listing ------------------------------------------------------------ */

struct list_entry {
	char *seg;      /* decoded segment (name without its suffix) */
	size_t len;
	int is_dir;
	char *name;     /* on-disk name */
};

struct list_walk {
	const char *prefix;
	size_t nprefix;
	const char *after;
	storage_list_fn fn;
	void *ctx;
	struct lh_error *err;
	char key[LH_KEY_MAX_BYTES + 2];
	int stop;
};

/* Byte order of the keys an entry stands for: an object "seg", a directory
 * "seg/..." — so siblings sort as "seg" or "seg/" (ADR 0030). */
static int entry_cmp(const void *va, const void *vb)
{
	const struct list_entry *a = va, *b = vb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->seg, b->seg, n);
	if (c)
		return c;
	int ca = a->len > n ? (unsigned char)a->seg[n] : a->is_dir ? '/' : -1;
	int cb = b->len > n ? (unsigned char)b->seg[n] : b->is_dir ? '/' : -1;
	return ca - cb;
}

static int starts_with(const char *s, size_t ns, const char *prefix, size_t np)
{
	return ns >= np && memcmp(s, prefix, np) == 0;
}

/* Whether the directory whose keys all start with key[0..n) may hold a key
 * we want. */
static int dir_wanted(const struct list_walk *w, size_t n)
{
	if (!starts_with(w->key, n, w->prefix, w->nprefix) &&
	    !starts_with(w->prefix, w->nprefix, w->key, n))
		return 0;
	if (w->after) {
		size_t na = strlen(w->after);
		if (!starts_with(w->after, na, w->key, n)) {
			size_t m = na < n ? na : n;
			if (memcmp(w->after, w->key, m) > 0)
				return 0;   /* every key in it sorts before `after` */
		}
	}
	return 1;
}

static int walk_dir(int dfd, size_t nkey, struct list_walk *w)
{
	struct list_entry *ents = NULL;
	size_t nents = 0, cap = 0;
	DIR *dir = fdopendir(dfd);
	int rc = 0;
	if (!dir) {
		close(dfd);
		return fail_io(w->err, errno, "list objects", "(directory)");
	}
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			if (errno)
				rc = fail_io(w->err, errno, "list objects", "(directory)");
			break;
		}
		size_t n = strlen(de->d_name);
		if (n < 3 || de->d_name[n - 2] != '~' ||
		    (de->d_name[n - 1] != 'o' && de->d_name[n - 1] != 'd'))
			continue;
		if (nents == cap) {
			cap = cap ? 2 * cap : 64;
			ents = xrealloc(ents, cap * sizeof *ents);
		}
		ents[nents].name = xstrdup(de->d_name);
		ents[nents].seg = ents[nents].name;
		ents[nents].len = n - 2;
		ents[nents].is_dir = de->d_name[n - 1] == 'd';
		nents++;
	}
	if (rc)
		goto out;
	if (nents > 1)
		qsort(ents, nents, sizeof *ents, entry_cmp);

	for (size_t i = 0; i < nents && !w->stop; i++) {
		struct list_entry *e = &ents[i];
		size_t n = nkey + e->len;
		if (n > LH_KEY_MAX_BYTES || (e->is_dir && n + 1 >= LH_KEY_MAX_BYTES))
			continue;       /* holds no key we could have stored */
		memcpy(w->key + nkey, e->seg, e->len);
		if (e->is_dir) {
			w->key[n] = '/';
			w->key[n + 1] = '\0';
			if (!dir_wanted(w, n + 1))
				continue;
			int sub = openat(dirfd(dir), e->name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;       /* removed meanwhile, or not a directory */
			rc = walk_dir(sub, n + 1, w);
			if (rc)
				goto out;
			continue;
		}
		w->key[n] = '\0';
		if (!starts_with(w->key, n, w->prefix, w->nprefix))
			continue;
		if (w->after && strcmp(w->key, w->after) <= 0)
			continue;
		int fd = openat(dirfd(dir), e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;               /* deleted meanwhile */
		struct storage_object_info info;
		struct lh_error herr = {0};
		int hrc = read_header(fd, w->key, &info, &herr);
		close(fd);
		lh_error_clear(&herr);
		if (hrc)
			continue;               /* damaged: logged, not listed */
		int frc = w->fn(w->ctx, w->key, &info, w->err);
		if (frc < 0) {
			rc = -1;
			goto out;
		}
		if (frc > 0)
			w->stop = 1;
	}
out:
	for (size_t i = 0; i < nents; i++)
		free(ents[i].name);
	free(ents);
	closedir(dir);
	return rc;
}

static int disk_list(struct storage_backend *b, const char *prefix, const char *after,
		     storage_list_fn fn, void *ctx, struct lh_error *err)
{
	struct disk_backend *d = (struct disk_backend *)b;
	struct list_walk *w = xcalloc(1, sizeof *w);
	int rc = 0;
	w->prefix = prefix ? prefix : "";
	w->nprefix = strlen(w->prefix);
	w->after = after;
	w->fn = fn;
	w->ctx = ctx;
	w->err = err;
	int fd = open(d->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = fail_io(err, errno, "list objects", d->data);
		goto out;
	}
	rc = walk_dir(fd, 0, w);
out:
	free(w);
	return rc;
}

/* --- life cycle --------------------------------------------------------- */

static void disk_destroy(struct storage_backend *b)
{
	struct disk_backend *d = (struct disk_backend *)b;
	free(d->root);
	free(d->data);
	free(d->tmp);
	free(d);
}

/* mkdir -p for the root and its two subdirectories. */
static int make_dir(const char *path, struct lh_error *err)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (mkdir(p, 0755) && errno != EEXIST) {
			rc = fail_io(err, errno, "create its directory", p);
			break;
		}
		if (!slash)
			break;
		*slash = '/';
		s = slash;
	}
	free(p);
	return rc;
}

/* Invariant 4: remove uploads a crash left behind. */
static int clean_tmp(const char *tmp, struct lh_error *err)
{
	DIR *dir = opendir(tmp);
	unsigned long n = 0;
	if (!dir)
		return fail_io(err, errno, "open its temporary directory", tmp);
	for (struct dirent *de = readdir(dir); de; de = readdir(dir)) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0)
			n++;
	}
	closedir(dir);
	if (n)
		log_event("info", "storaged", "removed %lu stale temporary files from %s", n, tmp);
	return 0;
}

struct storage_backend *storage_disk_create(const char *root, struct lh_error *err)
{
	struct disk_backend *d = xcalloc(1, sizeof *d);
	d->base.name = "disk";
	d->base.put_begin = disk_put_begin;
	d->base.put_write = disk_put_write;
	d->base.put_commit = disk_put_commit;
	d->base.put_abort = disk_put_abort;
	d->base.open = disk_open;
	d->base.stat = disk_stat;
	d->base.remove = disk_remove;
	d->base.list = disk_list;
	d->base.destroy = disk_destroy;
	d->root = xstrdup(root);
	d->data = xasprintf("%s/data", root);
	d->tmp = xasprintf("%s/.tmp", root);
	atomic_init(&d->tmp_seq, 0);
	if (make_dir(d->data, err) || make_dir(d->tmp, err) || clean_tmp(d->tmp, err)) {
		disk_destroy(&d->base);
		return NULL;
	}
	return &d->base;
}
