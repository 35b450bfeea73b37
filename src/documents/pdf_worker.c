/* pdf_worker.c — PDFs are read in a child process: doc_pdf_extract() (the
 * server's side) and doc_worker_main(), `lakehouse document-worker` (the
 * child's side, which calls the poppler adapter). ADR 0220.
 *
 * DESIGN NOTES
 *  1. A worker is started with posix_spawn of worker_exe (normally
 *     /proc/self/exe: the server's own binary, so the child is exactly the
 *     server's code; safe in a threaded server, as queryd's pool.c), with
 *     one end of a socketpair as fd DOC_WORKER_FD and an empty signal mask.
 *     Without a pool (doc_limits.workers NULL) each PDF gets a new worker,
 *     which exits after it. With one (doc_workers_create), a worker that
 *     answered cleanly goes back to the idle list for the next PDF, up to
 *     max_uses PDFs (a process start costs more CPU than reading a resume;
 *     bench/README.md "Documents: extraction"); one that failed in any way
 *     is never reused. An idle worker whose socket is readable (it died, or
 *     says something unasked) is discarded when it would be lent.
 *  2. Wire, both ways on the socket: the server writes a request: u64 PDF
 *     length, u32 max_pages (little-endian), the bytes. The child reads it
 *     all before it answers (so neither side can block the other), then
 *     writes frames of a 9-byte header (type, u32 a, u32 len,
 *     little-endian) and len bytes: 'P' page a's text; 'E' the end (a =
 *     pages); 'X' an error (a = HTTP status, payload "code\0message"). It
 *     then waits for the next request; end of stream makes it exit.
 *  3. Limits, set by the child on itself before it reads: RLIMIT_AS
 *     (max_worker_bytes; not in sanitizer builds), RLIMIT_CPU (max_seconds
 *     rounded up, times the uses it may serve: the kernel's SIGXCPU, then
 *     SIGKILL a second later; a backstop, the deadline is per PDF),
 *     RLIMIT_CORE 0, RLIMIT_NOFILE 64, every inherited fd but 0-2 and the
 *     socket closed. The server adds a wall-clock deadline (max_seconds)
 *     over everything, a cap on each frame and on the text (max_text_bytes,
 *     counted as pages arrive) and on the pages (max_pages, also checked by
 *     the child before it reads any page).
 *  4. Whatever happens the server reaps its child: one it retires is sent
 *     end of stream and given REAP_GRACE_MS to exit (so a sanitizer build
 *     reports leaks), then SIGKILLed; on a deadline, a cap or a protocol
 *     error it is SIGKILLed at once. waitpid() names that pid only. A child that died
 *     (a signal, an exit without 'E') is 400 bad_document, or 413
 *     too_large when it ran out of CPU time (SIGXCPU/SIGKILL by RLIMIT_CPU)
 *     or the deadline passed; the server itself never sees poppler. Only
 *     SIGXCPU, or a SIGKILL after the CPU seconds the worker was given, is
 *     "time": any other SIGKILL came from outside (the OOM killer) and is
 *     400 bad_document "could not be read".
 *  5. The worker gets a minimal environment (worker_env: locale, time zone,
 *     sanitizer options), never the server's: LAKEHOUSE_AUTH_TOKENS and
 *     the like would show in /proc/<pid>/environ to anything that can read
 *     the worker. The isolation covers crashes and resources (memory, CPU,
 *     time, files), not privileges: the worker runs as the server's user,
 *     without seccomp.
 *  6. A pool also caps the extractions running at once, service-wide
 *     (max_running, LH_DOC_EXTRACT_SLOTS): doc_extract() takes a slot for
 *     every format (a text file's normalisation holds up to the text cap,
 *     a PDF a worker of up to max_worker_bytes) and waits for one in
 *     turn; the deadlines start once the slot is granted. So N uploads of
 *     2 threads each start at most max_running workers, not 2N.
 */
#include "documents/documents_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DOC_WORKER_FD 3
#define FRAME_HEADER 9

#if defined(__SANITIZE_ADDRESS__)
#define DOC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DOC_SANITIZED 1
#endif
#endif
#ifndef DOC_SANITIZED
#define DOC_SANITIZED 0
#endif

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- the server's side ----------------------------------------------- */

struct worker_io {
	int fd;
	double deadline_ms;
	int timed_out;
};

/* Wait until fd is ready for `events` or the deadline: 1 ready, 0 timed out. */
static int wait_fd(struct worker_io *w, short events)
{
	for (;;) {
		double left = w->deadline_ms - clock_mono_ms();
		if (left <= 0) {
			w->timed_out = 1;
			return 0;
		}
		struct pollfd p = { .fd = w->fd, .events = events };
		int r = poll(&p, 1, (int)ceil(left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;   /* let the read/write say what is wrong */
	}
}

/* 0 sent, -1 the child is gone or the deadline passed. */
static int send_all(struct worker_io *w, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		if (!wait_fd(w, POLLOUT))
			return -1;
		ssize_t k = send(w->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* 1 read all n bytes, 0 end of stream first, -1 error or deadline. */
static int recv_all(struct worker_io *w, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		if (!wait_fd(w, POLLIN))
			return -1;
		ssize_t k = recv(w->fd, p + got, n - got, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			return 0;
		got += (size_t)k;
	}
	return 1;
}

/* Note 4: a retired worker has REAP_GRACE_MS to exit after end of stream. */
#define REAP_GRACE_MS 1000

struct dworker {
	pid_t pid;
	int fd;
	unsigned uses;
	char key[160];              /* exe and limits it was started with */
	struct dworker *next;
};

struct doc_workers {
	pthread_mutex_t lock;
	pthread_cond_t freed;         /* a slot was given back (note 6) */
	struct dworker *idle;
	unsigned n_idle, max_idle, max_uses;
	unsigned long spawned;
	unsigned running, max_running, peak;
	unsigned long waited;
};

struct doc_workers *doc_workers_create(unsigned max_idle, unsigned max_uses, unsigned max_running)
{
	struct doc_workers *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->freed, NULL);
	p->max_idle = max_idle;
	p->max_uses = max_uses ? max_uses : 1;
	p->max_running = max_running ? max_running : 1;
	return p;
}

/* Note 6: wait for one of max_running extraction slots. */
void doc_workers_slot_take(struct doc_workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->running >= p->max_running)
		p->waited++;
	while (p->running >= p->max_running)
		pthread_cond_wait(&p->freed, &p->lock);
	p->running++;
	if (p->running > p->peak)
		p->peak = p->running;
	pthread_mutex_unlock(&p->lock);
}

void doc_workers_slot_give(struct doc_workers *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->running--;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}

void doc_workers_stats(struct doc_workers *p, unsigned *peak, unsigned long *waited)
{
	pthread_mutex_lock(&p->lock);
	if (peak)
		*peak = p->peak;
	if (waited)
		*waited = p->waited;
	pthread_mutex_unlock(&p->lock);
}

static void reap_usage(pid_t pid, int *status, int grace_ms, struct rusage *ru)
{
	double until = clock_mono_ms() + grace_ms;
	struct rusage ignored;
	for (;;) {
		pid_t r = wait4(pid, status, grace_ms > 0 ? WNOHANG : 0, ru ? ru : &ignored);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (r == 0 && clock_mono_ms() >= until) {
			kill(pid, SIGKILL);
			grace_ms = 0;
		} else if (r == 0) {
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
	}
}

static void reap(pid_t pid, int *status, int grace_ms)
{
	reap_usage(pid, status, grace_ms, NULL);
}

/* Note 4: end of stream, then the grace, then SIGKILL. */
static void retire(struct dworker *w)
{
	int status;
	close(w->fd);
	reap(w->pid, &status, REAP_GRACE_MS);
	free(w);
}

static void discard(struct dworker *w)
{
	int status;
	kill(w->pid, SIGKILL);
	close(w->fd);
	reap(w->pid, &status, 0);
	free(w);
}

void doc_workers_destroy(struct doc_workers *p)
{
	if (!p)
		return;
	while (p->idle) {
		struct dworker *w = p->idle;
		p->idle = w->next;
		retire(w);
	}
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

unsigned long doc_workers_spawned(struct doc_workers *p)
{
	pthread_mutex_lock(&p->lock);
	unsigned long n = p->spawned;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static void worker_key(const struct doc_limits *lim, unsigned max_uses, char *key, size_t n)
{
	snprintf(key, n, "%s|%.0f|%zu|%u", lim->worker_exe ? lim->worker_exe : "/proc/self/exe",
		 ceil(lim->max_seconds > 0 ? lim->max_seconds : 1), lim->max_worker_bytes, max_uses);
}

/* Note 5: the variables a worker may see; nothing else of the server's
 * environment (LAKEHOUSE_AUTH_TOKENS, database passwords ...) goes to it. */
static const char *const worker_env[] = { "LANG", "LC_ALL", "LC_CTYPE", "TZ", "ASAN_OPTIONS", "LSAN_OPTIONS",
					  "UBSAN_OPTIONS" };

static void worker_environ(char **envp)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof worker_env / sizeof *worker_env; i++) {
		size_t k = strlen(worker_env[i]);
		for (char **e = environ; e && *e; e++)
			if (!strncmp(*e, worker_env[i], k) && (*e)[k] == '=') {
				envp[n++] = *e;
				break;
			}
	}
	envp[n] = NULL;
}

static struct dworker *spawn_worker(const struct doc_limits *lim, unsigned max_uses, struct lh_error *err)
{
	char cpu[32], bytes[32];
	int sv[2];
	snprintf(cpu, sizeof cpu, "%.0f", ceil(lim->max_seconds > 0 ? lim->max_seconds : 1) * max_uses);
	snprintf(bytes, sizeof bytes, "%zu", lim->max_worker_bytes);
	char *argv[] = { (char *)"lakehouse", (char *)"document-worker", (char *)"--cpu-seconds", cpu,
			 (char *)"--address-bytes", bytes, NULL };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		lh_fail(err, 500, "internal", "the PDF reader could not be started");
		lh_error_detail(err, "socketpair: %s", strerror(errno));
		return NULL;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], DOC_WORKER_FD);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	const char *exe = lim->worker_exe ? lim->worker_exe : "/proc/self/exe";
	char *envp[sizeof worker_env / sizeof *worker_env + 1];
	worker_environ(envp);
	int rc = posix_spawn(&pid, exe, &fa, &at, argv, envp);         /* note 5 */
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc != 0) {
		close(sv[0]);
		lh_fail(err, 500, "internal", "the PDF reader could not be started");
		lh_error_detail(err, "posix_spawn %s: %s", exe, strerror(rc));
		return NULL;
	}
	struct dworker *w = xcalloc(1, sizeof *w);
	w->pid = pid;
	w->fd = sv[0];
	worker_key(lim, max_uses, w->key, sizeof w->key);
	return w;
}

/* Note 1: an idle worker started with the same limits, or a new one. */
static struct dworker *acquire(struct doc_workers *p, const struct doc_limits *lim, struct lh_error *err)
{
	char key[160];
	unsigned max_uses = p ? p->max_uses : 1;
	worker_key(lim, max_uses, key, sizeof key);
	while (p) {
		struct dworker *w = NULL, **pp;
		pthread_mutex_lock(&p->lock);
		for (pp = &p->idle; *pp; pp = &(*pp)->next)
			if (!strcmp((*pp)->key, key)) {
				w = *pp;
				*pp = w->next;
				p->n_idle--;
				break;
			}
		pthread_mutex_unlock(&p->lock);
		if (!w)
			break;
		struct pollfd pf = { .fd = w->fd, .events = POLLIN };
		if (poll(&pf, 1, 0) == 0)
			return w;
		discard(w);    /* dead, or talking out of turn */
	}
	struct dworker *w = spawn_worker(lim, max_uses, err);
	if (w && p) {
		pthread_mutex_lock(&p->lock);
		p->spawned++;
		pthread_mutex_unlock(&p->lock);
	}
	return w;
}

/* A worker that answered cleanly: back to the pool, or retired. */
static void release(struct doc_workers *p, struct dworker *w)
{
	w->uses++;
	if (p) {
		pthread_mutex_lock(&p->lock);
		if (w->uses < p->max_uses && p->n_idle < p->max_idle) {
			w->next = p->idle;
			p->idle = w;
			p->n_idle++;
			w = NULL;
		}
		pthread_mutex_unlock(&p->lock);
	}
	if (w)
		retire(w);
}

/* Note 4: how a child that sent no 'E' or 'X' ended, as the client's
 * error. Out of CPU time is SIGXCPU, or a SIGKILL after the CPU seconds it
 * was given (cpu_limit, RLIMIT_CPU's hard limit); any other SIGKILL came
 * from outside (the kernel's OOM killer, an operator) and says nothing
 * about time. */
static int child_failed(int status, const struct rusage *ru, double cpu_limit, const struct doc_limits *lim,
			struct lh_error *err)
{
	double cpu = (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
		     ru->ru_stime.tv_usec / 1e6;
	if (WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGXCPU || (WTERMSIG(status) == SIGKILL && cpu >= cpu_limit))) {
		lh_fail(err, 413, "too_large", "needed more than %.0f seconds to read", ceil(lim->max_seconds));
		lh_error_detail(err, "document worker killed by signal %d after %.1f CPU seconds", WTERMSIG(status),
				cpu);
		return -1;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
		lh_fail(err, 400, "bad_document",
			"could not be read: the PDF reader was stopped from outside, for example because the "
			"server ran short of memory");
		lh_error_detail(err, "document worker killed by signal 9 after %.1f CPU seconds", cpu);
		return -1;
	}
	lh_fail(err, 400, "bad_document",
		"made the PDF reader fail: the file is damaged, or needs more memory than a document may use");
	if (WIFSIGNALED(status))
		lh_error_detail(err, "document worker killed by signal %d", WTERMSIG(status));
	else
		lh_error_detail(err, "document worker exited with status %d", WEXITSTATUS(status));
	return -1;
}

int doc_pdf_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		    struct doc_text *t, struct lh_error *err)
{
	struct dworker *dw = NULL;
	int rc = -1, clean = 0, status = 0;
	size_t total = 0;
	unsigned char hdr[FRAME_HEADER];
	char *payload = NULL;
	struct worker_io w = { .fd = -1 };

	w.deadline_ms = clock_mono_ms() + (lim->max_seconds > 0 ? lim->max_seconds : 1) * 1000.0;
	dw = acquire(lim->workers, lim, err);
	if (!dw)
		goto out;
	w.fd = dw->fd;

	unsigned char req[12];
	for (int i = 0; i < 8; i++)
		req[i] = (unsigned char)((uint64_t)len >> (8 * i));
	put_u32(req + 8, lim->max_pages > UINT32_MAX ? UINT32_MAX : (uint32_t)lim->max_pages);
	/* a child that died early makes these fail: its exit says why (note 4) */
	if (send_all(&w, req, sizeof req) == 0)
		send_all(&w, data, len);
	if (w.timed_out)
		goto timeout;

	for (;;) {
		int r = recv_all(&w, hdr, FRAME_HEADER);
		if (w.timed_out)
			goto timeout;
		if (r <= 0)
			break;                  /* the child is gone: note 4 */
		uint32_t a = get_u32(hdr + 1), n = get_u32(hdr + 5);
		if (n > lim->max_text_bytes + 1024 || (hdr[0] != 'P' && hdr[0] != 'X' && n > 0) ||
		    (hdr[0] == 'X' && n > 1024)) {
			if (hdr[0] == 'P') {
				lh_fail(err, 413, "too_large", "has more than %zu bytes of text",
					lim->max_text_bytes);
			} else {
				lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
				lh_error_detail(err, "document worker frame %c of %u bytes", hdr[0], n);
			}
			goto out;
		}
		free(payload);
		payload = xmalloc((size_t)n + 1);
		r = n ? recv_all(&w, payload, n) : 1;
		if (w.timed_out)
			goto timeout;
		if (r <= 0)
			break;
		payload[n] = '\0';
		if (hdr[0] == 'P') {
			if (a != t->n_pages + 1 || t->n_pages >= lim->max_pages) {
				lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
				lh_error_detail(err, "document worker sent page %u after %zu", a, t->n_pages);
				goto out;
			}
			if (doc_text_add_page(t, a, payload, n, lim, &total, err))
				goto out;
		} else if (hdr[0] == 'X') {
			size_t cl = strnlen(payload, n);
			const char *msg = cl < n ? payload + cl + 1 : "could not be read";
			char code[32];
			snprintf(code, sizeof code, "%.*s", (int)(cl < sizeof code ? cl : sizeof code - 1), payload);
			lh_fail(err, a >= 400 && a < 600 ? (int)a : 400, code[0] ? code : "bad_document", "%s", msg);
			clean = 1;
			goto out;
		} else if (hdr[0] == 'E') {
			if (a != t->n_pages) {
				lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
				goto out;
			}
			clean = 1;
			rc = 0;
			goto out;
		} else {
			lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
			goto out;
		}
	}
	/* end of stream without 'E' or 'X': the child died */
	struct rusage ru = { 0 };
	close(dw->fd);
	reap_usage(dw->pid, &status, 0, &ru);
	free(dw);
	dw = NULL;
	child_failed(status, &ru, ceil(lim->max_seconds > 0 ? lim->max_seconds : 1) *
				  (lim->workers ? lim->workers->max_uses : 1), lim, err);
	goto out;
timeout:
	lh_fail(err, 413, "too_large", "took longer than %.0f seconds to read", ceil(lim->max_seconds));
out:
	if (dw && clean)
		release(lim->workers, dw);
	else if (dw)
		discard(dw);          /* note 4 */
	free(payload);
	return rc;
}

/* ---- the child's side (`lakehouse document-worker`) -------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_frame(int fd, char type, uint32_t a, const void *payload, size_t n)
{
	unsigned char hdr[FRAME_HEADER];
	hdr[0] = (unsigned char)type;
	put_u32(hdr + 1, a);
	put_u32(hdr + 5, (uint32_t)n);
	if (write_all(fd, hdr, sizeof hdr))
		return -1;
	return n ? write_all(fd, payload, n) : 0;
}

struct child {
	int fd;
	uint32_t pages;
};

static int send_page(void *ctx, unsigned page, const char *text, size_t len, struct lh_error *err)
{
	struct child *c = ctx;
	if (len > UINT32_MAX - 1)
		return lh_fail(err, 413, "too_large", "has a page with too much text");
	if (send_frame(c->fd, 'P', page, text, len))
		return lh_fail(err, 500, "internal", "the server stopped listening");
	c->pages++;
	return 0;
}

static int arg_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static void limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { .rlim_cur = soft, .rlim_max = hard };
	setrlimit(resource, &rl);   /* best effort: a limit already lower stays */
}

int doc_worker_main(int argc, char **argv)
{
	size_t cpu = 0, address = 0;
	struct child c = { .fd = DOC_WORKER_FD };
	int fd = DOC_WORKER_FD;
	for (int i = 1; i < argc; i += 2) {
		size_t *dst = i + 1 >= argc ? NULL :
			      !strcmp(argv[i], "--cpu-seconds") ? &cpu :
			      !strcmp(argv[i], "--address-bytes") ? &address : NULL;
		if (!dst || arg_size(argv[i + 1], dst)) {
			fprintf(stderr, "lakehouse document-worker: started by the server only\n");
			return 2;
		}
	}
	if (fcntl(fd, F_GETFD) < 0) {
		fprintf(stderr, "lakehouse document-worker: started by the server only\n");
		return 2;
	}
	/* note 3 */
	close_range(DOC_WORKER_FD + 1, ~0u, 0);
	limit(RLIMIT_CORE, 0, 0);
	limit(RLIMIT_NOFILE, 64, 64);
	if (cpu > 0)
		limit(RLIMIT_CPU, (rlim_t)cpu, (rlim_t)cpu + 1);
	if (address > 0 && !DOC_SANITIZED)
		limit(RLIMIT_AS, (rlim_t)address, (rlim_t)address);

	for (;;) {                                                   /* note 2 */
		unsigned char req[12];
		if (read_all(fd, req, sizeof req))
			return 0;       /* end of stream: retired */
		uint64_t len = 0;
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)req[i] << (8 * i);
		size_t max_pages = get_u32(req + 8);
		if (len > (uint64_t)SIZE_MAX / 2)
			return 1;
		unsigned char *data = malloc(len ? (size_t)len : 1);
		if (!data)
			return 1;
		if (read_all(fd, data, (size_t)len)) {
			free(data);
			return 1;
		}
		struct lh_error err = { 0 };
		c.pages = 0;
		int rc = doc_poppler_pages(data, (size_t)len, max_pages, send_page, &c, &err);
		free(data);
		if (rc == 0) {
			if (send_frame(fd, 'E', c.pages, NULL, 0))
				return 1;
			continue;
		}
		char buf[sizeof err.code + sizeof err.msg + 1];
		size_t cl = strlen(err.code), ml = strlen(err.msg);
		memcpy(buf, err.code, cl + 1);
		memcpy(buf + cl + 1, err.msg, ml);
		int sent = send_frame(fd, 'X', (uint32_t)err.status, buf, cl + 1 + ml);
		lh_error_clear(&err);
		if (sent)
			return 1;
	}
}
