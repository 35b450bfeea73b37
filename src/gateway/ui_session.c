/* ui_session.c — the web UI's sign-in sessions (ADR 0212): a signed-in
 * browser holds only a random session id in an HttpOnly cookie; the gateway
 * keeps the token it stands for, who that is, the session's CSRF token and
 * when it ends.
 *
 * DESIGN NOTES
 *  1. In memory, in the gateway process: a fixed table of
 *     LH_UI_MAX_SESSIONS entries under one mutex. A restart signs everybody
 *     out; behind several gateways a browser needs the same gateway each
 *     time (sticky sessions) — ADR 0212 says why that is acceptable.
 *  2. Ids and CSRF tokens are 256-bit random hex (ui_csrf_token_new); an id
 *     is found by comparing it with every live entry in constant time, so
 *     the time taken says nothing about how close a guess was.
 *  3. A session lasts `ttl_ms` from sign-in (absolute, not sliding: a token
 *     revoked from the configuration stops working in the UI within the
 *     ttl even if the tab stays open). An expired entry is remembered until
 *     its slot is needed, so the page can say "your session has expired"
 *     instead of a bare sign-in form.
 *  4. When the table is full, signing in evicts the session that ends
 *     first: the oldest sign-in.
 *  5. The token is copied out (ui_session_find) so a caller never holds a
 *     pointer into the table after the lock is released.
 */
#include "gateway/ui_int.h"

#include "common/clock.h"
#include "common/limits.h"
#include "common/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ui_session_entry {
	int used;
	char id[UI_CSRF_TOKEN_HEX + 1];
	struct ui_session s;
};

struct ui_sessions {
	pthread_mutex_t mu;
	int64_t ttl_ms;
	int64_t (*now_ms)(void);
	struct ui_session_entry e[LH_UI_MAX_SESSIONS];
};

struct ui_sessions *ui_sessions_create(int64_t ttl_ms, int64_t (*now_ms)(void))
{
	struct ui_sessions *t = xcalloc(1, sizeof *t);
	pthread_mutex_init(&t->mu, NULL);
	t->ttl_ms = ttl_ms > 0 ? ttl_ms : 1;
	t->now_ms = now_ms ? now_ms : clock_wall_ms;
	return t;
}

void ui_sessions_destroy(struct ui_sessions *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->mu);
	/* the tokens do not outlive the table in freed memory */
	memset(t->e, 0, sizeof t->e);
	free(t);
}

int ui_session_new(struct ui_sessions *t, const char *token, const char *who, int role,
		   char id[UI_CSRF_TOKEN_HEX + 1], char csrf[UI_CSRF_TOKEN_HEX + 1])
{
	struct ui_session_entry fresh = { .used = 1 };
	if (strlen(token) >= sizeof fresh.s.token || ui_csrf_token_new(fresh.id) != 0 ||
	    ui_csrf_token_new(fresh.s.csrf) != 0)
		return -1;
	snprintf(fresh.s.token, sizeof fresh.s.token, "%s", token);
	snprintf(fresh.s.who, sizeof fresh.s.who, "%s", who ? who : "");
	fresh.s.role = role;

	pthread_mutex_lock(&t->mu);
	int64_t now = t->now_ms();
	fresh.s.created_ms = now;
	fresh.s.expires_ms = now + t->ttl_ms;
	size_t slot = 0;
	for (size_t i = 0; i < LH_UI_MAX_SESSIONS; i++) { /* note 4 */
		if (!t->e[i].used) {
			slot = i;
			break;
		}
		if (t->e[i].s.expires_ms < t->e[slot].s.expires_ms)
			slot = i;
	}
	t->e[slot] = fresh;
	pthread_mutex_unlock(&t->mu);
	memcpy(id, fresh.id, sizeof fresh.id);
	memcpy(csrf, fresh.s.csrf, sizeof fresh.s.csrf);
	memset(&fresh, 0, sizeof fresh);
	return 0;
}

/* Note 2: the entry with this id, or NULL; call under the lock. */
static struct ui_session_entry *find_locked(struct ui_sessions *t, const char *id)
{
	struct ui_session_entry *hit = NULL;
	if (!ui_csrf_token_valid(id))
		return NULL;
	for (size_t i = 0; i < LH_UI_MAX_SESSIONS; i++) {
		int eq = t->e[i].used && ui_csrf_token_equal(t->e[i].id, id);
		hit = eq && !hit ? &t->e[i] : hit;
	}
	return hit;
}

enum ui_session_state ui_session_find(struct ui_sessions *t, const char *id,
				      struct ui_session *out)
{
	enum ui_session_state st = UI_SESSION_NONE;
	pthread_mutex_lock(&t->mu);
	struct ui_session_entry *e = find_locked(t, id);
	if (e && t->now_ms() >= e->s.expires_ms) {
		st = UI_SESSION_EXPIRED;
	} else if (e) {
		st = UI_SESSION_OK;
		if (out)
			*out = e->s;
	}
	pthread_mutex_unlock(&t->mu);
	return st;
}

void ui_session_end(struct ui_sessions *t, const char *id)
{
	pthread_mutex_lock(&t->mu);
	struct ui_session_entry *e = find_locked(t, id);
	if (e)
		memset(e, 0, sizeof *e);
	pthread_mutex_unlock(&t->mu);
}
