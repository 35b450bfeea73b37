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
 *     says how it ended (signal or exit status) for the client's error. An
 *     idle worker is checked before it is lent (its socket must have
 *     nothing to read: an idle worker that died, e.g. picked by the OOM
 *     killer, shows EOF), so a dead idle worker never fails a new query.
 *  6. Deadlines hold whatever the client does: lent workers are on the busy
 *     list with the time they must be gone by (deadline + kill_grace_ms);
 *     the reaper thread SIGKILLs any still lent then (a client that stops
 *     reading a stream leaves its worker blocked in a write, where neither
 *     DuckDB's interrupt nor queryd's reads can reach it) and marks it
 *     `overdue`, so the query's thread, which sees EOF, answers 504. The
 *     reaper also gives the worker's slot back at once (that thread may
 *     only notice when the client reads again). The reaper only kills
 *     under the pool lock, and a worker leaves the busy list under that
 *     lock before it is reaped, so a pid is never signalled after it could
 *     have been reused.
 *  4. At start, spill directories whose worker no longer exists (left by a
 *     queryd that was killed) are removed (spill_sweep).
 *  5. The pool lock guards only the idle list and the counters; spawning,
 *     killing and reaping happen outside it.
 */
#include "queryd/queryd_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
	struct qworker *next;        /* idle list, or busy list with prev */
	struct qworker *prev;        /* busy list */
	double kill_at_ms;           /* note 6; under the pool lock */
	int overdue;                 /* the reaper killed it; under the pool lock */
	uint64_t gen;                /* the catalog generation it has (queryd.c note 8) */
};

struct qpool {
	char *exe, *sandbox_dir;
	char *glove_path;            /* embed()'s word vectors, "" = compiled in */
	uint64_t memory_bytes, address_bytes, spill_bytes;
	unsigned threads, max_workers, kill_grace_ms;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct qworker *idle;
	struct qworker *busy;        /* lent workers (note 6) */
	unsigned nidle, nbusy;       /* nbusy also counts workers being started */
	uint64_t spawned, crashed, killed, retired, overdue;
	pthread_t reaper;
	int reaper_started, stopping;
	pthread_cond_t reaper_cv;
};

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
	double until = clock_mono_ms() + timeout_ms;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (clock_mono_ms() >= until) {
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

/* Note 1. Waits for the worker's READY until `until_ms` (and while
 * `client_fd`, if >= 0, stays connected). NULL + err when it cannot start. */
static struct qworker *spawn(struct qpool *p, double until_ms, int client_fd,
			     struct lh_error *err)
{
	int sv[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	char mem[32], thr[32], addr[32], spill[32];
	struct qworker *w = NULL;
	pid_t pid = -1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		lh_fail(err, 500, "internal", "cannot start a query worker: %s", strerror(errno));
		return NULL;
	}
	snprintf(mem, sizeof mem, "%" PRIu64, p->memory_bytes);
	snprintf(thr, sizeof thr, "%u", p->threads);
	snprintf(addr, sizeof addr, "%" PRIu64, p->address_bytes);
	snprintf(spill, sizeof spill, "%" PRIu64, p->spill_bytes);
	char *argv[] = { p->exe, "queryd-worker", "--sandbox", p->sandbox_dir, "--memory", mem,
			 "--threads", thr, "--address-limit", addr, "--spill", spill,
			 "--glove", p->glove_path,
			 /* its warnings in queryd's log form (ADR 0207) */
			 "--log", log_is_human() ? "human" : "json", NULL };
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
	double limit = clock_mono_ms() + WORKER_START_TIMEOUT_MS;
	int wr = wire_wait(w->fd, client_fd, until_ms < limit ? until_ms : limit);
	if (wr != WIRE_WAIT_READY || wire_recv(w->fd, &type, &payload, &n) != 0 ||
	    type != WIRE_READY) {
		json_t *e = type == WIRE_ERROR ? json_loadb(payload, n, 0, NULL) : NULL;
		const char *why = json_string_value(json_object_get(e, "error"));
		if (wr == WIRE_WAIT_CLIENT_GONE) {
			lh_fail(err, 499, "client_closed", "the client went away");
		} else if (wr == WIRE_WAIT_TIMEOUT && until_ms < limit) {
			lh_fail(err, 504, "query_timeout",
				"the query ran past its time limit while a query engine started");
		} else {
			log_event("error", "queryd", "a query worker did not start: %s",
				  why ? why : "no answer");
			lh_fail(err, 500, "engine_unavailable", "the query engine could not start");
		}
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

static void *reaper_main(void *arg);

struct qpool *qpool_create(const struct qpool_options *o, struct lh_error *err)
{
	struct qpool *p = xcalloc(1, sizeof *p);
	p->exe = xstrdup(o->exe);
	p->sandbox_dir = xstrdup(o->sandbox_dir);
	p->glove_path = xstrdup(o->glove_path ? o->glove_path : "");
	p->memory_bytes = o->memory_bytes;
	p->address_bytes = o->address_bytes;
	p->spill_bytes = o->spill_bytes;
	p->threads = o->threads;
	p->max_workers = o->max_workers ? o->max_workers : 1;
	p->kill_grace_ms = o->kill_grace_ms;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->reaper_cv, NULL);
	spill_sweep(p);
	if (pthread_create(&p->reaper, NULL, reaper_main, p) != 0) {
		lh_fail(err, 500, "internal", "cannot start the query worker reaper");
		qpool_destroy(p);
		return NULL;
	}
	p->reaper_started = 1;
	/* One warm worker now: a broken engine shows at start, not at the
	 * first query, and the first query does not pay for a start. */
	struct qworker *w = spawn(p, clock_mono_ms() + WORKER_START_TIMEOUT_MS, -1, err);
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
	if (p->reaper_started) {
		pthread_mutex_lock(&p->mu);
		p->stopping = 1;
		pthread_cond_signal(&p->reaper_cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->reaper, NULL);
	}
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
	pthread_cond_destroy(&p->reaper_cv);
	free(p->exe);
	free(p->sandbox_dir);
	free(p->glove_path);
	free(p);
}

/* Busy list (note 6); under the pool lock. */
static void busy_add(struct qpool *p, struct qworker *w, double kill_at_ms)
{
	w->kill_at_ms = kill_at_ms;
	w->overdue = 0;
	w->prev = NULL;
	w->next = p->busy;
	if (p->busy)
		p->busy->prev = w;
	p->busy = w;
	pthread_cond_signal(&p->reaper_cv);
}

static void busy_remove(struct qpool *p, struct qworker *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else if (p->busy == w)
		p->busy = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

/* Note 3: an idle worker has nothing to say; anything readable (EOF
 * included) means it died or broke its protocol. */
static int idle_worker_sound(const struct qworker *w)
{
	struct pollfd pf = { .fd = w->fd, .events = POLLIN | POLLRDHUP };
	return poll(&pf, 1, 0) == 0;
}

struct qworker *qpool_acquire(struct qpool *p, double deadline_ms, int client_fd,
			      struct lh_error *err)
{
	struct qworker *w = NULL;
	double kill_at = deadline_ms + p->kill_grace_ms;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->idle) {
			w = p->idle;
			p->idle = w->next;
			p->nidle--;
			if (idle_worker_sound(w))
				break;
			/* note 3: reap it outside the lock, then look again */
			p->crashed++;
			pthread_mutex_unlock(&p->mu);
			log_event("warn", "queryd", "idle query worker %ld had died; replaced",
				  (long)w->pid);
			kill(w->pid, SIGKILL);
			reap(w->pid, 1000);
			worker_free(p, w);
			w = NULL;
			pthread_mutex_lock(&p->mu);
		}
		if (w || p->nidle + p->nbusy < p->max_workers)
			break;
		double left = deadline_ms - clock_mono_ms();
		if (left <= 0) {
			unsigned max = p->max_workers;
			pthread_mutex_unlock(&p->mu);
			lh_fail(err, 503, "overloaded",
				"all %u query workers are busy; try again shortly", max);
			return NULL;
		}
		if (left > 200)
			left = 200;   /* also re-check the client */
		struct timespec ts;
		clock_deadline(CLOCK_REALTIME, left, &ts);
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		if (client_fd >= 0) {
			struct pollfd pf = { .fd = client_fd, .events = POLLRDHUP };
			if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
				pthread_mutex_unlock(&p->mu);
				lh_fail(err, 499, "client_closed", "the client went away");
				return NULL;
			}
		}
	}
	p->nbusy++;
	if (w)
		busy_add(p, w, kill_at);
	pthread_mutex_unlock(&p->mu);
	if (!w) {
		w = spawn(p, deadline_ms, client_fd, err);
		pthread_mutex_lock(&p->mu);
		if (w) {
			busy_add(p, w, kill_at);
		} else {
			p->nbusy--;
			pthread_cond_signal(&p->cv);
		}
		pthread_mutex_unlock(&p->mu);
		if (!w)
			return NULL;
	}
	w->queries++;
	return w;
}

/* Note 6. */
static void *reaper_main(void *arg)
{
	struct qpool *p = arg;
	pthread_mutex_lock(&p->mu);
	while (!p->stopping) {
		double now = clock_mono_ms(), next = now + 1000;
		struct qworker *w = p->busy, *wnext;
		for (; w; w = wnext) {
			wnext = w->next;
			if (now >= w->kill_at_ms) {
				/* Its slot is free from now on: the query's thread
				 * may not notice before the client reads again. */
				kill(w->pid, SIGKILL);
				w->overdue = 1;
				p->overdue++;
				busy_remove(p, w);
				p->nbusy--;
				pthread_cond_signal(&p->cv);
			} else if (w->kill_at_ms < next) {
				next = w->kill_at_ms;
			}
		}
		double wait = next - clock_mono_ms();
		if (wait < 1)
			wait = 1;
		struct timespec ts;
		clock_deadline(CLOCK_REALTIME, wait, &ts);
		pthread_cond_timedwait(&p->reaper_cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int qworker_fd(const struct qworker *w)
{
	return w->fd;
}

uint64_t qworker_gen(const struct qworker *w)
{
	return w->gen;
}

void qworker_set_gen(struct qworker *w, uint64_t gen)
{
	w->gen = gen;
}

void qpool_release(struct qpool *p, struct qworker *w)
{
	pthread_mutex_lock(&p->mu);
	busy_remove(p, w);
	int overdue = w->overdue;
	pthread_mutex_unlock(&p->mu);
	if (overdue) {
		/* the reaper got there first (and gave its slot back) */
		reap(w->pid, 2000);
		worker_free(p, w);
		return;
	}
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
	pthread_mutex_lock(&p->mu);
	busy_remove(p, w);
	int overdue = w->overdue;
	pthread_mutex_unlock(&p->mu);
	kill(w->pid, SIGKILL);
	reap(w->pid, 2000);
	worker_free(p, w);
	if (overdue)
		return;   /* the reaper counted it and gave its slot back */
	pthread_mutex_lock(&p->mu);
	p->killed++;
	p->nbusy--;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void qpool_discard_dead(struct qpool *p, struct qworker *w, struct lh_error *err)
{
	pid_t pid = w->pid;
	pthread_mutex_lock(&p->mu);
	busy_remove(p, w);
	int overdue = w->overdue;
	pthread_mutex_unlock(&p->mu);
	int status = reap(pid, 1000);
	worker_free(p, w);
	if (!overdue) {
		pthread_mutex_lock(&p->mu);
		p->crashed++;
		p->nbusy--;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	if (overdue) {
		lh_fail(err, 504, "query_timeout",
			"the query ran past its time limit and was stopped");
	} else if (status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
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
	out->overdue = p->overdue;
	pthread_mutex_unlock(&p->mu);
}
