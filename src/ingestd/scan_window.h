/* scan_window.h — the sliding window a streaming input format scans an upload
 * through: the bytes received but not yet scanned, with the file offset of its
 * first byte (csv_reader.c, json_reader.c). */
#ifndef LH_INGESTD_SCAN_WINDOW_H
#define LH_INGESTD_SCAN_WINDOW_H

#include <stddef.h>
#include <stdint.h>

struct scan_window {
	char *buf;               /* unscanned bytes buf[pos..len), own copy */
	size_t cap, len, pos;
	size_t rescan_at;        /* do not rescan before len - pos reaches this */
	uint64_t base;           /* file offset of buf[0] */
};

void scan_window_init(struct scan_window *w, size_t cap);
void scan_window_free(struct scan_window *w);

/* Drop the scanned bytes buf[0..pos), grow when the unscanned tail fills the
 * buffer, and copy in as much of data[0..n) as fits. Returns how many bytes
 * were taken (at least one when n > 0). */
size_t scan_window_fill(struct scan_window *w, const char *data, size_t n);

#endif
