/* embed_model.c — model-server embedders (placeholder until point 2). */
#include "search/embed_int.h"

#include "common/error.h"

struct embedder *embed_model_open(const char *kind, const char *model,
				  const struct embed_config *cfg, struct lh_error *err)
{
	(void)model;
	(void)cfg;
	lh_fail(err, 501, "not_implemented", "the %s embedder is not implemented yet", kind);
	return NULL;
}
