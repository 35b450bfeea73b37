/* conn_pool.c — blocking connection pool for the catalog backends (see
 * conn_pool.h). */
#include "catalogd/conn_pool.h"

#include "common/xmalloc.h"

#include <stdlib.h>

void conn_pool_init(struct conn_pool *p, unsigned max,
		    int (*open)(void *ctx, void **out, struct lh_error *err),
		    void (*close)(void *conn), void *ctx)
{
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->idle = xcalloc(max, sizeof *p->idle);
	p->nidle = 0;
	p->nopen = 0;
	p->max = max;
	p->open = open;
	p->close = close;
	p->ctx = ctx;
}

int conn_pool_get(struct conn_pool *p, void **out, struct lh_error *err)
{
	pthread_mutex_lock(&p->lock);
	while (!p->nidle && p->nopen >= p->max)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->nidle) {
		*out = p->idle[--p->nidle];
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	p->nopen++;   /* reserve the slot, then open outside the lock */
	pthread_mutex_unlock(&p->lock);
	if (p->open(p->ctx, out, err) == 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	p->nopen--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return -1;
}

void conn_pool_put(struct conn_pool *p, void *conn, int healthy)
{
	if (!conn)
		return;
	if (!healthy)
		p->close(conn);
	pthread_mutex_lock(&p->lock);
	if (healthy)
		p->idle[p->nidle++] = conn;
	else
		p->nopen--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void conn_pool_free(struct conn_pool *p)
{
	while (p->nidle)
		p->close(p->idle[--p->nidle]);
	free(p->idle);
	p->idle = NULL;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
}
