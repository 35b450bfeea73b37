/* names.c — dataset name validation (see names.h). */
#include "common/names.h"

#include "common/error.h"
#include "common/limits.h"

#include <string.h>

static int is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

int dataset_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > LH_DATASET_NAME_MAX || !is_alpha_(name[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_alpha_(name[i]) && !(name[i] >= '0' && name[i] <= '9'))
			return 0;
	return 1;
}

int dataset_name_check(const char *name, struct lh_error *err)
{
	if (dataset_name_valid(name))
		return 0;
	lh_fail(err, 400, "bad_name",
		"dataset name \"%.80s\" is invalid: use 1 to %d letters, digits or _, not starting with a digit",
		name ? name : "", LH_DATASET_NAME_MAX);
	lh_error_set(err, "field", json_string("name"));
	return -1;
}

int dataset_name_conflict(struct lh_error *err, const char *name, const char *existing)
{
	lh_fail(err, 409, "name_conflict",
		"a dataset named \"%.80s\" already exists, and dataset names are unique "
		"regardless of letter case (they are SQL table names): use \"%.80s\" to add a "
		"version to it, or choose another name instead of \"%.80s\"",
		existing, existing, name);
	lh_error_set(err, "existing_name", json_string(existing));
	lh_error_set(err, "field", json_string("name"));
	return -1;
}
