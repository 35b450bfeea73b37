/* buf.h — a growable byte buffer that takes its cap when it is created.
 *
 * Request bodies, buffered upstream answers and error texts all grow as
 * bytes arrive; growing past the cap is refused (the caller answers 413 or
 * 502), never a crash or an unbounded allocation (STYLE.md). The data is
 * always NUL-terminated so JSON parsers and printf can read it.
 */
#ifndef LH_BUF_H
#define LH_BUF_H
#include <stddef.h>

struct lh_buf {
	char *data;      /* owned; NULL until the first append */
	size_t len;      /* bytes held, not counting the NUL */
	size_t alloc;    /* bytes allocated */
	size_t max;      /* the cap on len */
};

/* An empty buffer that will hold at most `max` bytes. */
void lh_buf_init(struct lh_buf *b, size_t max);
/* Append n bytes. Returns 0, or -1 (and changes nothing) past the cap. */
int lh_buf_append(struct lh_buf *b, const void *data, size_t n);
/* Make room for n more bytes and count them as held: returns where they
 * start (uninitialised, for the caller to fill: e.g. a library serializing
 * straight into the buffer, without a copy), or NULL (and changes nothing)
 * past the cap. Valid until the next append or extend. */
char *lh_buf_extend(struct lh_buf *b, size_t n);
/* Hand the data to the caller (who frees it with free()) and reset b.
 * Returns "" (allocated) for an empty buffer, never NULL. */
char *lh_buf_take(struct lh_buf *b);
/* Free the data, not the struct. */
void lh_buf_free(struct lh_buf *b);

#endif
