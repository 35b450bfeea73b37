/* log.c — request lines and events on stderr, as JSON or human lines (see
 * log.h, ADR 0121).
 *
 * DESIGN NOTES
 *  1. The mode is process-wide and fixed before any thread logs: log_setup()
 *     runs from service_load_config() on the main thread; without it, the
 *     first line reads LAKEHOUSE_LOG once (pthread_once). Readers never lock.
 *  2. Which lines go out (log_request / log_event) is decided here, in one
 *     place; how a line looks is decided by the pure formatters below, which
 *     the unit tests call directly.
 *  3. Every line, JSON or human, is built in memory and written with one
 *     write(2): concurrent threads never interleave their lines.
 *  4. Human lines carry data from clients (paths, query strings); it is
 *     cleaned (control characters, C1 controls and invalid UTF-8 -> '?') so
 *     nobody can write escape sequences to an operator's terminal.
 */
#include "common/log.h"

#include "common/json.h"
#include "common/limits.h"
#include "common/tokens.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* note 1 */
static struct {
	int human;          /* human lines, else JSON */
	int quiet;          /* only 5xx request lines and warn/error events */
	int color;          /* ANSI colours (human lines on a terminal) */
	char front[32];     /* "" = every service's requests in full */
} cfg;
static pthread_once_t cfg_once = PTHREAD_ONCE_INIT;

int log_mode_parse(const char *s, enum log_mode *out)
{
	static const struct { const char *name; enum log_mode mode; } modes[] = {
		{ "auto", LOG_MODE_AUTO }, { "json", LOG_MODE_JSON },
		{ "human", LOG_MODE_HUMAN }, { "quiet", LOG_MODE_QUIET },
	};
	for (size_t i = 0; s && i < sizeof modes / sizeof modes[0]; i++) {
		if (!strcmp(s, modes[i].name)) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

static int stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO) == 1;
}

static void apply(enum log_mode mode, const char *front)
{
	int tty = stderr_is_terminal();
	const char *term = getenv("TERM");
	cfg.quiet = mode == LOG_MODE_QUIET;
	cfg.human = mode == LOG_MODE_HUMAN ||
		    ((mode == LOG_MODE_AUTO || mode == LOG_MODE_QUIET) && tty);
	/* https://no-color.org: any non-empty NO_COLOR turns colours off. */
	const char *no_color = getenv("NO_COLOR");
	cfg.color = cfg.human && tty && !(no_color && no_color[0]) &&
		    !(term && !strcmp(term, "dumb"));
	snprintf(cfg.front, sizeof cfg.front, "%s", front ? front : "");
	tzset();   /* human lines show local time */
}

static void init_from_env(void)
{
	enum log_mode mode = LOG_MODE_AUTO;
	if (log_mode_parse(getenv("LAKEHOUSE_LOG"), &mode) != 0)
		mode = LOG_MODE_AUTO;
	apply(mode, NULL);
}

void log_setup(enum log_mode mode, const char *front)
{
	pthread_once(&cfg_once, init_from_env);
	apply(mode, front);
}

int log_is_human(void)
{
	pthread_once(&cfg_once, init_from_env);
	return cfg.human;
}

/* --- the human form (pure) ----------------------------------------------- */

struct hbuf {
	char *p;
	size_t cap, n;   /* n < cap always; p[n] == '\0' */
};

static void hb_put(struct hbuf *b, const char *s, size_t len)
{
	size_t room = b->cap - 1 - b->n;
	if (len > room)
		len = room;
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void hb_str(struct hbuf *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static void hb_fmt(struct hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_fmt(struct hbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (w > 0)
		b->n += (size_t)w < b->cap - b->n ? (size_t)w : b->cap - 1 - b->n;
}

/* Length of the valid, printable UTF-8 sequence at s (n bytes available),
 * or 0 if the bytes there must be shown as '?' (note 4). */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c >= 0x20 && c < 0x7f)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;   /* controls, DEL, continuation bytes, overlong leads */
	size_t len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xc2 && s[1] < 0xa0)
		return 0;   /* U+0080..U+009F: C1 controls (0x9b is CSI) */
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
		return 0;   /* overlong, surrogates, beyond U+10FFFF */
	return len;
}

/* Append client text cleaned (note 4), at most `max` bytes of it, then
 * "..." if it was longer. */
static void hb_clean(struct hbuf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		size_t len = utf8_printable(u + i, n - i);
		if (i + (len ? len : 1) > max) {
			hb_str(b, "...");
			return;
		}
		if (len) {
			hb_put(b, s + i, len);
			i += len;
		} else {
			hb_put(b, "?", 1);
			i++;
		}
	}
}

void log_human_size(char out[16], uint64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	if (bytes < 1024) {
		snprintf(out, 16, "%u B", (unsigned)bytes);
		return;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	snprintf(out, 16, "%.1f %s", v, units[u]);
}

static void hb_duration(struct hbuf *b, double ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		hb_fmt(b, "%.1f ms", ms);
	else
		hb_fmt(b, "%.2f s", ms / 1000);
}

#define ANSI_RED "\033[31m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_RESET "\033[0m"

size_t log_human_request(char *out, size_t cap, const char *clock,
			 const struct log_request *r, int with_service, int color)
{
	struct hbuf b = { out, cap, 0 };
	char in[16], sent[16];
	if (cap == 0)
		return 0;
	out[0] = '\0';
	hb_str(&b, clock);
	hb_str(&b, " ");
	if (with_service && r->service) {
		hb_str(&b, r->service);
		hb_str(&b, ": ");
	}
	hb_clean(&b, r->method ? r->method : "?", 16);
	hb_str(&b, " ");
	hb_clean(&b, r->path ? r->path : "", LH_LOG_HUMAN_PATH_MAX);
	if (r->query && r->query[0]) {
		hb_str(&b, "?");
		hb_clean(&b, r->query, LH_LOG_HUMAN_QUERY_MAX);
	}
	const char *on = !color ? NULL : r->status >= 500 ? ANSI_RED
				 : r->status >= 400 ? ANSI_YELLOW : NULL;
	hb_fmt(&b, " %s%d%s ", on ? on : "", r->status, on ? ANSI_RESET : "");
	hb_duration(&b, r->duration_ms);
	log_human_size(sent, r->bytes_out);
	if (r->bytes_in) {
		log_human_size(in, r->bytes_in);
		hb_fmt(&b, " %s in, %s out", in, sent);
	} else {
		hb_fmt(&b, " %s", sent);
	}
	if (r->who && r->who[0]) {
		hb_str(&b, " by ");
		hb_clean(&b, r->who, LH_TOKEN_NAME_MAX);
	}
	/* The person running the server sees the internal detail of a 5xx. */
	const char *why = r->status >= 500 && r->error ? r->error
			  : r->status >= 400 ? r->message : NULL;
	if (why && why[0]) {
		hb_str(&b, " - ");
		hb_clean(&b, why, LH_LOG_HUMAN_MESSAGE_MAX);
	}
	if (r->status >= 400 && r->detail && r->detail[0]) {
		hb_str(&b, " (");
		hb_clean(&b, r->detail, LH_LOG_HUMAN_MESSAGE_MAX);
		hb_str(&b, ")");
	}
	return b.n;
}

size_t log_human_event(char *out, size_t cap, const char *clock, const char *level,
		       const char *service, const char *msg, int color)
{
	struct hbuf b = { out, cap, 0 };
	if (cap == 0)
		return 0;
	out[0] = '\0';
	hb_str(&b, clock);
	hb_str(&b, " ");
	if (level && !strcmp(level, "warn"))
		hb_str(&b, color ? ANSI_YELLOW "warning:" ANSI_RESET " " : "warning: ");
	else if (level && !strcmp(level, "error"))
		hb_str(&b, color ? ANSI_RED "error:" ANSI_RESET " " : "error: ");
	size_t sl = service ? strlen(service) : 0;
	if (sl && !(strncmp(msg, service, sl) == 0 && msg[sl] == ':')) {
		hb_str(&b, service);
		hb_str(&b, ": ");
	}
	hb_clean(&b, msg, LH_LOG_HUMAN_MESSAGE_MAX);
	return b.n;
}

/* --- output ---------------------------------------------------------------- */

/* RFC 3339 UTC with milliseconds. */
static void now_rfc3339(char out[32])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* "HH:MM:SS", local time: what a person at the terminal reads. */
static void now_clock(char out[16])
{
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	if (strftime(out, 16, "%H:%M:%S", &tm) == 0)
		snprintf(out, 16, "--:--:--");
}

/* A JSON string even for bytes that are not UTF-8 (paths from clients):
 * non-ASCII bytes become '?' when the whole is not valid UTF-8. */
static json_t *string_lossy(const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (v)
		return v;
	char *copy = strdup(s);
	if (!copy)
		return json_string("");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* note 3: `text` has room for one more byte at text[n]. */
static void write_line(char *text, size_t n)
{
	text[n] = '\n';
	ssize_t w = write(STDERR_FILENO, text, n + 1);
	(void)w;
}

static void emit_json(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(obj);
	if (!text)
		return;
	write_line(text, strlen(text));   /* json_dumps leaves room: the NUL */
	free(text);
}

void log_request(const struct log_request *r)
{
	pthread_once(&cfg_once, init_from_env);
	if (cfg.quiet && r->status < 500)
		return;
	if (cfg.human) {
		int front = !cfg.front[0] || (r->service && !strcmp(r->service, cfg.front));
		if (!front && r->status < 500)
			return;   /* an internal hop under `serve`: the gateway's line says it */
		char clock[16], line[LH_LOG_HUMAN_LINE_MAX + 1];
		now_clock(clock);
		write_line(line, log_human_request(line, sizeof line - 1, clock, r, !front,
						   cfg.color));
		return;
	}
	char ts[32];
	now_rfc3339(ts);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "level", json_string(r->status >= 500 ? "error" : "info"));
	json_object_set_new(o, "service", json_string(r->service));
	json_object_set_new(o, "request_id", string_lossy(r->request_id));
	json_object_set_new(o, "method", json_string(r->method));
	json_object_set_new(o, "path", string_lossy(r->path));
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes_out));
	json_object_set_new(o, "duration_ms", json_real(r->duration_ms));
	if (r->error)
		json_object_set_new(o, "error", string_lossy(r->error));
	if (r->detail && r->detail[0])
		json_object_set_new(o, "detail", string_lossy(r->detail));
	if (r->who && r->who[0])
		json_object_set_new(o, "who", string_lossy(r->who));
	emit_json(o);
}

void log_event(const char *level, const char *service, const char *fmt, ...)
{
	pthread_once(&cfg_once, init_from_env);
	if (cfg.quiet && strcmp(level, "warn") != 0 && strcmp(level, "error") != 0)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (cfg.human) {
		char clock[16], line[LH_LOG_HUMAN_LINE_MAX + 1];
		now_clock(clock);
		write_line(line, log_human_event(line, sizeof line - 1, clock, level, service, msg,
						 cfg.color));
		return;
	}
	char ts[32];
	now_rfc3339(ts);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "service", json_string(service));
	json_object_set_new(o, "msg", string_lossy(msg));
	emit_json(o);
}

void log_announce(const char *service, const char *url, const char *fmt, ...)
{
	char msg[1024], ts[32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	now_rfc3339(ts);
	json_t *o = json_object();
	json_object_set_new(o, "time", json_string(ts));
	json_object_set_new(o, "level", json_string("info"));
	json_object_set_new(o, "service", json_string(service));
	json_object_set_new(o, "msg", string_lossy(msg));
	if (url)
		json_object_set_new(o, "url", string_lossy(url));
	emit_json(o);
}
