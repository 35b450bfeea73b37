/* pdf_worker.c — PDFs are read in a child process: doc_pdf_extract() (the
 * server's side) and doc_worker_main(), `lakehouse document-worker` (the
 * child's side, which calls the poppler adapter). ADR 0220.
 *
 * DESIGN NOTES
 *  1. One child per PDF, started with posix_spawn of worker_exe (normally
 *     /proc/self/exe: the server's own binary, so the child is exactly the
 *     server's code; safe in a threaded server, as queryd's pool.c), with
 *     one end of a socketpair as fd DOC_WORKER_FD and an empty signal mask.
 *     Nothing is reused: a PDF that corrupted poppler's state cannot reach
 *     the next one. The cost is one process start per PDF (measured in
 *     bench/README.md "Documents").
 *  2. Wire, both ways on the socket: the server writes the PDF as a u64
 *     little-endian length and the bytes, then shuts its writing side. The
 *     child reads it all before it answers (so neither side can block the
 *     other), then writes frames of a 9-byte header (type, u32 a, u32 len,
 *     little-endian) and len bytes: 'P' page a's text; 'E' the end (a =
 *     pages); 'X' an error (a = HTTP status, payload "code\0message").
 *  3. Limits, set by the child on itself before it reads: RLIMIT_AS
 *     (max_worker_bytes; not in sanitizer builds), RLIMIT_CPU (max_seconds
 *     rounded up: the kernel's SIGXCPU, then SIGKILL a second later),
 *     RLIMIT_CORE 0, RLIMIT_NOFILE 64, every inherited fd but 0-2 and the
 *     socket closed. The server adds a wall-clock deadline (max_seconds)
 *     over everything, a cap on each frame and on the text (max_text_bytes,
 *     counted as pages arrive) and on the pages (max_pages, also checked by
 *     the child before it reads any page).
 *  4. Whatever happens the server reaps its child: after 'E' or 'X' it
 *     waits for the exit; on a deadline, a cap or a protocol error it
 *     SIGKILLs it first. waitpid() names that pid only. A child that died
 *     (a signal, an exit without 'E') is 400 bad_document, or 413
 *     too_large when it ran out of CPU time (SIGXCPU/SIGKILL by RLIMIT_CPU)
 *     or the deadline passed; the server itself never sees poppler.
 */
#include "documents/documents_int.h"

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xmalloc.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

static pid_t spawn_worker(const struct doc_limits *lim, int child_fd, struct lh_error *err)
{
	char pages[32], cpu[32], bytes[32], input[32];
	snprintf(pages, sizeof pages, "%zu", lim->max_pages);
	snprintf(cpu, sizeof cpu, "%.0f", ceil(lim->max_seconds > 0 ? lim->max_seconds : 1));
	snprintf(bytes, sizeof bytes, "%zu", lim->max_worker_bytes);
	snprintf(input, sizeof input, "%zu", (size_t)1 << 40);
	char *argv[] = { (char *)"lakehouse", (char *)"document-worker", (char *)"--max-pages", pages,
			 (char *)"--cpu-seconds", cpu, (char *)"--address-bytes", bytes, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, child_fd, DOC_WORKER_FD);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	const char *exe = lim->worker_exe ? lim->worker_exe : "/proc/self/exe";
	int rc = posix_spawn(&pid, exe, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		lh_fail(err, 500, "internal", "the PDF reader could not be started");
		lh_error_detail(err, "posix_spawn %s: %s", exe, strerror(rc));
		return -1;
	}
	return pid;
}

/* Note 4: how a child that sent no 'E' or 'X' ended, as the client's error. */
static int child_failed(int status, const struct doc_limits *lim, struct lh_error *err)
{
	if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL)) {
		lh_fail(err, 413, "too_large", "needed more than %.0f seconds to read", ceil(lim->max_seconds));
		lh_error_detail(err, "document worker killed by signal %d", WTERMSIG(status));
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
	int sv[2] = { -1, -1 };
	pid_t pid = -1;
	int rc = -1, done = 0, status = 0;
	size_t total = 0;
	unsigned char hdr[FRAME_HEADER];
	char *payload = NULL;
	struct worker_io w = { .fd = -1 };

	w.deadline_ms = clock_mono_ms() + (lim->max_seconds > 0 ? lim->max_seconds : 1) * 1000.0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		lh_fail(err, 500, "internal", "the PDF reader could not be started");
		lh_error_detail(err, "socketpair: %s", strerror(errno));
		goto out;
	}
	pid = spawn_worker(lim, sv[1], err);
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0)
		goto out;
	w.fd = sv[0];

	unsigned char lenbuf[8];
	for (int i = 0; i < 8; i++)
		lenbuf[i] = (unsigned char)((uint64_t)len >> (8 * i));
	/* a child that died early makes these fail: its exit says why (note 4) */
	if (send_all(&w, lenbuf, 8) == 0)
		send_all(&w, data, len);
	shutdown(w.fd, SHUT_WR);
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
			done = 1;
			goto out;
		} else if (hdr[0] == 'E') {
			if (a != t->n_pages) {
				lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
				goto out;
			}
			done = 1;
			rc = 0;
			goto out;
		} else {
			lh_fail(err, 500, "internal", "the PDF reader answered out of turn");
			goto out;
		}
	}
	/* end of stream without 'E' or 'X': the child died */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	child_failed(status, lim, err);
	goto out;
timeout:
	lh_fail(err, 413, "too_large", "took longer than %.0f seconds to read", ceil(lim->max_seconds));
out:
	if (pid > 0) {
		if (!done)
			kill(pid, SIGKILL);    /* note 4 */
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (sv[0] >= 0)
		close(sv[0]);
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
	size_t max_pages = 0, cpu = 0, address = 0;
	struct child c = { .fd = DOC_WORKER_FD };
	int fd = DOC_WORKER_FD;
	for (int i = 1; i + 1 < argc; i += 2) {
		size_t *dst = !strcmp(argv[i], "--max-pages") ? &max_pages :
			      !strcmp(argv[i], "--cpu-seconds") ? &cpu :
			      !strcmp(argv[i], "--address-bytes") ? &address : NULL;
		if (!dst || arg_size(argv[i + 1], dst)) {
			fprintf(stderr, "lakehouse document-worker: started by the server only\n");
			return 2;
		}
	}
	if (max_pages == 0) {
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

	unsigned char lenbuf[8];
	if (read_all(fd, lenbuf, 8))
		return 1;
	uint64_t len = 0;
	for (int i = 0; i < 8; i++)
		len |= (uint64_t)lenbuf[i] << (8 * i);
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
	int rc = doc_poppler_pages(data, (size_t)len, max_pages, send_page, &c, &err);
	free(data);
	if (rc == 0) {
		send_frame(fd, 'E', c.pages, NULL, 0);
		return 0;
	}
	char buf[sizeof err.code + sizeof err.msg + 1];
	size_t cl = strlen(err.code), ml = strlen(err.msg);
	memcpy(buf, err.code, cl + 1);
	memcpy(buf + cl + 1, err.msg, ml);
	send_frame(fd, 'X', (uint32_t)err.status, buf, cl + 1 + ml);
	lh_error_clear(&err);
	return 0;
}
