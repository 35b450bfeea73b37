/* stub_documents.c — the document readers that need linked libraries
 * (PDF: poppler in a worker; DOCX: libzip, libxml2; HTML: libxml2), for
 * the clang libFuzzer build of fuzz_documents (which fuzzes detection,
 * normalisation and chunking only). `make fuzz-replay` links the real ones. */
#include "common/error.h"
#include "documents/documents_int.h"

int doc_pdf_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		    struct doc_text *t, struct lh_error *err)
{
	return lh_fail(err, 415, "unsupported_format", "not in this build");
}

int doc_docx_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err)
{
	return lh_fail(err, 415, "unsupported_format", "not in this build");
}

int doc_html_extract(const unsigned char *data, size_t len, const struct doc_limits *lim,
		     struct doc_text *t, struct lh_error *err)
{
	return lh_fail(err, 415, "unsupported_format", "not in this build");
}
