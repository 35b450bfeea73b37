/* cli_progress.c — the upload progress bar of `lakehouse ingest`.
 *
 * Drawn on stderr with "\r" redraws, at most ten times a second, and only
 * when the caller says stderr is a terminal: piped or redirected output
 * never contains a bar (tests/integration/test_cli.py checks it). stdout is
 * never touched, so `lakehouse ingest ... > result.txt` stays clean.
 */
#include "cli/cli_int.h"

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
	double start, last;  /* seconds, CLOCK_MONOTONIC */
	int drawn;           /* something is on the line */
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct cli_progress *cli_progress_create(const char *label, uint64_t total, int enabled)
{
	struct cli_progress *p = xcalloc(1, sizeof *p);
	p->enabled = enabled;
	snprintf(p->label, sizeof p->label, "%s", label);
	p->total = total;
	p->start = now_s();
	p->last = 0;
	return p;
}

static void draw(struct cli_progress *p)
{
	char done[16], total[16], rate[16];
	double secs = now_s() - p->start;
	cli_format_bytes(p->done, done);
	cli_format_bytes(secs > 0.05 ? (uint64_t)((double)p->done / secs) : 0, rate);
	if (p->total) {
		char bar[BAR_WIDTH + 1];
		uint64_t pct = p->done >= p->total ? 100 : p->done * 100 / p->total;
		size_t fill = (size_t)(pct * BAR_WIDTH / 100);
		for (size_t i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH] = '\0';
		cli_format_bytes(p->total, total);
		fprintf(stderr, "\r\033[K%s [%s] %3llu%%  %s / %s  %s/s", p->label, bar,
			(unsigned long long)pct, done, total, rate);
	} else {
		fprintf(stderr, "\r\033[K%s %s  %s/s", p->label, done, rate);
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
