/* test_ui_session.c — src/gateway/ui_session.c, the web UI's sign-in
 * sessions (ADR 0212): a new session is found with its token, name, role
 * and CSRF token; it expires after the ttl (a fake clock) and is then told
 * apart from an unknown id; signing out forgets it; a full table evicts the
 * oldest sign-in; malformed ids are never found. */
#include "test.h"

#include "common/limits.h"
#include "gateway/gateway_int.h"
#include "gateway/ui_int.h"

#include <string.h>

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

TEST(ui_session_lifecycle)
{
	char id[UI_CSRF_TOKEN_HEX + 1], csrf[UI_CSRF_TOKEN_HEX + 1];
	struct ui_session s;
	fake_now = 1000;
	struct ui_sessions *t = ui_sessions_create(5000, fake_clock);
	CHECK_EQ_INT(ui_session_new(t, "maria-token-0123456789", "maria", 3, id, csrf), 0);
	CHECK(ui_csrf_token_valid(id));
	CHECK(ui_csrf_token_valid(csrf));
	CHECK(strcmp(id, csrf) != 0);
	CHECK_EQ_INT(ui_session_find(t, id, &s), UI_SESSION_OK);
	CHECK_EQ_STR(s.token, "maria-token-0123456789");
	CHECK_EQ_STR(s.who, "maria");
	CHECK_EQ_INT(s.role, 3);
	CHECK_EQ_STR(s.csrf, csrf);

	/* another id, a malformed one, NULL */
	char other[UI_CSRF_TOKEN_HEX + 1];
	memcpy(other, id, sizeof other);
	other[0] = other[0] == 'a' ? 'b' : 'a';
	CHECK_EQ_INT(ui_session_find(t, other, NULL), UI_SESSION_NONE);
	CHECK_EQ_INT(ui_session_find(t, "abc", NULL), UI_SESSION_NONE);
	CHECK_EQ_INT(ui_session_find(t, NULL, NULL), UI_SESSION_NONE);

	/* the ttl is absolute from sign-in */
	fake_now = 5999;
	CHECK_EQ_INT(ui_session_find(t, id, NULL), UI_SESSION_OK);
	fake_now = 6000;
	CHECK_EQ_INT(ui_session_find(t, id, &s), UI_SESSION_EXPIRED);

	/* sign out */
	fake_now = 7000;
	CHECK_EQ_INT(ui_session_new(t, "ann-token-0123456789", "ann", 1, id, csrf), 0);
	CHECK_EQ_INT(ui_session_find(t, id, NULL), UI_SESSION_OK);
	ui_session_end(t, id);
	CHECK_EQ_INT(ui_session_find(t, id, NULL), UI_SESSION_NONE);
	ui_sessions_destroy(t);
}

TEST(ui_session_full_table_evicts_the_oldest)
{
	static char ids[LH_UI_MAX_SESSIONS + 1][UI_CSRF_TOKEN_HEX + 1];
	char csrf[UI_CSRF_TOKEN_HEX + 1];
	struct ui_sessions *t = ui_sessions_create(1000000, fake_clock);
	for (int i = 0; i <= LH_UI_MAX_SESSIONS; i++) {
		fake_now = 1000 + i;
		CHECK_EQ_INT(ui_session_new(t, "tok-0123456789abcdef", "x", 1, ids[i], csrf), 0);
	}
	CHECK_EQ_INT(ui_session_find(t, ids[0], NULL), UI_SESSION_NONE); /* evicted */
	CHECK_EQ_INT(ui_session_find(t, ids[1], NULL), UI_SESSION_OK);
	CHECK_EQ_INT(ui_session_find(t, ids[LH_UI_MAX_SESSIONS], NULL), UI_SESSION_OK);
	ui_sessions_destroy(t);
}

TEST(ui_session_refuses_a_token_too_long_to_keep)
{
	char id[UI_CSRF_TOKEN_HEX + 1], csrf[UI_CSRF_TOKEN_HEX + 1], big[400];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct ui_sessions *t = ui_sessions_create(1000, NULL);
	CHECK_EQ_INT(ui_session_new(t, big, "x", 1, id, csrf), -1);
	ui_sessions_destroy(t);
}
