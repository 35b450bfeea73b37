/* test.h — the unit-test runner's tiny API.
 *
 * TEST(name) { ... } defines and registers a test. CHECK(cond) records a
 * failure and returns from the test; CHECK_EQ_INT / CHECK_EQ_STR print both
 * values. `unit-tests` runs every test, or only those whose name starts with
 * argv[1]; its last line is "N passed, N failed". Test files mirror src/
 * (tests/unit/test_<module>.c).
 */
#ifndef LH_TEST_H
#define LH_TEST_H
#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(int *failed);
void test_register(const char *name, test_fn fn);

#define TEST(name)                                                          \
	static void test_##name(int *failed);                               \
	__attribute__((constructor)) static void register_##name(void)      \
	{                                                                   \
		test_register(#name, test_##name);                          \
	}                                                                   \
	static void test_##name(int *failed)

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n",      \
				__FILE__, __LINE__, #cond);                 \
			*failed = 1;                                        \
			return;                                             \
		}                                                           \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                  \
	do {                                                                \
		long long va_ = (long long)(a), vb_ = (long long)(b);       \
		if (va_ != vb_) {                                           \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %lld\n", \
				__FILE__, __LINE__, #a, va_, vb_);          \
			*failed = 1;                                        \
			return;                                             \
		}                                                           \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                  \
	do {                                                                \
		const char *sa_ = (a), *sb_ = (b);                          \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                \
			fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", \
				__FILE__, __LINE__, #a, sa_ ? sa_ : "(null)", \
				sb_ ? sb_ : "(null)");                      \
			*failed = 1;                                        \
			return;                                             \
		}                                                           \
	} while (0)

#endif
