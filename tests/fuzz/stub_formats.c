/* stub_formats.c — the formats of format.c's registry that need linked
 * libraries (Parquet: DuckDB; .xlsx: libzip, libxml2), for the clang
 * libFuzzer builds of the targets that link format.c (csv, json_reader,
 * format): they never claim an upload. `make fuzz-replay` links the real
 * ones (the whole ASan build) instead. */
#include "ingestd/format.h"
#include "ingestd/parquet_reader.h"
#include "ingestd/xlsx.h"

static int never(const struct ingest_sniff *in)
{
	(void)in;
	return 0;
}

const struct ingest_format ingest_format_parquet = { .name = "parquet", .sniff = never };
const struct ingest_format ingest_format_xlsx = { .name = "xlsx", .sniff = never };
