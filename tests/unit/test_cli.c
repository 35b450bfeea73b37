/* test_cli.c — the CLI's pure helpers: table rendering (cli_table_print:
 * plain and box styles, right alignment, NULLs, UTF-8 widths, control
 * characters, fitting a width), the dataset name taken from a file name,
 * the progress bar's rate, and the row counts `query --output` reports. */
#include "test.h"

#include "cli/cli_int.h"
#include "common/names.h"

#include <stdlib.h>

/* Render into a temporary file and read it back; the caller frees. */
static char *render_width(enum cli_table_style style, const char *const *headers, size_t ncols,
			  const char *const *cells, size_t nrows, const int *right, size_t width)
{
	FILE *f = tmpfile();
	cli_table_print(f, style, headers, ncols, cells, nrows, right, width);
	long n = ftell(f);
	char *buf = calloc(1, (size_t)n + 1);
	rewind(f);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

/* Whole values: what a pipe or --wide gets. */
static char *render(enum cli_table_style style, const char *const *headers, size_t ncols,
		    const char *const *cells, size_t nrows, const int *right)
{
	return render_width(style, headers, ncols, cells, nrows, right, 0);
}

/* The widest line of `s`, in display columns. */
static size_t widest_line(const char *s)
{
	size_t best = 0;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char *line = strndup(s, n);
		size_t w = cli_display_width(line);
		free(line);
		if (w > best)
			best = w;
		s += n + (nl != NULL);
	}
	return best;
}

TEST(cli_table_plain)
{
	const char *h[] = { "NAME", "ROWS" };
	const char *c[] = { "people", "3", "a_longer_name", "12345", "x", NULL };
	const int right[] = { 0, 1 };
	char *s = render(CLI_TABLE_PLAIN, h, 2, c, 3, right);
	CHECK_EQ_STR(s, "NAME            ROWS\n"
			"people             3\n"
			"a_longer_name  12345\n"
			"x                   \n");
	free(s);
}

TEST(cli_table_box_utf8_null_control)
{
	const char *h[] = { "név", "n" };
	const char *c[] = { "Ádám", "1", "a\nb", NULL };
	const int right[] = { 0, 1 };
	char *s = render(CLI_TABLE_BOX, h, 2, c, 2, right);
	CHECK_EQ_STR(s, "┌──────┬──────┐\n"
			"│ név  │ n    │\n"
			"├──────┼──────┤\n"
			"│ Ádám │    1 │\n"
			"│ a b  │ NULL │\n"
			"└──────┴──────┘\n");
	free(s);
}

TEST(cli_table_cuts_long_cells)
{
	char longv[200];
	memset(longv, 'z', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	const char *h[] = { "v" };
	const char *c[] = { longv };
	/* cut to a width of 48: 47 code points and "…" */
	char *s = render_width(CLI_TABLE_PLAIN, h, 1, c, 1, NULL, 48);
	char *line = strchr(s, '\n') + 1;
	CHECK_EQ_INT(cli_display_width(line), 48 + 1);   /* + the newline */
	CHECK(strstr(line, "…\n") != NULL);
	free(s);
	/* no width (a pipe, --wide): the value whole */
	s = render(CLI_TABLE_PLAIN, h, 1, c, 1, NULL);
	line = strchr(s, '\n') + 1;
	CHECK_EQ_INT(strlen(line), sizeof longv);       /* 199 bytes + the newline */
	CHECK(strstr(s, "…") == NULL);
	free(s);
	CHECK_EQ_INT(cli_display_width("日本語"), 3);
}

TEST(cli_table_fit_caps_the_widest_first)
{
	size_t w[] = { 2, 50, 100 };
	cli_table_fit(w, 3, 40);
	CHECK_EQ_INT(w[0], 2);          /* the narrow column stays whole */
	CHECK_EQ_INT(w[1], 19);
	CHECK_EQ_INT(w[2], 19);
	size_t v[] = { 2, 50, 100 };
	cli_table_fit(v, 3, 41);        /* the one spare column goes to the first cut one */
	CHECK_EQ_INT(v[0] + v[1] + v[2], 41);
	CHECK_EQ_INT(v[1], 20);
	size_t x[] = { 5, 30, 7 };
	cli_table_fit(x, 3, 42);        /* fits: unchanged */
	CHECK_EQ_INT(x[0], 5);
	CHECK_EQ_INT(x[1], 30);
	CHECK_EQ_INT(x[2], 7);
	size_t y[] = { 10, 2, 10 };
	cli_table_fit(y, 3, 4);         /* too narrow for anything: the minimum */
	CHECK_EQ_INT(y[0], CLI_TABLE_MIN_CELL);
	CHECK_EQ_INT(y[1], 2);
	CHECK_EQ_INT(y[2], CLI_TABLE_MIN_CELL);
}

TEST(cli_table_box_fits_the_terminal)
{
	const char *h[] = { "id", "full_name", "notes" };
	const char *c[] = { "1", "Ada Byron", "Prefers remote work; available from January; OSHA-30 "
					      "certified; forklift and reach truck; speaks Hungarian",
			    "22", "Grace Brewster Murray Hopper, Rear Admiral", NULL };
	const int right[] = { 1, 0, 0 };
	char *s = render_width(CLI_TABLE_BOX, h, 3, c, 2, right, 60);
	CHECK_EQ_INT(widest_line(s), 60);
	CHECK(strstr(s, "│  1 │") != NULL);                  /* ids whole */
	CHECK(strstr(s, "│ 22 │") != NULL);
	CHECK(strstr(s, "│ Prefers remote work; av…") != NULL);
	CHECK(strstr(s, "NULL") != NULL);
	free(s);
	/* wide enough: every value whole, no "…" */
	s = render_width(CLI_TABLE_BOX, h, 3, c, 2, right, 400);
	CHECK(strstr(s, "speaks Hungarian │") != NULL);
	CHECK(strstr(s, "…") == NULL);
	free(s);
}

TEST(cli_table_plain_fits_the_terminal)
{
	const char *h[] = { "NAME", "VERSION", "UPDATED" };
	const char *c[] = { "a_rather_long_dataset_name_from_an_export", "12",
			    "2026-11-21T22:36:00.358Z" };
	const int right[] = { 0, 1, 0 };
	char *s = render_width(CLI_TABLE_PLAIN, h, 3, c, 1, right, 50);
	CHECK(widest_line(s) <= 50);
	CHECK(strstr(s, "…") != NULL);
	CHECK(strstr(s, "  12  ") != NULL);
	free(s);
}

TEST(cli_name_from_file)
{
	static const struct {
		const char *path, *name;
	} cases[] = {
		{ "candidates.csv", "candidates" },
		{ "/tmp/exports/Staff List (2024).csv", "Staff_List_2024" },
		{ "2024-sales.csv", "_2024_sales" },
		{ "data.tar.csv", "data_tar" },
		{ "noext", "noext" },
		{ ".hidden", "hidden" },
		{ "r\xc3\xa9sum\xc3\xa9.csv", "r_sum" },
		{ "first__last.csv", "first__last" },
		{ "dir.v2/time-sheets.CSV", "time_sheets" },
		{ "./a.b/c", "c" },
	};
	char out[65];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_EQ_INT(cli_name_from_file(cases[i].path, out), 0);
		CHECK_EQ_STR(out, cases[i].name);
		CHECK(dataset_name_valid(out));
	}
	CHECK_EQ_INT(cli_name_from_file("---.csv", out), -1);
	CHECK_EQ_INT(cli_name_from_file("dir/", out), -1);
	char longp[200];
	memset(longp, 'a', 150);
	memcpy(longp + 150, ".csv", 5);
	CHECK_EQ_INT(cli_name_from_file(longp, out), 0);
	CHECK_EQ_INT(strlen(out), 64);
	CHECK(dataset_name_valid(out));
	longp[0] = '9';                 /* the "_" before a digit still fits in 64 */
	CHECK_EQ_INT(cli_name_from_file(longp, out), 0);
	CHECK_EQ_INT(strlen(out), 64);
	CHECK(out[0] == '_' && out[1] == '9');
	CHECK(dataset_name_valid(out));
}

TEST(cli_rate_sliding_window)
{
	struct cli_rate r;
	char text[24];
	memset(&r, 0, sizeof r);
	CHECK(cli_rate_get(&r) < 0);
	cli_rate_add(&r, 100.0, 0);
	CHECK(cli_rate_get(&r) < 0);                  /* one sample: no rate */
	cli_rate_add(&r, 100.2, 4096);
	CHECK(cli_rate_get(&r) < 0);                  /* 0.2 s: too short to tell */
	cli_format_rate(cli_rate_get(&r), text);
	CHECK_EQ_STR(text, "");                       /* hidden, never "0 B/s" */
	cli_rate_add(&r, 101.0, 1 << 20);
	CHECK(cli_rate_get(&r) > 1048575.0 && cli_rate_get(&r) < 1048577.0);
	cli_format_rate(cli_rate_get(&r), text);
	CHECK_EQ_STR(text, "1.0 MiB/s");

	/* ten seconds at 1 MiB/s, then 2 MiB/s for four: the window sees 2 */
	memset(&r, 0, sizeof r);
	uint64_t done = 0;
	for (int i = 0; i <= 100; i++) {
		cli_rate_add(&r, i / 10.0, done);
		done += (1u << 20) / 10;                /* 0.1 MiB per 0.1 s */
	}
	double slow = cli_rate_get(&r);
	CHECK(slow > 0.99 * (1 << 20) && slow < 1.01 * (1 << 20));
	for (int i = 1; i <= 40; i++) {
		done += (1u << 20) / 5;                 /* 0.2 MiB per 0.1 s */
		cli_rate_add(&r, 10.0 + i / 10.0, done);
	}
	double fast = cli_rate_get(&r);
	CHECK(fast > 1.95 * (1 << 20) && fast < 2.05 * (1 << 20));
	/* a stall: the same bytes five seconds later is a real 0 */
	cli_rate_add(&r, 19.0, done);
	CHECK(cli_rate_get(&r) >= 0 && cli_rate_get(&r) < 1.0);
	cli_format_rate(0, text);
	CHECK_EQ_STR(text, "0 B/s");
	cli_format_rate(1536, text);
	CHECK_EQ_STR(text, "1.5 KiB/s");
}

/* Feed `s` one byte at a time (the worst split) and return the count. */
static int64_t count_rows(int format, const char *s)
{
	struct cli_row_count rc;
	memset(&rc, 0, sizeof rc);
	rc.format = format;
	for (const char *p = s; *p; p++)
		cli_row_count_feed(&rc, p, 1);
	return cli_row_count_result(&rc);
}

TEST(cli_row_count)
{
	CHECK_EQ_INT(count_rows(CLI_ROWS_CSV, "a,b\n1,\"x\ny\"\n2,\"say \"\"hi\"\"\"\n"), 2);
	CHECK_EQ_INT(count_rows(CLI_ROWS_CSV, "a,b\r\n1,2\r\n3,4"), 2);   /* no final line end */
	CHECK_EQ_INT(count_rows(CLI_ROWS_CSV, "a,b\n"), 0);
	CHECK_EQ_INT(count_rows(CLI_ROWS_CSV, ""), 0);
	CHECK_EQ_INT(count_rows(CLI_ROWS_NDJSON, "{\"a\":\"x\\ny\"}\n{\"a\":2}\n"), 2);
	CHECK_EQ_INT(count_rows(CLI_ROWS_NDJSON, ""), 0);
	CHECK_EQ_INT(count_rows(CLI_ROWS_JSON,
				"{\"columns\":[{\"name\":\"row_count\",\"type\":\"BIGINT\"}],"
				"\"rows\":[[1],[\"\\\"row_count\\\": 99\"]],\"row_count\":2,"
				"\"truncated\":false,\"elapsed_ms\":1.5}"), 2);
	CHECK_EQ_INT(count_rows(CLI_ROWS_JSON, "{\"rows\":[]}"), -1);
	/* a long body: only its tail is kept */
	struct cli_row_count rc;
	memset(&rc, 0, sizeof rc);
	rc.format = CLI_ROWS_JSON;
	char big[5000];
	memset(big, ' ', sizeof big);
	cli_row_count_feed(&rc, big, sizeof big);
	const char *end = ",\"row_count\": 123456,\"truncated\":true,\"elapsed_ms\":12}";
	cli_row_count_feed(&rc, end, strlen(end));
	CHECK_EQ_INT(cli_row_count_result(&rc), 123456);
}

TEST(cli_parquet_rows_from_the_footer)
{
	/* FileMetaData in Thrift's compact protocol: 1 version (i32) = 1;
	 * 2 schema = [{4 name "schema", 5 num_children 1},
	 *             {1 type 1, 4 name "a" (field id written long), 7 a bool}];
	 * 3 num_rows (i64) = 12345; 4 row_groups = [] */
	static const unsigned char meta[] = {
		0x15, 0x02,
		0x19, 0x2c,
		0x48, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15, 0x02, 0x00,
		0x15, 0x02, 0x08, 0x08, 0x01, 'a', 0x31, 0x00,
		0x16, 0xf2, 0xc0, 0x01,
		0x19, 0x0c,
		0x00,
	};
	int64_t rows = -1;
	CHECK_EQ_INT(cli_parquet_rows(meta, sizeof meta, &rows), 0);
	CHECK_EQ_INT(rows, 12345);
	/* every truncation is refused, never read past the end */
	for (size_t n = 0; n < 27; n++)
		CHECK_EQ_INT(cli_parquet_rows(meta, n, &rows), -1);
	/* no num_rows before the stop byte */
	static const unsigned char none[] = { 0x15, 0x02, 0x00 };
	CHECK_EQ_INT(cli_parquet_rows(none, sizeof none, &rows), -1);
	/* a list claiming more elements than there are bytes */
	static const unsigned char lie[] = { 0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f };
	CHECK_EQ_INT(cli_parquet_rows(lie, sizeof lie, &rows), -1);
	/* every byte replaced by awkward values, in a heap buffer of exactly the
	 * input's size (ASan sees any read past it): an answer or -1, no crash */
	static const unsigned char odd[] = { 0x00, 0x01, 0x0c, 0x0f, 0x19, 0x1b, 0x1c, 0x80,
					     0xf9, 0xfc, 0xff };
	for (size_t i = 0; i < sizeof meta; i++)
		for (size_t k = 0; k < sizeof odd; k++) {
			unsigned char *m = malloc(sizeof meta);
			memcpy(m, meta, sizeof meta);
			m[i] = odd[k];
			int rc = cli_parquet_rows(m, sizeof meta, &rows);
			free(m);
			CHECK(rc == 0 || rc == -1);
		}
	/* deep nesting is refused, not recursed into without end */
	unsigned char deep[4096];
	deep[0] = 0x1c;                 /* field 1: a struct ... */
	for (size_t i = 1; i < sizeof deep; i++)
		deep[i] = 0x1c;         /* ... holding a struct, and so on */
	CHECK_EQ_INT(cli_parquet_rows(deep, sizeof deep, &rows), -1);
}
