/* test_storaged_s3.c — unit tests of src/storaged/s3_xml.c: S3 URL encoding
 * (SigV4 canonical form) and the minimal XML reader of ListObjectsV2,
 * CreateMultipartUpload and error answers, including malformed input. */
#include "test.h"

#include "common/error.h"
#include "storaged/s3_xml.h"

#include <stdlib.h>

TEST(storaged_s3_url_encode)
{
	char *s = s3_url_encode("datasets/c/one.csv", 1);
	CHECK_EQ_STR(s, "datasets/c/one.csv");
	free(s);
	s = s3_url_encode("a b/c+d/é~_-.x", 1);
	CHECK_EQ_STR(s, "a%20b/c%2Bd/%C3%A9~_-.x");
	free(s);
	s = s3_url_encode("a/b", 0);
	CHECK_EQ_STR(s, "a%2Fb");
	free(s);
	s = s3_url_encode("!'()*&=?#%:;,@$[]", 1);
	CHECK_EQ_STR(s, "%21%27%28%29%2A%26%3D%3F%23%25%3A%3B%2C%40%24%5B%5D");
	free(s);
	s = s3_url_encode("", 1);
	CHECK_EQ_STR(s, "");
	free(s);
	s = s3_url_encode("\x7f\xff", 0);
	CHECK_EQ_STR(s, "%7F%FF");
	free(s);
}

TEST(storaged_s3_xml_text)
{
	const char *x = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>"
			"<Key>k</Key><UploadId>abc&amp;def</UploadId></InitiateMultipartUploadResult>";
	char *v = s3_xml_text(x, strlen(x), "UploadId");
	CHECK_EQ_STR(v, "abc&def");
	free(v);
	v = s3_xml_text(x, strlen(x), "Key");
	CHECK_EQ_STR(v, "k");
	free(v);
	CHECK(s3_xml_text(x, strlen(x), "Upload") == NULL);      /* no prefix match */
	CHECK(s3_xml_text(x, strlen(x), "Missing") == NULL);
	CHECK(s3_xml_text(NULL, 0, "Key") == NULL);
	/* Entities, numeric references, unknown or malformed ones. */
	const char *e = "<Code>&lt;&gt;&quot;&apos;&#65;&#x42;&#xe9;&#x1F600;</Code>";
	v = s3_xml_text(e, strlen(e), "Code");
	CHECK_EQ_STR(v, "<>\"'AB\xc3\xa9\xf0\x9f\x98\x80");
	free(v);
	const char *bad[] = { "<C>&nbsp;</C>", "<C>&#;</C>", "<C>&#x;</C>", "<C>&#0;</C>",
			      "<C>&#xD800;</C>", "<C>&#x110000;</C>", "<C>&amp</C>", "<C>a<b</C>",
			      "<C>&#12a;</C>", "<C>unterminated", "<C>&#99999999999999999999;</C>",
			      "<C>a\x01b</C>", "<C>&#1;</C>", "<C>&#x1f;</C>" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = s3_xml_text(bad[i], strlen(bad[i]), "C");
		if (v)
			fprintf(stderr, "  accepted %s as \"%s\"\n", bad[i], v);
		CHECK(v == NULL);
	}
	/* Tab, LF and CR are text; NUL inside the text is refused. */
	v = s3_xml_text("<C>a\tb&#10;</C>", 16, "C");
	CHECK_EQ_STR(v, "a\tb\n");
	free(v);
	CHECK(s3_xml_text("<C>a\0b</C>", 10, "C") == NULL);
	/* Length is honoured: no reading past len. */
	v = s3_xml_text("<K>ab</K>", 6, "K");
	CHECK(v == NULL);
}

TEST(storaged_s3_list_parse)
{
	const char *x =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Name>b</Name><Prefix></Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
		"<IsTruncated>true</IsTruncated>"
		"<Contents><Key>a/b c&amp;d</Key><LastModified>2024-05-01T12:00:00.000Z</LastModified>"
		"<ETag>&quot;x&quot;</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>"
		"<Contents><Key>&#233;</Key><Size>18446744073709551615</Size></Contents>"
		"<Contents><Size>0</Size><Key>.lakehouse-uploads/x/</Key></Contents>"
		"<NextContinuationToken>tok/en+=</NextContinuationToken></ListBucketResult>";
	struct s3_list_page p;
	struct lh_error err = { 0 };
	CHECK_EQ_INT(s3_list_parse(x, strlen(x), &p, &err), 0);
	CHECK_EQ_INT(p.n, 3);
	CHECK_EQ_STR(p.entries[0].key, "a/b c&d");
	CHECK_EQ_INT(p.entries[0].size, 5);
	CHECK_EQ_STR(p.entries[1].key, "\xc3\xa9");
	CHECK(p.entries[1].size == UINT64_MAX);
	CHECK_EQ_STR(p.entries[2].key, ".lakehouse-uploads/x/");
	CHECK_EQ_INT(p.truncated, 1);
	CHECK_EQ_STR(p.next_token, "tok/en+=");
	s3_list_page_free(&p);
	CHECK_EQ_INT(p.n, 0);

	const char *empty = "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated>"
			    "</ListBucketResult>";
	CHECK_EQ_INT(s3_list_parse(empty, strlen(empty), &p, &err), 0);
	CHECK_EQ_INT(p.n, 0);
	CHECK_EQ_INT(p.truncated, 0);
	CHECK(p.next_token == NULL);
	s3_list_page_free(&p);
}

TEST(storaged_s3_list_parse_malformed)
{
	const char *bad[] = {
		"",
		"<Error><Code>AccessDenied</Code></Error>",
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size>"
		"</Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size></Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>&bad;</Key><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
		"<ListBucketResult><Contents><Key>k</Key><Size>1</Size>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct s3_list_page p;
		struct lh_error err = { 0 };
		int rc = s3_list_parse(bad[i], strlen(bad[i]), &p, &err);
		s3_list_page_free(&p);
		/* An unterminated <Contents> is simply not a <Contents>. */
		if (i == 9) {
			CHECK_EQ_INT(rc, 0);
			continue;
		}
		if (rc != -1)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(rc, -1);
		CHECK_EQ_INT(err.status, 502);
		CHECK_EQ_STR(err.code, "upstream_failed");
		lh_error_clear(&err);
	}
}
