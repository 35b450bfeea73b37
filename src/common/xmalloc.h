/* xmalloc.h — allocation that never returns NULL.
 *
 * Out of memory is not a condition the lakehouse recovers from: these
 * wrappers print one line and abort (like Redis zmalloc). Every other limit
 * (body sizes, field sizes) is enforced before allocating, so a request can
 * never make us ask for unbounded memory.
 */
#ifndef LH_XMALLOC_H
#define LH_XMALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* Room for element n (0-based) of an array of `elem`-byte elements that
 * grows by doubling from 4: returns `arr` itself or its new home (the
 * caller keeps only the result). Call before storing element n. */
void *xgrow(void *arr, size_t n, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
