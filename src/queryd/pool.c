/* pool.c — queryd's worker processes: starting them, lending one to each
 * query, and killing and reaping them (worker.c is the other end).
 *
 * DESIGN NOTES
 *  1. A worker is `<exe> queryd-worker ...` started with posix_spawn (safe in
 *     a threaded server: no fork of our threads and locks) in its own
 *     process group (a terminal's ^C reaches queryd, which stops them), with
 *     one end of a socketpair as fd WORKER_FD. It answers WIRE_READY once
 *     DuckDB is open and sandboxed.
 *  2. At most max_workers exist; idle ones are kept for the next query (a
 *     warm worker costs one socket round trip, a cold one a process start
 *     and DuckDB open). A query waits for a free slot until its deadline,
 *     then gets 503 "overloaded". A worker is retired after
 *     WORKER_MAX_QUERIES queries, so nothing a long life accumulates in one
 *     DuckDB (fragmentation, caches) outlives it.
 *  3. A worker that misbehaves is never reused: qpool_discard() SIGKILLs it,
 *     reaps it (waitpid on its pid only) and removes its spill directory.
 *     qpool_discard_dead() does the same for one whose socket hit EOF and
 *     says how it ended (signal or exit status) for the client's error.
 *  4. At start, spill directories whose worker no longer exists (left by a
 *     queryd that was killed) are removed (spill_sweep).
 *  5. The pool lock guards only the idle list and the counters; spawning,
 *     killing and reaping happen outside it.
 */
#include "queryd/queryd_int.h"

#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Note 2: queries a worker runs before it is retired. */
#define WORKER_MAX_QUERIES 500
/* How long a new worker may take to open DuckDB and say it is ready. */
#define WORKER_START_TIMEOUT_MS 30000

struct qworker {
	pid_t pid;
	int fd;
	unsigned queries;
	struct qworker *next;   /* idle list */
};

struct qpool {
	char *exe, *sandbox_dir;
	uint64_t memory_bytes, address_bytes;
	unsigned threads, max_workers;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qworker *idle;
	unsigned nidle, nbusy;
	uint64_t spawned, crashed, killed, retired;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Remove <sandbox>/spill/<pid>/ and the spill files DuckDB left in it. */
static void spill_remove(const struct qpool *p, pid_t pid)
{
	char *dir = xasprintf("%s/spill/%ld", p->sandbox_dir, (long)pid);
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

/* waitpid with a bound: SIGKILL if the process has not ended by then. */
static int reap(pid_t pid, int timeout_ms)
{
	int status = 0;
	double until = now_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= until) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			return status;
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static void worker_free(struct qpool *p, struct qworker *w)
{
	if (w->fd >= 0)
		close(w->fd);
	spill_remove(p, w->pid);
	free(w);
}

/* Note 1. NULL + err (500) when the worker cannot start. */
static struct qworker *spawn(struct qpool *p, struct lh_error *err)
{
	int sv[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	char mem[32], thr[32], addr[32];
	struct qworker *w = NULL;
	pid_t pid = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		lh_fail(err, 500, "internal", "cannot start a query worker: %s", strerror(errno));
		return NULL;
	}
	snprintf(mem, sizeof mem, "%" PRIu64, p->memory_bytes);
	snprintf(thr, sizeof thr, "%u", p->threads);
	snprintf(addr, sizeof addr, "%" PRIu64, p->address_bytes);
	char *argv[] = { p->exe, "queryd-worker", "--sandbox", p->sandbox_dir, "--memory", mem,
			 "--threads", thr, "--address-limit", addr, NULL };
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], WORKER_FD);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
	int rc = posix_spawn(&pid, p->exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		lh_fail(err, 500, "internal", "cannot start a query worker (%s): %s", p->exe,
			strerror(rc));
		return NULL;
	}
	w = xcalloc(1, sizeof *w);
	w->pid = pid;
	w->fd = sv[0];
	char type = 0, *payload = NULL;
	size_t n = 0;
	if (wire_wait(w->fd, -1, now_ms() + WORKER_START_TIMEOUT_MS) != WIRE_WAIT_READY ||
	    wire_recv(w->fd, &type, &payload, &n) != 0 || type != WIRE_READY) {
		json_t *e = type == WIRE_ERROR ? json_loadb(payload, n, 0, NULL) : NULL;
		const char *why = json_string_value(json_object_get(e, "error"));
		log_event("error", "queryd", "a query worker did not start: %s",
			  why ? why : "no answer");
		lh_fail(err, 500, "engine_unavailable", "the query engine could not start");
		json_decref(e);
		free(payload);
		kill(pid, SIGKILL);
		reap(pid, 1000);
		worker_free(p, w);
		return NULL;
	}
	free(payload);
	pthread_mutex_lock(&p->mu);
	p->spawned++;
	pthread_mutex_unlock(&p->mu);
	return w;
}

/* Spill directories of workers that no longer exist (a queryd killed with
 * its workers): remove them. Another queryd sharing the cache directory
 * keeps its own, whose workers are alive. */
static void spill_sweep(const struct qpool *p)
{
	char *dir = xasprintf("%s/spill", p->sandbox_dir);
	DIR *d = opendir(dir);
	free(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end = NULL;
		long pid = strtol(e->d_name, &end, 10);
		if (pid > 0 && end && !*end && kill((pid_t)pid, 0) == -1 && errno == ESRCH)
			spill_remove(p, (pid_t)pid);
	}
	closedir(d);
}

struct qpool *qpool_create(const struct qpool_options *o, struct lh_error *err)
{
	struct qpool *p = xcalloc(1, sizeof *p);
	p->exe = xstrdup(o->exe);
	p->sandbox_dir = xstrdup(o->sandbox_dir);
	p->memory_bytes = o->memory_bytes;
	p->address_bytes = o->address_bytes;
	p->threads = o->threads;
	p->max_workers = o->max_workers ? o->max_workers : 1;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	spill_sweep(p);
	/* One warm worker now: a broken engine shows at start, not at the
	 * first query, and the first query does not pay for a start. */
	struct qworker *w = spawn(p, err);
	if (!w) {
		qpool_destroy(p);
		return NULL;
	}
	w->next = NULL;
	p->idle = w;
	p->nidle = 1;
	return p;
}

void qpool_destroy(struct qpool *p)
{
	if (!p)
		return;
	/* Every query has finished (http_server_stop waited): only idle ones. */
	struct qworker *w = p->idle;
	while (w) {
		struct qworker *next = w->next;
		close(w->fd);   /* EOF: the worker exits (worker.c note 5) */
		w->fd = -1;
		reap(w->pid, 2000);
		worker_free(p, w);
		w = next;
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->exe);
	free(p->sandbox_dir);
	free(p);
}

struct qworker *qpool_acquire(struct qpool *p, double deadline_ms, struct lh_error *err)
{
	struct qworker *w = NULL;
	pthread_mutex_lock(&p->mu);
	while (!p->idle && p->nidle + p->nbusy >= p->max_workers) {
		double left = deadline_ms - now_ms();
		if (left <= 0) {
			unsigned max = p->max_workers;
			pthread_mutex_unlock(&p->mu);
			lh_fail(err, 503, "overloaded",
				"all %u query workers are busy; try again shortly", max);
			return NULL;
		}
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		long long ns = (long long)ts.tv_nsec + (long long)(left * 1e6);
		ts.tv_sec += (time_t)(ns / 1000000000LL);
		ts.tv_nsec = (long)(ns % 1000000000LL);
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	if (p->idle) {
		w = p->idle;
		p->idle = w->next;
		p->nidle--;
	}
	p->nbusy++;
	pthread_mutex_unlock(&p->mu);
	if (!w) {
		w = spawn(p, err);
		if (!w) {
			pthread_mutex_lock(&p->mu);
			p->nbusy--;
			pthread_cond_signal(&p->cv);
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
	}
	w->queries++;
	return w;
}

int qworker_fd(const struct qworker *w)
{
	return w->fd;
}

void qpool_release(struct qpool *p, struct qworker *w)
{
	if (w->queries >= WORKER_MAX_QUERIES) {
		close(w->fd);
		w->fd = -1;
		reap(w->pid, 2000);
		worker_free(p, w);
		pthread_mutex_lock(&p->mu);
		p->retired++;
		p->nbusy--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	pthread_mutex_lock(&p->mu);
	w->next = p->idle;
	p->idle = w;
	p->nidle++;
	p->nbusy--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void qpool_discard(struct qpool *p, struct qworker *w)
{
	kill(w->pid, SIGKILL);
	reap(w->pid, 2000);
	worker_free(p, w);
	pthread_mutex_lock(&p->mu);
	p->killed++;
	p->nbusy--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void qpool_discard_dead(struct qpool *p, struct qworker *w, struct lh_error *err)
{
	pid_t pid = w->pid;
	int status = reap(pid, 1000);
	worker_free(p, w);
	pthread_mutex_lock(&p->mu);
	p->crashed++;
	p->nbusy--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		log_event("warn", "queryd", "query worker %ld was killed by the system "
			  "(out of memory?)", (long)pid);
		lh_fail(err, 500, "engine_crashed",
			"the query engine was stopped by the system while running this query, most "
			"likely because it needed more memory than the machine has; nothing else "
			"was affected");
	} else if (status >= 0 && WIFSIGNALED(status)) {
		log_event("warn", "queryd", "query worker %ld died of signal %d", (long)pid,
			  WTERMSIG(status));
		lh_fail(err, 500, "engine_crashed",
			"the query engine crashed while running this query (signal %d); the "
			"lakehouse and other queries were not affected", WTERMSIG(status));
	} else {
		log_event("warn", "queryd", "query worker %ld ended (status %d)", (long)pid,
			  status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		lh_fail(err, 500, "engine_crashed",
			"the query engine stopped while running this query; the lakehouse and "
			"other queries were not affected");
	}
}

void qpool_stats(struct qpool *p, struct qpool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	out->idle = p->nidle;
	out->busy = p->nbusy;
	out->max = p->max_workers;
	out->spawned = p->spawned;
	out->crashed = p->crashed;
	out->killed = p->killed;
	out->retired = p->retired;
	pthread_mutex_unlock(&p->mu);
}
