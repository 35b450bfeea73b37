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
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a new heap string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
