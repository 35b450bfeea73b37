/* embed.c — embedder_open's dispatch on the id, and the calls every
 * embedder shares (see embed.h). The implementations: embed_builtin.c
 * (GloVe + SIF) and embed_model.c (Ollama / OpenAI-compatible servers). */
#include "search/embed.h"
#include "search/embed_int.h"

#include "common/error.h"
#include "common/limits.h"

#include <stdio.h>
#include <string.h>

/* A model name: 1..EMBED_MODEL_NAME_MAX bytes of letters, digits and
 * ._-:/@ (Ollama's "nomic-embed-text:latest", "library/x", a llama.cpp
 * file name), not starting with "/" or "." — it goes into a JSON body, and
 * is said back in messages, so nothing else is let through. */
static int model_name_ok(const char *m)
{
	size_t n = strlen(m);
	if (n == 0 || n > EMBED_MODEL_NAME_MAX || m[0] == '/' || m[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = m[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@'))
			return 0;
	}
	return 1;
}

/* The id as a message may quote it: printable ASCII, the rest '?', cut at
 * 80 bytes (a cut never splits a UTF-8 sequence into invalid JSON). */
static const char *quotable(const char *id, char buf[84])
{
	size_t n = 0;
	for (; id && id[n] && n < 80; n++)
		buf[n] = id[n] >= 0x20 && id[n] < 0x7f && id[n] != '"' ? id[n] : '?';
	if (id && id[n]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

struct embedder *embedder_open(const char *id, const struct embed_config *cfg,
			       struct lh_error *err)
{
	static const struct embed_config none = { 0 };
	struct embedder *e = NULL;
	char q[84];
	if (!cfg)
		cfg = &none;
	if (id && strcmp(id, "builtin") == 0) {
		e = embed_builtin_open(cfg, err);
		if (e)
			snprintf(e->id, sizeof e->id, "%s", id);
	} else if (id && (strncmp(id, "ollama/", 7) == 0 || strncmp(id, "openai/", 7) == 0)) {
		if (!model_name_ok(id + 7)) {
			lh_fail(err, 400, "unknown_embedder",
				"embedder \"%s\": the model name must be 1 to %d letters, digits or ._-:/@",
				quotable(id, q), EMBED_MODEL_NAME_MAX);
			return NULL;
		}
		e = embed_model_open(id, cfg, err);
	} else {
		lh_fail(err, 400, "unknown_embedder",
			"unknown embedder \"%s\": use \"builtin\", \"ollama/<model>\" or \"openai/<model>\"",
			quotable(id, q));
		return NULL;
	}
	return e;
}

void embedder_close(struct embedder *e)
{
	if (e)
		e->ops->close(e);
}

const char *embedder_id(const struct embedder *e)
{
	return e->id;
}

unsigned embedder_dim(const struct embedder *e)
{
	return atomic_load(&((struct embedder *)e)->dim);
}

int embedder_embed(struct embedder *e, const char *const *texts, const size_t *lens, size_t n,
		   float *out, struct lh_error *err)
{
	if (n > LH_EMBED_MAX_TEXTS)
		return lh_fail(err, 400, "too_many_texts", "at most %d texts can be embedded at once",
			       LH_EMBED_MAX_TEXTS);
	if (n == 0)
		return 0;
	return e->ops->embed(e, texts, lens, n, out, err);
}
