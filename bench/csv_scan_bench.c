/* csv_scan_bench.c — the CSV scanner alone (src/ingestd/csv.c): every record
 * of FILE through csv_scan_record() the way the CSV reader's inference pass
 * feeds it (a 4 MiB buffer, the unscanned tail moved to the front), with
 * the delimiter of -d (default ','). Prints the process CPU seconds (not
 * wall: the figures in bench/README.md were taken on a shared 2-core box)
 * and MB/s.
 *
 *   build/bench/csv_scan_bench [-d ';'|tab|'|'] FILE
 *
 * For an A/B of two versions of csv.c, build this file against each (see
 * bench/README.md, "Issue 16: delimiters").
 */
#include "common/error.h"
#include "ingestd/csv.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char delim = ',';
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			const char *d = argv[++i];
			delim = !strcmp(d, "tab") ? '\t' : d[0];
		} else {
			path = argv[i];
		}
	}
	int fd = path ? open(path, O_RDONLY) : -1;
	if (fd < 0 || !csv_delimiter_ok(delim)) {
		fprintf(stderr, "usage: csv_scan_bench [-d ';'|tab|'|'] FILE\n");
		return 2;
	}
	size_t cap = 4u << 20, len = 0, pos = 0;
	char *buf = malloc(cap);
	struct csv_scanner sc;
	struct lh_error err = { 0 };
	unsigned long long records = 0, fields = 0, total = 0;
	int eof = 0;
	csv_scanner_init(&sc);
	sc.delim = delim;
	double t0 = cpu_now();
	for (;;) {
		if (!eof) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
			ssize_t n = read(fd, buf + len, cap - len);
			if (n <= 0)
				eof = 1;
			else
				len += (size_t)n, total += (unsigned long long)n;
		}
		for (;;) {
			size_t used = 0;
			int r = csv_scan_record(&sc, buf + pos, len - pos, eof, &used, &err);
			if (r == CSV_ERROR) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			if (r != CSV_RECORD)
				break;
			pos += used;
			records++;
			fields += sc.nfields;
		}
		if (eof && pos == len)
			break;
		if (pos == 0 && len == cap) {   /* one record larger than the buffer */
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	double s = cpu_now() - t0;
	printf("%.3f s CPU  %.0f MB/s  %llu records  %llu fields\n", s, (double)total / s / 1e6,
	       records, fields);
	csv_scanner_free(&sc);
	free(buf);
	close(fd);
	return 0;
}
