/* s3_xml.h — pure helpers of the S3 backend (storage_s3.c): URL encoding of
 * keys and query values per the S3/SigV4 rules, and a minimal reader of the
 * XML answers it needs (ListObjectsV2, CreateMultipartUpload, errors).
 * No I/O: unit-tested in tests/unit/test_storaged_s3.c. Private to
 * src/storaged/.
 *
 * The XML reader is not a general parser: S3 answers are flat, element
 * names are fixed and text never holds a raw '<' (it is escaped), so finding
 * "<Name>" ... "</Name>" is exact for well-formed answers. The five named
 * entities and numeric references (&#NN; &#xHH;) are decoded; anything else
 * (unknown entities, C0 control characters XML forbids, NUL) is an error,
 * never a guess, so decoded text is a C string without embedded NULs.
 */
#ifndef LH_STORAGED_S3_XML_H
#define LH_STORAGED_S3_XML_H
#include <stddef.h>
#include <stdint.h>

struct lh_error;

/* Percent-encode `s` for an S3 request: every byte but the unreserved
 * A-Z a-z 0-9 - _ . ~ becomes %XX (uppercase hex), and so does '/' unless
 * `keep_slash` (object key in a path: each segment encoded, '/' kept).
 * This is the encoding SigV4's canonical request uses, so the URL we send is
 * already canonical. Returns a new string; the caller frees it. */
char *s3_url_encode(const char *s, int keep_slash);

/* The text of the first element <name>...</name> in xml[0..len), entities
 * decoded, as a new string (the caller frees it). NULL if there is no such
 * element or its text is malformed. */
char *s3_xml_text(const char *xml, size_t len, const char *name);

/* One <Contents> of a ListObjectsV2 answer. */
struct s3_list_entry {
	char *key;          /* decoded, owned */
	uint64_t size;
};

/* A ListObjectsV2 page. Free with s3_list_page_free(). */
struct s3_list_page {
	struct s3_list_entry *entries;
	size_t n;
	int truncated;      /* <IsTruncated>true</IsTruncated> */
	char *next_token;   /* <NextContinuationToken>, owned, or NULL */
};

/* Parse a ListObjectsV2 answer into *out (OUT; zeroed first, owned by the
 * caller even on failure). Entries keep the order of the answer. Returns 0,
 * or -1 with a 502 "upstream_failed" error if the answer is not a
 * ListBucketResult, a <Contents> lacks a <Key> or a decimal <Size>, or text
 * is malformed. */
int s3_list_parse(const char *xml, size_t len, struct s3_list_page *out,
		  struct lh_error *err);

/* Free the page's data, not the struct. */
void s3_list_page_free(struct s3_list_page *p);

#endif
