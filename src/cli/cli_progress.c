/* cli_progress.c — the upload progress bar of `lakehouse ingest`.
 *
 * Drawn on stderr with "\r" redraws, at most ten times a second, and only
 * when the caller says stderr is a terminal: piped or redirected output
 * never contains a bar (tests/integration/test_cli.py checks it). stdout is
 * never touched, so `lakehouse ingest ... > result.txt` stays clean.
 *
 * The rate is measured over a sliding window (struct cli_rate: the bytes
 * of about the last three seconds over their span), not since the start,
 * and is not shown until the samples span half a second: a first draw has
 * no rate to show, and "0 B/s" would be a wrong one.
 */
#include "cli/cli_int.h"

#include "common/clock.h"
#include "common/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BAR_WIDTH 30

struct cli_progress {
	int enabled;
	char label[64];
	uint64_t total;      /* 0 = unknown */
	uint64_t done;
	double last;         /* seconds, CLOCK_MONOTONIC, of the last draw */
	int drawn;           /* something is on the line */
	struct cli_rate rate;
};

static double now_s(void)
{
	return clock_mono_ms() / 1000.0;
}

struct cli_progress *cli_progress_create(const char *label, uint64_t total, int enabled)
{
	struct cli_progress *p = xcalloc(1, sizeof *p);
	p->enabled = enabled;
	snprintf(p->label, sizeof p->label, "%s", label);
	p->total = total;
	p->last = 0;
	cli_rate_add(&p->rate, now_s(), 0);
	return p;
}

void cli_rate_add(struct cli_rate *r, double t, uint64_t done)
{
	r->t[r->next] = t;
	r->bytes[r->next] = done;
	r->next = (r->next + 1) % CLI_RATE_SAMPLES;
	if (r->n < CLI_RATE_SAMPLES)
		r->n++;
}

double cli_rate_get(const struct cli_rate *r)
{
	if (r->n < 2)
		return -1;
	size_t newest = (r->next + CLI_RATE_SAMPLES - 1) % CLI_RATE_SAMPLES;
	/* walk back to the first sample at least a window old, or the oldest held */
	size_t anchor = newest;
	for (size_t k = 1; k < r->n; k++) {
		anchor = (newest + CLI_RATE_SAMPLES - k) % CLI_RATE_SAMPLES;
		if (r->t[newest] - r->t[anchor] >= CLI_RATE_WINDOW_S)
			break;
	}
	double span = r->t[newest] - r->t[anchor];
	if (span < CLI_RATE_MIN_SPAN_S || r->bytes[newest] < r->bytes[anchor])
		return -1;
	return (double)(r->bytes[newest] - r->bytes[anchor]) / span;
}

void cli_format_rate(double bytes_per_s, char out[24])
{
	char b[16];
	if (bytes_per_s < 0) {
		out[0] = '\0';
		return;
	}
	cli_format_bytes((uint64_t)bytes_per_s, b);
	snprintf(out, 24, "%s/s", b);
}

static void draw(struct cli_progress *p)
{
	char done[16], total[16], rate[24];
	cli_format_bytes(p->done, done);
	cli_format_rate(cli_rate_get(&p->rate), rate);
	if (p->total) {
		char bar[BAR_WIDTH + 1];
		uint64_t pct = p->done >= p->total ? 100 : p->done * 100 / p->total;
		size_t fill = (size_t)(pct * BAR_WIDTH / 100);
		for (size_t i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH] = '\0';
		cli_format_bytes(p->total, total);
		fprintf(stderr, "\r\033[K%s [%s] %3llu%%  %s / %s%s%s", p->label, bar,
			(unsigned long long)pct, done, total, rate[0] ? "  " : "", rate);
	} else {
		fprintf(stderr, "\r\033[K%s %s%s%s", p->label, done, rate[0] ? "  " : "", rate);
	}
	fflush(stderr);
	p->drawn = 1;
}

void cli_progress_update(struct cli_progress *p, uint64_t done)
{
	p->done = done;
	if (!p->enabled)
		return;
	double t = now_s();
	if (t - p->last < 0.1 && !(p->total && done >= p->total))
		return;
	p->last = t;
	cli_rate_add(&p->rate, t, done);
	draw(p);
}

void cli_progress_note(struct cli_progress *p, const char *msg)
{
	if (!p->enabled)
		return;
	fprintf(stderr, "\r\033[K%s", msg ? msg : "");
	fflush(stderr);
	p->drawn = msg != NULL;
}

void cli_progress_destroy(struct cli_progress *p)
{
	if (!p)
		return;
	if (p->enabled && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}
