/* gen_staffing.c — deterministic staffing-candidates CSV for benchmarks.
 *
 *   build/bench/gen_staffing [--seed N] --bytes SIZE[K|M|G] OUT.csv
 *
 * The same seed and size always give the same bytes (splitmix64, no libc
 * randomness). Columns exercise every inferred type and the dialect: ids,
 * names, emails, zip codes with leading zeros (text), quoted comma-separated
 * skills, hourly rates (float64), booleans, dates, timestamps, and notes with
 * doubled quotes and embedded newlines (sometimes empty: nulls).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

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

static const char *first[] = { "Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Grace",
			       "Hiro", "Isabel", "Jamal", "Kai", "Lena", "Mateo", "Nadia",
			       "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Zoë" };
static const char *last[] = { "Smith", "García", "Nguyen", "O'Brien", "Kowalski", "Okafor",
			      "Müller", "Tanaka", "Silva", "Haddad", "Johnson", "Rossi",
			      "Andersson", "Patel", "Cohen", "Dubois" };
static const char *skills[] = { "Java", "SQL", "Python", "forklift", "CDL-A", "Excel",
				"nursing", "welding", "C#", "React", "payroll", "HVAC",
				"customer service", "AWS", "bookkeeping", "Spanish" };
static const char *states[] = { "MA", "NY", "CA", "TX", "NJ", "IL", "WA", "FL", "OH", "GA" };
static const char *notes[] = {
	"Prefers remote work",
	"Said \"\"available after the 15th\"\"",
	"Two references on file,\nboth positive",
	"Asked about \"\"temp-to-hire\"\"\nCall back Monday",
	"Relocating; flexible on rate",
};

static uint64_t parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);
	switch (*end) {
	case 'G': case 'g': return v << 30;
	case 'M': case 'm': return v << 20;
	case 'K': case 'k': return v << 10;
	default: return v;
	}
}

int main(int argc, char **argv)
{
	uint64_t bytes = 100ull << 20, seed = 42;
	const char *out = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			bytes = parse_size(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else
			out = argv[i];
	}
	if (!out) {
		fprintf(stderr, "usage: gen_staffing [--seed N] --bytes SIZE[K|M|G] OUT.csv\n");
		return 2;
	}
	FILE *f = fopen(out, "wb");
	if (!f) {
		perror(out);
		return 1;
	}
	static char buf[1 << 20];
	setvbuf(f, buf, _IOFBF, sizeof buf);
	rng_state = seed;
	uint64_t written = 0;
	written += (uint64_t)fprintf(f, "candidate_id,full_name,email,zip,state,skills,hourly_rate,"
				      "available,start_date,last_contacted,notes\n");
	for (uint64_t id = 1; written < bytes; id++) {
		const char *fn = first[pick(22)], *ln = last[pick(16)];
		char sk[160];
		size_t k = 0;
		unsigned ns = 1 + pick(4);
		for (unsigned j = 0; j < ns; j++)
			k += (size_t)snprintf(sk + k, sizeof sk - k, "%s%s", j ? "," : "", skills[pick(16)]);
		unsigned y = 2015 + pick(11), mo = 1 + pick(12), d = 1 + pick(28);
		int w = fprintf(f,
				"%" PRIu64 ",\"%s %s\",%c%c.%s%" PRIu64 "@example.com,%05u,%s,\"%s\",%u.%02u,%s,"
				"%04u-%02u-%02u,%04u-%02u-%02u %02u:%02u:%02u,",
				id, fn, ln, fn[0] | 0x20, ln[0] | 0x20, "x", id, pick(100000), states[pick(10)],
				sk, 15 + pick(120), pick(100), pick(2) ? "true" : "false",
				y, mo, d, 2024 + pick(2), 1 + pick(12), 1 + pick(28), pick(24), pick(60),
				pick(60));
		unsigned nt = pick(8);
		if (nt < 5)
			w += fprintf(f, "\"%s\"\n", notes[nt]);
		else
			w += fprintf(f, "\n");
		written += (uint64_t)w;
	}
	if (fclose(f)) {
		perror(out);
		return 1;
	}
	return 0;
}
