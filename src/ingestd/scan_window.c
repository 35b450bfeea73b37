/* scan_window.c — the sliding window of a streaming input format (scan_window.h).
 *
 * DESIGN NOTES
 *  1. The window only grows when the unscanned tail fills it: one record
 *     longer than the buffer doubles it; after that, scanned bytes are moved
 *     to the front instead, so memory stays at the longest record (bounded by
 *     the format's own record limits) plus one stream chunk.
 *  2. `base` moves with the compaction, so base + pos is always the file
 *     offset of the next byte to scan (the chunk index holds file offsets).
 */
#include "ingestd/scan_window.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void scan_window_init(struct scan_window *w, size_t cap)
{
	memset(w, 0, sizeof *w);
	w->cap = cap;
	w->buf = xmalloc(cap);
}

void scan_window_free(struct scan_window *w)
{
	free(w->buf);
	w->buf = NULL;
}

size_t scan_window_fill(struct scan_window *w, const char *data, size_t n)
{
	if (w->pos > 0) {                                               /* note 2 */
		memmove(w->buf, w->buf + w->pos, w->len - w->pos);
		w->base += w->pos;
		w->len -= w->pos;
		w->pos = 0;
	}
	if (w->len == w->cap) {                                         /* note 1 */
		w->cap *= 2;
		w->buf = xrealloc(w->buf, w->cap);
	}
	size_t take = w->cap - w->len < n ? w->cap - w->len : n;
	memcpy(w->buf + w->len, data, take);
	w->len += take;
	return take;
}
