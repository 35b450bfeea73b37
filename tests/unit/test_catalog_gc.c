/* test_catalog_gc.c — the pure part of catalogd/gc.c: reading storaged's
 * "modified" times. The store side of GC is in test_catalog_store.c
 * (catalog_store_gc_*), the whole in tests/integration/test_gc.py. */
#include "test.h"

#include "catalogd/gc.h"

TEST(catalog_gc_parse_time)
{
	int64_t ms = 0;
	CHECK_EQ_INT(gc_parse_time("1970-01-01T00:00:00Z", &ms), 0);
	CHECK_EQ_INT(ms, 0);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560000ll);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00.358Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560358ll);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00.5Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560500ll);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00.123456Z", &ms), 0);
	CHECK_EQ_INT(ms, 1795300560123ll);
	CHECK_EQ_INT(gc_parse_time("", &ms), -1);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00", &ms), -1);       /* no zone */
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00+01:00", &ms), -1); /* not UTC */
	CHECK_EQ_INT(gc_parse_time("2026-13-21T22:36:00Z", &ms), -1);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:3x:00Z", &ms), -1);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00.Z", &ms), -1);
	CHECK_EQ_INT(gc_parse_time("2026-11-21T22:36:00.1234567890Z", &ms), -1);
}
