/* replay.c — runs a libFuzzer driver over committed corpora without libFuzzer.
 *
 * Linked with one tests/fuzz/fuzz_<target>.c and the ASan build of the
 * library (make fuzz-replay, part of make test), so every seed and every
 * past crash input is re-checked under ASan/UBSan by gcc on each test run.
 * Usage: replay_<target> DIR|FILE...; every regular file of a directory is
 * fed once to LLVMFuzzerTestOneInput, in name order. Prints "N inputs" and
 * exits 0, or dies on the first failed invariant or sanitizer report.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

/* Read all of `path` into a new buffer of exactly its size (so ASan sees a
 * read past the end); returns 0 or -1. */
static int read_file(const char *path, uint8_t **out, size_t *n)
{
	int rc = -1;
	uint8_t *buf = NULL;
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0)
		goto out;
	*n = (size_t)st.st_size;
	buf = malloc(*n ? *n : 1);
	if (!buf || fread(buf, 1, *n, f) != *n)
		goto out;
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

static int run_one(const char *path)
{
	uint8_t *data = NULL;
	size_t n = 0;
	if (read_file(path, &data, &n) != 0) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	LLVMFuzzerTestOneInput(data, n);
	free(data);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	long ninputs = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_one(argv[i]) != 0)
				return 1;
			ninputs++;
			continue;
		}
		struct dirent **names = NULL;
		int n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		int rc = 0;
		for (int j = 0; j < n; j++) {
			char path[4096];
			struct stat fst;
			int len = snprintf(path, sizeof path, "%s/%s", argv[i], names[j]->d_name);
			if (rc == 0 && len > 0 && (size_t)len < sizeof path && stat(path, &fst) == 0 &&
			    S_ISREG(fst.st_mode)) {
				if (run_one(path) != 0)
					rc = 1;
				else
					ninputs++;
			}
			free(names[j]);
		}
		free(names);
		if (rc)
			return 1;
	}
	printf("%ld inputs\n", ninputs);
	return 0;
}
