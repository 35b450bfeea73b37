/* html.c — placeholder until the html reader lands (ADR 0220): 415. */
#include "documents/documents_int.h"

#include "common/error.h"

int doc_html_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err)
{
	return lh_fail(err, 415, "unsupported_format", "cannot be read yet: this format is not built in");
}
