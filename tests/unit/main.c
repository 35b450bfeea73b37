/* main.c — the unit-test runner: runs registered TESTs, prints a summary. */
#include "test.h"

#include "documents/documents.h"

#include <stdlib.h>

#define MAX_TESTS 4096

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int ntests;

void test_register(const char *name, test_fn fn)
{
	if (ntests == MAX_TESTS) {
		fprintf(stderr, "too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].fn = fn;
	ntests++;
}

static int by_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

int main(int argc, char **argv)
{
	/* The PDF reader's child process (src/documents/pdf_worker.c) is
	 * /proc/self/exe: this binary plays `lakehouse document-worker` too. */
	if (argc > 1 && !strcmp(argv[1], "document-worker"))
		return doc_worker_main(argc - 1, argv + 1);
	const char *prefix = argc > 1 ? argv[1] : "";
	setenv("LAKEHOUSE_LOG", "quiet", 0);   /* request log lines only for 5xx */
	int passed = 0, failed = 0;
	qsort(tests, (size_t)ntests, sizeof tests[0], by_name);
	for (int i = 0; i < ntests; i++) {
		if (strncmp(tests[i].name, prefix, strlen(prefix)) != 0)
			continue;
		int f = 0;
		tests[i].fn(&f);
		if (f) {
			fprintf(stderr, "FAIL %s\n", tests[i].name);
			failed++;
		} else {
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
