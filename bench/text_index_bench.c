/* text_index_bench.c — how fast the BM25 text index part builds and answers
 * (src/search/text_index.h; bench/README.md "Text index"; ADR 0146).
 *
 *   build/bench/text_index_bench [DOCS] [RUNS]     (default 500000 200)
 *
 * Generates DOCS staffing profiles deterministically (splitmix64): a job
 * title, four skills, a city and state, and a notes sentence of 24-36 words
 * drawn Zipf-like from a 4,000-word vocabulary, about 40 tokens a profile,
 * as MEASUREMENTS.md's FTS5 comparison did. Prints the build time, the
 * builder's peak memory (max RSS before and after), the section's size, the
 * open time, and per query (k = 10) the median and 99th percentile of RUNS
 * timed searches, with the query's postings (the sum of its terms' df). Not a test: it asserts
 * nothing but that the calls succeed.
 */
#include "search/text_index.h"
#include "common/buf.h"
#include "common/error.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t rng_state = 20261206;

static uint64_t next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next() % n);
}

static const char *titles[] = {
	"Forklift Operator", "Warehouse Associate", "CDL-A Truck Driver", "Registered Nurse",
	"ICU Nurse", "Certified Nursing Assistant", "Welder Fabricator", "Electrician",
	"HVAC Technician", "Line Cook", "Cashier", "Retail Sales Associate", "Payroll Clerk",
	"Bookkeeper", "Software Engineer", "Data Analyst", "Dental Hygienist",
	"Pharmacy Technician", "Machine Operator", "Assembly Line Worker", "Security Guard",
	"Janitor", "Customer Service Representative", "Administrative Assistant",
	"Medical Assistant", "Plumber", "Carpenter", "Painter", "Landscaper", "Bartender",
	"Server", "Delivery Driver", "Picker Packer", "Shipping Clerk", "Receptionist",
	"Lab Technician", "Maintenance Mechanic", "Crane Operator", "Heavy Equipment Operator",
	"Production Supervisor",
};
static const char *skills[] = {
	"forklift", "OSHA-10", "OSHA-30", "reach truck", "pallet jack", "RF scanner",
	"inventory", "shipping", "receiving", "CDL-A", "hazmat", "tanker", "BLS", "ACLS",
	"ICU", "ER", "phlebotomy", "EMR", "Epic", "MIG", "TIG", "stick welding", "blueprints",
	"OSHA", "NEC", "wiring", "conduit", "HVAC", "EPA 608", "refrigeration", "food safety",
	"ServSafe", "POS", "cash handling", "Excel", "QuickBooks", "payroll", "ADP", "SQL",
	"Python", "Java", "React", "AWS", "Tableau", "customer service", "Spanish",
	"bilingual", "scheduling", "data entry", "Microsoft Office", "CPR", "first aid",
	"lockout tagout", "lean", "six sigma", "CNC", "lathe", "mill", "soldering",
	"preventive maintenance", "PLC", "hydraulics", "pneumatics", "crane", "rigging",
};
static const char *cities[] = {
	"Milwaukee WI", "Madison WI", "Green Bay WI", "Chicago IL", "Rockford IL",
	"Minneapolis MN", "St Paul MN", "Detroit MI", "Grand Rapids MI", "Columbus OH",
	"Cleveland OH", "Indianapolis IN", "Des Moines IA", "St Louis MO", "Kansas City MO",
	"Omaha NE", "Dallas TX", "Houston TX", "Austin TX", "Phoenix AZ", "Denver CO",
	"Atlanta GA", "Charlotte NC", "Nashville TN", "Louisville KY",
};

#define NVOCAB 4000
static char vocab[NVOCAB][16];
static const char *common_words[] = {
	"available", "now", "immediately", "nights", "weekends", "experience", "years",
	"reliable", "team", "shift", "overtime", "references", "certified", "license",
	"prefers", "remote", "onsite", "travel", "relocate", "flexible",
};
static double zipf_cdf[NVOCAB];

static void make_vocab(void)
{
	size_t ncommon = sizeof common_words / sizeof common_words[0];
	double sum = 0;
	for (size_t i = 0; i < NVOCAB; i++) {
		if (i < ncommon) {
			snprintf(vocab[i], sizeof vocab[i], "%s", common_words[i]);
		} else {
			static const char *syl[] = { "ka", "lo", "mi", "ner", "tu", "sa", "ve",
						     "ro", "di", "pan", "che", "gu", "fo", "ly" };
			/* i in base 14, one syllable a digit: distinct words */
			snprintf(vocab[i], sizeof vocab[i], "%s%s%s%s", syl[i % 14],
				 syl[i / 14 % 14], syl[i / 196 % 14],
				 i >= 2744 ? syl[i / 2744 % 14] : "");
		}
		sum += 1.0 / (double)(i + 1);
		zipf_cdf[i] = sum;
	}
	for (size_t i = 0; i < NVOCAB; i++)
		zipf_cdf[i] /= sum;
}

static const char *zipf_word(void)
{
	double u = (double)(next() >> 11) / 9007199254740992.0;
	size_t lo = 0, hi = NVOCAB - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return vocab[lo];
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t ndocs = argc > 1 ? strtoul(argv[1], NULL, 10) : 500000;
	size_t runs = argc > 2 ? strtoul(argv[2], NULL, 10) : 200;
	struct lh_error err = { 0 };
	make_vocab();
	size_t cap = ndocs * 600;   /* a profile is < 600 bytes */
	char *corpus = malloc(cap);
	size_t *ends = malloc(ndocs * sizeof *ends), pos = 0;
	for (size_t i = 0; i < ndocs; i++) {
		pos += (size_t)snprintf(corpus + pos, cap - pos, "%s. ", titles[pick(40)]);
		for (int s = 0; s < 4; s++)
			pos += (size_t)snprintf(corpus + pos, cap - pos, "%s, ",
						skills[pick(sizeof skills / sizeof skills[0])]);
		pos += (size_t)snprintf(corpus + pos, cap - pos, "%s. ", cities[pick(25)]);
		unsigned words = 24 + pick(13);
		for (unsigned w = 0; w < words; w++)
			pos += (size_t)snprintf(corpus + pos, cap - pos, "%s%s", w ? " " : "",
						zipf_word());
		ends[i] = pos;
	}
	long rss0 = max_rss_kb();
	double t0 = now_ms();
	struct text_builder *b = text_builder_new();
	for (size_t i = 0; i < ndocs; i++) {
		size_t start = i ? ends[i - 1] : 0;
		text_builder_add(b, (uint32_t)i, corpus + start, ends[i] - start);
	}
	double t1 = now_ms();
	struct lh_buf out;
	lh_buf_init(&out, (size_t)1 << 34);
	if (text_builder_finish(b, &out, &err)) {
		fprintf(stderr, "finish: %s\n", err.msg);
		return 1;
	}
	double t2 = now_ms();
	long rss1 = max_rss_kb();
	if (getenv("TEXT_BENCH_DUMP")) {   /* the section's bytes, for a look */
		FILE *f = fopen(getenv("TEXT_BENCH_DUMP"), "wb");
		if (f) {
			fwrite(out.data, 1, out.len, f);
			fclose(f);
		}
	}
	struct text_index *t = text_index_open(out.data, out.len, &err);
	double t3 = now_ms();
	if (!t) {
		fprintf(stderr, "open: %s\n", err.msg);
		return 1;
	}
	printf("docs %zu, corpus %.1f MB, %.1f tokens/doc, %u terms\n", ndocs, pos / 1e6,
	       (double)text_index_total_len(t) / ndocs, text_index_terms(t));
	printf("build: add %.0f ms + finish %.0f ms = %.0f ms; max RSS %.0f MB before, %.0f MB "
	       "after (+%.0f MB)\n", t1 - t0, t2 - t1, t2 - t0, rss0 / 1024.0, rss1 / 1024.0,
	       (rss1 - rss0) / 1024.0);
	printf("section: %.1f MB; open %.3f ms\n", out.len / 1e6, t3 - t2);
	double tc = now_ms();
	if (text_index_check(t, &err)) {
		fprintf(stderr, "check: %s\n", err.msg);
		return 1;
	}
	printf("check (decode every postings list): %.0f ms\n", now_ms() - tc);
	static const char *queries[] = {
		"forklift operator osha", "available now milwaukee", "operator",
		"ICU nurse nights", "forklift", "welder MIG TIG blueprints",
		"bilingual customer service representative Spanish",
		"forklift operator with OSHA-30 near Milwaukee, available now",   /* SPEC 11 */
		/* a "like" query: a whole profile's words (24 terms) */
		"Forklift Operator. reach truck, pallet jack, OSHA-30, RF scanner. Milwaukee WI. "
		"available now nights weekends experience reliable team shift overtime "
		"references certified",
	};
	double *ms = malloc(runs * sizeof *ms);
	for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
		struct text_query q;
		struct text_hit hits[10];
		size_t nout = 0;
		text_query_parse(queries[qi], strlen(queries[qi]), &q);
		uint64_t postings = 0;
		for (size_t i = 0; i < q.nterms; i++)
			postings += text_index_df(t, q.terms[i], strlen(q.terms[i]));
		for (size_t r = 0; r < runs; r++) {
			double a = now_ms();
			if (text_index_search(t, &q, NULL, TEXT_BM25_K1, TEXT_BM25_B, NULL, 10,
					      hits, &nout)) {
				fprintf(stderr, "search failed\n");
				return 1;
			}
			ms[r] = now_ms() - a;
		}
		qsort(ms, runs, sizeof *ms, cmp_double);
		printf("query %-52.52s terms %zu postings %8llu  p50 %6.3f ms  p99 %6.3f ms  "
		       "top %.3f\n",
		       queries[qi], q.nterms, (unsigned long long)postings, ms[runs / 2],
		       ms[runs * 99 / 100], nout ? hits[0].score : 0.0);
		text_query_free(&q);
	}
	free(ms);
	text_index_close(t);
	lh_buf_free(&out);
	free(corpus);
	free(ends);
	return 0;
}
