/* url.h — percent-encoding and decoding helpers for URL parts (RFC 3986), shared by every service
 * that builds URLs: the gateway proxy, queryd and catalogd calling storaged,
 * the S3 backend (SigV4 uses the same unreserved set), and the CLI. Pure. */
#ifndef LH_URL_H
#define LH_URL_H

/* `s` with every byte outside A-Z a-z 0-9 - . _ ~ written as %XX (upper-case
 * hex); '/' is kept as is when keep_slash is set (paths), encoded otherwise
 * (query values, single segments). A new string the caller frees. */
char *url_encode(const char *s, int keep_slash);

/* The value of hex digit c (either case), or -1: for %XX decoding. */
int url_hexval(char c);

#endif
