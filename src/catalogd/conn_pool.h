/* conn_pool.h — a small blocking pool of database connections, shared by
 * the SQLite and PostgreSQL catalog backends.
 *
 * A connection is used by one thread at a time: conn_pool_get() hands out an
 * idle one, or opens a new one while fewer than `max` are open, or waits.
 * conn_pool_put() returns it, or closes it (freeing its slot) when the
 * backend says it is no longer healthy (a failed ROLLBACK, a lost server).
 * Connections are opaque here; the backend's open/close callbacks own them.
 */
#ifndef LH_CONN_POOL_H
#define LH_CONN_POOL_H
#include <pthread.h>

struct lh_error;

struct conn_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void **idle;        /* max slots; nidle of them hold idle connections */
	unsigned nidle;
	unsigned nopen;     /* connections open, idle or in use */
	unsigned max;
	/* Open one connection into *out; 0, or -1 with err. */
	int (*open)(void *ctx, void **out, struct lh_error *err);
	void (*close)(void *conn);
	void *ctx;
};

void conn_pool_init(struct conn_pool *p, unsigned max,
		    int (*open)(void *ctx, void **out, struct lh_error *err),
		    void (*close)(void *conn), void *ctx);
/* A connection for the caller's exclusive use; blocks while `max` are in
 * use. 0, or -1 with err when opening a new one failed. */
int conn_pool_get(struct conn_pool *p, void **out, struct lh_error *err);
/* Give a connection back; healthy = 0 closes it instead. */
void conn_pool_put(struct conn_pool *p, void *conn, int healthy);
/* Close the idle connections and free the pool's data (none may be in use). */
void conn_pool_free(struct conn_pool *p);

#endif
