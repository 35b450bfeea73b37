/* fuzz_xlsx.c — libFuzzer target for the pure pieces of the Excel reader
 * (src/ingestd/xlsx.h, xlsx_cell.c): number format codes, cell references,
 * the shortest text of a stored number, the text of a serial date.
 *
 * The input, NUL-terminated, is a format code, a cell reference and a
 * stored number; its first 8 bytes are also a double (a serial) and its
 * first byte picks a format kind. Invariants:
 *   - a format's kind is a set of XLSX_FMT_* bits; elapsed implies time;
 *   - an accepted reference is inside Excel's grid and prints back (column
 *     letters + row) to a reference that parses to the same cell;
 *   - a number's text reads back as the same double, fits XLSX_TEXT_MAX and
 *     is a float64 by SPEC 4's rules (schema_value_types), so a general
 *     number cell is always typed as a number;
 *   - a serial's text under a date format is a date32, under a date-time
 *     format a timestamp[us], under a time format HH:MM:SS[.fff].
 */
#include "fuzz.h"

#include "common/schema.h"
#include "ingestd/xlsx.h"

#include <math.h>
#include <string.h>

/* H+:MM:SS with an optional .fff (hours may pass 23 when elapsed). */
static int is_time_text(const char *p, size_t n)
{
	size_t i = 0, h = 0;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++, h++;
	if (h < 2 || n - i < 6 || p[i] != ':' || p[i + 3] != ':')
		return 0;
	int mm = (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
	int ss = (p[i + 4] - '0') * 10 + (p[i + 5] - '0');
	if (mm < 0 || mm > 59 || ss < 0 || ss > 59)
		return 0;
	i += 6;
	if (i == n)
		return 1;
	return n - i == 4 && p[i] == '.' && p[i + 1] >= '0' && p[i + 1] <= '9' &&
	       p[i + 2] >= '0' && p[i + 2] <= '9' && p[i + 3] >= '0' && p[i + 3] <= '9';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';

	unsigned kind = xlsx_format_code_kind(s);
	FUZZ_CHECK((kind & ~(XLSX_FMT_DATE | XLSX_FMT_TIME | XLSX_FMT_ELAPSED)) == 0);
	FUZZ_CHECK(!(kind & XLSX_FMT_ELAPSED) || (kind & XLSX_FMT_TIME));

	uint32_t col, row;
	if (xlsx_cell_ref(s, &col, &row) == 0) {
		FUZZ_CHECK(col < XLSX_MAX_COLS && row < XLSX_MAX_ROWS);
		char name[4], ref[24];
		uint32_t c2, r2;
		xlsx_col_name(col, name);
		snprintf(ref, sizeof ref, "%s%u", name, row + 1);
		FUZZ_CHECK(xlsx_cell_ref(ref, &c2, &r2) == 0 && c2 == col && r2 == row);
	}

	char out[XLSX_TEXT_MAX];
	size_t n = strlen(s);
	size_t k = xlsx_number_text(s, n, out);
	if (k) {
		FUZZ_CHECK(k < XLSX_TEXT_MAX && strlen(out) == k);
		FUZZ_CHECK(strtod(out, NULL) == strtod(s, NULL));
		FUZZ_CHECK(schema_value_types(out, k) & SCHEMA_MASK(SCHEMA_FLOAT64));
	}

	if (size >= 9) {
		double serial;
		memcpy(&serial, data + 1, sizeof serial);
		static const unsigned kinds[] = {
			XLSX_FMT_DATE, XLSX_FMT_DATE | XLSX_FMT_TIME, XLSX_FMT_TIME,
			XLSX_FMT_TIME | XLSX_FMT_ELAPSED,
		};
		unsigned want = kinds[data[0] % 4];
		int date1904 = (data[0] >> 2) & 1;
		k = xlsx_serial_text(serial, want, date1904, out);
		if (k) {
			FUZZ_CHECK(isfinite(serial) && serial >= 0);
			FUZZ_CHECK(k < XLSX_TEXT_MAX && strlen(out) == k);
			unsigned types = schema_value_types(out, k);
			if (want == XLSX_FMT_DATE)
				FUZZ_CHECK(types & SCHEMA_MASK(SCHEMA_DATE32));
			else if (want == (XLSX_FMT_DATE | XLSX_FMT_TIME))
				FUZZ_CHECK(types & SCHEMA_MASK(SCHEMA_TIMESTAMP));
			else
				FUZZ_CHECK(is_time_text(out, k));
		}
	}
	free(s);
	return 0;
}
