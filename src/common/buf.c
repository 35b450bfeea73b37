/* buf.c — capped growable byte buffer (see buf.h). */
#include "common/buf.h"

#include "common/xmalloc.h"

#include <stdlib.h>
#include <string.h>

void lh_buf_init(struct lh_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

int lh_buf_append(struct lh_buf *b, const void *data, size_t n)
{
	if (n > b->max - b->len)
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t alloc = b->alloc ? b->alloc : 4096;
		while (alloc < b->len + n + 1)
			alloc *= 2;
		b->data = xrealloc(b->data, alloc);
		b->alloc = alloc;
	}
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

char *lh_buf_extend(struct lh_buf *b, size_t n)
{
	size_t at = b->len;
	if (n > b->max - b->len)
		return NULL;
	if (b->len + n + 1 > b->alloc) {
		size_t alloc = b->alloc ? b->alloc : 4096;
		while (alloc < b->len + n + 1)
			alloc *= 2;
		b->data = xrealloc(b->data, alloc);
		b->alloc = alloc;
	}
	b->len += n;
	b->data[b->len] = '\0';
	return b->data + at;
}

char *lh_buf_take(struct lh_buf *b)
{
	char *out = b->data ? b->data : xstrdup("");
	lh_buf_init(b, b->max);
	return out;
}

void lh_buf_free(struct lh_buf *b)
{
	free(b->data);
	lh_buf_init(b, b->max);
}
