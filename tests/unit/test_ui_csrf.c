/* test_ui_csrf.c — the web UI's CSRF tokens (src/gateway/ui_csrf.c): the
 * token's shape and randomness, the constant-time comparison, the Cookie
 * header reader (a planted second lh_csrf cookie counts as none), and the
 * reader of an upload's first multipart part, fed whole and byte by byte. */
#include "test.h"

#include "gateway/ui_int.h"

#include <stdlib.h>

#define TOK_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define TOK_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee"

TEST(ui_csrf_token_new_is_random_hex)
{
	char a[UI_CSRF_TOKEN_HEX + 1], b[UI_CSRF_TOKEN_HEX + 1];
	CHECK_EQ_INT(ui_csrf_token_new(a), 0);
	CHECK_EQ_INT(ui_csrf_token_new(b), 0);
	CHECK_EQ_INT(strlen(a), UI_CSRF_TOKEN_HEX);
	CHECK(ui_csrf_token_valid(a));
	CHECK(ui_csrf_token_valid(b));
	CHECK(strcmp(a, b) != 0);
	CHECK(ui_csrf_token_equal(a, a));
	CHECK(!ui_csrf_token_equal(a, b));
}

TEST(ui_csrf_token_shape_and_equality)
{
	CHECK(ui_csrf_token_valid(TOK_A));
	CHECK(!ui_csrf_token_valid(NULL));
	CHECK(!ui_csrf_token_valid(""));
	CHECK(!ui_csrf_token_valid(TOK_A "0"));   /* too long */
	CHECK(!ui_csrf_token_valid(TOK_A + 1));   /* too short */
	CHECK(!ui_csrf_token_valid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	CHECK(!ui_csrf_token_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"));
	CHECK(ui_csrf_token_equal(TOK_A, TOK_A));
	CHECK(!ui_csrf_token_equal(TOK_A, TOK_B));   /* the last byte differs */
	CHECK(!ui_csrf_token_equal("X123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				   TOK_A));
	CHECK(!ui_csrf_token_equal(NULL, TOK_A));
	CHECK(!ui_csrf_token_equal(TOK_A, NULL));
	CHECK(!ui_csrf_token_equal("", ""));         /* two empty tokens are no match */
	CHECK(!ui_csrf_token_equal("x", "x"));
}

TEST(ui_csrf_cookie_get)
{
	char v[80];
	CHECK_EQ_INT(ui_cookie_get("lh_csrf=" TOK_A, "lh_csrf", v, sizeof v), 1);
	CHECK_EQ_STR(v, TOK_A);
	CHECK_EQ_INT(ui_cookie_get("a=1; lh_csrf=" TOK_A "; b=2", "lh_csrf", v, sizeof v), 1);
	CHECK_EQ_STR(v, TOK_A);
	CHECK_EQ_INT(ui_cookie_get("a=1;lh_csrf = \"xyz\" ;b=2", "lh_csrf", v, sizeof v), 1);
	CHECK_EQ_STR(v, "xyz");
	CHECK_EQ_INT(ui_cookie_get("a=1; xlh_csrf=1; lh_csrfx=2", "lh_csrf", v, sizeof v), 0);
	CHECK_EQ_STR(v, "");
	CHECK_EQ_INT(ui_cookie_get(NULL, "lh_csrf", v, sizeof v), 0);
	CHECK_EQ_INT(ui_cookie_get("", "lh_csrf", v, sizeof v), 0);
	CHECK_EQ_INT(ui_cookie_get("lh_csrf", "lh_csrf", v, sizeof v), 0);   /* no '=' */
	CHECK_EQ_INT(ui_cookie_get("lh_csrf=", "lh_csrf", v, sizeof v), 1);
	CHECK_EQ_STR(v, "");
	/* planted by a sibling origin under another path: two of them */
	CHECK_EQ_INT(ui_cookie_get("lh_csrf=" TOK_B "; lh_csrf=" TOK_A, "lh_csrf", v, sizeof v),
		     -1);
	CHECK_EQ_INT(ui_cookie_get("lh_csrf=0123456789", "lh_csrf", v, 5), -1);   /* too long */
}

static const char CT[] = "multipart/form-data; boundary=----WebKitFormBoundaryAbC123";
static const char BODY[] =
	"------WebKitFormBoundaryAbC123\r\n"
	"Content-Disposition: form-data; name=\"csrf\"\r\n"
	"\r\n" TOK_A "\r\n"
	"------WebKitFormBoundaryAbC123\r\n"
	"Content-Disposition: form-data; name=\"name\"\r\n"
	"\r\nplacements\r\n"
	"------WebKitFormBoundaryAbC123--\r\n";

static int first(const char *ct, const char *body, char *out, size_t cap)
{
	return ui_multipart_first_field(ct, body, strlen(body), "csrf", out, cap);
}

TEST(ui_csrf_multipart_first_field)
{
	char v[UI_CSRF_TOKEN_HEX + 2];
	CHECK_EQ_INT(first(CT, BODY, v, sizeof v), 1);
	CHECK_EQ_STR(v, TOK_A);
	/* quoted boundary, extra part headers, unquoted name */
	CHECK_EQ_INT(first("Multipart/Form-Data; charset=utf-8; boundary=\"b b\"",
			   "--b b\r\nContent-Type: text/plain\r\ncontent-disposition: form-data;"
			   " name=csrf\r\n\r\nabc\r\n--b b--\r\n", v, sizeof v), 1);
	CHECK_EQ_STR(v, "abc");
	/* every prefix of the body: "need more" until the value is complete */
	size_t n = strlen(BODY);
	const char *end = strstr(BODY, TOK_A) + UI_CSRF_TOKEN_HEX + 4 + 28;
	size_t complete = (size_t)(end - BODY);
	for (size_t k = 0; k < n; k++) {
		int rc = ui_multipart_first_field(CT, BODY, k, "csrf", v, sizeof v);
		CHECK_EQ_INT(rc, k < complete ? 0 : 1);
	}
}

TEST(ui_csrf_multipart_first_field_refusals)
{
	char v[UI_CSRF_TOKEN_HEX + 2];
	/* another field first */
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "name=\"name\"\r\n\r\nx\r\n------WebKitFormBoundaryAbC123\r\n",
			   v, sizeof v), -1);
	/* a file part named csrf */
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "name=\"csrf\"; filename=\"t.csv\"\r\n\r\n" TOK_A "\r\n"
			       "------WebKitFormBoundaryAbC123\r\n", v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "filename*=utf-8''x; name=\"csrf\"\r\n\r\n" TOK_A "\r\n"
			       "------WebKitFormBoundaryAbC123\r\n", v, sizeof v), -1);
	/* a preamble, another boundary, no Content-Disposition */
	CHECK_EQ_INT(first(CT, "hello\r\n------WebKitFormBoundaryAbC123\r\n", v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "--other\r\n", v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Type: text/plain\r\n\r\n"
			       "x\r\n------WebKitFormBoundaryAbC123\r\n", v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: inline; "
			       "name=\"csrf\"\r\n\r\nx\r\n------WebKitFormBoundaryAbC123\r\n",
			   v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "name=\"csrf\r\n\r\nx\r\n------WebKitFormBoundaryAbC123\r\n",
			   v, sizeof v), -1);   /* unterminated quote */
	/* a value too long for out, whole or still arriving */
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "name=\"csrf\"\r\n\r\n" TOK_A "xx\r\n------WebKitFormBoundaryAbC123\r\n",
			   v, sizeof v), -1);
	CHECK_EQ_INT(first(CT, "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; "
			       "name=\"csrf\"\r\n\r\n" TOK_A TOK_A, v, sizeof v), -1);
	/* not multipart, no boundary, an empty or overlong one */
	CHECK_EQ_INT(first("text/plain", BODY, v, sizeof v), -1);
	CHECK_EQ_INT(first(NULL, BODY, v, sizeof v), -1);
	CHECK_EQ_INT(first("multipart/form-data", BODY, v, sizeof v), -1);
	CHECK_EQ_INT(first("multipart/form-data; boundary=", BODY, v, sizeof v), -1);
	CHECK_EQ_INT(first("multipart/form-data; boundary=\"\"", BODY, v, sizeof v), -1);
	CHECK_EQ_INT(first("multipart/form-data; boundary=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", BODY, v, sizeof v),
		     -1);
}
