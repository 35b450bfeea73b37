/* range.c — Range header parsing for storaged: a pure function over untrusted
 * request bytes (see range.h): no I/O, no allocation, every length checked
 * before it is used. The object-key rule lives in common/keys.c.
 */
#include "storaged/range.h"

#include <strings.h>

/* Skip optional whitespace (RFC 9110 OWS: spaces and tabs). */
static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Parse 1+ decimal digits at *pp. Returns 1 with *out (saturated at
 * UINT64_MAX on overflow) and *pp advanced, or 0 if there is no digit. */
static int parse_digits(const char **pp, uint64_t *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	if (*p < '0' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			v = UINT64_MAX;
		else
			v = v * 10 + d;
	}
	*out = v;
	*pp = p;
	return 1;
}

enum storage_range storage_range_parse(const char *header, uint64_t size,
				       uint64_t *off, uint64_t *len)
{
	const char *p;
	uint64_t first = 0, last = UINT64_MAX;
	int has_first, has_last;

	if (!header)
		return STORAGE_RANGE_NONE;
	p = skip_ows(header);
	if (strncasecmp(p, "bytes", 5) != 0)
		return STORAGE_RANGE_NONE;
	p = skip_ows(p + 5);
	if (*p != '=')
		return STORAGE_RANGE_NONE;
	p = skip_ows(p + 1);

	has_first = parse_digits(&p, &first);
	if (*p != '-')
		return STORAGE_RANGE_NONE;
	p++;
	has_last = parse_digits(&p, &last);
	p = skip_ows(p);
	if (*p != '\0')
		return STORAGE_RANGE_NONE;  /* several ranges, or junk: ignore */
	if (!has_first && !has_last)
		return STORAGE_RANGE_NONE;

	if (!has_first) {               /* suffix: the last `last` bytes */
		if (last == 0 || size == 0)
			return STORAGE_RANGE_UNSATISFIABLE;
		if (last > size)
			last = size;
		*off = size - last;
		*len = last;
		return STORAGE_RANGE_PARTIAL;
	}
	if (has_last && last < first)
		return STORAGE_RANGE_NONE;  /* invalid range-spec: ignore */
	if (first >= size)
		return STORAGE_RANGE_UNSATISFIABLE;
	if (!has_last || last >= size)
		last = size - 1;
	*off = first;
	*len = last - first + 1;
	return STORAGE_RANGE_PARTIAL;
}
