/* random.c — kernel randomness and random hex names (see random.h). */
#include "common/random.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t k = getrandom(p + got, n - got, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	char *o = out;
	out[0] = '\0';
	while (nbytes) {
		size_t k = nbytes < sizeof raw ? nbytes : sizeof raw;
		if (random_bytes(raw, k) != 0) {
			out[0] = '\0';
			return -1;
		}
		hex_encode(raw, k, o);
		o += 2 * k;
		nbytes -= k;
	}
	return 0;
}

/* SplitMix64's finaliser (Steele, Lea, Flood 2014): spreads the bits of
 * clock, pid and counter over the whole word. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void random_name_fallback(char *out, size_t nbytes)
{
	static atomic_uint_fast64_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t seed = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
			((uint64_t)getpid() << 40) ^ atomic_fetch_add(&counter, 1);
	char *o = out;
	for (uint64_t i = 0; nbytes; i++) {
		uint64_t v = mix64(seed + i * 0x9e3779b97f4a7c15ULL);
		unsigned char raw[8];
		size_t k = nbytes < sizeof raw ? nbytes : sizeof raw;
		for (size_t j = 0; j < k; j++)
			raw[j] = (unsigned char)(v >> (8 * j));
		hex_encode(raw, k, o);
		o += 2 * k;
		nbytes -= k;
	}
}

void random_name(char *out, size_t nbytes)
{
	if (random_hex(out, nbytes) != 0)
		random_name_fallback(out, nbytes);
}
