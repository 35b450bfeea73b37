/* zipread.h — reading the entries of a zip archive held in a file, one
 * entry at a time, inflated as a stream (ADR 0108: Debian's libzip behind
 * zip_libzip.c, the only file that includes <zip.h>). Used by the Excel
 * input format (ingestd/xlsx_reader.c); any later zip-based format (.docx)
 * reads through it too.
 *
 * Bounded by design: an entry is never inflated into memory; the caller
 * pulls pieces with zipread_entry_read(). Every entry carries a cap on its
 * inflated bytes and on its inflation ratio (a zip bomb declares a small
 * size and inflates to gigabytes): passing either is a 400 while reading,
 * whatever the archive declares.
 */
#ifndef LH_COMMON_ZIPREAD_H
#define LH_COMMON_ZIPREAD_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct lh_error;
struct zipread;
struct zipread_entry;

/* What the caps of zipread_entry_open() say: at most max_bytes inflated
 * bytes, and beyond the first `grace` bytes at most max_ratio inflated bytes
 * per compressed byte (an entry stored without compression has ratio 1). */
struct zipread_caps {
	uint64_t max_bytes;
	uint64_t max_ratio;
	uint64_t grace;
};

/* Open the zip archive in fd[0..size): the fd is read with pread (its file
 * position is neither used nor moved) and must stay open until
 * zipread_close(); it is not closed. 0 and *out, or -1 with 400
 * "bad_zip" in plain words (not a zip archive, inconsistent, truncated). */
int zipread_open(int fd, uint64_t size, struct zipread **out, struct lh_error *err);

/* Close the archive (its entries must be closed first). NULL is fine. */
void zipread_close(struct zipread *z);

/* The number of entries, and the name of entry i (< count), owned by the
 * archive: valid until zipread_close(). */
size_t zipread_count(const struct zipread *z);
const char *zipread_name(struct zipread *z, size_t i);

/* Open the entry called `name` (exact, case-sensitive) for reading.
 * 1 and *out when it was found, 0 when the archive has no such entry,
 * or -1 with 400 "bad_zip" (encrypted, an unknown compression method) or
 * 400 "zip_too_large" (a declared size over the cap). */
int zipread_entry_open(struct zipread *z, const char *name, const struct zipread_caps *caps,
		       struct zipread_entry **out, struct lh_error *err);

/* Read up to n inflated bytes: the count (0 at the end of the entry), or -1
 * with 400 "bad_zip" (corrupt data, a CRC mismatch) or 400 "zip_too_large"
 * (a cap of the entry passed: a zip bomb, or just too big). */
ssize_t zipread_entry_read(struct zipread_entry *e, void *buf, size_t n, struct lh_error *err);

/* Close the entry. NULL is fine. */
void zipread_entry_close(struct zipread_entry *e);

#endif
